#!/usr/bin/env python3
"""Reference runs of diffusers' flow-matching schedulers (Wan 2.1 / 2.2) for the engine's tests.

    export PYTHONPATH=<diffusers checkout>/src   # or an installed diffusers
    python tools/reference/flow_schedulers.py [--out test/data/schedulers]

Writes one JSON per case into test/data/schedulers/, in the format of
../shared/reference/schedulers (README section 2): the real scheduler runs a full loop on a
fake model, sample0 = linspace(-1, 1, 64).reshape(1, 4, 2, 2, 4) * init_noise_sigma and
model_output = 0.5 * scale_model_input(sample, t) + 0.1 in float32, and steps 0, 1, 2 and the
last are recorded with the final sample. Float32 values are written as the shortest decimal
that reads back as the same float32; `*_bits` hold the exact bits.

Also writes wan_scheduler_configs.json: the scheduler_config.json that diffusers'
scripts/convert_wan_to_diffusers.py saves for each Wan checkpoint (UniPC, flow prediction,
flow_shift per model), the FlowMatchEuler configs diffusers' Wan tests use, and the
timesteps/sigmas each gives at its default step count, for the engine's fromConfig tests.

Not run in CI: the JSON it writes is committed. Run it again after a diffusers update and
look at the diff.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import numpy as np
import torch

try:
    import diffusers
    from diffusers import FlowMatchEulerDiscreteScheduler, UniPCMultistepScheduler
except ImportError:  # pragma: no cover - a person reads this
    sys.exit("flow_schedulers.py: needs diffusers (set PYTHONPATH to a diffusers checkout's src)")

ROOT = Path(__file__).resolve().parents[2]

SD15_BETAS = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear")


def wan_unipc(flow_shift: float, **extra) -> UniPCMultistepScheduler:
    """As scripts/convert_wan_to_diffusers.py builds the scheduler every Wan repo ships."""
    return UniPCMultistepScheduler(
        prediction_type="flow_prediction",
        use_flow_sigmas=True,
        num_train_timesteps=1000,
        flow_shift=flow_shift,
        **extra,
    )


# name, builder, how_built (for a person), steps, pipeline-style call (set_begin_index(0)),
# boundary ratios to record (Wan2.2 A14B switches experts at t >= ratio * num_train_timesteps)
CASES = [
    ("unipc_flow_shift3_20", lambda: wan_unipc(3.0), "Wan2.1 480p: UniPC flow_prediction, use_flow_sigmas, flow_shift=3.0", 20, False, []),
    ("unipc_flow_shift3_50", lambda: wan_unipc(3.0), "Wan2.1 480p, the pipelines' default 50 steps", 50, False, []),
    ("unipc_flow_shift5_30", lambda: wan_unipc(5.0), "Wan2.1 720p: flow_shift=5.0 (the docs' example)", 30, False, []),
    ("unipc_flow_shift5_50_ti2v", lambda: wan_unipc(5.0), "Wan2.2 TI2V-5B: flow_shift=5.0, 50 steps", 50, False, []),
    (
        "unipc_flow_shift3_40_a14b",
        lambda: wan_unipc(3.0),
        "Wan2.2 A14B T2V/I2V: flow_shift=3.0, 40 steps, called as WanPipeline calls it (set_begin_index(0)); boundary_ratio 0.875 (T2V) and 0.9 (I2V)",
        40,
        True,
        [0.875, 0.9],
    ),
    ("unipc_flow_shift16_50_flf2v", lambda: wan_unipc(16.0), "Wan2.1 FLF2V: flow_shift=16.0", 50, False, []),
    # bh1 with final_sigmas_type 'zero' ends in NaN in diffusers (B(h) = -inf times a zero
    # correction on the last step), so the bh1 cases end at sigma_min
    ("unipc_flow_bh1_shift3_20", lambda: wan_unipc(3.0, solver_type="bh1", final_sigmas_type="sigma_min"), "UniPC flow, solver_type='bh1', final_sigmas_type='sigma_min'", 20, False, []),
    ("unipc_flow_order1_shift5_12", lambda: wan_unipc(5.0, solver_order=1), "UniPC flow, solver_order=1", 12, False, []),
    ("unipc_flow_nolof_shift3_10", lambda: wan_unipc(3.0, lower_order_final=False, final_sigmas_type="sigma_min"), "UniPC flow, lower_order_final=False, final_sigmas_type='sigma_min'", 10, False, []),
    ("unipc_eps_sd15_20", lambda: UniPCMultistepScheduler(**SD15_BETAS), "UniPC classic: epsilon, SD1.5 betas, linspace", 20, False, []),
    (
        "unipc_v_trailing_15",
        lambda: UniPCMultistepScheduler(**SD15_BETAS, prediction_type="v_prediction", timestep_spacing="trailing"),
        "UniPC classic: v_prediction, trailing spacing",
        15,
        False,
        [],
    ),
    (
        "unipc_eps_noX0_bh1_leading_12",
        lambda: UniPCMultistepScheduler(
            beta_schedule="linear", predict_x0=False, solver_type="bh1", timestep_spacing="leading", steps_offset=1, final_sigmas_type="sigma_min"
        ),
        "UniPC classic: epsilon, predict_x0=False, bh1, leading spacing + steps_offset 1, final_sigmas_type='sigma_min'",
        12,
        False,
        [],
    ),
    ("fme_shift3_20", lambda: FlowMatchEulerDiscreteScheduler(shift=3.0), "FlowMatchEulerDiscreteScheduler(shift=3.0)", 20, False, []),
    ("fme_shift5_8", lambda: FlowMatchEulerDiscreteScheduler(shift=5.0), "FlowMatchEulerDiscreteScheduler(shift=5.0)", 8, False, []),
    (
        "fme_shift7_10_pipeline",
        lambda: FlowMatchEulerDiscreteScheduler(shift=7.0),
        "FlowMatchEulerDiscreteScheduler(shift=7.0) (diffusers' Wan pipeline tests), called as WanPipeline calls it (set_begin_index(0)); boundary 0.875",
        10,
        True,
        [0.875],
    ),
    ("fme_default_12", lambda: FlowMatchEulerDiscreteScheduler(), "FlowMatchEulerDiscreteScheduler() (shift 1.0)", 12, False, []),
]


def f32_values(t) -> list:
    """Shortest decimal per float32 (reads back as the same float32); non-finite as strings."""
    a = np.asarray(t.detach().cpu().numpy() if isinstance(t, torch.Tensor) else t, dtype=np.float32).reshape(-1)
    out = []
    for v in a:
        if np.isfinite(v):
            out.append(float(str(v)))
        else:
            out.append("NaN" if np.isnan(v) else ("Infinity" if v > 0 else "-Infinity"))
    return out


def f32_bits(t) -> list:
    a = np.ascontiguousarray(t.detach().cpu().numpy().astype(np.float32).reshape(-1))
    return a.view(np.uint32).tolist()


def tensor_field(t: torch.Tensor) -> dict:
    values = t.tolist() if t.dtype == torch.int64 else f32_values(t)
    return {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape), "values": values}


def dumps(data) -> str:
    """JSON with one line per list of numbers (the files stay small and diffable)."""
    text = json.dumps(data, indent=1)
    return re.sub(r"\[([^\[\]{}\"]*)\]", lambda m: "[" + ", ".join(x.strip() for x in m.group(1).split(",") if x.strip()) + "]", text) + "\n"


def plain_config(s) -> dict:
    """The resolved config; a non-finite float as the string JSON.parse can read
    ("-Infinity": DPM-Solver's lambda_min_clipped), as the engine's config reader takes it."""
    def plain(v):
        return v if not isinstance(v, float) or np.isfinite(v) else ("NaN" if np.isnan(v) else ("Infinity" if v > 0 else "-Infinity"))
    return {k: plain(v) for k, v in dict(s.config).items() if not k.startswith("_")}


def schedule_record(s, name, how, steps) -> dict:
    """What every reference file opens with: the case, the versions, the resolved config, and the
    schedule set_timesteps(steps) made (timesteps; sigmas where the class has them)."""
    return {
        "case": name,
        "scheduler_class": type(s).__name__,
        "diffusers_version": diffusers.__version__,
        "torch_version": torch.__version__,
        "how_built": how,
        "resolved_config": plain_config(s),
        "num_inference_steps": steps,
        "timesteps": tensor_field(s.timesteps),
        "sigmas": tensor_field(s.sigmas) if hasattr(s, "sigmas") else None,
    }


def run_case(name, build, how, steps, pipeline_style, boundaries, generator_seed=None, tables=False) -> dict:
    """One full loop of the scheduler on the fake model. generator_seed: step() gets
    torch.Generator().manual_seed(seed) (the ancestral schedulers' noise); tables: write the
    float32 alphas_cumprod whatever the class."""
    s = build()
    s.set_timesteps(steps, device="cpu")
    init_noise_sigma = float(getattr(s, "init_noise_sigma", 1.0))
    has_scale = hasattr(s, "scale_model_input")
    sample = (torch.linspace(-1, 1, 64, dtype=torch.float32).reshape(1, 4, 2, 2, 4) * init_noise_sigma).to(torch.float32)
    sample0 = sample.clone()
    timesteps = s.timesteps
    if pipeline_style:
        s.set_begin_index(0)
    record = {0, 1, 2, len(timesteps) - 1}
    steps_recorded = []
    gen = torch.Generator().manual_seed(generator_seed) if generator_seed is not None else None
    for i, t in enumerate(timesteps):
        model_input = s.scale_model_input(sample, t) if has_scale else sample
        model_output = 0.5 * model_input + 0.1
        kw = {"generator": gen} if gen is not None else {}
        prev = s.step(model_output, t, sample, return_dict=False, **kw)[0]
        if i in record:
            rec = {
                "i": i,
                "t": t.item(),
                "sample_in": f32_values(sample),
                "model_input": f32_values(model_input),
                "model_output": f32_values(model_output),
                "prev_sample": f32_values(prev),
                "prev_sample_bits": f32_bits(prev),
                "step_index_after": getattr(s, "step_index", None),
            }
            if isinstance(s, UniPCMultistepScheduler) and s.config.predict_x0:
                # the data prediction x0 this step converted the model output to
                rec["pred_original_sample_or_denoised"] = f32_values(s.model_outputs[-1])
            steps_recorded.append(rec)
        sample = prev

    notes = []
    if not has_scale:
        notes.append("FlowMatchEulerDiscreteScheduler has no scale_model_input: the fake model reads the sample itself")
    if not hasattr(s, "init_noise_sigma"):
        notes.append("FlowMatchEulerDiscreteScheduler has no init_noise_sigma: 1.0 (Wan's prepare_latents does not scale)")
    if isinstance(s, UniPCMultistepScheduler):
        notes.append("UniPC timesteps are int64 (flow sigmas * 1000 truncated); sigmas has num_inference_steps+1 entries")
    if pipeline_style:
        notes.append("set_begin_index(0) before the loop, as WanPipeline.__call__ does")

    uses_alphas = tables or (isinstance(s, UniPCMultistepScheduler) and not s.config.use_flow_sigmas)
    out = {
        **schedule_record(s, name, how, steps),
        "init_noise_sigma": init_noise_sigma,
        # unused by flow sigmas; written only where the step reads it
        "alphas_cumprod_float32": f32_values(s.alphas_cumprod) if uses_alphas else None,
        "final_alpha_cumprod": float(s.final_alpha_cumprod) if hasattr(s, "final_alpha_cumprod") else None,
        "fake_model": "model_output = 0.5 * scale_model_input(sample, t) + 0.1 (float32 tensor ops)",
        "float_format": "float32 values as the shortest decimal that reads back as the same float32; exact bits in *_bits",
        "pipeline_style": pipeline_style,
        "notes": notes,
        "sample_shape": list(sample0.shape),
        "sample0": f32_values(sample0),
        "steps_recorded": steps_recorded,
        "final_sample": f32_values(sample),
        "final_sample_bits": f32_bits(sample),
    }
    if generator_seed is not None:
        out["generator"] = {"seed": generator_seed, "how": "step(..., generator=torch.Generator().manual_seed(seed)), one generator for the run"}
    if boundaries:
        n_train = s.config.num_train_timesteps
        # exactly WanPipeline's test: `t >= boundary_ratio * num_train_timesteps` on the tensor
        out["boundaries"] = [
            {"boundary_ratio": r, "high_noise": [bool(t >= r * n_train) for t in timesteps]} for r in boundaries
        ]
    return out


def saved(s) -> dict:
    """What save_pretrained writes as scheduler_config.json."""
    return json.loads(s.to_json_string())


UNIPC, FME = UniPCMultistepScheduler, FlowMatchEulerDiscreteScheduler
# name, scheduler_config.json, the class from_config is called on, steps, boundary_ratio
SHIPPED = [
    ("Wan2.1-T2V-1.3B / 14B", lambda: saved(wan_unipc(3.0)), UNIPC, 50, None),
    ("Wan2.1-I2V-14B-480P / 720P", lambda: saved(wan_unipc(3.0)), UNIPC, 50, None),
    (
        "Wan2.1 at 720p (the docs: UniPCMultistepScheduler.from_config(config, flow_shift=5.0))",
        lambda: saved(UNIPC.from_config(wan_unipc(3.0).config, flow_shift=5.0)),
        UNIPC,
        50,
        None,
    ),
    ("Wan2.1-FLF2V-14B-720P", lambda: saved(wan_unipc(16.0)), UNIPC, 50, None),
    ("Wan2.2-TI2V-5B", lambda: saved(wan_unipc(5.0)), UNIPC, 50, None),
    ("Wan2.2-T2V-A14B", lambda: saved(wan_unipc(3.0)), UNIPC, 40, 0.875),
    ("Wan2.2-I2V-A14B", lambda: saved(wan_unipc(3.0)), UNIPC, 40, 0.9),
    ("Wan2.2-Animate-14B", lambda: saved(wan_unipc(5.0)), UNIPC, 20, None),
    ("FlowMatchEulerDiscreteScheduler(shift=7.0) (diffusers' Wan tests)", lambda: saved(FME(shift=7.0)), FME, 50, None),
    # from_config ignores another class's keys: flow_shift does not reach FlowMatchEuler's shift
    ("FlowMatchEulerDiscreteScheduler.from_config(<Wan UniPC config, flow_shift 5.0>)", lambda: saved(wan_unipc(5.0)), FME, 30, None),
]


def shipped_configs() -> dict:
    out = []
    for name, make_config, cls, steps, boundary in SHIPPED:
        config = make_config()
        s = cls.from_config(config)
        s.set_timesteps(steps, device="cpu")
        entry = {
            "name": name,
            "scheduler_class": cls.__name__,
            "scheduler_config": config,
            "num_inference_steps": steps,
            "timesteps": tensor_field(s.timesteps),
            "sigmas": tensor_field(s.sigmas),
        }
        if boundary is not None:
            n_train = s.config.num_train_timesteps
            entry["boundary_ratio"] = boundary
            entry["high_noise"] = [bool(t >= boundary * n_train) for t in s.timesteps]
        out.append(entry)
    return {"diffusers_version": diffusers.__version__, "torch_version": torch.__version__, "configs": out}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(ROOT / "test/data/schedulers"))
    args = ap.parse_args()
    out_dir = Path(args.out)
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(1)
    index = []
    for case in CASES:
        data = run_case(*case)
        (out_dir / f"{case[0]}.json").write_text(dumps(data))
        index.append({"case": case[0], "scheduler_class": data["scheduler_class"], "how_built": case[2], "steps": case[3]})
        print(f"wrote {case[0]}.json")
    (out_dir / "wan_scheduler_configs.json").write_text(dumps(shipped_configs()))
    print("wrote wan_scheduler_configs.json")
    (out_dir / "index.json").write_text(
        dumps({"diffusers_version": diffusers.__version__, "torch_version": torch.__version__, "cases": index})
    )


if __name__ == "__main__":
    main()
