#!/usr/bin/env python3
"""Convert a diffusers checkpoint into a Dolly Studio model folder (diffusers/Optimum ONNX layout).

    python tools/export/export_model.py animatediff --base <sd15 repo or dir> \\
        --motion-adapter <adapter repo or dir> --out models/animatediff-v3 [--fp16]
    python tools/export/export_model.py animatediff --base <sd15> --motion-adapter guoyww/animatediff-motion-adapter-v1-5-3 \\
        --motionctrl motionctrl_animatediff_cmcm.ckpt --out models/motionctrl-animatediff
    python tools/export/export_model.py svd --base stabilityai/stable-video-diffusion-img2vid-xt --out models/svd-xt --fp16
    python tools/export/export_model.py svd --base stabilityai/stable-video-diffusion-img2vid \\
        --motionctrl motionctrl_svd.ckpt --out models/motionctrl-svd
    python tools/export/export_model.py cogvideox --base THUDM/CogVideoX-5b --out models/cogvideox-5b --fp16 \\
        --fp16-text-encoder
    python tools/export/export_model.py wan --base Wan-AI/Wan2.1-T2V-1.3B-Diffusers --out models/wan21-t2v-1.3b \\
        --fp16 --fp16-text-encoder
    python tools/export/export_model.py wan --base Wan-AI/Wan2.1-I2V-14B-480P-Diffusers --fp16 --fp16-text-encoder \\
        --fun-camera alibaba-pai/Wan2.1-Fun-V1.1-1.3B-Control-Camera --out models/wan21-fun-camera

What it does:
- Every component is exported by torch.onnx.export's TorchScript path (dynamo=False) from a
  wrapper module that registers the model as a submodule, with the engine's input names
  (Optimum's; src/main/engine/pipelines/registry.ts PIPELINE_REGISTRY).
- --width/--height/--frames are the size the export is traced and verified at (default: the
  model's native size). Batch, frames and spatial size are symbolic wherever the model allows
  it: each is checked at a second size against torch, and made fixed (with a message) when the
  graph cannot follow. SVD's temporal decoder takes num_frames as a real int64 input.
- Text/image encoders and VAEs are float32 (--fp16-text-encoder: T5/UMT5 in float16 the same way);
  --fp16 exports the denoiser in float16 after a
  float32 run that finds activations float16 cannot hold (bf16-trained weights): those layers
  stay float32 inside the graph (see export_lib.plan_fp16), and the result is checked against
  the float32 model.
- Graphs over 2 GB keep their weights in model.onnx_data beside model.onnx.
- Attention is fused into one MultiHeadAttention node per attention (fuse_attention.py) before
  the checks, so they run on the fused graph (--no-fuse keeps it as exported), and dolly.json
  "memory" gets each component's activation rule (activation_memory.py), which the engine's
  memory plans read.
- --random-weights NAME builds the model from its published config (random_models.py) instead
  of --base, to test real sizes without a download.
- The folder gets model_index.json, scheduler/, tokenizer/ (text-to-video), each component's
  config.json (the engine reads scaling_factor and block_out_channels from vae_decoder/), and
  dolly.json with what the layout cannot say (native size, precision, camera, motion).
- AnimateDiff exports get AnimateDiff's DDIM recipe as their scheduler (the SD1.5 base's PNDM is
  not what AnimateDiff samples with); MotionCtrl exports get MotionCtrl's.
- MotionCtrl: --motionctrl takes the CMCM checkpoint as MotionCtrl releases it; see motionctrl.py.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import sys
from pathlib import Path
from typing import NoReturn

# onnxruntime (Python's too) starts Microsoft's telemetry as it loads: a device id and an event
# store in the cache folder, uploaded where it can. Off before anything imports it, unless the
# person set it (the studio's engine and CLI do the same)
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")

HERE = Path(__file__).resolve().parent

# AnimateDiff's sampler, as diffusers' AnimateDiff docs build it from the SD1.5 scheduler config
# (DDIMScheduler.from_pretrained(base, subfolder="scheduler", beta_schedule="linear",
# clip_sample=False, timestep_spacing="linspace", steps_offset=1)); SD1.5's config carries
# set_alpha_to_one=False, stated here so any base gets the same recipe.
ANIMATEDIFF_DDIM = dict(beta_schedule="linear", beta_start=0.00085, beta_end=0.012, clip_sample=False,
                        timestep_spacing="linspace", steps_offset=1, set_alpha_to_one=False,
                        prediction_type="epsilon")
# MotionCtrl's AnimateDiff sampler: configs/inference/inference-v3.yaml noise_scheduler_kwargs passed
# to DDIMScheduler(...): linear 0.00085..0.012, steps_offset 1, clip_sample False; the rest are
# DDIMScheduler's defaults (timestep_spacing "leading", set_alpha_to_one True).
MOTIONCTRL_DDIM = dict(num_train_timesteps=1000, beta_start=0.00085, beta_end=0.012, beta_schedule="linear",
                       steps_offset=1, clip_sample=False)
# MotionCtrl-SVD (main/inference/motionctrl_cmcm.py get_RT): pose[:, :, -1] *= [3, 1, 4] * speed,
# before the poses are made relative to frame 0.
MOTIONCTRL_SVD_TRANSLATION_SCALE = [3, 1, 4]
# MotionCtrl's AnimateDiff entry point (scripts/motionctrl_animate.py) feeds the pose JSON as is.
MOTIONCTRL_ANIMATEDIFF_TRANSLATION_SCALE = 1


def _need(modules):
    missing = []
    for m in modules:
        try:
            __import__(m)
        except ImportError:
            missing.append(m)
    if missing:
        sys.exit(
            f"export_model: missing Python packages: {', '.join(missing)}; "
            f"install them with: pip install -r {HERE / 'requirements.txt'}"
        )


def write_json(path: Path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n")


def _other(n: int, lo: int = 1, step: int = 1) -> int:
    """A size near n but different from it (for the second check of a symbolic axis)."""
    for c in ((n // 2) // step * step + step, n + step):
        if c != n and c >= lo:
            return c
    return n + step


def _alt_spatial(h: int, w: int, f: int) -> tuple[int, int]:
    ha = max(f, (h // 2) // f * f)
    wa = max(f, (w // 2) // f * f) + f
    if (ha, wa) == (h, w):
        wa += f
    return ha, wa


def _model_index(class_name: str, components: dict) -> dict:
    import diffusers

    return {"_class_name": class_name, "_diffusers_version": diffusers.__version__, **components}


def _dolly_json(out: Path, data: dict):
    write_json(out / "dolly.json", {k: v for k, v in data.items() if v is not None})


def _vae_scale(vae) -> int:
    """diffusers' vae_scale_factor: 2 ** (len(block_out_channels) - 1), read from the VAE's config."""
    return 2 ** (len(vae.config.block_out_channels) - 1)


def _unet_factor(unet) -> int:
    """Latent sizes the UNet takes without its upsample-size branch: multiples of 2 ** downsamplers."""
    return 2 ** (len(unet.config.block_out_channels) - 1)


def _check_size(what: str, px: int, scale: int, factor: int):
    from export_lib import ExportError

    if px % (scale * factor):
        raise ExportError(f"{what} {px} is not a multiple of {scale * factor} (VAE scale {scale} x the denoiser's "
                          f"factor {factor})")


def _summary(results) -> str:
    lines = []
    for r in results:
        errs = ", ".join(f"{k} {v:.2g}" for k, v in r.errors.items()) or "not verified"
        lines.append(f"  {r.name:<14} {r.precision}  symbolic: {', '.join(r.symbolic) or 'none':<22} max err: {errs}")
    return "\n".join(lines)


def _common(a) -> dict:
    """export_component's options every component shares."""
    return dict(tolerance=a.tolerance, verify=not a.no_verify, fuse=not a.no_fuse,
                keep_unfused=getattr(a, "keep_unfused", False))


def _mem(to_size, native, batches=(1, 2), frames_vary=True, multiple=16):
    from export_lib import MemorySpec

    return MemorySpec(to_size=to_size, native=native, batches=batches, frames_vary=frames_vary, multiple=multiple)


def _memory(results) -> dict:
    """dolly.json "memory": per component its weights, attention counts and activation rules
    (activation_memory.py states the rule), which the engine's memory plans read."""
    return {r.name: r.memory_json() for r in results}


def _pipeline(a, load):
    """The diffusers pipeline to export: --base loaded by `load`, or --random-weights built from a
    published config (random_models.py)."""
    if getattr(a, "random_weights", None):
        import random_models

        return random_models.build(a.random_weights, a.pipeline, tokenizer=a.tokenizer,
                                   text_encoder_layers=a.text_encoder_layers,
                                   denoiser_layers=getattr(a, "denoiser_layers", None))
    return load()


# ---------------------------------------------------------------------------------------------
# AnimateDiff (+ MotionCtrl)


def export_animatediff(a):
    import torch
    from diffusers import AnimateDiffPipeline, DDIMScheduler, MotionAdapter

    import export_lib as X
    from export_lib import Axis

    pipe = _pipeline(a, lambda: AnimateDiffPipeline.from_pretrained(
        a.base, motion_adapter=MotionAdapter.from_pretrained(a.motion_adapter)))
    out = Path(a.out)
    te, unet, vae, tok = pipe.text_encoder, pipe.unet, pipe.vae, pipe.tokenizer
    scale = _vae_scale(vae)
    factor = _unet_factor(unet)
    F = a.frames or 16
    W = a.width or 512
    H = a.height or 512
    _check_size("--width", W, scale, factor)
    _check_size("--height", H, scale, factor)
    h, w = H // scale, W // scale
    native = (16, 512, 512)  # frames, width, height: the size memory rules are fitted around
    L = tok.model_max_length
    D = te.config.hidden_size
    C = unet.config.in_channels
    camera = None
    if a.motionctrl:
        import motionctrl

        state = motionctrl.load_checkpoint(a.motionctrl, a.allow_pickle)
        motionctrl.load_cmcm(unet, "animatediff", state, a.motionctrl)
        camera = "motionctrl-rt"
    results = []
    common = _common(a)

    gen = torch.Generator().manual_seed(0)

    def randn(*s):
        return torch.randn(*s, generator=gen)

    ids = lambda s: (torch.randint(0, te.config.vocab_size, (s["batch"], L), generator=gen),)  # noqa: E731
    results.append(X.export_component(
        "text_encoder", X.TextEncoderExport(te), out, ["input_ids"], "last_hidden_state",
        {"input_ids": {0: Axis("batch", ("batch",))}, "last_hidden_state": {0: Axis("batch", ("batch",))}},
        ids, {"batch": 1}, {"batch": {"batch": 2}},
        memory=_mem(lambda b, f, ww, hh: {"batch": b}, (1, native[1], native[2]), frames_vary=False,
                    multiple=scale * factor), **common))

    def unet_inputs(s):
        b, f, hh, ww = s["batch"], s["frames"], s["h"], s["w"]
        # a float timestep: Euler's are fractional (957.375) and diffusers' UNet embeds them as they
        # are; an int64 input would round them
        xs = (randn(b, C, f, hh, ww), torch.tensor([801.5], dtype=torch.float32), randn(b * f, L, D))
        if camera:
            xs += (randn(b, f, 12) * 0.5,)
        return xs

    size = {"batch": 2, "frames": F, "h": h, "w": w}
    ha, wa = _alt_spatial(h, w, factor)
    alts = {"batch": {**size, "batch": 1}, "frames": {**size, "frames": _other(F, 2)},
            "spatial": {**size, "h": ha, "w": wa}}
    sp = {0: Axis("batch", ("batch",)), 2: Axis("frames", ("frames",)), 3: Axis("height", ("spatial",)),
          4: Axis("width", ("spatial",))}
    names = ["sample", "timestep", "encoder_hidden_states"] + (["camera_poses"] if camera else [])
    axes = {"sample": sp, "out_sample": sp,
            "encoder_hidden_states": {0: Axis("batch_frames", ("batch", "frames"))}}
    if camera:
        axes["camera_poses"] = {0: Axis("batch", ("batch",)), 1: Axis("frames", ("frames",))}
    results.append(X.export_component(
        "unet", X.MotionUNetExport(unet), out, names, "out_sample", axes, unet_inputs, size, alts,
        fp16=a.fp16, fp16_margin=a.fp16_margin, float_inputs_fp16=set(names) - {"timestep"},
        required_symbolic={"batch"},
        memory=_mem(lambda b, f, ww, hh: {"batch": b, "frames": f, "h": hh // scale, "w": ww // scale}, native,
                    multiple=scale * factor),
        **common))

    def vae_inputs(s):
        return (randn(s["batch"], vae.config.latent_channels, s["h"], s["w"]),)

    vsize = {"batch": 2, "h": h, "w": w}
    vha, vwa = _alt_spatial(h, w, 1)
    vax = {0: Axis("batch", ("batch",)), 2: Axis("height", ("spatial",)), 3: Axis("width", ("spatial",))}
    results.append(X.export_component(
        "vae_decoder", X.VaeDecoderExport(vae), out, ["latent_sample"], "sample",
        {"latent_sample": vax, "sample": vax}, vae_inputs, vsize,
        {"batch": {**vsize, "batch": 1}, "spatial": {**vsize, "h": vha, "w": vwa}}, required_symbolic={"batch"},
        memory=_mem(lambda b, f, ww, hh: {"batch": b, "h": hh // scale, "w": ww // scale}, (1, native[1], native[2]), frames_vary=False,
                    multiple=scale * factor),
        **common))

    if camera:
        sched = DDIMScheduler(**MOTIONCTRL_DDIM)
        X.log(f"scheduler: MotionCtrl's DDIM (configs/inference/inference-v3.yaml: linear betas 0.00085..0.012, "
              f"steps_offset 1, clip_sample False; leading spacing, set_alpha_to_one True) instead of the base's "
              f"{pipe.scheduler.__class__.__name__}")
    else:
        import inspect

        known = inspect.signature(DDIMScheduler.__init__).parameters
        base_cfg = {k: v for k, v in pipe.scheduler.config.items() if k in known}
        sched = DDIMScheduler.from_config(base_cfg, **ANIMATEDIFF_DDIM)
        X.log(f"scheduler: AnimateDiff's DDIM recipe (linear betas 0.00085..0.012, timestep_spacing linspace, "
              f"clip_sample False, steps_offset 1, set_alpha_to_one False) written to scheduler/scheduler_config.json "
              f"instead of the base's {pipe.scheduler.__class__.__name__}")
    sched.save_pretrained(str(out / "scheduler"))
    tok.save_pretrained(str(out / "tokenizer"))
    X.copy_config(vae, out / "vae_decoder")
    X.copy_config(unet, out / "unet")
    te.config.to_json_file(str(out / "text_encoder" / "config.json"))
    write_json(out / "model_index.json", _model_index("AnimateDiffPipeline", {
        "scheduler": ["diffusers", "DDIMScheduler"], "text_encoder": ["transformers", te.__class__.__name__],
        "tokenizer": ["transformers", tok.__class__.__name__], "unet": ["diffusers", "UNetMotionModel"],
        "vae": ["diffusers", vae.__class__.__name__]}))
    unet_r = results[1]
    spatial_fixed = "spatial" in unet_r.fixed
    frames_fixed = "frames" in unet_r.fixed
    _dolly_json(out, {
        "label": a.label,
        "precision": {r.name: r.precision for r in results},
        "textEmbeddings": "per-frame",
        "camera": camera or "none",
        "cameraTranslationScale": MOTIONCTRL_ANIMATEDIFF_TRANSLATION_SCALE if camera else None,
        "motion": "none",
        "nativeFrames": F if frames_fixed else 16,
        "nativeWidth": W if spatial_fixed else 512,
        "nativeHeight": H if spatial_fixed else 512,
        "memory": _memory(results),
    })
    return results


# ---------------------------------------------------------------------------------------------
# Stable Video Diffusion (+ MotionCtrl-SVD)


def export_svd(a):
    import torch
    from diffusers import StableVideoDiffusionPipeline

    import export_lib as X
    from export_lib import Axis

    pipe = _pipeline(a, lambda: StableVideoDiffusionPipeline.from_pretrained(a.base))
    out = Path(a.out)
    enc, unet, vae = pipe.image_encoder, pipe.unet, pipe.vae
    scale = _vae_scale(vae)
    factor = _unet_factor(unet)
    native_frames = unet.config.num_frames
    F = a.frames or native_frames
    W = a.width or 1024
    H = a.height or 576
    _check_size("--width", W, scale, factor)
    _check_size("--height", H, scale, factor)
    h, w = H // scale, W // scale
    native = (native_frames, 1024, 576)
    camera = None
    if a.motionctrl:
        import motionctrl

        if native_frames != 14:
            X.log(f"warning: MotionCtrl-SVD was trained on SVD with 14 frames; --base has num_frames {native_frames}")
        state = motionctrl.load_checkpoint(a.motionctrl, a.allow_pickle)
        motionctrl.load_cmcm(unet, "svd", state, a.motionctrl)
        camera = "motionctrl-rt"
    results = []
    common = _common(a)
    gen = torch.Generator().manual_seed(0)

    def randn(*s):
        return torch.randn(*s, generator=gen)

    isz = enc.config.image_size
    bx = {0: Axis("batch", ("batch",))}
    results.append(X.export_component(
        "image_encoder", X.ImageEncoderExport(enc), out, ["pixel_values"], "image_embeds",
        {"pixel_values": bx, "image_embeds": bx}, lambda s: (randn(s["batch"], 3, isz, isz),),
        {"batch": 1}, {"batch": {"batch": 2}},
        memory=_mem(lambda b, f, ww, hh: {"batch": b}, (1, native[1], native[2]), frames_vary=False,
                    multiple=scale * factor), **common))

    ex = {0: Axis("batch", ("batch",)), 2: Axis("height", ("spatial",)), 3: Axis("width", ("spatial",))}
    esize = {"batch": 1, "h": H, "w": W}
    eh, ew = _alt_spatial(H, W, scale)
    results.append(X.export_component(
        "vae_encoder", X.VaeEncoderModeExport(vae), out, ["sample"], "latent_sample",
        {"sample": ex, "latent_sample": ex}, lambda s: (randn(s["batch"], 3, s["h"], s["w"]).clamp(-1, 1),),
        esize, {"batch": {**esize, "batch": 2}, "spatial": {**esize, "h": eh, "w": ew}},
        memory=_mem(lambda b, f, ww, hh: {"batch": b, "h": hh, "w": ww}, (1, native[1], native[2]), frames_vary=False,
                    multiple=scale * factor), **common))

    Cin = unet.config.in_channels
    D = unet.config.cross_attention_dim

    def unet_inputs(s):
        b, f, hh, ww = s["batch"], s["frames"], s["h"], s["w"]
        xs = (randn(b, f, Cin, hh, ww), torch.tensor([1.2], dtype=torch.float32), randn(b, 1, D),
              torch.tensor([[6.0, 127.0, 0.02]] * b))
        if camera:
            xs += (randn(b, f, 12) * 0.5,)
        return xs

    size = {"batch": 2, "frames": F, "h": h, "w": w}
    ha, wa = _alt_spatial(h, w, factor)
    alts = {"batch": {**size, "batch": 1}, "frames": {**size, "frames": _other(F, 2)},
            "spatial": {**size, "h": ha, "w": wa}}
    sp = {0: Axis("batch", ("batch",)), 1: Axis("frames", ("frames",)), 3: Axis("height", ("spatial",)),
          4: Axis("width", ("spatial",))}
    names = ["sample", "timestep", "encoder_hidden_states", "added_time_ids"] + (["camera_poses"] if camera else [])
    axes = {"sample": sp, "out_sample": sp, "encoder_hidden_states": bx, "added_time_ids": bx}
    if camera:
        axes["camera_poses"] = {0: Axis("batch", ("batch",)), 1: Axis("frames", ("frames",))}
    results.append(X.export_component(
        "unet", X.SpatioTemporalUNetExport(unet), out, names, "out_sample", axes, unet_inputs, size, alts,
        fp16=a.fp16, fp16_margin=a.fp16_margin, float_inputs_fp16=set(names) - {"timestep"},
        required_symbolic={"batch"},
        memory=_mem(lambda b, f, ww, hh: {"batch": b, "frames": f, "h": hh // scale, "w": ww // scale}, native,
                    multiple=scale * factor),
        **common))

    Cl = vae.config.latent_channels

    def dec_inputs(s):
        return (randn(s["n"], Cl, s["h"], s["w"]), torch.tensor([s["n"]], dtype=torch.int64))

    dsize = {"n": F, "h": h, "w": w}
    dha, dwa = _alt_spatial(h, w, 1)
    dax = {0: Axis("batch_frames", ("frames",)), 2: Axis("height", ("spatial",)), 3: Axis("width", ("spatial",))}
    results.append(X.export_component(
        "vae_decoder", X.TemporalVaeDecoderExport(vae), out, ["latent_sample", "num_frames"], "sample",
        {"latent_sample": dax, "sample": dax}, dec_inputs, dsize,
        {"frames": {**dsize, "n": 3 if F != 3 else 5}, "spatial": {**dsize, "h": dha, "w": dwa}},
        required_symbolic={"frames"},
        memory=_mem(lambda b, f, ww, hh: {"n": b, "h": hh // scale, "w": ww // scale}, (1, native[1], native[2]), frames_vary=False,
                    multiple=scale * factor),
        **common))

    pipe.scheduler.save_pretrained(str(out / "scheduler"))
    pipe.feature_extractor.save_pretrained(str(out / "feature_extractor"))
    for comp in ("vae_decoder", "vae_encoder"):
        X.copy_config(vae, out / comp)
    X.copy_config(unet, out / "unet")
    enc.config.to_json_file(str(out / "image_encoder" / "config.json"))
    write_json(out / "model_index.json", _model_index("StableVideoDiffusionPipeline", {
        "feature_extractor": ["transformers", pipe.feature_extractor.__class__.__name__],
        "image_encoder": ["transformers", enc.__class__.__name__],
        "scheduler": ["diffusers", pipe.scheduler.__class__.__name__],
        "unet": ["diffusers", "UNetSpatioTemporalConditionModel"], "vae": ["diffusers", vae.__class__.__name__]}))
    spatial_fixed = "spatial" in results[2].fixed
    _dolly_json(out, {
        "label": a.label,
        "precision": {r.name: r.precision for r in results},
        "camera": camera or "none",
        "cameraTranslationScale": MOTIONCTRL_SVD_TRANSLATION_SCALE if camera else None,
        "motion": "motion_bucket_id",
        "nativeFrames": native_frames,
        "nativeWidth": W if spatial_fixed else 1024,
        "nativeHeight": H if spatial_fixed else 576,
        # MotionCtrl-SVD samples with max_guidance_scale 2.5 (its LinearPredictionGuider)
        "defaults": {"guidance": 2.5} if camera else None,
        "memory": _memory(results),
    })
    if camera:
        X.log("MotionCtrl-SVD: dolly.json sets its max guidance, 2.5 (MotionCtrl's LinearPredictionGuider)")
    return results


# ---------------------------------------------------------------------------------------------
# CogVideoX (2B, 5B with rotary embeddings, 1.5, image-to-video)


def export_cogvideox(a):
    import torch
    from diffusers import DiffusionPipeline

    import export_lib as X
    from export_lib import Axis

    pipe = _pipeline(a, lambda: DiffusionPipeline.from_pretrained(a.base))
    cls = pipe.__class__.__name__
    if cls not in ("CogVideoXPipeline", "CogVideoXImageToVideoPipeline"):
        raise X.ExportError(f"--base {a.base} is a {cls}; expected CogVideoXPipeline or CogVideoXImageToVideoPipeline")
    i2v = cls == "CogVideoXImageToVideoPipeline"
    out = Path(a.out)
    te, tr, vae, tok = pipe.text_encoder, pipe.transformer, pipe.vae, pipe.tokenizer
    cfg = tr.config
    scale = _vae_scale(vae)
    temporal = vae.config.temporal_compression_ratio
    p, pt = cfg.patch_size, cfg.patch_size_t
    rope = bool(cfg.use_rotary_positional_embeddings)
    learned = bool(cfg.use_learned_positional_embeddings)
    # 2B's sincos position table: diffusers rebuilds it for every size in Python, so the graph
    # takes it as an input (pos_embedding [video tokens, dim], computed by the engine like the
    # 5B's rotary tables) and stays symbolic in frames and size. A learned table (1.0 I2V) holds
    # one size only: the graph is fixed to it.
    sincos = not rope  # diffusers: use_positional_embeddings=not use_rotary_positional_embeddings
    positional = learned
    F = a.frames or cfg.sample_frames
    W = a.width or cfg.sample_width * scale
    H = a.height or cfg.sample_height * scale
    _check_size("--width", W, scale, p)
    _check_size("--height", H, scale, p)
    if (F - 1) % temporal:
        raise X.ExportError(f"--frames {F}: CogVideoX takes {temporal}k+1 frames")
    Fl_decoded = Fl = (F - 1) // temporal + 1
    if pt is not None and Fl % pt:
        # the pipeline pads the transformer's latent frames to a multiple of patch_size_t and drops
        # the padding before decoding
        Fl += pt - Fl % pt
    h, w = H // scale, W // scale
    pe = tr.patch_embed
    if sincos:
        X.use_position_table_input(pe)
    native = (cfg.sample_frames, cfg.sample_width * scale, cfg.sample_height * scale)
    if positional:  # the transformer is exported at the traced size only
        native = (F, W, H)

    def latent_frames(frames: int) -> int:
        """The transformer's latent frames for a clip of `frames` (padded to patch_size_t)."""
        lf = (frames - 1) // temporal + 1
        return lf + ((pt - lf % pt) % pt if pt else 0)

    L = cfg.max_text_seq_length
    D = te.config.d_model
    Cin = cfg.in_channels
    ofs = cfg.ofs_embed_dim is not None
    results = []
    common = _common(a)
    gen = torch.Generator().manual_seed(0)

    def randn(*s):
        return torch.randn(*s, generator=gen)

    bx = {0: Axis("batch", ("batch",))}
    results.append(X.export_component(
        "text_encoder", X.TextEncoderExport(te), out, ["input_ids"], "last_hidden_state",
        {"input_ids": bx, "last_hidden_state": bx},
        lambda s: (torch.randint(0, te.config.vocab_size, (s["batch"], L), generator=gen),),
        {"batch": 1}, {"batch": {"batch": 2}}, fp16=a.fp16_text_encoder, fp16_margin=a.fp16_margin,
        float_inputs_fp16=set(),
        memory=_mem(lambda b, f, ww, hh: {"batch": b}, (1, native[1], native[2]), frames_vary=False), **common))

    def tr_inputs(s):
        b, fl, hh, ww = s["batch"], s["frames"], s["h"], s["w"]
        xs = (randn(b, fl, Cin, hh, ww), randn(b, L, D), torch.tensor([601] * b, dtype=torch.int64))
        if rope:
            cos, sin = pipe._prepare_rotary_positional_embeddings(hh * scale, ww * scale, fl, torch.device("cpu"))
            xs += (cos.float(), sin.float())
        if sincos:  # the video rows of diffusers' own table for this size (its text rows are zeros)
            xs += (pe._get_positional_embeddings(hh, ww, (fl - 1) * temporal + 1)[0, L:].float(),)
        if ofs:
            xs += (torch.full((1,), 2.0),)
        return xs

    size = {"batch": 2, "frames": Fl, "h": h, "w": w}
    sp = {0: Axis("batch", ("batch",)), 1: Axis("latent_frames", ("frames",)), 3: Axis("height", ("spatial",)),
          4: Axis("width", ("spatial",))}
    if positional:  # a learned position table holds one size: fixed
        sp = {0: sp[0]}
        X.log("transformer: CogVideoX with a learned position table (1.0 I2V) is fixed to the traced frames and size")
    names = ["hidden_states", "encoder_hidden_states", "timestep"]
    axes = {"hidden_states": sp, "out_hidden_states": sp, "encoder_hidden_states": bx, "timestep": bx}
    if rope:
        names += ["image_rotary_emb_cos", "image_rotary_emb_sin"]
        tok_axis = {0: Axis("tokens", ("frames", "spatial"))}
        axes["image_rotary_emb_cos"] = tok_axis
        axes["image_rotary_emb_sin"] = tok_axis
    if sincos:
        names += ["pos_embedding"]
        axes["pos_embedding"] = {0: Axis("tokens", ("frames", "spatial"))}
    if ofs:
        names += ["ofs"]
    ha, wa = _alt_spatial(h, w, p)
    alts = {"batch": {**size, "batch": 1}, "frames": {**size, "frames": _other(Fl, pt or 1, pt or 1)},
            "spatial": {**size, "h": ha, "w": wa}}
    results.append(X.export_component(
        "transformer", (X.CogVideoXSincosTransformerExport if sincos else X.CogVideoXTransformerExport)(tr), out, names, "out_hidden_states", axes, tr_inputs, size,
        alts, fp16=a.fp16, fp16_margin=a.fp16_margin, float_inputs_fp16=set(names) - {"timestep", "ofs"},
        required_symbolic={"batch"}, fixed=("frames", "spatial") if positional else (),
        memory=_mem(lambda b, f, ww, hh: {"batch": b, "frames": latent_frames(f), "h": hh // scale, "w": ww // scale},
                    native),
        **common))

    Cl = vae.config.latent_channels
    vsize = {"batch": 1, "frames": Fl_decoded, "h": h, "w": w}
    vax = {0: Axis("batch", ("batch",)), 3: Axis("height", ("spatial",)), 4: Axis("width", ("spatial",))}
    vha, vwa = _alt_spatial(h, w, 1)
    X.log("vae_decoder: CogVideoX's causal decoder loops over latent frames in Python: frames are fixed")
    results.append(X.export_component(
        "vae_decoder", X.VaeDecoderExport(vae), out, ["latent_sample"], "sample",
        {"latent_sample": vax, "sample": vax}, lambda s: (randn(s["batch"], Cl, s["frames"], s["h"], s["w"]),),
        vsize, {"batch": {**vsize, "batch": 2}, "spatial": {**vsize, "h": vha, "w": vwa}}, fixed=("frames",),
        memory=_mem(lambda b, f, ww, hh: {"batch": b, "frames": Fl_decoded, "h": hh // scale, "w": ww // scale},
                    native, batches=(1,), frames_vary=False),
        **common))
    if i2v:
        eax = {0: Axis("batch", ("batch",)), 3: Axis("height", ("spatial",)), 4: Axis("width", ("spatial",))}
        esize = {"batch": 1, "h": H, "w": W}
        eh, ew = _alt_spatial(H, W, scale)
        results.append(X.export_component(
            "vae_encoder", X.VaeEncoderParametersExport(vae), out, ["sample"], "latent_parameters",
            {"sample": eax, "latent_parameters": eax},
            lambda s: (randn(s["batch"], 3, 1, s["h"], s["w"]).clamp(-1, 1),), esize,
            {"batch": {**esize, "batch": 2}, "spatial": {**esize, "h": eh, "w": ew}},
            memory=_mem(lambda b, f, ww, hh: {"batch": b, "h": hh, "w": ww}, (1, native[1], native[2]), frames_vary=False), **common))
        X.copy_config(vae, out / "vae_encoder")

    pipe.scheduler.save_pretrained(str(out / "scheduler"))
    tok.save_pretrained(str(out / "tokenizer"))
    X.copy_config(vae, out / "vae_decoder")
    X.copy_config(tr, out / "transformer")
    te.config.to_json_file(str(out / "text_encoder" / "config.json"))
    write_json(out / "model_index.json", _model_index(cls, {
        "scheduler": ["diffusers", pipe.scheduler.__class__.__name__],
        "text_encoder": ["transformers", te.__class__.__name__], "tokenizer": ["transformers", tok.__class__.__name__],
        "transformer": ["diffusers", tr.__class__.__name__], "vae": ["diffusers", vae.__class__.__name__]}))
    trr, vdr = results[1], results[2]
    fixed_size = "spatial" in trr.fixed or positional
    # the VAE decoder's frames are fixed (its causal decoder loops over them in Python): the clip's
    # frames are the traced F, whatever the transformer takes; the config's sample_frames would
    # make the engine's default a count the decoder cannot take
    fixed_frames = "frames" in trr.fixed or "frames" in vdr.fixed or positional
    _dolly_json(out, {
        "label": a.label,
        "precision": {r.name: r.precision for r in results},
        "nativeFrames": F if fixed_frames else cfg.sample_frames,
        "nativeWidth": W if fixed_size else cfg.sample_width * scale,
        "nativeHeight": H if fixed_size else cfg.sample_height * scale,
        "vaeFrameBatches": False,
        "memory": _memory(results),
    })
    if i2v or ofs or pt is not None:
        X.log(f"note: {cls} with patch_size_t={pt}, ofs input={ofs}, vae_encoder={i2v}: the engine must feed these "
              f"(see tools/export/README.md, 'CogVideoX 1.5 and image-to-video')")
    return results


# ---------------------------------------------------------------------------------------------
# Wan 2.1 / 2.2 (wan.py)


def export_wan(a):
    import wan

    return wan.export_wan(a, pipeline=lambda load: _pipeline(a, load))


# the class a --base's model_index.json must name, per pipeline (checked before anything loads)
BASE_CLASSES = {
    "animatediff": ("StableDiffusionPipeline", "AnimateDiffPipeline"),
    "svd": ("StableVideoDiffusionPipeline",),
    "cogvideox": ("CogVideoXPipeline", "CogVideoXImageToVideoPipeline"),
    "wan": ("WanPipeline", "WanImageToVideoPipeline"),
}
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")


def _refuse(message: str) -> NoReturn:
    """A refusal of the command as typed, before anything is written: the message (naming the
    option and what it takes) and exit status 1, as the other option checks in main()."""
    # SystemExit with a message: Python prints it and exits 1, with no traceback (from None
    # drops the chained exception a refusal inside an except block would show)
    raise SystemExit(f"export_model: {message}") from None


def _positive(v: str) -> int:
    try:
        n = int(v)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {v!r}")
    if n <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive whole number (leave it out for the native size), got {n}")
    return n


def _local_or_hub(what: str, value: str, need: str) -> Path | None:
    """A local folder (checked for `need`), or None for a Hugging Face repository id; anything else
    (a missing path, a file) is refused by name."""
    p = Path(value).expanduser()
    if p.is_dir():
        if not (p / need).is_file():
            _refuse(f"{what} {value}: a folder without {need}; expected a diffusers folder")
        return p
    if p.exists():
        _refuse(f"{what} {value}: is a file; expected a diffusers folder or a Hugging Face "
                         f"repository id (owner/name)")
    if not HUB_ID.match(value):
        _refuse(f"{what} {value}: no such folder (and not a Hugging Face repository id, "
                         f"owner/name)")
    return None


def _hub_unreachable(timeout: float = 5.0) -> str | None:
    """Why the Hub's host cannot be reached, or None: one connection attempt, so an offline
    machine is told at once instead of after huggingface_hub's five retries (about 30 s). Behind
    a proxy the direct attempt says nothing, so it is skipped."""
    import socket
    import urllib.request
    from urllib.parse import urlparse

    url = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host, port = url.hostname or "huggingface.co", url.port or (443 if url.scheme == "https" else 80)
    # the proxies the HTTP clients use: the environment's, and on macOS and Windows the system's
    proxies = urllib.request.getproxies()
    if (proxies.get(url.scheme) or proxies.get("all")) and not urllib.request.proxy_bypass(host):
        return None
    try:
        socket.create_connection((host, port), timeout=timeout).close()
        return None
    except OSError as e:
        return f"{host}:{port}: {e.strerror or e}"


def _base_class(base: str) -> str:
    """The pipeline class --base's model_index.json names: read from the folder, or fetched alone
    from the Hub (a few hundred bytes, not the checkpoint)."""
    local = _local_or_hub("--base", base, "model_index.json")
    if local is not None:
        index = local / "model_index.json"
    else:
        try:
            from huggingface_hub import hf_hub_download

            try:  # already in the Hugging Face cache: no network at all
                index = Path(hf_hub_download(base, "model_index.json", local_files_only=True))
            except Exception:  # noqa: BLE001 - not cached: ask the Hub
                unreachable = _hub_unreachable()
                if unreachable:
                    _refuse(f"--base {base}: not a local folder, and the Hugging Face Hub cannot be reached "
                            f"({unreachable}); give the checkpoint's folder, or connect and run again")
                index = Path(hf_hub_download(base, "model_index.json"))
        except SystemExit:
            raise
        except Exception as e:  # noqa: BLE001
            first = str(e).strip().splitlines()[0] if str(e).strip() else ""
            _refuse(f"--base {base}: not a local folder, and its model_index.json could not be "
                             f"fetched from the Hugging Face Hub ({type(e).__name__}: {first})")
    try:
        return str(json.loads(index.read_text(encoding="utf-8")).get("_class_name"))
    except (OSError, ValueError, AttributeError) as e:
        _refuse(f"--base {base}: {index} cannot be read as JSON ({e})")


def _check_inputs(a) -> None:
    """Everything about the command that can be checked before a checkpoint loads (minutes, or a
    download of many gigabytes): the base's pipeline class, the other inputs' paths."""
    if a.base:
        cls = _base_class(a.base)
        want = BASE_CLASSES[a.pipeline]
        if cls not in want:
            _refuse(f"--base {a.base} is a {cls} (model_index.json); {a.pipeline} expects "
                             f"{' or '.join(want)}")
    if a.motion_adapter:
        _local_or_hub("--motion-adapter", a.motion_adapter, "config.json")
    if a.fun_camera:
        _local_or_hub("--fun-camera", a.fun_camera, "config.json")
    if a.motionctrl and not os.path.isfile(a.motionctrl):
        _refuse(f"--motionctrl {a.motionctrl}: no such file (MotionCtrl's .ckpt)")
    if a.tokenizer and not os.path.isdir(a.tokenizer):
        _refuse(f"--tokenizer {a.tokenizer}: no such folder")


def _staging(out: str) -> Path:
    """The folder the export is written to, beside --out, renamed to it only when complete: a failed,
    interrupted or killed export never leaves a half-written --out behind. Leftovers of killed runs
    (their process gone) are removed."""
    target = Path(out).expanduser().absolute()
    if target.exists() and not target.is_dir():
        _refuse(f"--out {out}: is a file; give a folder for the model")
    parent = target.parent
    if not parent.is_dir():
        _refuse(f"--out {out}: the folder {parent} does not exist; create it first")
    prefix = f".{target.name}.partial-"
    for old in parent.glob(prefix + "*"):
        pid = old.name[len(prefix):]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            shutil.rmtree(old, ignore_errors=True)
            print(f"export_model: removed {old}, left by an export that was killed", flush=True)
    staged = parent / f"{prefix}{os.getpid()}"
    try:
        staged.mkdir()
    except OSError as e:
        _refuse(f"--out {out}: cannot write in {parent} ({e.strerror or e})")
    return staged


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _random_names() -> list[str]:
    sys.path.insert(0, str(HERE))
    import random_models

    return sorted(random_models.CONFIGS)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pipeline", choices=["animatediff", "svd", "cogvideox", "wan"])
    p.add_argument("--base", help="diffusers repository id or folder")
    p.add_argument("--random-weights", metavar="CONFIG",
                   help="instead of --base: the model built from its published config with random weights "
                        "(random_models.py: " + ", ".join(_random_names()) + "), to test real sizes without a download")
    p.add_argument("--tokenizer", help="with --random-weights: the tokenizer folder to ship (CLIP or T5)")
    p.add_argument("--text-encoder-layers", type=int,
                   help="with --random-weights: build the text encoder with this many of its blocks (T5-XXL in "
                        "float32 is 19 GB); its activations do not depend on the depth")
    p.add_argument("--denoiser-layers", type=int,
                   help="with --random-weights: build a transformer denoiser (CogVideoX, Wan) with this many of its identical "
                        "blocks; its activation rule is the full model's (the weights are counted from the config)")
    p.add_argument("--motion-adapter", help="AnimateDiff motion adapter (repository id or folder)")
    p.add_argument("--motionctrl", help="MotionCtrl CMCM checkpoint as released (.ckpt/.pt/.safetensors): "
                                        "motionctrl_animatediff_cmcm.ckpt (animatediff) or motionctrl_svd.ckpt (svd)")
    p.add_argument("--allow-pickle", action="store_true",
                   help="read a --motionctrl .ckpt with torch.load(weights_only=False) (only for files you trust)")
    p.add_argument("--out", required=True)
    p.add_argument("--width", type=_positive, help="width the export is traced and verified at (default: native)")
    p.add_argument("--height", type=_positive, help="height the export is traced and verified at (default: native)")
    p.add_argument("--frames", type=_positive, help="frames the export is traced and verified at (default: native; "
                                              "CogVideoX 4k+1)")
    p.add_argument("--fp16", action="store_true", help="export the denoiser in float16 (VAEs and encoders stay float32)")
    p.add_argument("--fp16-margin", type=float, default=4.0,
                   help="with --fp16, layers whose float32 activations exceed 65504 / margin stay float32 (default 4)")
    p.add_argument("--tolerance", type=float, default=1e-4,
                   help="max |torch - onnxruntime| per component, relative to max(1, |output|) (float16: x30, "
                        "at least 3e-2)")
    p.add_argument("--no-verify", action="store_true", help="skip the torch vs onnxruntime checks (not recommended)")
    p.add_argument("--no-fuse", action="store_true",
                   help="keep attention as exported (MatMul, Softmax, MatMul) instead of one MultiHeadAttention node "
                        "per attention (fuse_attention.py); unfused attention needs batch x heads x tokens^2 memory")
    p.add_argument("--keep-unfused", action="store_true",
                   help="also keep each graph as exported, before fusion, as model.unfused.onnx (benchmarks)")
    p.add_argument("--label", help="the model's name in the studio (dolly.json label)")
    p.add_argument("--flow-shift", type=float, help="wan: UniPC flow_shift (default: Wan's advice for the export's "
                                                     "size, 3.0 at 480p, 5.0 at 720p)")
    p.add_argument("--resolution", choices=["480p", "720p"],
                   help="wan: the model's own clip size, 832x480 or 1280x720 (default 480p; TI2V-5B: 1280x704), "
                        "and its flow_shift (3.0 at 480p, 5.0 at 720p)")
    p.add_argument("--fp16-text-encoder", action="store_true",
                   help="cogvideox, wan: T5 / UMT5 in float16 with float32 islands where its activations "
                        "would overflow (default float32: twice the memory)")
    p.add_argument("--image-to-video", action="store_true",
                   help="wan: export Wan2.2 TI2V-5B for image-to-video (adds the VAE encoder)")
    p.add_argument("--fun-camera", help="wan: a VideoX-Fun Control-Camera transformer folder (config.json + "
                                        "diffusion_pytorch_model.safetensors) or its Hugging Face repository id "
                                        "(only those files are fetched), to export over --base's text encoder, "
                                        "VAE and image encoder")
    p.add_argument("--camera-fov", type=float, default=55.7,
                   help="wan --fun-camera: the vertical field of view the model was trained with, in degrees "
                        "(VideoX-Fun's pose assets: fy 0.946 of the height, 55.7)")
    a = p.parse_args(argv)
    _need(["torch", "diffusers", "transformers", "onnx", "onnxruntime", "numpy"])
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    from export_lib import ExportError

    if os.path.isdir(a.out) and os.listdir(a.out):
        sys.exit(f"export_model: {a.out} exists and is not empty")
    if a.base and a.random_weights:
        sys.exit("export_model: give --base (a checkpoint) or --random-weights (a published config), not both")
    if not a.base and not a.random_weights:
        sys.exit("export_model: give --base (a diffusers checkpoint: a folder or a Hugging Face repository id) "
                 "or --random-weights (a published config)")
    if a.random_weights and a.motion_adapter:
        sys.exit("export_model: --random-weights builds the motion adapter from its config too; drop --motion-adapter")
    if a.pipeline == "animatediff" and not a.motion_adapter and not a.random_weights:
        sys.exit("export_model: animatediff needs --motion-adapter (e.g. guoyww/animatediff-motion-adapter-v1-5-3)")
    if a.pipeline == "cogvideox" and a.motionctrl:
        sys.exit("export_model: --motionctrl applies to animatediff and svd only")
    # refused before anything loads (test_text_encoder_and_wan_only_options_are_refused_by_name_elsewhere)
    if a.pipeline != "wan" and (a.fun_camera or a.image_to_video or a.flow_shift is not None or a.resolution):
        sys.exit("export_model: --fun-camera, --image-to-video, --flow-shift and --resolution apply to wan only")
    if a.fp16_text_encoder and a.pipeline not in ("wan", "cogvideox"):
        sys.exit("export_model: --fp16-text-encoder applies to cogvideox and wan (their T5 / UMT5); CLIP stays float32")
    if a.pipeline == "wan" and a.motionctrl:
        sys.exit("export_model: --motionctrl applies to animatediff and svd only")
    if a.motion_adapter and a.pipeline != "animatediff":
        sys.exit("export_model: --motion-adapter applies to animatediff only")
    _check_inputs(a)
    out = a.out
    staged = _staging(out)
    # a TERM (a closed terminal, a task manager) cleans up like Ctrl-C
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143)) if _main_thread() else None
    a.out = str(staged)
    try:
        results = {"animatediff": export_animatediff, "svd": export_svd, "cogvideox": export_cogvideox,
                   "wan": export_wan}[a.pipeline](a)
        target = Path(out).expanduser().absolute()
        if target.is_dir():
            target.rmdir()  # empty (checked above); the complete export takes its place
        os.replace(staged, target)
    except ExportError as e:
        shutil.rmtree(staged, ignore_errors=True)
        sys.exit(f"export_model: {e}")
    except KeyboardInterrupt:
        shutil.rmtree(staged, ignore_errors=True)
        print(f"export_model: interrupted; {out} was not written", file=sys.stderr, flush=True)
        sys.exit(130)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    finally:
        a.out = out
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print(f"export_model: exported {a.pipeline} to {out}\n{_summary(results)}", flush=True)
    return results


def _main_thread() -> bool:
    import threading

    return threading.current_thread() is threading.main_thread()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # before the export started (the checks, a Hub request): nothing written
        print("export_model: interrupted; nothing was written", file=sys.stderr, flush=True)
        sys.exit(130)
