#!/usr/bin/env python3
"""CogVideoX's 3-D rotary tables from diffusers' own pipeline code, for the engine's tests
(test/data/cogvideox/rope.json): CogVideoX 1.0 (linspace grid over the resize-crop region) and
1.5 (the integer "slice" grid, temporal positions per patch_size_t group).

    export PYTHONPATH=<diffusers checkout>/src
    python tools/reference/cogvideox_rope.py

Not run in CI: the JSON it writes is committed.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from diffusers.models.embeddings import get_3d_rotary_pos_embed
from diffusers.pipelines.cogvideo.pipeline_cogvideox import get_resize_crop_region_for_grid

ROOT = Path(__file__).resolve().parents[2]

# name, head_dim, (height, width) px, latent frames, patch_size, patch_size_t, sample (w, h) latents
CASES = [
    ("1.0-5b-720x480-13", 64, (480, 720), 13, 2, None, (90, 60)),
    ("1.0-5b-512x320-4", 64, (320, 512), 4, 2, None, (90, 60)),
    ("1.5-1360x768-21", 64, (768, 1360), 22, 2, 2, (170, 96)),
    ("1.5-tiny-16x16-4", 16, (16, 16), 4, 2, 2, (2, 2)),
]


def rope(head_dim, hw, frames, p, pt, sample):
    """diffusers' CogVideoXPipeline._prepare_rotary_positional_embeddings, its own calls."""
    gh, gw = hw[0] // (8 * p), hw[1] // (8 * p)
    bw, bh = sample[0] // p, sample[1] // p
    if pt is None:
        crops = get_resize_crop_region_for_grid((gh, gw), bw, bh)
        return get_3d_rotary_pos_embed(head_dim, crops, (gh, gw), frames), (gh, gw), frames
    t = (frames + pt - 1) // pt
    return get_3d_rotary_pos_embed(head_dim, None, (gh, gw), t, grid_type="slice", max_size=(bh, bw)), (gh, gw), t


def main() -> None:
    out = []
    for name, hd, hw, frames, p, pt, sample in CASES:
        (cos, sin), grid, temporal = rope(hd, hw, frames, p, pt, sample)
        rows = cos.shape[0]
        pick = sorted({0, 1, rows // 2, rows - 1})
        out.append({
            "name": name, "head_dim": hd, "height": hw[0], "width": hw[1], "latent_frames": frames,
            "patch_size": p, "patch_size_t": pt, "sample_width": sample[0], "sample_height": sample[1],
            "grid": list(grid), "temporal": temporal, "shape": list(cos.shape),
            "rows": pick,
            "cos": [cos[r].float().tolist() for r in pick], "sin": [sin[r].float().tolist() for r in pick],
        })
    dst = ROOT / "test/data/cogvideox/rope.json"
    dst.write_text(json.dumps(out) + "\n")
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
