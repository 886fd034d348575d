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

Writes test/data/schedulers-edges/*.json (schedule records in the format of
flow_schedulers.py). Not run in CI: the JSON is committed.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from flow_schedulers import ROOT, dumps, schedule_record  # noqa: E402

import torch  # noqa: E402
from diffusers import (  # noqa: E402
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


def main() -> None:
    out = ROOT / "test/data/schedulers-edges"
    out.mkdir(parents=True, exist_ok=True)
    for name, cls, config, steps, key in SCHEDULES:
        s = cls.from_config(config)
        s.set_timesteps(steps, device="cpu")
        rec = schedule_record(s, name, f"{cls.__name__}.from_config({config})", steps)
        rec["given_config"] = config
        rec["key"] = key
        (out / f"{name}.json").write_text(dumps(rec))
        print(f"wrote {out / name}.json")
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
