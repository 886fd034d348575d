#!/usr/bin/env python3
"""Reference runs of diffusers' schedulers for settings the shared reference does not cover
(found by reading diffusers against the engine):

- rescale_betas_zero_snr on DDIM, LCM, Euler, Euler ancestral and DPM-Solver++: diffusers
  rescales the betas and takes the cumulative product again (CogVideoX's schedulers rescale
  alphas_cumprod itself, which the shared reference covers);
- EulerAncestralDiscreteScheduler.from_config of a config written for Euler with Karras
  sigmas, a sigma range, log-linear interpolation and a sigma_min final step: the ancestral
  class has none of these settings and from_config drops them;
- DPM-Solver++ with Karras sigmas on the cosine schedule (squaredcos_cap_v2), whose timesteps
  diffusers does not round before the int64 cast.

    export PYTHONPATH=<diffusers checkout>/src
    python tools/reference/scheduler_options.py

Writes test/data/schedulers-options/*.json in the format of flow_schedulers.py (the same fake
model and records; `given_config` is what from_config was called with where it differs from
the class's resolved config). Not run in CI: the JSON is committed.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import torch  # noqa: E402
from flow_schedulers import ROOT, dumps, run_case, schedule_record  # noqa: E402

from diffusers import (  # noqa: E402
    DDIMScheduler,
    DPMSolverMultistepScheduler,
    EulerAncestralDiscreteScheduler,
    EulerDiscreteScheduler,
    LCMScheduler,
)

# torch 2.x's float32 Tensor.sqrt on the CPU is not correctly rounded (measured with torch 2.13:
# 182 of the 1000 sqrt(alphas_cumprod) one ulp off the IEEE result), where torch 1.13, which the
# shared reference runs were made with and the engine matches bit for bit, was. diffusers'
# rescale_zero_terminal_snr takes that sqrt of the whole table; so these runs call diffusers'
# own code with an IEEE float32 sqrt (computed in float64 and rounded once, which is exact).
_sqrt = torch.Tensor.sqrt


def _ieee_sqrt(x):
    return _sqrt(x.double()).to(x.dtype) if x.dtype == torch.float32 else _sqrt(x)


torch.Tensor.sqrt = _ieee_sqrt

# The betas as trained_betas (float32 values, exact in JSON): torch's float32 linspace differs
# between torch versions by an ulp here and there, and the zero-SNR rescale's cancellation near
# the last timestep magnifies that; given the same betas, every table and step is torch's own
# float32 arithmetic and the runs hold bit for bit whatever torch wrote them.
SD15_TRAINED = (torch.linspace(0.00085**0.5, 0.012**0.5, 1000, dtype=torch.float32) ** 2).tolist()
LINEAR_TRAINED = torch.linspace(0.00085, 0.012, 1000, dtype=torch.float32).tolist()
ZERO_SNR = dict(trained_betas=SD15_TRAINED, rescale_betas_zero_snr=True, prediction_type="v_prediction", timestep_spacing="trailing")
EULER_KARRAS = dict(
    trained_betas=LINEAR_TRAINED, use_karras_sigmas=True, sigma_min=0.1, sigma_max=10.0,
    interpolation_type="log_linear", timestep_type="discrete", final_sigmas_type="sigma_min",
)

# name, builder, how built, steps, generator seed (ancestral), the config given to from_config
CASES = [
    ("ddim_zero_snr_trailing_v_10", lambda: DDIMScheduler(**ZERO_SNR), "DDIMScheduler(SD1.5 betas as trained_betas, rescale_betas_zero_snr, v_prediction, trailing)", 10, None, None),
    ("lcm_zero_snr_trailing_v_4", lambda: LCMScheduler(**ZERO_SNR), "LCMScheduler(SD1.5 betas as trained_betas, rescale_betas_zero_snr, v_prediction, trailing)", 4, 7, None),
    ("euler_zero_snr_trailing_v_9", lambda: EulerDiscreteScheduler(**ZERO_SNR), "EulerDiscreteScheduler(SD1.5 betas as trained_betas, rescale_betas_zero_snr, v_prediction, trailing)", 9, None, None),
    ("euler_a_zero_snr_trailing_v_8", lambda: EulerAncestralDiscreteScheduler(**ZERO_SNR), "EulerAncestralDiscreteScheduler(SD1.5 betas as trained_betas, rescale_betas_zero_snr, v_prediction, trailing)", 8, 7, None),
    ("dpmpp2m_zero_snr_trailing_v_10", lambda: DPMSolverMultistepScheduler(**ZERO_SNR), "DPMSolverMultistepScheduler(SD1.5 betas as trained_betas, rescale_betas_zero_snr, v_prediction, trailing)", 10, None, None),
    (
        "euler_a_from_euler_karras_config_10",
        lambda: EulerAncestralDiscreteScheduler.from_config(EULER_KARRAS),
        "EulerAncestralDiscreteScheduler.from_config(a config for Euler: use_karras_sigmas, sigma range, log_linear, final sigma_min): the ancestral class drops them",
        10,
        7,
        EULER_KARRAS,
    ),
]

# Schedules only: DPM-Solver++ with Karras sigmas on the cosine schedule gives repeated
# timesteps (998, 998, ...), and diffusers' own loop then runs past its sigmas (IndexError at
# the last step) unless a pipeline sets the begin index; the timesteps are the fact to hold.
SCHEDULES = [
    (
        "dpmpp2m_karras_cosine_10_schedule",
        lambda: DPMSolverMultistepScheduler(beta_schedule="squaredcos_cap_v2", use_karras_sigmas=True),
        "DPMSolverMultistepScheduler(squaredcos_cap_v2, use_karras_sigmas): timesteps truncated by the int64 cast, not rounded",
        10,
    ),
]


def main() -> None:
    out = ROOT / "test/data/schedulers-options"
    out.mkdir(parents=True, exist_ok=True)
    for name, build, how, steps, seed, given in CASES:
        data = run_case(name, build, how, steps, False, [], generator_seed=seed, tables=True)
        if given is not None:
            data["given_config"] = given
        (out / f"{name}.json").write_text(dumps(data))
        print(f"wrote {out / name}.json")
    for name, build, how, steps in SCHEDULES:
        s = build()
        s.set_timesteps(steps, device="cpu")
        (out / "schedules").mkdir(exist_ok=True)
        (out / "schedules" / f"{name}.json").write_text(dumps(schedule_record(s, name, how, steps)))
        print(f"wrote {out / 'schedules' / name}.json")


if __name__ == "__main__":
    main()
