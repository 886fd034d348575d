"""Wan 2.1 / 2.2 export (export_model.py wan): diffusers' WanPipeline and WanImageToVideoPipeline
folders, and VideoX-Fun's Wan-Fun "Control-Camera" transformer over such a base.

Components and their ONNX signatures (the engine's registry rows `wan`, `wan-i2v`, `wan-fun-camera`):

  text_encoder   input_ids int64 [B, 512], attention_mask int64 [B, 512] -> last_hidden_state [B, 512, D]
                 (UMT5; the pipeline zeroes the rows past the prompt's tokens, as diffusers does)
  transformer    hidden_states [B, C, f, h, w], timestep float32 [B] (2.2 TI2V: [B, tokens]),
                 encoder_hidden_states [B, 512, D]; 2.1 I2V: encoder_hidden_states_image [B, 257, 1280];
                 Fun camera: control_camera [1, 24, f, H, W] -> out_hidden_states [B, C_out, f, h, w]
  transformer_2  the same (2.2 A14B's low-noise expert, used below boundary_ratio * 1000)
  vae_decoder    latent_sample [B, z, t, h, w], first_chunk int64 [1], cache_in_* -> sample, cache_out_*
                 (wan_vae.py: one chunk per call with the causal convolutions' cache)
  vae_encoder    2.1 VAE: like the decoder (sample [B, 3, t, H, W] -> latent_sample mean, caches);
                 2.2 VAE: sample [B, 3, 1, H, W] -> latent_sample (one frame, all 2.2 pipelines encode)
  image_encoder  2.1 I2V: pixel_values [B, 3, 224, 224] -> image_embeds = CLIP hidden_states[-2]
"""
from __future__ import annotations

import json
import shutil
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

import export_lib as X
from export_lib import Axis, ComponentResult, ExportError

TEXT_LEN = 512  # diffusers' Wan max_sequence_length; the I2V attention hardcodes 512 text tokens
# diffusers' Wan docs (pipeline_wan.py's example) sample with this negative prompt
WAN_NEGATIVE_PROMPT = (
    "Bright tones, overexposed, static, blurred details, subtitles, style, works, paintings, images, static, "
    "overall gray, worst quality, low quality, JPEG compression residue, ugly, incomplete, extra fingers, poorly "
    "drawn hands, poorly drawn faces, deformed, disfigured, misshapen limbs, fused fingers, still picture, messy "
    "background, three legs, many people in the background, walking backwards")


# ---------------------------------------------------------------------------------------------
# wrappers


class WanTextEncoderExport(nn.Module):
    """UMT5EncoderModel(input_ids, attention_mask).last_hidden_state."""

    def __init__(self, text_encoder: nn.Module):
        super().__init__()
        self.text_encoder = text_encoder

    def forward(self, input_ids, attention_mask):
        return self.text_encoder(input_ids, attention_mask).last_hidden_state


class WanAttnProcessorExport:
    """diffusers' WanAttnProcessor (transformer_wan.py) with the rotary embedding written as a stack
    of the two rotated halves: diffusers' in-place strided writes (`out[..., 0::2] = ...`) export as
    scatters with the traced batch baked in. Same arithmetic, same order."""

    def __call__(self, attn, hidden_states, encoder_hidden_states=None, attention_mask=None, rotary_emb=None):
        import torch.nn.functional as F

        encoder_hidden_states_img = None
        if attn.add_k_proj is not None:
            # 512 is the context length of the text encoder (diffusers hardcodes it too)
            image_context_length = encoder_hidden_states.shape[1] - TEXT_LEN
            encoder_hidden_states_img = encoder_hidden_states[:, :image_context_length]
            encoder_hidden_states = encoder_hidden_states[:, image_context_length:]
        context = hidden_states if encoder_hidden_states is None else encoder_hidden_states
        query = attn.norm_q(attn.to_q(hidden_states)).unflatten(2, (attn.heads, -1))
        key = attn.norm_k(attn.to_k(context)).unflatten(2, (attn.heads, -1))
        value = attn.to_v(context).unflatten(2, (attn.heads, -1))

        if rotary_emb is not None:
            def rotate(x, freqs_cos, freqs_sin):
                x1, x2 = x.unflatten(-1, (-1, 2)).unbind(-1)
                cos = freqs_cos[..., 0::2]
                sin = freqs_sin[..., 1::2]
                return torch.stack([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1).flatten(-2).type_as(x)

            query = rotate(query, *rotary_emb)
            key = rotate(key, *rotary_emb)

        def attend(q, k, v):
            o = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                               attn_mask=attention_mask, dropout_p=0.0, is_causal=False)
            return o.transpose(1, 2).flatten(2, 3).type_as(q)

        hidden_states_img = None
        if encoder_hidden_states_img is not None:
            key_img = attn.norm_added_k(attn.add_k_proj(encoder_hidden_states_img)).unflatten(2, (attn.heads, -1))
            value_img = attn.add_v_proj(encoder_hidden_states_img).unflatten(2, (attn.heads, -1))
            hidden_states_img = attend(query, key_img, value_img)
        hidden_states = attend(query, key, value)
        if hidden_states_img is not None:
            hidden_states = hidden_states + hidden_states_img
        hidden_states = attn.to_out[0](hidden_states)
        return attn.to_out[1](hidden_states)


def prepare_transformer_for_export(tr) -> None:
    """RMSNorms written out and the export attention processor, in place (the weights are shared)."""
    swap_rms_norms(tr)
    for block in tr.blocks:
        for a in (block.attn1, block.attn2):
            if getattr(a, "fused_projections", False):
                raise ExportError("transformer: fused QKV projections are not exported; load the model unfused")
            a.set_processor(WanAttnProcessorExport())


def wan_transformer_forward(tr, hidden_states, timestep, encoder_hidden_states, encoder_hidden_states_image=None,
                            patch_extra=None):
    """diffusers' WanTransformer3DModel.forward (transformer_wan.py) over the model's own submodules,
    with every size read from a tensor (the tracer keeps those symbolic; diffusers' `num_frames //
    p_t` would become a constant), and an optional tensor added to the patch embedding's output
    (VideoX-Fun's camera adapter features)."""
    p_t, p_h, p_w = tr.config.patch_size
    x = tr.patch_embedding(hidden_states)  # [B, dim, f, h, w]
    if patch_extra is not None:
        x = x + patch_extra
    B, _, ppf, pph, ppw = x.shape
    rope = tr.rope
    split = [rope.t_dim, rope.h_dim, rope.w_dim]

    def grid(freqs):
        f_t, f_h, f_w = freqs.split(split, dim=1)
        ft = f_t[:ppf].view(ppf, 1, 1, -1).expand(ppf, pph, ppw, -1)
        fh = f_h[:pph].view(1, pph, 1, -1).expand(ppf, pph, ppw, -1)
        fw = f_w[:ppw].view(1, 1, ppw, -1).expand(ppf, pph, ppw, -1)
        return torch.cat([ft, fh, fw], dim=-1).reshape(1, ppf * pph * ppw, 1, -1)

    rotary_emb = (grid(rope.freqs_cos), grid(rope.freqs_sin))
    x = x.flatten(2).transpose(1, 2).contiguous()
    if timestep.ndim == 2:
        ts_seq_len = timestep.shape[1]
        timestep = timestep.flatten()
    else:
        ts_seq_len = None
    temb, timestep_proj, ehs, ehs_image = tr.condition_embedder(
        timestep, encoder_hidden_states, encoder_hidden_states_image, timestep_seq_len=ts_seq_len)
    timestep_proj = timestep_proj.unflatten(2, (6, -1)) if ts_seq_len is not None else timestep_proj.unflatten(1, (6, -1))
    if ehs_image is not None:
        ehs = torch.concat([ehs_image, ehs], dim=1)
    for block in tr.blocks:
        x = block(x, ehs, timestep_proj, rotary_emb)
    if temb.ndim == 3:
        shift, scale = (tr.scale_shift_table.unsqueeze(0) + temb.unsqueeze(2)).chunk(2, dim=2)
        shift, scale = shift.squeeze(2), scale.squeeze(2)
    else:
        shift, scale = (tr.scale_shift_table + temb.unsqueeze(1)).chunk(2, dim=1)
    x = (tr.norm_out(x.float()) * (1 + scale) + shift).type_as(x)
    x = tr.proj_out(x)
    x = x.reshape(B, ppf, pph, ppw, p_t, p_h, p_w, -1)
    x = x.permute(0, 7, 1, 4, 2, 5, 3, 6)
    return x.flatten(6, 7).flatten(4, 5).flatten(2, 3)


class WanTransformerExport(nn.Module):
    """WanTransformer3DModel with a float32 timestep ([B], or [B, tokens] for 2.2 TI2V), the image
    embeddings of 2.1 I2V, and for Wan-Fun Control-Camera the camera adapter's features added after
    the patch embedding (as VideoX-Fun's WanTransformer3DModel does); the batch-1 camera input
    broadcasts over both guidance halves."""

    def __init__(self, transformer: nn.Module, camera_adapter: nn.Module | None = None):
        super().__init__()
        prepare_transformer_for_export(transformer)
        self.transformer = transformer
        self.camera_adapter = camera_adapter

    def forward(self, hidden_states, timestep, encoder_hidden_states, encoder_hidden_states_image=None,
                control_camera=None):
        extra = self.camera_adapter(control_camera) if control_camera is not None else None
        return wan_transformer_forward(self.transformer, hidden_states, timestep, encoder_hidden_states,
                                       encoder_hidden_states_image, extra)


class RMSNormExport(nn.Module):
    """torch.nn.RMSNorm written out (x * rsqrt(mean(x^2) + eps) * weight): the TorchScript exporter
    has no aten::rms_norm at opset 17."""

    def __init__(self, norm: nn.RMSNorm):
        super().__init__()
        self.eps = norm.eps if norm.eps is not None else torch.finfo(torch.float32).eps
        self.weight = norm.weight

    def forward(self, x):
        y = x.float()
        y = y * torch.rsqrt(y.pow(2).mean(-1, keepdim=True) + self.eps)
        y = y.type_as(x)
        return y * self.weight if self.weight is not None else y


def swap_rms_norms(module: nn.Module) -> int:
    """Replaces every torch.nn.RMSNorm inside `module` by RMSNormExport (same weights)."""
    n = 0
    for name, child in list(module.named_children()):
        if isinstance(child, nn.RMSNorm):
            setattr(module, name, RMSNormExport(child))
            n += 1
        else:
            n += swap_rms_norms(child)
    return n


class ClipPenultimateExport(nn.Module):
    """CLIP vision tower -> hidden_states[-2] (WanImageToVideoPipeline.encode_image)."""

    def __init__(self, image_encoder: nn.Module):
        super().__init__()
        self.image_encoder = image_encoder

    def forward(self, pixel_values):
        return self.image_encoder(pixel_values, output_hidden_states=True).hidden_states[-2]


CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


class ClipVideoxFunExport(nn.Module):
    """VideoX-Fun's CLIPModel.forward (videox_fun/models/wan_image_encoder.py) in the graph: the image
    in [-1, 1] at its own size, bicubic (align_corners=False) to the tower's size, back to [0, 1],
    CLIP mean/std, then the tower's penultimate hidden states (use_31_block)."""

    def __init__(self, image_encoder: nn.Module):
        super().__init__()
        self.image_encoder = image_encoder
        self.size = image_encoder.config.image_size
        self.register_buffer("mean", torch.tensor(CLIP_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(CLIP_STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, pixel_values):
        import torch.nn.functional as F

        x = F.interpolate(pixel_values, size=(self.size, self.size), mode="bicubic", align_corners=False)
        x = (x * 0.5 + 0.5 - self.mean) / self.std
        return self.image_encoder(x, output_hidden_states=True).hidden_states[-2]


# VideoX-Fun's "Flow" sampler for its Wan-Fun models: FlowMatchEulerDiscreteScheduler built from
# config/wan2.1/wan_civitai.yaml's scheduler_kwargs (its Control-Camera example's default)
VIDEOX_FUN_FLOW = dict(num_train_timesteps=1000, shift=5.0, use_dynamic_shifting=False, base_shift=0.5, max_shift=1.15,
                       base_image_seq_len=256, max_image_seq_len=4096)


# ---------------------------------------------------------------------------------------------
# the chunked VAE graphs: exported with every cache as an input and an output, verified by running
# the ONNX graph chunk by chunk against diffusers' vae.decode / vae.encode of the whole clip


class ChunkPost:
    """What export_lib's post pass does to a chunked VAE graph, as export_component has it do to
    every other component: fuse its attention (the mid block's) into MultiHeadAttention, keep the
    graph as exported beside it (model.unfused.onnx), fit its activation rule (`memory`, an
    export_lib.MemorySpec whose make_inputs gives one call's inputs on the meta device)."""

    def __init__(self, fuse: bool = True, keep_unfused: bool = False, memory=None):
        self.fuse, self.keep_unfused, self.memory = fuse, keep_unfused, memory


def _export_multi(name: str, module: nn.Module, args: tuple, out_dir: Path, input_names: list[str],
                  output_names: list[str], dyn: dict, post: ChunkPost | None = None):
    """Exports a graph with several outputs (sample and the caches) and runs the post pass on it.
    Returns (path, bytes on disk, fusion report or None, memory dict or None)."""
    dest = out_dir / name / "model.onnx"
    tmp = out_dir / name / ".export-tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    module.eval().requires_grad_(False)
    try:
        X._torch_export(module, args, tmp / "model.onnx", input_names, output_names, dyn)
    except Exception as e:  # noqa: BLE001
        raise ExportError(f"{name}: torch.onnx.export failed: {type(e).__name__}: {e}") from e
    nbytes = X.save_onnx(tmp, dest)
    shutil.rmtree(tmp, ignore_errors=True)
    post = post or ChunkPost()
    spec = post.memory
    fusion, mem = X._post_pass(name, dest, post.fuse, post.keep_unfused, spec,
                               spec.make_inputs if spec is not None else None, input_names)
    return dest, nbytes, fusion, mem


def _meta(*shape) -> torch.Tensor:
    """A tensor with a shape and no storage: what an activation rule's grid needs of an input."""
    return torch.empty(*shape, device="meta")


def _cache_sizes(caches, h: int, w: int):
    """Each cache's spatial size as a function of the chunk's: (hh, ww) -> [(h_i, w_i)], from the
    caches of a call at h x w (every level is the chunk's size times or over a power of 2)."""
    ratios = [(c.shape[3] / h, c.shape[4] / w) for c in caches]
    return lambda hh, ww: [(max(1, round(hh * rh)), max(1, round(ww * rw))) for rh, rw in ratios]


def onnx_chunked_decode(sess, z: np.ndarray, chunk: int = 1) -> np.ndarray:
    """Runs an exported vae_decoder chunk by chunk (what the engine does): the first latent frame
    alone from [B, C, 2, 1, 1] zero caches, then `chunk` latent frames per call, clamped to
    [-1, 1] as diffusers' decode is (the graph leaves the clamp to after tiles are blended)."""
    cache_names = [i.name for i in sess.get_inputs() if i.name.startswith("cache_in_")]
    shapes = {i.name: i.shape for i in sess.get_inputs()}
    caches = {n: np.zeros((z.shape[0], shapes[n][1], shapes[n][2], 1, 1), dtype=np.float32) for n in cache_names}
    outs, f0 = [], 0
    while f0 < z.shape[2]:
        k = 1 if f0 == 0 else chunk
        res = sess.run(None, {"latent_sample": z[:, :, f0:f0 + k],
                              "first_chunk": np.array([1 if f0 == 0 else 0], dtype=np.int64), **caches})
        outs.append(res[0])
        caches = dict(zip(cache_names, res[1:]))
        f0 += k
    return np.clip(np.concatenate(outs, axis=2), -1.0, 1.0)


def onnx_chunked_encode(sess, x: np.ndarray) -> np.ndarray:
    """Runs an exported chunked vae_encoder: the first frame, then 4 frames at a time."""
    cache_names = [i.name for i in sess.get_inputs() if i.name.startswith("cache_in_")]
    if not cache_names:
        return sess.run(None, {"sample": x})[0]
    shapes = {i.name: i.shape for i in sess.get_inputs()}
    caches = {n: np.zeros((x.shape[0], shapes[n][1], shapes[n][2], 1, 1), dtype=np.float32) for n in cache_names}
    outs, f0 = [], 0
    while f0 < x.shape[2]:
        k = 1 if f0 == 0 else 4
        res = sess.run(None, {"sample": x[:, :, f0:f0 + k], "first_chunk": np.array([1 if f0 == 0 else 0], dtype=np.int64),
                              **caches})
        outs.append(res[0])
        caches = dict(zip(cache_names, res[1:]))
        f0 += k
    return np.concatenate(outs, axis=2)


def _chunk_io(x: str, y: str, n: int) -> tuple[list, list, dict]:
    """A chunk graph's input and output names and dynamic axes: x and first_chunk plus n caches
    in, y plus the n updated caches out (latent or pixel axes by name)."""
    axes = {"latent_sample": {0: "batch", 2: "latent_frames", 3: "height", 4: "width"},
            "sample": {0: "batch", 2: "frames", 3: "height_px", 4: "width_px"}}
    dyn = {x: axes[x], y: axes[y]}
    for i in range(n):
        dyn[f"cache_in_{i}"] = {0: "batch", 3: f"cache_{i}_height", 4: f"cache_{i}_width"}
        dyn[f"cache_out_{i}"] = {0: "batch", 3: f"cache_{i}_height", 4: f"cache_{i}_width"}
    return ([x, "first_chunk"] + [f"cache_in_{i}" for i in range(n)],
            [y] + [f"cache_out_{i}" for i in range(n)], dyn)


def export_vae_decoder(vae, out: Path, h: int, w: int, tolerance: float, verify: bool, fuse: bool = True,
                       keep_unfused: bool = False, native: tuple[int, int] | None = None,
                       multiple: int = 16) -> ComponentResult:
    """The chunked decoder graph (wan_vae.py), verified chunk by chunk against vae.decode. With
    `native` (width, height in pixels) its activation rule is fitted for one steady call: one
    latent frame (4 frames out) with the caches at full size, at batch 1 and 2, whatever the
    clip's length (dolly.json: frames do not vary)."""
    import wan_vae as V

    t0 = time.time()
    channels = V.cache_channels(vae, "decoder")
    z_dim = vae.config.z_dim
    gen = torch.Generator().manual_seed(21)
    # traced on a later chunk (caches at full size, first_chunk 0); both branches are in the graph
    z1 = torch.randn(1, z_dim, 1, h, w, generator=gen)
    with torch.no_grad():
        _, full = V.decoder_walk(vae, z1, torch.tensor(True), [torch.zeros(1, c, t, 1, 1) for c, t in channels])
    caches = [torch.randn(c.shape, generator=gen) * 0.1 for c in full]
    n = len(caches)
    ins, outs, dyn = _chunk_io("latent_sample", "sample", n)
    spec = None
    if native is not None:
        s = vae.config.scale_factor_spatial
        sizes = _cache_sizes(caches, h, w)

        def call_inputs(sz):
            b, hh, ww = sz["batch"], sz["H"] // s, sz["W"] // s
            return (_meta(b, z_dim, 1, hh, ww), torch.tensor([0]),
                    *[_meta(b, c.shape[1], c.shape[2], ch, cw) for c, (ch, cw) in zip(caches, sizes(hh, ww))])

        spec = X.MemorySpec(to_size=lambda b, f, W_, H_: {"batch": b, "W": W_, "H": H_}, native=(1, *native),
                            frames_vary=False, multiple=multiple, make_inputs=call_inputs,
                            input_values={"first_chunk": [0]})
    dest, nbytes, fusion, mem = _export_multi("vae_decoder", V.WanVaeChunkDecoderExport(vae),
                                              (z1, torch.tensor([0]), *caches), out, ins, outs, dyn,
                                              ChunkPost(fuse, keep_unfused, spec))
    errors = {}
    if verify:
        sess = X._session(dest)
        for label, (F_, hh, ww) in {"5 latent frames": (5, h, w), "3 latent frames, other size": (3, max(1, h // 2), w + 1)}.items():
            z = torch.randn(1, z_dim, F_, hh, ww, generator=gen)
            with torch.no_grad():
                ref = vae.decode(z).sample.numpy()
            got = onnx_chunked_decode(sess, z.numpy())
            if got.shape != ref.shape:
                raise ExportError(f"vae_decoder: chunked decode gives {list(got.shape)}; vae.decode gives {list(ref.shape)}")
            err = float(np.abs(got - ref).max())
            if not err <= tolerance:
                raise ExportError(f"vae_decoder: chunked ONNX decode differs from diffusers' vae.decode by {err:.3g} "
                                  f"at {label} (tolerance {tolerance:g})")
            errors[label] = err
        del sess
    X.log(f"vae_decoder: wrote {dest} ({nbytes / 1e6:.1f} MB, fp32); {n} caches; one chunk per call; max |chunked ONNX - "
          f"vae.decode|: {', '.join(f'{k} {v:.3g}' for k, v in errors.items()) or 'not verified'} [{time.time() - t0:.0f}s]")
    return ComponentResult(name="vae_decoder", path=dest, bytes=nbytes, precision="fp32",
                           symbolic=["batch", "frames", "spatial"], fixed=[], errors=errors, fusion=fusion, memory=mem)


def export_vae_encoder(vae, out: Path, H: int, W: int, tolerance: float, verify: bool, fuse: bool = True,
                       keep_unfused: bool = False, native: tuple[int, int] | None = None,
                       multiple: int = 16) -> ComponentResult:
    """The chunked encoder graph (2.1 VAE; the 2.2 VAE: the first frame alone), verified against
    vae.encode. With `native` its activation rule is fitted for its largest call: 4 frames with
    the caches at full size (2.2: the one frame)."""
    import wan_vae as V

    t0 = time.time()
    gen = torch.Generator().manual_seed(22)
    x1 = torch.rand(1, 3, 1, H, W, generator=gen) * 2 - 1
    residual = bool(vae.config.is_residual)
    errors = {}
    if residual:
        # the 2.2 VAE: every 2.2 pipeline encodes one frame (TI2V: the image alone)
        ax = {0: "batch", 3: "height", 4: "width"}
        spec = None
        if native is not None:
            spec = X.MemorySpec(to_size=lambda b, f, W_, H_: {"batch": b, "W": W_, "H": H_}, native=(1, *native),
                                frames_vary=False, multiple=multiple,
                                make_inputs=lambda sz: (_meta(sz["batch"], 3, 1, sz["H"], sz["W"]),))
        dest, nbytes, fusion, mem = _export_multi("vae_encoder", V.WanVaeFirstFrameEncoderExport(vae), (x1,), out,
                                                  ["sample"], ["latent_sample"], {"sample": ax, "latent_sample": ax},
                                                  ChunkPost(fuse, keep_unfused, spec))
        cases = {"1 frame": x1, "1 frame, other size": torch.rand(1, 3, 1, H // 2, W + vae.config.scale_factor_spatial, generator=gen) * 2 - 1}
        n = 0
    else:
        channels = V.cache_channels(vae, "encoder")
        x4 = torch.rand(1, 3, 4, H, W, generator=gen) * 2 - 1
        with torch.no_grad():
            _, full = V.encoder_walk(vae, x1, torch.tensor(True), [torch.zeros(1, c, t, 1, 1) for c, t in channels])
        caches = [torch.randn(c.shape, generator=gen) * 0.1 for c in full]
        n = len(caches)
        ins, outs, dyn = _chunk_io("sample", "latent_sample", n)
        spec = None
        if native is not None:
            sizes = _cache_sizes(caches, H, W)

            def call_inputs(sz):
                b, hh, ww = sz["batch"], sz["H"], sz["W"]
                return (_meta(b, 3, 4, hh, ww), torch.tensor([0]),
                        *[_meta(b, c.shape[1], c.shape[2], ch, cw) for c, (ch, cw) in zip(caches, sizes(hh, ww))])

            spec = X.MemorySpec(to_size=lambda b, f, W_, H_: {"batch": b, "W": W_, "H": H_}, native=(1, *native),
                                frames_vary=False, multiple=multiple, make_inputs=call_inputs,
                                input_values={"first_chunk": [0]})
        dest, nbytes, fusion, mem = _export_multi("vae_encoder", V.WanVaeChunkEncoderExport(vae),
                                                  (x4, torch.tensor([0]), *caches), out, ins, outs, dyn,
                                                  ChunkPost(fuse, keep_unfused, spec))
        s = vae.config.scale_factor_spatial
        cases = {"9 frames": torch.rand(1, 3, 9, H, W, generator=gen) * 2 - 1,
                 "5 frames, other size": torch.rand(1, 3, 5, max(s, H // 2), W + s, generator=gen) * 2 - 1}
    if verify:
        sess = X._session(dest)
        for label, x in cases.items():
            with torch.no_grad():
                ref = vae.encode(x).latent_dist.mean.numpy()
            got = onnx_chunked_encode(sess, x.numpy())
            err = float(np.abs(got - ref).max()) if got.shape == ref.shape else float("inf")
            if not err <= tolerance:
                raise ExportError(f"vae_encoder: ONNX encode differs from diffusers' vae.encode mean by {err:.3g} at {label} "
                                  f"(shapes {list(got.shape)} vs {list(ref.shape)}; tolerance {tolerance:g})")
            errors[label] = err
        del sess
    X.log(f"vae_encoder: wrote {dest} ({nbytes / 1e6:.1f} MB, fp32); {'first frame only' if residual else f'{n} caches'}; "
          f"max |ONNX - vae.encode mean|: {', '.join(f'{k} {v:.3g}' for k, v in errors.items()) or 'not verified'} "
          f"[{time.time() - t0:.0f}s]")
    return ComponentResult(name="vae_encoder", path=dest, bytes=nbytes, precision="fp32",
                           symbolic=["batch", "spatial"] + ([] if residual else ["frames"]),
                           fixed=["frames"] if residual else [], errors=errors, fusion=fusion, memory=mem)


# ---------------------------------------------------------------------------------------------
# Wan-Fun Control-Camera (VideoX-Fun): the transformer in VideoX-Fun's (original Wan) key names


class CameraAdapter(nn.Module):
    """VideoX-Fun's camera adapter (videox_fun/models/wan_camera_adapter.py, SimpleAdapter), written
    from its structure: per frame, PixelUnshuffle(8), a patch-size conv, residual blocks of two 3x3
    convs with a ReLU; [B, 24, f, H, W] -> [B, dim, f, H/16, W/16]."""

    def __init__(self, in_dim: int, out_dim: int, patch: tuple[int, int], downscale: int = 8, blocks: int = 1):
        super().__init__()
        self.pixel_unshuffle = nn.PixelUnshuffle(downscale_factor=downscale)
        self.conv = nn.Conv2d(in_dim * downscale * downscale, out_dim, kernel_size=patch, stride=patch, padding=0)
        self.residual_blocks = nn.Sequential(*[_AdapterResidual(out_dim) for _ in range(blocks)])

    def forward(self, x):
        b, c, f, h, w = x.shape
        x = x.permute(0, 2, 1, 3, 4).reshape(b * f, c, h, w)
        y = self.residual_blocks(self.conv(self.pixel_unshuffle(x)))
        return y.view(b, f, y.size(1), y.size(2), y.size(3)).permute(0, 2, 1, 3, 4)


class _AdapterResidual(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.conv1 = nn.Conv2d(dim, dim, kernel_size=3, padding=1)
        self.conv2 = nn.Conv2d(dim, dim, kernel_size=3, padding=1)

    def forward(self, x):
        return self.conv2(torch.relu(self.conv1(x))) + x


# original Wan (and VideoX-Fun) transformer keys -> diffusers' WanTransformer3DModel keys
# (diffusers' scripts/convert_wan_to_diffusers.py, TRANSFORMER_KEYS_RENAME_DICT)
_WAN_RENAME = [
    ("time_embedding.0", "condition_embedder.time_embedder.linear_1"),
    ("time_embedding.2", "condition_embedder.time_embedder.linear_2"),
    ("text_embedding.0", "condition_embedder.text_embedder.linear_1"),
    ("text_embedding.2", "condition_embedder.text_embedder.linear_2"),
    ("time_projection.1", "condition_embedder.time_proj"),
    ("head.modulation", "scale_shift_table"),
    ("head.head", "proj_out"),
    ("modulation", "scale_shift_table"),
    ("ffn.0", "ffn.net.0.proj"),
    ("ffn.2", "ffn.net.2"),
    # hack to swap the norm2 and norm3 keys
    ("norm2", "norm__placeholder"),
    ("norm3", "norm2"),
    ("norm__placeholder", "norm3"),
    ("img_emb.proj.0", "condition_embedder.image_embedder.norm1"),
    ("img_emb.proj.1", "condition_embedder.image_embedder.ff.net.0.proj"),
    ("img_emb.proj.3", "condition_embedder.image_embedder.ff.net.2"),
    ("img_emb.proj.4", "condition_embedder.image_embedder.norm2"),
    ("self_attn.q", "attn1.to_q"),
    ("self_attn.k", "attn1.to_k"),
    ("self_attn.v", "attn1.to_v"),
    ("self_attn.o", "attn1.to_out.0"),
    ("self_attn.norm_q", "attn1.norm_q"),
    ("self_attn.norm_k", "attn1.norm_k"),
    ("cross_attn.q", "attn2.to_q"),
    ("cross_attn.k", "attn2.to_k"),
    ("cross_attn.v", "attn2.to_v"),
    ("cross_attn.o", "attn2.to_out.0"),
    ("cross_attn.norm_q", "attn2.norm_q"),
    ("cross_attn.norm_k", "attn2.norm_k"),
    ("attn2.to_k_img", "attn2.add_k_proj"),
    ("attn2.to_v_img", "attn2.add_v_proj"),
    ("attn2.norm_k_img", "attn2.norm_added_k"),
]


def convert_wan_keys(state: dict) -> tuple[dict, dict]:
    """(diffusers transformer state, camera adapter state) from a Wan / VideoX-Fun state dict."""
    tr, adapter = {}, {}
    for k, v in state.items():
        if k.startswith("control_adapter."):
            adapter[k[len("control_adapter."):]] = v
            continue
        nk = k
        for a, b in _WAN_RENAME:
            nk = nk.replace(a, b)
        tr[nk] = v
    return tr, adapter


def fun_camera_folder(where: str) -> Path:
    """--fun-camera as a local folder, or a Hugging Face repository id (owner/name) whose transformer
    files (config.json, diffusion_pytorch_model*.safetensors) are fetched into the hub's cache (only
    those: VideoX-Fun's repositories also hold the original T5, VAE and CLIP files, which --base
    provides here)."""
    path = Path(where).expanduser()
    if path.exists() or where.count("/") != 1 or where.startswith((".", "/", "~")):
        return path
    from huggingface_hub import snapshot_download

    print(f"export: --fun-camera {where} is not a folder here; fetching its transformer from the hub")
    return Path(snapshot_download(where, allow_patterns=["config.json", "diffusion_pytorch_model*.safetensors*"]))


def load_fun_camera_transformer(path: Path):
    """A VideoX-Fun Control-Camera transformer folder (config.json in VideoX-Fun's / Wan's names and
    diffusion_pytorch_model*.safetensors) as diffusers' WanTransformer3DModel plus our CameraAdapter."""
    from diffusers import WanTransformer3DModel
    from safetensors.torch import load_file

    cfg_path = path / "config.json"
    if not cfg_path.exists():
        raise ExportError(f"--fun-camera {path}: config.json missing (expected VideoX-Fun's transformer config)")
    cfg = json.loads(cfg_path.read_text())
    if not cfg.get("add_control_adapter"):
        raise ExportError(f"--fun-camera {path}: config.json has no add_control_adapter: true; this is not a Control-Camera model")
    files = sorted(path.glob("diffusion_pytorch_model*.safetensors"))
    if not files:
        raise ExportError(f"--fun-camera {path}: no diffusion_pytorch_model*.safetensors")
    state = {}
    for f in files:
        state.update(load_file(str(f)))
    tr_state, ad_state = convert_wan_keys(state)
    dim, heads = cfg["dim"], cfg["num_heads"]
    model_type = cfg.get("model_type", "t2v")
    patch = tuple(cfg.get("patch_size", (1, 2, 2)))
    transformer = WanTransformer3DModel(
        patch_size=patch, num_attention_heads=heads, attention_head_dim=dim // heads, in_channels=cfg["in_dim"],
        out_channels=cfg["out_dim"], text_dim=cfg["text_dim"], freq_dim=cfg["freq_dim"], ffn_dim=cfg["ffn_dim"],
        num_layers=cfg["num_layers"], cross_attn_norm=cfg.get("cross_attn_norm", True),
        qk_norm="rms_norm_across_heads" if cfg.get("qk_norm", True) else None, eps=cfg.get("eps", 1e-6),
        image_dim=1280 if model_type == "i2v" else None, added_kv_proj_dim=dim if model_type == "i2v" else None,
        rope_max_seq_len=1024)
    missing, unexpected = transformer.load_state_dict(tr_state, strict=False)
    if missing or unexpected:
        raise ExportError(f"--fun-camera {path}: the weights do not fit diffusers' WanTransformer3DModel: "
                          f"missing {missing[:5]}, unexpected {unexpected[:5]}")
    adapter = CameraAdapter(cfg.get("in_dim_control_adapter", 24), dim, patch[1:],
                            cfg.get("downscale_factor_control_adapter", 8),
                            blocks=len({k.split(".")[1] for k in ad_state if k.startswith("residual_blocks.")}))
    try:
        adapter.load_state_dict(ad_state, strict=True)
    except RuntimeError as e:
        raise ExportError(f"--fun-camera {path}: the control_adapter weights do not fit: {str(e).splitlines()[0]}") from e
    return transformer.eval(), adapter.eval(), cfg


# ---------------------------------------------------------------------------------------------


def _load_base(base: str, without_transformer: bool = False):
    """without_transformer (--fun-camera, which brings its own): diffusers neither downloads nor
    loads a component passed as None, so the 14B I2V base costs its UMT5, VAE and CLIP only."""
    from diffusers import DiffusionPipeline, WanTransformer3DModel

    # WanTransformer3DModel lists modules to keep in float32, which diffusers only loads with
    # accelerate installed; everything loads in float32 here, where the list changes nothing
    keep = WanTransformer3DModel._keep_in_fp32_modules
    WanTransformer3DModel._keep_in_fp32_modules = None
    try:
        if without_transformer:
            # only the pipeline's own class knows transformer is optional (DiffusionPipeline would load it)
            import diffusers

            name = DiffusionPipeline.load_config(base).get("_class_name")
            cls = getattr(diffusers, name, None) if name in ("WanPipeline", "WanImageToVideoPipeline") else None
            if cls is None:
                raise ExportError(f"--base {base} is a {name}; --fun-camera expects a Wan base (model_index.json: "
                                  f"WanImageToVideoPipeline, as VideoX-Fun uses, or WanPipeline) for its UMT5, VAE "
                                  f"and CLIP")
            pipe = cls.from_pretrained(base, transformer=None)
        else:
            pipe = DiffusionPipeline.from_pretrained(base)
    except ExportError:
        raise
    except Exception as e:  # noqa: BLE001
        raise ExportError(f"--base {base}: cannot be loaded as a diffusers pipeline: {type(e).__name__}: {e}") from e
    finally:
        WanTransformer3DModel._keep_in_fp32_modules = keep
    return pipe


def flow_shift_for(height: int) -> float:
    """Wan's advice (diffusers' Wan docs, Wan's generate.py): shift 3.0 at 480p, 5.0 at 720p."""
    return 3.0 if height <= 480 else 5.0


def export_wan(a, pipeline=None):
    """pipeline(load): the pipeline to export (export_model._pipeline: --base loaded by `load`, or
    --random-weights built from a published config); without it, --base."""
    from diffusers import UniPCMultistepScheduler

    load = lambda: _load_base(a.base, without_transformer=bool(a.fun_camera))  # noqa: E731
    pipe = pipeline(load) if pipeline is not None else load()
    cls = pipe.__class__.__name__
    source = f"--base {a.base}" if a.base else f"--random-weights {getattr(a, 'random_weights', None)}"
    if cls not in ("WanPipeline", "WanImageToVideoPipeline"):
        raise ExportError(f"{source} is a {cls}; expected WanPipeline or WanImageToVideoPipeline (model_index.json)")
    out = Path(a.out)
    te, tok, vae = pipe.text_encoder, pipe.tokenizer, pipe.vae
    tr = pipe.transformer
    tr2 = getattr(pipe, "transformer_2", None)
    boundary = pipe.config.get("boundary_ratio")
    expand = bool(pipe.config.get("expand_timesteps", False))
    camera_adapter = None
    fun_cfg = None
    if a.fun_camera:
        tr, camera_adapter, fun_cfg = load_fun_camera_transformer(fun_camera_folder(a.fun_camera))
        tr2, boundary, expand = None, None, False
    i2v = cls == "WanImageToVideoPipeline" or bool(a.image_to_video) or camera_adapter is not None
    out_cls = "WanFunControlPipeline" if camera_adapter is not None else ("WanImageToVideoPipeline" if i2v else "WanPipeline")
    if a.image_to_video and not expand and cls == "WanPipeline":
        raise ExportError(f"--image-to-video: {source} is a text-to-video WanPipeline without expand_timesteps; only "
                          f"Wan2.2 TI2V-5B animates an image with the text-to-video weights")
    s_scale = vae.config.scale_factor_spatial
    t_scale = vae.config.scale_factor_temporal
    p = tr.config.patch_size
    five_b = s_scale == 16
    # the clip the model makes by default: Wan2.1/2.2 14B and 1.3B at 480p (832x480) or 720p (1280x720),
    # TI2V-5B at 1280x704
    resolution = a.resolution or ("720p" if five_b else "480p")
    native_w, native_h = (1280, 704) if five_b else ((1280, 720) if resolution == "720p" else (832, 480))
    native_f, fps = (121, 24) if five_b else (81, 16)
    F = a.frames or native_f
    W = a.width or native_w
    H = a.height or native_h
    mult = s_scale * p[1]
    if W % mult or H % mult:
        raise ExportError(f"--width/--height {W}x{H}: Wan sizes are multiples of {mult} (VAE {s_scale} x patch {p[1]})")
    if (F - 1) % t_scale:
        raise ExportError(f"--frames {F}: Wan takes {t_scale}k+1 frames")
    lf = (F - 1) // t_scale + 1
    h, w = H // s_scale, W // s_scale
    D = te.config.d_model
    z = vae.config.z_dim
    Cin = tr.config.in_channels
    image_dim = tr.config.image_dim
    enc = getattr(pipe, "image_encoder", None)
    # CLIP ViT-H/14 at 224: 257 tokens; a test's tiny CLIP has its own count
    image_tokens = ((enc.config.image_size // enc.config.patch_size) ** 2 + 1) if enc is not None else 257
    results: list[ComponentResult] = []
    common = dict(tolerance=a.tolerance, verify=not a.no_verify, fuse=not getattr(a, "no_fuse", False),
                  keep_unfused=getattr(a, "keep_unfused", False))
    gen = torch.Generator().manual_seed(0)

    def randn(*s):
        return torch.randn(*s, generator=gen)

    bx = {0: Axis("batch", ("batch",))}

    def mem(to_size, frames_vary=False, make_inputs=None):
        """The activation rule's spec (dolly.json "memory"): sizes in the engine's terms (batch of
        one call, the clip's frames, pixels), native = the model's own clip."""
        return X.MemorySpec(to_size=to_size, native=(native_f, native_w, native_h) if frames_vary else (1, native_w, native_h),
                            frames_vary=frames_vary, multiple=mult, make_inputs=make_inputs)

    batch_only = mem(lambda b, f, W_, H_: {"batch": b})

    def te_inputs(s):
        ids = torch.randint(1, te.config.vocab_size, (s["batch"], TEXT_LEN), generator=gen)
        mask = torch.zeros(s["batch"], TEXT_LEN, dtype=torch.int64)
        mask[:, :37] = 1
        ids[:, 37:] = 0
        return ids, mask

    results.append(X.export_component(
        "text_encoder", WanTextEncoderExport(te), out, ["input_ids", "attention_mask"], "last_hidden_state",
        {"input_ids": bx, "attention_mask": bx, "last_hidden_state": bx}, te_inputs, {"batch": 1},
        {"batch": {"batch": 2}}, fp16=a.fp16_text_encoder, fp16_margin=a.fp16_margin,
        float_inputs_fp16=set(), memory=batch_only, **common))

    def tr_inputs(s, new=randn):
        b, f, hh, ww = s["batch"], s["frames"], s["h"], s["w"]
        tokens = f * (hh // p[1]) * (ww // p[2])  # 2.2 TI2V: one timestep per token (patch p_t = 1)
        t = torch.full((b, tokens) if expand else (b,), 700.0)
        xs = [new(b, Cin, f, hh, ww), t, new(b, TEXT_LEN, D)]
        if image_dim is not None:
            xs.append(new(b, image_tokens, image_dim))
        if camera_adapter is not None:
            xs.append(new(1, camera_adapter.conv.in_channels // 64, f, hh * s_scale, ww * s_scale))
        return tuple(xs)

    # one denoiser call: the guidance batch, the clip's latent frames ((F - 1) / 4 + 1), the latent
    # size; the rule's grid takes the inputs' shapes only (meta tensors: the Fun camera input is
    # [1, 24, f, H, W] in pixels)
    tr_mem = mem(lambda b, f, W_, H_: {"batch": b, "frames": (f - 1) // t_scale + 1, "h": H_ // s_scale, "w": W_ // s_scale},
                 frames_vary=True, make_inputs=lambda s: tr_inputs(s, _meta))

    names = ["hidden_states", "timestep", "encoder_hidden_states"]
    sp = {0: Axis("batch", ("batch",)), 2: Axis("latent_frames", ("frames",)), 3: Axis("height", ("spatial",)),
          4: Axis("width", ("spatial",))}
    axes = {"hidden_states": sp, "out_hidden_states": sp, "encoder_hidden_states": bx,
            "timestep": {0: Axis("batch", ("batch",)), 1: Axis("tokens", ("frames", "spatial"))} if expand else bx}
    if image_dim is not None:
        names.append("encoder_hidden_states_image")
        axes["encoder_hidden_states_image"] = bx
    if camera_adapter is not None:
        names.append("control_camera")
        axes["control_camera"] = {2: Axis("latent_frames", ("frames",)), 3: Axis("height_px", ("spatial",)),
                                  4: Axis("width_px", ("spatial",))}
    size = {"batch": 2, "frames": lf, "h": h, "w": w}
    ha = max(p[1], (h // 2) // p[1] * p[1])
    wa = w + p[2]
    alts = {"batch": {**size, "batch": 1}, "frames": {**size, "frames": lf + 1 if lf > 1 else 2},
            "spatial": {**size, "h": ha, "w": wa}}
    for comp, model in (("transformer", tr), ("transformer_2", tr2)):
        if model is None:
            continue
        results.append(X.export_component(
            comp, WanTransformerExport(model, camera_adapter), out, names, "out_hidden_states", axes, tr_inputs, size,
            alts, fp16=a.fp16, fp16_margin=a.fp16_margin, float_inputs_fp16=set(names) - {"timestep"},
            required_symbolic={"batch"}, memory=tr_mem, **common))

    vae_tol = max(a.tolerance, 1e-4)
    vae_post = dict(fuse=common["fuse"], keep_unfused=common["keep_unfused"], native=(native_w, native_h),
                    multiple=mult)
    results.append(export_vae_decoder(vae, out, h, w, vae_tol, not a.no_verify, **vae_post))
    if i2v:
        results.append(export_vae_encoder(vae, out, H, W, vae_tol, not a.no_verify, **vae_post))
        X.copy_config(vae, out / "vae_encoder")
    if i2v and image_dim is not None:
        if enc is None:
            raise ExportError(f"{source}: the transformer takes image embeddings (image_dim {image_dim}) but the "
                              f"pipeline has no image_encoder")
        isz = enc.config.image_size
        if camera_adapter is not None:
            # VideoX-Fun resizes the original image itself: any size goes in
            ax = {0: Axis("batch", ("batch",)), 2: Axis("height_px", ("spatial",)), 3: Axis("width_px", ("spatial",))}
            results.append(X.export_component(
                "image_encoder", ClipVideoxFunExport(enc), out, ["pixel_values"], "image_embeds",
                {"pixel_values": ax, "image_embeds": bx},
                lambda s: ((torch.rand(s["batch"], 3, s["h"], s["w"], generator=gen) * 2 - 1),),
                {"batch": 1, "h": 300, "w": 451}, {"batch": {"batch": 2, "h": 300, "w": 451},
                                                   "spatial": {"batch": 1, "h": 97, "w": 64}},
                memory=mem(lambda b, f, W_, H_: {"batch": b, "h": H_, "w": W_}), **common))
        else:
            results.append(X.export_component(
                "image_encoder", ClipPenultimateExport(enc), out, ["pixel_values"], "image_embeds",
                {"pixel_values": bx, "image_embeds": bx}, lambda s: (randn(s["batch"], 3, isz, isz),), {"batch": 1},
                {"batch": {"batch": 2}}, memory=batch_only, **common))
        enc.config.to_json_file(str(out / "image_encoder" / "config.json"))
        if getattr(pipe, "image_processor", None) is not None:
            pipe.image_processor.save_pretrained(str(out / "image_processor"))

    # scheduler: the base's; UniPC with flow sigmas gets the flow_shift of the native size
    sched = pipe.scheduler
    shift = a.flow_shift if a.flow_shift is not None else None
    if camera_adapter is not None:
        from diffusers import FlowMatchEulerDiscreteScheduler

        sched = FlowMatchEulerDiscreteScheduler(**{**VIDEOX_FUN_FLOW, **({"shift": shift} if shift else {})})
        X.log(f"scheduler: VideoX-Fun's Flow sampler (FlowMatchEulerDiscreteScheduler, shift {sched.config.shift}) "
              f"instead of the base's {pipe.scheduler.__class__.__name__}")
    elif isinstance(sched, UniPCMultistepScheduler) and sched.config.get("use_flow_sigmas"):
        if shift is None:
            shift = flow_shift_for(native_h)
            if sched.config.get("flow_shift") != shift:
                X.log(f"scheduler: flow_shift {shift} for {resolution} (Wan's advice: 3.0 at 480p, 5.0 at 720p); "
                      f"the base's config had {sched.config.get('flow_shift')}")
        sched = UniPCMultistepScheduler.from_config(sched.config, flow_shift=shift)
    elif shift is not None:
        X.log(f"--flow-shift {shift}: the base's {sched.__class__.__name__} has no flow_shift; ignored")
        shift = None
    sched.save_pretrained(str(out / "scheduler"))
    tok.save_pretrained(str(out / "tokenizer"))
    X.copy_config(vae, out / "vae_decoder")
    X.copy_config(tr, out / "transformer")
    if tr2 is not None:
        X.copy_config(tr2, out / "transformer_2")
    te.config.to_json_file(str(out / "text_encoder" / "config.json"))
    index = {"scheduler": ["diffusers", sched.__class__.__name__],
             "text_encoder": ["transformers", te.__class__.__name__],
             "tokenizer": ["transformers", tok.__class__.__name__],
             "transformer": ["diffusers", tr.__class__.__name__],
             "transformer_2": ["diffusers", tr2.__class__.__name__] if tr2 is not None else [None, None],
             "vae": ["diffusers", vae.__class__.__name__], "boundary_ratio": boundary, "expand_timesteps": expand}
    if i2v and image_dim is not None:
        index["image_encoder"] = ["transformers", enc.__class__.__name__]
    write = lambda path, obj: (path.parent.mkdir(parents=True, exist_ok=True),  # noqa: E731
                               path.write_text(json.dumps(obj, indent=2) + "\n"))
    import diffusers

    write(out / "model_index.json", {"_class_name": out_cls, "_diffusers_version": diffusers.__version__, **index})
    trr = next(r for r in results if r.name == "transformer")
    spatial_fixed = "spatial" in trr.fixed
    frames_fixed = "frames" in trr.fixed
    defaults = {"steps": 50, "guidance": 5.0, "fps": fps}
    if shift is not None:
        defaults["flowShift"] = shift
    if camera_adapter is not None:
        defaults["guidance"] = 6.0  # VideoX-Fun's Control-Camera example (predict_v2v_control_camera.py)
    dolly = {
        "label": a.label,
        "precision": {r.name: r.precision for r in results},
        "nativeFrames": F if frames_fixed else native_f,
        "nativeWidth": W if spatial_fixed else native_w,
        "nativeHeight": H if spatial_fixed else native_h,
        "defaults": defaults,
        "camera": "cameractrl-plucker" if camera_adapter is not None else "none",
    }
    if camera_adapter is not None:
        dolly["cameraFov"] = a.camera_fov
    if mult != 16:
        dolly["sizeMultiple"] = mult  # Wan2.2 TI2V-5B: VAE 16 x patch 2
    # per component: weights, attention counts, activation rules (the engine's memory plans); the
    # VAE's for one call of one latent frame, whatever the clip's length
    dolly["memory"] = {r.name: r.memory_json() for r in results}
    write(out / "dolly.json", {k: v for k, v in dolly.items() if v is not None})
    X.log(f"{out_cls}: {'A14B two experts, boundary ' + str(boundary) if tr2 is not None else 'one transformer'}"
          f"{', per-token timesteps (TI2V)' if expand else ''}{', Fun Control-Camera' if camera_adapter is not None else ''}; "
          f"scheduler {sched.__class__.__name__}{f' flow_shift {shift}' if shift is not None else ''}")
    return results
