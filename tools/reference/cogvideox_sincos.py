#!/usr/bin/env python3
"""CogVideoX-2B's sincos position table from diffusers' own patch embedding, for the engine's tests
(test/data/cogvideox/sincos.json): CogVideoXPatchEmbed._get_positional_embeddings at a few sizes,
as the pipeline adds it (`.to(embeds.dtype)`, float32 here), video rows only (its text rows are
zeros).

    export PYTHONPATH=<diffusers checkout>/src
    python tools/reference/cogvideox_sincos.py

Not run in CI: the JSON it writes is committed.
"""
from __future__ import annotations

import json
from pathlib import Path

from diffusers.models.embeddings import CogVideoXPatchEmbed

ROOT = Path(__file__).resolve().parents[2]

# name, embed dim, latent (width, height), latent frames, spatial / temporal interpolation scale
CASES = [
    ("2b-720x480-13", 1920, (90, 60), 13, 1.875, 1.0),
    ("tiny-64-10x6-4", 64, (10, 6), 4, 1.875, 1.0),
    ("tiny-32-4x4-2-scales", 32, (4, 4), 2, 1.5, 2.0),
]
PATCH = 2
TEMPORAL = 4


def _short(x) -> str:
    """JSON with floats as %.9g (a float32 reads back exactly)."""
    if isinstance(x, float):
        return "%.9g" % x
    if isinstance(x, list):
        return "[" + ",".join(_short(v) for v in x) + "]"
    if isinstance(x, dict):
        return "{" + ",".join(json.dumps(k) + ":" + _short(v) for k, v in x.items()) + "}"
    return json.dumps(x)


def main() -> None:
    out = []
    for name, dim, (lw, lh), frames, s_scale, t_scale in CASES:
        pe = CogVideoXPatchEmbed(patch_size=PATCH, embed_dim=dim, text_embed_dim=8, sample_width=lw,
                                 sample_height=lh, sample_frames=(frames - 1) * TEMPORAL + 1,
                                 temporal_compression_ratio=TEMPORAL, max_text_seq_length=226,
                                 spatial_interpolation_scale=s_scale, temporal_interpolation_scale=t_scale,
                                 use_positional_embeddings=True, use_learned_positional_embeddings=False)
        table = pe._get_positional_embeddings(lh, lw, (frames - 1) * TEMPORAL + 1)[0, 226:].float()
        rows = table.shape[0]
        # every row of the small tables; three of the 2B's 17550 (the file stays small)
        pick = list(range(rows)) if rows * dim <= 4096 else [1, rows // 2 + lw // PATCH + 1, rows - 1]
        entry = {"name": name, "dim": dim, "latent_width": lw, "latent_height": lh, "latent_frames": frames,
                 "patch_size": PATCH, "spatial_interpolation_scale": s_scale,
                 "temporal_interpolation_scale": t_scale, "shape": list(table.shape), "rows": pick,
                 "values": [table[r].tolist() for r in pick]}
        out.append(entry)
    dst = ROOT / "test/data/cogvideox/sincos.json"
    dst.write_text(_short(out) + "\n")
    print(f"wrote {dst}")


if __name__ == "__main__":
    main()
