#!/usr/bin/env python3
"""Reference frames of diffusers' own pipelines at the edges of their settings, on the tiny
model folders in ../shared/reference/models (whose frames the shared reference holds for one
setting each):

- AnimateDiffPipeline: guidance_scale 1 (no classifier-free guidance: one UNet batch, no
  negative prompt encoded) and 0.5 with no negative prompt;
- StableVideoDiffusionPipeline: max_guidance_scale 1 (no CFG), min_guidance_scale above max
  (a falling per-frame ramp), noise_aug_strength 0 with fps 1 (fps - 1 = 0 reaches the UNet),
  decode_chunk_size 1, 3 (a short last chunk) and unset (every frame in one call), 1 step;
- CogVideoXPipeline: guidance_scale 1, use_dynamic_cfg (with guidance 5, and with 1, where
  diffusers computes the scale but does no CFG), 1 step.

diffusers' __call__ runs as it is; only the models are the folders' ONNX files, run by
onnxruntime (CPU) behind small torch-module shims that give the pipeline the config fields it
reads. Each case keeps the UNet/transformer batch of every step and the frames (every
`stride`-th value, their mean and max), as test/data/pipeline_edges.json.

    export PYTHONPATH=<diffusers checkout>/src   # with transformers and onnxruntime importable
    python tools/reference/pipeline_edges.py

The shared reference's own setting is run too and must agree with its frames.npy (checked
here: the shims feed the models as diffusers' torch modules would). Not run in CI.
"""
from __future__ import annotations

import contextlib
import json
import types
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from PIL import Image
from transformers import CLIPImageProcessor, CLIPTokenizer, T5TokenizerFast

from diffusers import (
    AnimateDiffPipeline,
    CogVideoXPipeline,
    DDIMScheduler,
    EulerDiscreteScheduler,
    StableVideoDiffusionPipeline,
)

ROOT = Path(__file__).resolve().parents[2]
MODELS = ROOT.parent / "shared/reference/models"
IMAGE = ROOT.parent / "shared/fixtures/images/chelsea.png"
SAMPLES = 256


class Cfg(dict):
    __getattr__ = dict.get


class Shim(torch.nn.Module):
    """A torch module in name only (the pipeline looks for modules to find its device)."""

    def __init__(self, folder: Path, component: str | None, config: dict):
        super().__init__()
        self.config = Cfg(config)
        self._anchor = torch.nn.Parameter(torch.zeros(1))
        if component:
            self.s = ort.InferenceSession(str(folder / component / "model.onnx"), providers=["CPUExecutionProvider"])

    device = property(lambda self: torch.device("cpu"))
    dtype = property(lambda self: torch.float32)

    def run(self, **feeds):
        return torch.from_numpy(self.s.run(None, {k: v.numpy() if isinstance(v, torch.Tensor) else v for k, v in feeds.items()})[0])

    def cache_context(self, name):
        return contextlib.nullcontext()


class Batches:
    """The batch of every denoiser call."""

    def __init__(self):
        self.calls: list[int] = []


def record(frames, batches: Batches, over: dict) -> dict:
    a = np.asarray(frames, dtype=np.float32).reshape(-1)
    stride = max(1, a.size // SAMPLES)
    return {
        "settings": over,
        "denoiser_batches": batches.calls,
        "frames_size": int(a.size),
        "stride": stride,
        "frames_strided": [float(str(v)) for v in a[::stride]],  # float32 as its shortest decimal
        "frames_mean": float(a.astype(np.float64).mean()),
        "frames_max_abs": float(np.abs(a).max()),
    }


def check_against_shared(name: str, frames, folder: Path) -> None:
    ref = np.load(folder / "reference/frames.npy").reshape(-1)
    diff = float(np.abs(np.asarray(frames, dtype=np.float32).reshape(-1) - ref).max())
    print(f"{name}: the shared reference's setting, max |shim run - frames.npy| = {diff:.3g}")
    if diff > 1e-5:
        raise SystemExit(f"{name}: the shims do not reproduce the shared reference")


def animatediff() -> dict:
    folder = MODELS / "animatediff-tiny"
    meta = json.loads((folder / "reference/meta.json").read_text())
    b = Batches()

    class TextEncoder(Shim):
        def forward(self, input_ids, attention_mask=None, **kw):
            return (self.run(input_ids=input_ids.to(torch.int64)),)

    class UNet(Shim):
        def forward(self, sample, timestep, encoder_hidden_states=None, **kw):
            b.calls.append(sample.shape[0])
            t = np.asarray([int(timestep)], dtype=np.int64)
            out = self.run(sample=sample, timestep=t, encoder_hidden_states=encoder_hidden_states)
            return types.SimpleNamespace(sample=out)

    class Vae(Shim):
        def decode(self, z, **kw):
            return types.SimpleNamespace(sample=self.run(latent_sample=z))

    vae_cfg = json.loads((folder / "vae_decoder/config.json").read_text())
    pipe = AnimateDiffPipeline(
        vae=Vae(folder, "vae_decoder", vae_cfg),
        text_encoder=TextEncoder(folder, "text_encoder", {}),
        tokenizer=CLIPTokenizer.from_pretrained(folder / "tokenizer"),
        unet=UNet(folder, "unet", {"in_channels": 4}),
        motion_adapter=None,
        scheduler=DDIMScheduler.from_pretrained(folder / "scheduler"),
    )
    base = dict(
        prompt=meta["prompt"], negative_prompt=meta["negative_prompt"], num_inference_steps=meta["num_inference_steps"],
        guidance_scale=meta["guidance_scale"], num_frames=meta["num_frames"], height=meta["height"], width=meta["width"],
    )
    cases = {
        "reference": {},
        "guidance_1": dict(guidance_scale=1.0),
        "guidance_0.5_no_negative": dict(guidance_scale=0.5, negative_prompt=None),
    }
    out = {}
    for name, over in cases.items():
        b.calls = []
        frames = pipe(**{**base, **over}, generator=torch.Generator("cpu").manual_seed(meta["seed"]), output_type="np").frames
        if name == "reference":
            check_against_shared("animatediff", frames, folder)
        out[name] = record(frames, b, over)
    return out


def svd() -> dict:
    folder = MODELS / "svd-tiny"
    meta = json.loads((folder / "reference/meta.json").read_text())
    b = Batches()

    class ImageEncoder(Shim):
        def forward(self, pixel_values):
            return types.SimpleNamespace(image_embeds=self.run(pixel_values=pixel_values))

    class Vae(Shim):
        def __init__(self):
            super().__init__(folder, None, json.loads((folder / "vae_decoder/config.json").read_text()))
            self.encoder = Shim(folder, "vae_encoder", {})
            self.decoder = Shim(folder, "vae_decoder", {})

        def encode(self, x):
            mode = self.encoder.run(sample=x)
            return types.SimpleNamespace(latent_dist=types.SimpleNamespace(mode=lambda: mode))

        def forward(self, sample, num_frames: int = 1):  # the pipeline looks for num_frames here
            raise NotImplementedError

        def decode(self, z, num_frames=None):
            out = self.decoder.run(latent_sample=z, num_frames=np.asarray([num_frames], dtype=np.int64))
            return types.SimpleNamespace(sample=out)

    class UNet(Shim):
        def __init__(self):
            super().__init__(folder, "unet", json.loads((folder / "unet/config.json").read_text()))
            width = self.config["addition_time_embed_dim"] * 3
            self.add_embedding = types.SimpleNamespace(linear_1=types.SimpleNamespace(in_features=width))

        def forward(self, sample, t, encoder_hidden_states=None, added_time_ids=None, return_dict=False):
            b.calls.append(sample.shape[0])
            t = np.asarray([float(t)], dtype=np.float32)
            return (self.run(sample=sample, timestep=t, encoder_hidden_states=encoder_hidden_states, added_time_ids=added_time_ids),)

    pipe = StableVideoDiffusionPipeline(
        vae=Vae(),
        image_encoder=ImageEncoder(folder, "image_encoder", {}),
        unet=UNet(),
        scheduler=EulerDiscreteScheduler.from_pretrained(folder / "scheduler"),
        feature_extractor=CLIPImageProcessor.from_pretrained(folder / "feature_extractor"),
    )
    image = Image.open(IMAGE).convert("RGB")
    base = dict(
        height=meta["height"], width=meta["width"], num_frames=meta["num_frames"], num_inference_steps=meta["num_inference_steps"],
        fps=meta["fps"], motion_bucket_id=meta["motion_bucket_id"], noise_aug_strength=meta["noise_aug_strength"],
        min_guidance_scale=meta["min_guidance_scale"], max_guidance_scale=meta["max_guidance_scale"],
        decode_chunk_size=meta["decode_chunk_size"],
    )
    cases = {
        "reference": {},
        "max_guidance_1": dict(max_guidance_scale=1.0),
        "min_guidance_above_max": dict(min_guidance_scale=3.0, max_guidance_scale=1.5),
        "noise_aug_0_fps_1": dict(noise_aug_strength=0.0, fps=1),
        "decode_chunk_1": dict(decode_chunk_size=1),
        "decode_chunk_3": dict(decode_chunk_size=3),
        "decode_chunk_unset": dict(decode_chunk_size=None),
        "steps_1": dict(num_inference_steps=1),
    }
    out = {}
    for name, over in cases.items():
        b.calls = []
        frames = pipe(image, **{**base, **over}, generator=torch.Generator("cpu").manual_seed(meta["seed"]), output_type="np").frames
        if name == "reference":
            check_against_shared("svd", frames, folder)
        out[name] = record(frames, b, over)
    return out


def cogvideox() -> dict:
    folder = MODELS / "cogvideox-tiny"
    meta = json.loads((folder / "reference/meta.json").read_text())
    b = Batches()

    class TextEncoder(Shim):
        def forward(self, ids):
            return (self.run(input_ids=ids.to(torch.int64)),)

    class Transformer(Shim):
        def forward(self, hidden_states, encoder_hidden_states, timestep, image_rotary_emb=None, attention_kwargs=None, return_dict=False):
            b.calls.append(hidden_states.shape[0])
            return (self.run(hidden_states=hidden_states, encoder_hidden_states=encoder_hidden_states, timestep=timestep.to(torch.int64)),)

    class Vae(Shim):
        def decode(self, z):
            return types.SimpleNamespace(sample=self.run(latent_sample=z))

    pipe = CogVideoXPipeline(
        tokenizer=T5TokenizerFast.from_pretrained(folder / "tokenizer"),
        text_encoder=TextEncoder(folder, "text_encoder", {}),
        vae=Vae(folder, "vae_decoder", json.loads((folder / "vae_decoder/config.json").read_text())),
        transformer=Transformer(folder, "transformer", json.loads((folder / "transformer/config.json").read_text())),
        scheduler=DDIMScheduler.from_pretrained(folder / "scheduler"),
    )
    base = dict(
        prompt=meta["prompt"], negative_prompt=meta["negative_prompt"], num_inference_steps=meta["num_inference_steps"],
        guidance_scale=meta["guidance_scale"], num_frames=meta["num_frames"], height=meta["height"], width=meta["width"],
    )
    cases = {
        "reference": {},
        "guidance_1": dict(guidance_scale=1.0),
        "dynamic_cfg": dict(use_dynamic_cfg=True),
        "dynamic_cfg_guidance_1": dict(use_dynamic_cfg=True, guidance_scale=1.0),
        "steps_1": dict(num_inference_steps=1),
    }
    out = {}
    for name, over in cases.items():
        b.calls = []
        frames = pipe(**{**base, **over}, generator=torch.Generator("cpu").manual_seed(meta["seed"]), output_type="np").frames
        if name == "reference":
            check_against_shared("cogvideox", frames, folder)
        out[name] = record(frames, b, over)
    return out


def main() -> None:
    import diffusers

    data = {
        "diffusers_version": diffusers.__version__,
        "torch_version": torch.__version__,
        "onnxruntime_version": ort.__version__,
        "how": "diffusers' __call__ with the tiny folders' ONNX models behind torch-module shims (tools/reference/pipeline_edges.py)",
        "animatediff-tiny": animatediff(),
        "svd-tiny": svd(),
        "cogvideox-tiny": cogvideox(),
    }
    path = ROOT / "test/data/pipeline_edges.json"
    path.write_text(json.dumps(data) + "\n")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
