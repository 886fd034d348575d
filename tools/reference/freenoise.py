#!/usr/bin/env python3
"""Long takes against diffusers (test/data/freenoise/): a tiny random AnimateDiff whose motion
module stops at 8 frames, exported with our exporter, and what diffusers computes from the same
weights.

    PY=/root/.cache/dolly-export-venv/bin/python
    PYTHONPATH=/root/.cache/dolly-diffusers-src/src $PY tools/reference/freenoise.py

Writes (committed; not run in CI):
- model/            the ONNX folder (tools/export/export_model.py), motion_max_seq_length 8,
                    without tokenizer/ (the tests add ../shared/fixtures/tokenizers/clip)
- freenoise.json    diffusers' own FreeNoise pieces:
    * windows: FreeNoiseTransformerBlock._get_frame_indices plus the closing window its forward
      adds, and _get_frame_weights, for several (frames, context_length, context_stride, scheme);
    * randperm: torch.randperm(n, generator) draws after a randn, to pin the generator's stream;
    * run: AnimateDiffPipeline with enable_free_noise(8, 4, 'pyramid', 'shuffle_context') and a
      prompt dict: the latents _prepare_latents_free_noise returns, the embeddings
      _encode_prompt_free_noise returns (negative block first), and the frames it renders.
- loop_embeds.npy   a loop's prompt travel: back to the first prompt at frame F (diffusers'
                    interpolation over F + 1 frames with that key, cut to F)
- windowed_*.npy    the frames of dolly's own rule (windows over the whole UNet, as
  AnimateDiff-Evolved runs them) computed in torch with diffusers' UNetMotionModel, DDIM and
  VAE on those same weights, latents and embeddings: the engine must match these number for
  number. diffusers' FreeNoise windows only inside the motion modules' transformer blocks (the
  spatial layers see every frame), so its frames are a different (not a reference) result:
  the test reports how far the two are apart and does not compare them.
"""
from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "test/data/freenoise"
sys.path.insert(0, str(ROOT / "tools/export"))

import test_export as T  # noqa: E402  (tiny model builders and the export helper)

PROMPT = {0: "a red fox running through fresh snow", 10: "a white owl over a dark forest"}
NEGATIVE = "blurry"
SETTINGS = dict(frames=24, width=32, height=32, steps=3, guidance=6.0, seed=7, window=8, stride=4)


def windows_py(frames: int, window: int, stride: int, loop: bool) -> list[list[int]]:
    """dolly's rule (src/shared/longtake.ts contextWindows), written again here."""
    L = min(window, frames)
    S = max(1, min(stride, L))
    rng = lambda s: [(s + k) % frames for k in range(L)]  # noqa: E731
    if loop:
        out = [rng(s) for s in range(0, frames, S)]
        if len(out) == 1:
            out.append(rng(frames // 2))
        return out
    if frames <= L:
        return [rng(0)]
    out = [rng(s) for s in range(0, frames - L + 1, S)]
    if out[-1][-1] != frames - 1:
        out.append(rng(frames - L))
    return out


def weights_py(n: int, scheme: str) -> list[float]:
    from diffusers.models.attention import FreeNoiseTransformerBlock

    return FreeNoiseTransformerBlock._get_frame_weights(None, n, scheme)


def diffusers_windows() -> list[dict]:
    from diffusers.models.attention import FreeNoiseTransformerBlock

    cases = []
    for frames, L, S in [(24, 8, 4), (25, 16, 4), (24, 16, 4), (40, 16, 12), (33, 8, 3), (16, 16, 4), (17, 16, 16)]:
        blk = FreeNoiseTransformerBlock(dim=8, num_attention_heads=1, attention_head_dim=8, context_length=L,
                                        context_stride=S, weighting_scheme="flat")
        idx = blk._get_frame_indices(frames)
        if idx[-1][1] != frames:  # the closing window forward() adds
            idx.append((frames - L, frames))
        cases.append({"frames": frames, "context_length": L, "context_stride": S,
                      "windows": [list(range(a, b)) for a, b in idx]})
    weights = {}
    for scheme in ("flat", "pyramid", "delayed_reverse_sawtooth"):
        for n in range(2, 17):
            if scheme == "delayed_reverse_sawtooth" and n % 2:
                continue  # diffusers builds n + 1 weights for odd n (see longtake.ts)
            weights[f"{scheme}/{n}"] = blk._get_frame_weights(n, scheme)
    return cases, weights


def randperm_cases() -> list[dict]:
    out = []
    for seed, pre, ns in [(7, [1, 4, 4, 4, 4], [4, 4, 3, 8]), (2024, [3], [5, 1, 2, 16])]:
        g = torch.Generator("cpu").manual_seed(seed)
        torch.randn(pre, generator=g)
        out.append({"seed": seed, "randn_before": pre, "n": ns,
                    "perms": [torch.randperm(n, generator=g).tolist() for n in ns]})
    return out


def build_and_export(tmp: Path):
    from diffusers import MotionAdapter

    base, adapter = tmp / "base", tmp / "adapter"
    T.tiny_sd15_base(base)
    torch.manual_seed(1)
    MotionAdapter(block_out_channels=(8, 16), motion_layers_per_block=1, motion_norm_num_groups=2,
                  motion_num_attention_heads=2, use_motion_mid_block=False,
                  motion_max_seq_length=SETTINGS["window"]).save_pretrained(adapter)
    model = OUT / "model"
    shutil.rmtree(model, ignore_errors=True)
    T.export("animatediff", "--base", base, "--motion-adapter", adapter, "--out", model, "--width", SETTINGS["width"],
             "--height", SETTINGS["height"], "--frames", SETTINGS["window"], "--label", "freenoise tiny")
    # the CLIP tokenizer (3.6 MB) is not committed twice: the test takes ../shared's copy
    shutil.rmtree(model / "tokenizer")
    return lambda: T.animatediff_pipe(base, adapter)


def ddim(pipe):
    from diffusers import DDIMScheduler

    return DDIMScheduler.from_config(pipe.scheduler.config, beta_schedule="linear", clip_sample=False,
                                     timestep_spacing="linspace", steps_offset=1, set_alpha_to_one=False)


def windowed_frames(pipe, latents, embeds, windows, scheme, guidance, steps):
    """dolly's long-take loop in torch: per step, each window through the whole UNet (CFG as
    [uncond, cond]), predictions accumulated with the window weights, divided by their sums."""
    sched = ddim(pipe)
    sched.set_timesteps(steps)
    F = latents.shape[2]
    x = latents.clone()
    with torch.no_grad():
        for t in sched.timesteps:
            acc = torch.zeros_like(x)
            wsum = torch.zeros(F, dtype=torch.float32)
            for w in windows:
                wt = torch.tensor(weights_py(len(w), scheme), dtype=torch.float32)
                xw = x[:, :, w]
                inp = sched.scale_model_input(torch.cat([xw, xw]), t)
                e = torch.cat([embeds[w], embeds[[F + i for i in w]]])
                out = pipe.unet(inp, t, encoder_hidden_states=e).sample
                u, c = out.chunk(2)
                pred = u + guidance * (c - u)
                for k, f in enumerate(w):
                    acc[:, :, f] += pred[:, :, k] * wt[k]
                    wsum[f] += wt[k]
            x = sched.step(acc / wsum.view(1, 1, F, 1, 1), t, x).prev_sample
        frames = pipe.decode_latents(x)  # [1, 3, F, H, W] in [-1, 1] -> the video processor's postprocess
        video = pipe.video_processor.postprocess_video(video=frames, output_type="np")
    return np.asarray(video[0], dtype=np.float32)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as d:
        make_pipe = build_and_export(Path(d))
        run(make_pipe)


def run(make_pipe) -> None:
    s = SETTINGS
    pipe = make_pipe()
    pipe.scheduler = ddim(pipe)
    pipe.enable_free_noise(context_length=s["window"], context_stride=s["stride"], weighting_scheme="pyramid",
                           noise_type="shuffle_context")
    captured = {}
    orig_lat, orig_enc = pipe._prepare_latents_free_noise, pipe._encode_prompt_free_noise

    def cap_lat(*a, **k):
        captured["latents"] = orig_lat(*a, **k).clone()
        return captured["latents"]

    def cap_enc(*a, **k):
        pe, ne = orig_enc(*a, **k)
        captured["embeds"] = pe.clone()
        return pe, ne

    pipe._prepare_latents_free_noise, pipe._encode_prompt_free_noise = cap_lat, cap_enc
    ref = pipe(prompt=PROMPT, negative_prompt=NEGATIVE, num_frames=s["frames"], width=s["width"], height=s["height"],
               num_inference_steps=s["steps"], guidance_scale=s["guidance"],
               generator=torch.Generator("cpu").manual_seed(s["seed"]), output_type="np").frames[0]
    # a fresh pipeline for dolly's rule (diffusers' disable_free_noise fails on a mid block
    # without motion modules, and the FreeNoise blocks must not run here)
    pipe = make_pipe()
    lat, emb = captured["latents"], captured["embeds"]
    np.save(OUT / "freenoise_latents.npy", lat.numpy().astype(np.float32))
    np.save(OUT / "freenoise_embeds.npy", emb.numpy().astype(np.float32))
    np.save(OUT / "freenoise_frames.npy", np.asarray(ref, dtype=np.float32))

    # dolly's rule on the same weights, latents and embeddings: straight (pyramid) and a loop
    # (flat weights, plain random latents from the same seed)
    straight = windows_py(s["frames"], s["window"], s["stride"], False)
    np.save(OUT / "windowed_straight.npy",
            windowed_frames(pipe, lat, emb, straight, "pyramid", s["guidance"], s["steps"]))
    g = torch.Generator("cpu").manual_seed(s["seed"])
    plain = torch.randn((1, 4, s["frames"], s["height"] // 2, s["width"] // 2), generator=g)
    loop = windows_py(s["frames"], s["window"], s["stride"], True)
    # a loop's prompt travels back to the first prompt at frame F (the frame after the last):
    # diffusers' interpolation over F + 1 frames with that extra key, cut to F
    F = s["frames"]
    pipe._free_noise_prompt_interpolation_callback = pipe._lerp
    with torch.no_grad():
        pos, _ = pipe._encode_prompt_free_noise(prompt={**PROMPT, F: PROMPT[0]}, num_frames=F + 1, device="cpu",
                                                num_videos_per_prompt=1, do_classifier_free_guidance=False,
                                                negative_prompt=NEGATIVE)
    loop_emb = torch.cat([emb[:F], pos[:F]])
    np.save(OUT / "loop_embeds.npy", loop_emb.numpy().astype(np.float32))
    np.save(OUT / "windowed_loop.npy", windowed_frames(pipe, plain, loop_emb, loop, "flat", s["guidance"], s["steps"]))

    cases, weights = diffusers_windows()
    meta = {
        "about": "written by tools/reference/freenoise.py from diffusers' own code; see its docstring",
        "diffusers": __import__("diffusers").__version__,
        "torch": torch.__version__,
        "settings": s,
        "prompt": {str(k): v for k, v in PROMPT.items()},
        "negative_prompt": NEGATIVE,
        "free_noise": {"context_length": s["window"], "context_stride": s["stride"], "weighting_scheme": "pyramid",
                       "noise_type": "shuffle_context"},
        "windows": cases,
        "weights": weights,
        "randperm": randperm_cases(),
        "runs": {
            "straight": {"windows": straight, "weighting": "pyramid", "latents": "freenoise_latents.npy",
                         "frames": "windowed_straight.npy"},
            "loop": {"windows": loop, "weighting": "flat", "latents": "randn(seed)", "embeds": "loop_embeds.npy",
                     "frames": "windowed_loop.npy"},
        },
    }
    (OUT / "freenoise.json").write_text(json.dumps(meta, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
