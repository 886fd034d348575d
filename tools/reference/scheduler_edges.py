#!/usr/bin/env python3
"""Reference schedules of diffusers' schedulers for config keys the engine once read past
without a word (found by comparing each class's __init__ arguments with the keys the engine
reads):

- EulerDiscreteScheduler: use_exponential_sigmas, use_beta_sigmas;
- DPMSolverMultistepScheduler: use_exponential_sigmas, use_beta_sigmas, use_lu_lambdas,
  use_flow_sigmas (with flow_shift).

Each changes the timesteps and sigmas set_timesteps makes; the engine must either make the same
ones or refuse the key by name. Also the errors diffusers raises where the engine ran on:
LCMScheduler with original_inference_steps > num_train_timesteps (in set_timesteps), and
EulerAncestralDiscreteScheduler with prediction_type "sample" (in step: NotImplementedError).

    export PYTHONPATH=<diffusers checkout>/src   # and scipy importable, for the beta sigmas
    python tools/reference/scheduler_edges.py

And full runs (test/data/schedulers-edges/runs, the format of flow_schedulers.py) of the
CogVideoX schedulers on the betas diffusers keeps in float32: linear, cosine or trained betas
(only scaled_linear is float64 there), so alphas_cumprod, the SNR shift, the zero-SNR rescale
and every step coefficient are float32 tensor ops.

And coverage.json: short loops (1 to 20 steps) of every scheduler class on the settings that
change its numbers and no other reference run covers, including the checkpoints' own configs at
1 and 2 steps: timesteps, sigmas, init_noise_sigma and the final sample on the fake model.

And diffusers_scheduler_keys.json: every __init__ argument of diffusers' scheduler classes (read
from its source), which config-keys.ts must know so that UniPC and FlowMatchEuler ignore another
class's key as from_config does, rather than refuse it as a typo.

Writes test/data/schedulers-edges/*.json (schedule records in the format of
flow_schedulers.py). Not run in CI: the JSON is committed.
"""
from __future__ import annotations

import ast
import json
import sys
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from flow_schedulers import ROOT, dumps, run_case, schedule_record  # noqa: E402

import diffusers  # noqa: E402
import torch  # noqa: E402
from diffusers import (  # noqa: E402
    CogVideoXDDIMScheduler,
    CogVideoXDPMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    LCMScheduler,
)

SD15 = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", steps_offset=1, clip_sample=False, set_alpha_to_one=False)

# name, class, config, steps, the config key that makes the difference
SCHEDULES = [
    ("euler_exponential_sd15_5", EulerDiscreteScheduler, dict(SD15, use_exponential_sigmas=True), 5, "use_exponential_sigmas"),
    ("euler_beta_sd15_5", EulerDiscreteScheduler, dict(SD15, use_beta_sigmas=True), 5, "use_beta_sigmas"),
    ("dpmpp2m_exponential_sd15_5", DPMSolverMultistepScheduler, dict(SD15, use_exponential_sigmas=True), 5, "use_exponential_sigmas"),
    ("dpmpp2m_beta_sd15_5", DPMSolverMultistepScheduler, dict(SD15, use_beta_sigmas=True), 5, "use_beta_sigmas"),
    ("dpmpp2m_lu_lambdas_sd15_5", DPMSolverMultistepScheduler, dict(SD15, use_lu_lambdas=True), 5, "use_lu_lambdas"),
    ("dpmpp2m_flow_sigmas_shift3_5", DPMSolverMultistepScheduler, dict(use_flow_sigmas=True, flow_shift=3.0), 5, "use_flow_sigmas"),
]

# name, class, config, steps: set_timesteps or the first step raises in diffusers
ERRORS = [
    ("lcm_original_steps_2000_4", LCMScheduler, dict(original_inference_steps=2000), 4),
    ("euler_a_sample_prediction_4", EulerAncestralDiscreteScheduler, dict(prediction_type="sample"), 4),
]


# as tools/reference/scheduler_options.py: torch 2.x's float32 Tensor.sqrt on the CPU is not
# correctly rounded where torch 1.13 (which the engine matches bit for bit) was; the zero-SNR
# rescale takes it over the whole table, so these runs use an IEEE float32 sqrt. The same holds
# for `x ** 0.5` of a float32 tensor, which the CogVideoX steps take of every coefficient
# (torch 2.13: sqrt(0.99940443) one ulp above the IEEE result; torch 1.13's DDIM runs in the
# shared reference match IEEE sqrt bit for bit).
_sqrt = torch.Tensor.sqrt
_pow = torch.Tensor.__pow__


def _ieee_sqrt(x):
    return _sqrt(x.double()).to(x.dtype) if x.dtype == torch.float32 else _sqrt(x)


def _ieee_pow(x, e):
    return _ieee_sqrt(x) if isinstance(e, float) and e == 0.5 else _pow(x, e)


@contextmanager
def ieee_sqrt():
    """Only around the full runs (the schedules above are diffusers' as torch 2.x makes them)."""
    torch.Tensor.sqrt, torch.Tensor.__pow__ = _ieee_sqrt, _ieee_pow
    try:
        yield
    finally:
        torch.Tensor.sqrt, torch.Tensor.__pow__ = _sqrt, _pow

# CogVideoX-2b's scheduler config with other betas
COG = dict(
    beta_start=0.00085, beta_end=0.012, clip_sample=False, prediction_type="v_prediction", rescale_betas_zero_snr=True,
    set_alpha_to_one=True, snr_shift_scale=3.0, steps_offset=0, timestep_spacing="trailing",
)
# the betas given as float32 values (exact in JSON) so the run does not hang on how one torch
# version's float32 linspace rounds
LINEAR_TRAINED = torch.linspace(0.00085, 0.012, 1000, dtype=torch.float32).tolist()



class _PipelineLoopDPM:
    """CogVideoXDPMScheduler with the step() every other class has: it keeps the previous x0
    and timestep, as CogVideoXPipeline's loop passes them (the engine's class does the same)."""

    def __init__(self, s):
        self._s, self._old, self._back = s, None, None

    def __getattr__(self, name):
        return getattr(self._s, name)

    def step(self, model_output, t, sample, return_dict=False, generator=None):
        prev, self._old = self._s.step(model_output, self._old, t, self._back, sample, generator=generator, return_dict=False)
        self._back = t
        return (prev,)


CogVideoXDPMLoop = type("CogVideoXDPMScheduler", (_PipelineLoopDPM,), {})

# name, builder, how, steps, generator seed (CogVideoXDPM draws noise)
RUNS = [
    ("cogvideox_ddim_trained_linear_2b_8", lambda: CogVideoXDDIMScheduler(**dict(COG, trained_betas=LINEAR_TRAINED)), "CogVideoXDDIMScheduler(CogVideoX-2b config, linear betas as trained_betas)", 8, None),
    ("cogvideox_ddim_cosine_eps_leading_6", lambda: CogVideoXDDIMScheduler(**dict(COG, beta_schedule="squaredcos_cap_v2", prediction_type="epsilon", timestep_spacing="leading", set_alpha_to_one=False, rescale_betas_zero_snr=False)), "CogVideoXDDIMScheduler(squaredcos_cap_v2, epsilon, leading, no rescale)", 6, None),
    ("cogvideox_dpm_trained_linear_2b_8", lambda: CogVideoXDPMLoop(CogVideoXDPMScheduler(**dict(COG, trained_betas=LINEAR_TRAINED))), "CogVideoXDPMScheduler(CogVideoX-2b config, linear betas as trained_betas), stepped as CogVideoXPipeline does", 8, 7),
]


SD15 = dict(SD15, trained_betas=None)
AD = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="linear", clip_sample=False, set_alpha_to_one=False, steps_offset=1, timestep_spacing="linspace")
SVD = dict(
    beta_start=0.00085, beta_end=0.012, beta_schedule="scaled_linear", interpolation_type="linear", prediction_type="v_prediction",
    sigma_max=700.0, sigma_min=0.002, steps_offset=1, timestep_spacing="leading", timestep_type="continuous", use_karras_sigmas=True,
)
DPM = dict(SD15, algorithm_type="dpmsolver++", solver_order=2)
ANIMATELCM = dict(beta_start=0.00085, beta_end=0.012, beta_schedule="linear", clip_sample=False, original_inference_steps=100, set_alpha_to_one=True, timestep_scaling=10.0)
COG2B = dict(COG, beta_schedule="scaled_linear")
WAN = dict(beta_schedule="linear", flow_shift=3.0, prediction_type="flow_prediction", use_flow_sigmas=True, solver_order=2)

# name, class, config, steps
COVERAGE = [
    ("ddim_animatediff_1", "DDIMScheduler", AD, 1),
    ("ddim_animatediff_leading_3", "DDIMScheduler", dict(AD, timestep_spacing="leading"), 3),
    ("ddim_animatediff_trailing_1", "DDIMScheduler", dict(AD, timestep_spacing="trailing"), 1),
    ("ddim_animatediff_trailing_7", "DDIMScheduler", dict(AD, timestep_spacing="trailing"), 7),
    ("ddim_clip05_sample_3", "DDIMScheduler", dict(clip_sample=True, clip_sample_range=0.5, prediction_type="sample"), 3),
    ("ddim_clip_v_4", "DDIMScheduler", dict(AD, clip_sample=True, prediction_type="v_prediction"), 4),
    ("ddim_v_alpha1_trailing_4", "DDIMScheduler", dict(SD15, prediction_type="v_prediction", set_alpha_to_one=True, timestep_spacing="trailing"), 4),
    ("ddim_cosine_4", "DDIMScheduler", dict(beta_schedule="squaredcos_cap_v2"), 4),
    ("ddim_n500_leading_7", "DDIMScheduler", dict(AD, num_train_timesteps=500, timestep_spacing="leading"), 7),
    ("euler_svd_1", "EulerDiscreteScheduler", SVD, 1),
    ("euler_svd_2", "EulerDiscreteScheduler", SVD, 2),
    ("euler_svd_sigma_min_4", "EulerDiscreteScheduler", dict(SVD, final_sigmas_type="sigma_min"), 4),
    ("euler_svd_no_karras_trailing_4", "EulerDiscreteScheduler", dict(SVD, use_karras_sigmas=False, timestep_spacing="trailing"), 4),
    ("euler_svd_log_linear_4", "EulerDiscreteScheduler", dict(SVD, use_karras_sigmas=False, interpolation_type="log_linear"), 4),
    ("euler_svd_n2000_7", "EulerDiscreteScheduler", dict(SVD, num_train_timesteps=2000), 7),
    ("euler_sd15_leading_2", "EulerDiscreteScheduler", dict(SD15, timestep_spacing="leading"), 2),
    ("euler_sd15_trailing_3", "EulerDiscreteScheduler", dict(SD15, timestep_spacing="trailing"), 3),
    ("euler_eps_continuous_4", "EulerDiscreteScheduler", dict(SD15, timestep_type="continuous"), 4),
    ("euler_sample_sigma_min_4", "EulerDiscreteScheduler", dict(SD15, prediction_type="sample", final_sigmas_type="sigma_min"), 4),
    ("euler_a_leading_1", "EulerAncestralDiscreteScheduler", dict(SD15, timestep_spacing="leading"), 1),
    ("euler_a_v_trailing_3", "EulerAncestralDiscreteScheduler", dict(SD15, timestep_spacing="trailing", prediction_type="v_prediction"), 3),
    ("dpmpp2m_sd15_1", "DPMSolverMultistepScheduler", DPM, 1),
    ("dpmpp2m_karras_2", "DPMSolverMultistepScheduler", dict(DPM, use_karras_sigmas=True), 2),
    ("dpmpp2m_leading_5", "DPMSolverMultistepScheduler", dict(DPM, timestep_spacing="leading"), 5),
    ("dpmpp2m_trailing_5", "DPMSolverMultistepScheduler", dict(DPM, timestep_spacing="trailing"), 5),
    ("dpmpp2m_sigma_min_5", "DPMSolverMultistepScheduler", dict(DPM, final_sigmas_type="sigma_min"), 5),
    ("dpmpp2m_no_lower_order_final_5", "DPMSolverMultistepScheduler", dict(DPM, lower_order_final=False, final_sigmas_type="sigma_min"), 5),
    ("dpmpp2m_euler_at_final_20", "DPMSolverMultistepScheduler", dict(DPM, euler_at_final=True, final_sigmas_type="sigma_min", lower_order_final=False), 20),
    ("dpmpp2m_heun_6", "DPMSolverMultistepScheduler", dict(DPM, solver_type="heun"), 6),
    ("dpm2m_sigma_min_6", "DPMSolverMultistepScheduler", dict(DPM, algorithm_type="dpmsolver", final_sigmas_type="sigma_min"), 6),
    ("dpm2m_heun_v_6", "DPMSolverMultistepScheduler", dict(DPM, algorithm_type="dpmsolver", solver_type="heun", final_sigmas_type="sigma_min", prediction_type="v_prediction"), 6),
    ("dpmpp1_4", "DPMSolverMultistepScheduler", dict(DPM, solver_order=1), 4),
    ("dpmpp2m_lambda_min_clipped_6", "DPMSolverMultistepScheduler", dict(DPM, lambda_min_clipped=-5.1), 6),
    ("dpmpp2m_sample_6", "DPMSolverMultistepScheduler", dict(DPM, prediction_type="sample"), 6),
    ("lcm_animatelcm_1", "LCMScheduler", ANIMATELCM, 1),
    ("lcm_animatelcm_100", "LCMScheduler", ANIMATELCM, 100),
    ("lcm_clip_alpha0_scaling5_3", "LCMScheduler", dict(clip_sample=True, clip_sample_range=0.5, set_alpha_to_one=False, timestep_scaling=5.0), 3),
    ("lcm_clip_v_4", "LCMScheduler", dict(ANIMATELCM, clip_sample=True, clip_sample_range=0.3, prediction_type="v_prediction"), 4),
    ("lcm_n500_4", "LCMScheduler", dict(ANIMATELCM, num_train_timesteps=500, original_inference_steps=50), 4),
    ("cogvideox_ddim_2b_1", "CogVideoXDDIMScheduler", COG2B, 1),
    ("cogvideox_ddim_linspace_no_rescale_3", "CogVideoXDDIMScheduler", dict(COG2B, timestep_spacing="linspace", rescale_betas_zero_snr=False), 3),
    ("cogvideox_dpm_2b_1", "CogVideoXDPMScheduler", COG2B, 1),
    ("cogvideox_dpm_leading_alpha0_3", "CogVideoXDPMScheduler", dict(COG2B, timestep_spacing="leading", set_alpha_to_one=False, steps_offset=1), 3),
    ("unipc_wan_1", "UniPCMultistepScheduler", WAN, 1),
    ("unipc_wan_sigma_min_2", "UniPCMultistepScheduler", dict(WAN, final_sigmas_type="sigma_min"), 2),
    ("unipc_wan_disable_corrector_5", "UniPCMultistepScheduler", dict(WAN, disable_corrector=[0, 2]), 5),
    ("unipc_eps_leading_1", "UniPCMultistepScheduler", dict(SD15, timestep_spacing="leading"), 1),
    ("fme_shift3_1", "FlowMatchEulerDiscreteScheduler", dict(shift=3.0), 1),
    ("fme_shift5_n100_3", "FlowMatchEulerDiscreteScheduler", dict(shift=5.0, num_train_timesteps=100), 3),
]
NOISY = {"EulerAncestralDiscreteScheduler", "LCMScheduler", "CogVideoXDPMScheduler"}


def coverage_run(name, cls_name, config, steps) -> dict:
    """One loop on the fake model; the schedule and the final sample."""
    from flow_schedulers import f32_values

    s = getattr(diffusers, cls_name).from_config(config)
    s.set_timesteps(steps, device="cpu")
    ins = float(getattr(s, "init_noise_sigma", 1.0))
    sample = (torch.linspace(-1, 1, 64, dtype=torch.float32).reshape(1, 4, 2, 2, 4) * ins).to(torch.float32)
    gen = torch.Generator().manual_seed(7) if cls_name in NOISY else None
    old, ts = None, list(s.timesteps)
    for i, t in enumerate(ts):
        x_in = s.scale_model_input(sample, t) if hasattr(s, "scale_model_input") else sample
        mo = 0.5 * x_in + 0.1
        kw = {"generator": gen} if gen is not None else {}
        if cls_name == "CogVideoXDPMScheduler":
            sample, old = s.step(mo, old, t, ts[i - 1] if i > 0 else None, sample, return_dict=False, **kw)
        else:
            sample = s.step(mo, t, sample, return_dict=False, **kw)[0]
    return {
        "case": name,
        "scheduler_class": cls_name,
        "given_config": config,
        "num_inference_steps": steps,
        "timesteps": s.timesteps.tolist() if s.timesteps.dtype == torch.int64 else f32_values(s.timesteps),
        "sigmas": f32_values(s.sigmas) if getattr(s, "sigmas", None) is not None else None,
        "init_noise_sigma": ins,
        "generator_seed": 7 if gen is not None else None,
        "final_sample": f32_values(sample),
    }


def scheduler_keys() -> dict:
    """The __init__ arguments of every class in diffusers/schedulers (deprecated ones too) whose
    __init__ is @register_to_config, by class."""
    root = Path(diffusers.__file__).parent / "schedulers"
    keys = {}
    for f in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(f.read_text())):
            if not isinstance(node, ast.ClassDef):
                continue
            for b in node.body:
                if (
                    isinstance(b, ast.FunctionDef)
                    and b.name == "__init__"
                    and any(isinstance(d, ast.Name) and d.id == "register_to_config" for d in b.decorator_list)
                ):
                    keys[node.name] = sorted(a.arg for a in b.args.args + b.args.kwonlyargs if a.arg != "self")
    return keys


def main() -> None:
    out = ROOT / "test/data/schedulers-edges"
    out.mkdir(parents=True, exist_ok=True)
    keys = {"diffusers_version": diffusers.__version__, "classes": scheduler_keys()}
    (out / "diffusers_scheduler_keys.json").write_text(dumps(keys))
    print(f"wrote {out / 'diffusers_scheduler_keys.json'} ({len(keys['classes'])} classes)")
    for name, cls, config, steps, key in SCHEDULES:
        s = cls.from_config(config)
        s.set_timesteps(steps, device="cpu")
        rec = schedule_record(s, name, f"{cls.__name__}.from_config({config})", steps)
        rec["given_config"] = config
        rec["key"] = key
        (out / f"{name}.json").write_text(dumps(rec))
        print(f"wrote {out / name}.json")
    (out / "runs").mkdir(exist_ok=True)
    for name, build, how, steps, seed in RUNS:
        with ieee_sqrt():
            data = run_case(name, build, how, steps, False, [], generator_seed=seed, tables=True)
        (out / "runs" / f"{name}.json").write_text(dumps(data))
        print(f"wrote {out / 'runs' / name}.json")
    with ieee_sqrt():
        runs = [coverage_run(*c) for c in COVERAGE]
    (out / "coverage.json").write_text(
        json.dumps({"diffusers_version": diffusers.__version__, "torch_version": torch.__version__, "runs": runs}) + "\n"
    )
    print(f"wrote {out / 'coverage.json'} ({len(runs)} runs)")
    for name, cls, config, steps in ERRORS:
        s = cls.from_config(config)
        try:
            s.set_timesteps(steps, device="cpu")
            x = torch.linspace(-1, 1, 8).reshape(1, 2, 4)
            s.step(0.5 * x + 0.1, s.timesteps[0], x, generator=torch.Generator().manual_seed(7))
            raise SystemExit(f"{name}: diffusers did not raise")
        except (ValueError, NotImplementedError) as e:
            rec = {"case": name, "scheduler_class": cls.__name__, "given_config": config, "num_inference_steps": steps, "diffusers_error": f"{type(e).__name__}: {e}"}
        (out / f"{name}.json").write_text(json.dumps(rec, indent=1) + "\n")
        print(f"wrote {out / name}.json")


if __name__ == "__main__":
    main()
