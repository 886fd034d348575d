#!/usr/bin/env python3
"""Convert a diffusers checkpoint into a Dolly Studio model folder (diffusers/Optimum ONNX layout).

    python tools/export/export_model.py animatediff --base <sd15 repo or dir> \
        --motion-adapter <adapter repo or dir> --out models/animatediff-v3
    python tools/export/export_model.py svd --base stabilityai/stable-video-diffusion-img2vid-xt --out models/svd-xt
    python tools/export/export_model.py cogvideox --base THUDM/CogVideoX-2b --out models/cogvideox-2b

Each component is exported with torch.onnx.export using the input/output names the engine
expects (Optimum's), fp16 or fp32 per component (VAEs stay fp32 by default: fp16 VAEs
overflow to NaN), weights over 2 GB go to model.onnx_data beside model.onnx. The folder
gets model_index.json, scheduler/, tokenizer/ and dolly.json, and then one denoising step is
run in PyTorch and in ONNX Runtime on the same inputs; the export fails when they differ by
more than the tolerance.

Not done yet (refused with a message rather than faked): MotionCtrl's camera module and
CameraCtrl's pose encoder, which need those projects' model code next to diffusers.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
from pathlib import Path

TWO_GB = 2 * 1024**3


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
            f"install them with: pip install -r {Path(__file__).with_name('requirements.txt')}"
        )


def save_onnx(model_path: Path):
    """Re-save with external data when the graph is over 2 GB (protobuf's limit)."""
    import onnx

    size = sum(f.stat().st_size for f in model_path.parent.iterdir() if f.is_file())
    if size < TWO_GB:
        return
    m = onnx.load(str(model_path), load_external_data=True)
    for f in list(model_path.parent.iterdir()):
        if f != model_path:
            f.unlink()
    onnx.save_model(m, str(model_path), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="model.onnx_data", size_threshold=1024)


def export(module, args, path: Path, input_names, output_names, dynamic_axes, opset=17):
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(module, args, str(path), input_names=input_names, output_names=output_names,
                          dynamic_axes=dynamic_axes, opset_version=opset, do_constant_folding=True)
    save_onnx(path)


def write_json(path: Path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2) + "\n")


class _Out0:
    """Wraps a module so the exported graph returns its first output (a tensor)."""

    def __new__(cls, fn):
        import torch

        class W(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.fn = fn

            def forward(self, *a):
                out = self.fn(*a)
                if isinstance(out, (tuple, list)):
                    return out[0]
                return out.sample if hasattr(out, "sample") else out

        return W()


def verify(onnx_path: Path, torch_fn, feeds, tolerance: float, name: str):
    """Runs the same inputs through PyTorch and ONNX Runtime; fails above the tolerance."""
    import numpy as np
    import onnxruntime as ort
    import torch

    sess = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    with torch.no_grad():
        ref = torch_fn(*[torch.from_numpy(v) for v in feeds.values()]).float().cpu().numpy()
    got = sess.run(None, feeds)[0].astype(np.float32)
    diff = float(np.abs(ref - got).max())
    print(f"verify {name}: max |torch - onnxruntime| = {diff:.3g} (tolerance {tolerance:g})")
    if not diff <= tolerance:
        sys.exit(f"export_model: {name} differs from PyTorch by {diff:.3g} > {tolerance:g}; the export is not trustworthy")
    return diff


def export_animatediff(a):
    import numpy as np
    import torch
    from diffusers import AnimateDiffPipeline, MotionAdapter

    if a.motionctrl:
        sys.exit("export_model: MotionCtrl's camera module is not supported by this exporter yet; "
                 "export without --motionctrl (no camera input) or use a folder exported by MotionCtrl's own tools")
    adapter = MotionAdapter.from_pretrained(a.motion_adapter)
    pipe = AnimateDiffPipeline.from_pretrained(a.base, motion_adapter=adapter)
    out = Path(a.out)
    dt_unet = torch.float16 if a.fp16 else torch.float32
    te, unet, vae = pipe.text_encoder.eval(), pipe.unet.eval().to(dt_unet), pipe.vae.eval().float()
    L = pipe.tokenizer.model_max_length
    ids = torch.zeros(1, L, dtype=torch.int64)
    export(_Out0(lambda i: te(i)), (ids,), out / "text_encoder/model.onnx", ["input_ids"], ["last_hidden_state"],
           {"input_ids": {0: "batch"}, "last_hidden_state": {0: "batch"}})
    F, h, w = 16, a.height // 8, a.width // 8
    D = te.config.hidden_size
    sample = torch.randn(2, 4, F, h, w, dtype=dt_unet)
    t = torch.tensor([999], dtype=torch.int64)
    ehs = torch.randn(2 * F, L, D, dtype=dt_unet)
    unet_fn = lambda s, tt, e: unet(s, tt, encoder_hidden_states=e).sample
    export(_Out0(unet_fn), (sample, t, ehs), out / "unet/model.onnx", ["sample", "timestep", "encoder_hidden_states"], ["out_sample"],
           {"sample": {0: "batch", 2: "frames"}, "encoder_hidden_states": {0: "batch_frames"}, "out_sample": {0: "batch", 2: "frames"}})
    z = torch.randn(1, 4, h, w)
    export(_Out0(lambda zz: vae.decode(zz)), (z,), out / "vae_decoder/model.onnx", ["latent_sample"], ["sample"],
           {"latent_sample": {0: "batch", 2: "h", 3: "w"}, "sample": {0: "batch", 2: "H", 3: "W"}})
    pipe.scheduler.save_pretrained(out / "scheduler")
    pipe.tokenizer.save_pretrained(out / "tokenizer")
    vae.save_config(out / "vae_decoder")
    write_json(out / "model_index.json", {"_class_name": "AnimateDiffPipeline", "_diffusers_version": __import__("diffusers").__version__})
    write_json(out / "dolly.json", {"precision": {"unet": "fp16" if a.fp16 else "fp32", "vae_decoder": "fp32"},
                                    "nativeFrames": F, "nativeWidth": a.width, "nativeHeight": a.height})
    feeds = {"sample": sample.numpy(), "timestep": t.numpy(), "encoder_hidden_states": ehs.numpy()}
    verify(out / "unet/model.onnx", unet_fn, feeds, a.tolerance * (10 if a.fp16 else 1), "unet")


def export_svd(a):
    import torch
    from diffusers import StableVideoDiffusionPipeline

    pipe = StableVideoDiffusionPipeline.from_pretrained(a.base)
    out = Path(a.out)
    dt = torch.float16 if a.fp16 else torch.float32
    enc, unet, vae = pipe.image_encoder.eval(), pipe.unet.eval().to(dt), pipe.vae.eval().float()
    export(_Out0(lambda p: enc(p).image_embeds), (torch.randn(1, 3, 224, 224),), out / "image_encoder/model.onnx",
           ["pixel_values"], ["image_embeds"], {"pixel_values": {0: "batch"}, "image_embeds": {0: "batch"}})
    h, w = a.height // 8, a.width // 8
    export(_Out0(lambda x: vae.encode(x).latent_dist.mode()), (torch.randn(1, 3, a.height, a.width),), out / "vae_encoder/model.onnx",
           ["sample"], ["latent_sample"], {"sample": {0: "batch", 2: "H", 3: "W"}, "latent_sample": {0: "batch", 2: "h", 3: "w"}})
    F = unet.config.num_frames
    sample = torch.randn(2, F, 8, h, w, dtype=dt)
    t = torch.tensor([1.6], dtype=torch.float32)
    ehs = torch.randn(2, 1, enc.config.projection_dim, dtype=dt)
    ids = torch.tensor([[6.0, 127.0, 0.02]] * 2, dtype=dt)
    unet_fn = lambda s, tt, e, i: unet(s, tt, encoder_hidden_states=e, added_time_ids=i).sample
    export(_Out0(unet_fn), (sample, t, ehs, ids), out / "unet/model.onnx",
           ["sample", "timestep", "encoder_hidden_states", "added_time_ids"], ["out_sample"],
           {"sample": {0: "batch", 1: "frames"}, "encoder_hidden_states": {0: "batch"}, "added_time_ids": {0: "batch"}, "out_sample": {0: "batch", 1: "frames"}})
    z = torch.randn(2, 4, h, w)
    nf = torch.tensor([2], dtype=torch.int64)
    export(_Out0(lambda zz, n: vae.decode(zz, num_frames=int(n[0])).sample), (z, nf), out / "vae_decoder/model.onnx",
           ["latent_sample", "num_frames"], ["sample"], {"latent_sample": {0: "batch"}, "sample": {0: "batch"}})
    pipe.scheduler.save_pretrained(out / "scheduler")
    pipe.feature_extractor.save_pretrained(out / "feature_extractor")
    vae.save_config(out / "vae_decoder")
    unet.save_config(out / "unet")
    write_json(out / "model_index.json", {"_class_name": "StableVideoDiffusionPipeline", "_diffusers_version": __import__("diffusers").__version__})
    write_json(out / "dolly.json", {"precision": {"unet": "fp16" if a.fp16 else "fp32"}, "nativeFrames": F, "nativeWidth": a.width, "nativeHeight": a.height})
    feeds = {"sample": sample.numpy(), "timestep": t.numpy(), "encoder_hidden_states": ehs.numpy(), "added_time_ids": ids.numpy()}
    verify(out / "unet/model.onnx", unet_fn, feeds, a.tolerance * (10 if a.fp16 else 1), "unet")


def export_cogvideox(a):
    import torch
    from diffusers import CogVideoXPipeline

    pipe = CogVideoXPipeline.from_pretrained(a.base)
    out = Path(a.out)
    tr = pipe.transformer.eval()
    if tr.config.use_rotary_positional_embeddings:
        sys.exit("export_model: CogVideoX-5B (rotary embeddings as inputs) is not supported by this exporter yet; 2B works")
    dt = torch.float16 if a.fp16 else torch.float32
    tr = tr.to(dt)
    te, vae = pipe.text_encoder.eval(), pipe.vae.eval().float()
    export(_Out0(lambda i: te(i)), (torch.zeros(1, 226, dtype=torch.int64),), out / "text_encoder/model.onnx",
           ["input_ids"], ["last_hidden_state"], {"input_ids": {0: "batch"}, "last_hidden_state": {0: "batch"}})
    Fl = (a.frames - 1) // 4 + 1
    h, w = a.height // 8, a.width // 8
    C = tr.config.in_channels
    hs = torch.randn(2, Fl, C, h, w, dtype=dt)
    ehs = torch.randn(2, 226, te.config.d_model, dtype=dt)
    t = torch.tensor([999, 999], dtype=torch.int64)
    tr_fn = lambda x, e, tt: tr(hidden_states=x, encoder_hidden_states=e, timestep=tt).sample
    export(_Out0(tr_fn), (hs, ehs, t), out / "transformer/model.onnx", ["hidden_states", "encoder_hidden_states", "timestep"],
           ["out_hidden_states"], {"hidden_states": {0: "batch"}, "encoder_hidden_states": {0: "batch"}, "timestep": {0: "batch"}, "out_hidden_states": {0: "batch"}})
    z = torch.randn(1, C, Fl, h, w)
    export(_Out0(lambda zz: vae.decode(zz).sample), (z,), out / "vae_decoder/model.onnx", ["latent_sample"], ["sample"], {"latent_sample": {0: "batch"}})
    pipe.scheduler.save_pretrained(out / "scheduler")
    pipe.tokenizer.save_pretrained(out / "tokenizer")
    vae.save_config(out / "vae_decoder")
    tr.save_config(out / "transformer")
    write_json(out / "model_index.json", {"_class_name": "CogVideoXPipeline", "_diffusers_version": __import__("diffusers").__version__})
    write_json(out / "dolly.json", {"precision": {"transformer": "fp16" if a.fp16 else "fp32"}, "nativeFrames": a.frames, "nativeWidth": a.width, "nativeHeight": a.height})
    feeds = {"hidden_states": hs.numpy(), "encoder_hidden_states": ehs.numpy(), "timestep": t.numpy()}
    verify(out / "transformer/model.onnx", tr_fn, feeds, a.tolerance * (10 if a.fp16 else 1), "transformer")


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pipeline", choices=["animatediff", "svd", "cogvideox"])
    p.add_argument("--base", required=True, help="diffusers repository id or folder")
    p.add_argument("--motion-adapter", help="AnimateDiff motion adapter (repository id or folder)")
    p.add_argument("--motionctrl", help="MotionCtrl checkpoint (not supported yet)")
    p.add_argument("--out", required=True)
    p.add_argument("--width", type=int, default=512)
    p.add_argument("--height", type=int, default=512)
    p.add_argument("--frames", type=int, default=49, help="CogVideoX frames (4k+1)")
    p.add_argument("--fp16", action="store_true", help="export the denoiser in float16 (VAEs stay float32)")
    p.add_argument("--tolerance", type=float, default=1e-3)
    a = p.parse_args(argv)
    _need(["torch", "diffusers", "transformers", "onnx", "onnxruntime", "numpy"])
    if os.path.exists(a.out) and os.listdir(a.out):
        sys.exit(f"export_model: {a.out} exists and is not empty")
    if a.pipeline == "animatediff" and not a.motion_adapter:
        sys.exit("export_model: animatediff needs --motion-adapter")
    try:
        {"animatediff": export_animatediff, "svd": export_svd, "cogvideox": export_cogvideox}[a.pipeline](a)
    except SystemExit:
        shutil.rmtree(a.out, ignore_errors=True)
        raise
    print(f"exported {a.pipeline} to {a.out}")


if __name__ == "__main__":
    main()
