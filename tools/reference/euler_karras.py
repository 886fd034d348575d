#!/usr/bin/env python3
"""Reference runs of diffusers' EulerDiscreteScheduler where its sigma schedule is easy to get
wrong: Karras sigmas with no sigma_min / sigma_max in the config (an SD1.5 / AnimateDiff config
with use_karras_sigmas=True), where diffusers takes the Karras ends from the interpolated
training sigmas (in_sigmas[-1], in_sigmas[0]); and interpolation_type='log_linear'.

    export PYTHONPATH=<diffusers checkout>/src
    python tools/reference/euler_karras.py

Writes test/data/schedulers-euler/*.json in the format of flow_schedulers.py (the same fake
model and records). Not run in CI: the JSON is committed.
"""
from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from flow_schedulers import ROOT, SD15_BETAS, dumps, run_case  # noqa: E402

from diffusers import EulerAncestralDiscreteScheduler, EulerDiscreteScheduler  # noqa: E402

CASES = [
    (
        "euler_karras_sd15_no_range_12",
        lambda: EulerDiscreteScheduler(**SD15_BETAS, use_karras_sigmas=True),
        "EulerDiscreteScheduler(SD1.5 betas, use_karras_sigmas=True), sigma_min/sigma_max unset",
        12,
    ),
    (
        "euler_karras_linear_leading_no_range_20",
        lambda: EulerDiscreteScheduler(
            beta_start=0.00085, beta_end=0.012, beta_schedule="linear", use_karras_sigmas=True,
            timestep_spacing="leading", steps_offset=1,
        ),
        "EulerDiscreteScheduler(AnimateDiff linear betas, leading, steps_offset 1, use_karras_sigmas=True), no range",
        20,
    ),
    # log-linear sigmas: n + 1 of them, largest first, and diffusers keeps them all (the last step
    # ends at the smallest training sigma; the final 0 appended after it is never reached)
    (
        "euler_log_linear_sd15_10",
        lambda: EulerDiscreteScheduler(**SD15_BETAS, interpolation_type="log_linear"),
        "EulerDiscreteScheduler(SD1.5 betas, interpolation_type='log_linear')",
        10,
    ),
]


def main() -> None:
    out = ROOT / "test/data/schedulers-euler"
    out.mkdir(parents=True, exist_ok=True)
    for name, build, how, steps in CASES:
        data = run_case(name, build, how, steps, False, [])
        (out / f"{name}.json").write_text(dumps(data))
        print(f"wrote {out / name}.json")


if __name__ == "__main__":
    main()
