"""The Wan VAE (diffusers' AutoencoderKLWan, 2.1 and 2.2) as ONNX graphs that decode and encode one
chunk of frames at a time, with the causal convolutions' feature cache as explicit inputs and outputs.

diffusers decodes latent frame by latent frame (`AutoencoderKLWan._decode`): every causal 3D
convolution keeps the last two frames it was given (`feat_cache`), and the next chunk's convolution
sees them in front of its own frames. Here the same walk is written out over the diffusers modules'
weights, so one graph runs one chunk:

    latent_sample [B, z, t, h, w], first_chunk int64 [1], cache_in_0 .. cache_in_{N-1}
      -> sample [B, 3, T, H, W], cache_out_0 .. cache_out_{N-1}

- Every cache is [B, C_i, 2, h_i, w_i] (encoder downsamplers: 1 frame). The first call takes zeros
  of shape [B, C_i, 2, 1, 1] (they broadcast to the chunk's size), so the engine needs nothing but
  the graph's input metadata to start; each later call takes the previous call's cache_out.
  diffusers' first call has no cache (zero padding), which is what zeros in front give.
- first_chunk = 1 marks diffusers' first call (`first_chunk=True`, the "Rep" upsampler state): the
  temporal upsamplers pass the frame through without their time convolution (1 latent frame gives
  1 frame, later ones 4), the 2.2 shortcut drops its leading frames, the encoder's temporal
  downsamplers pass the first frame through. Both branches are computed and the frames of the one
  that applies are kept (an index from NonZero), so the graph has no control flow.
- The first decoder call takes exactly one latent frame (as diffusers); later calls any number.
  The encoder takes 1 frame first, then 4 at a time (diffusers' `_encode`).
Memory then depends on the chunk, not on the clip's length.
"""
from __future__ import annotations

import torch
from torch import nn

CACHE_T = 2


def _broadcast_cache(cache: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """A cache fed as [B, C, T, 1, 1] zeros (first call) takes the chunk's spatial size."""
    return cache + torch.zeros_like(x[:, :, :1])


def _select_frames(first: torch.Tensor, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """`a` when first is true, else `b`, along the frame axis (the two may differ in length)."""
    both = torch.cat([a, b], dim=2)
    keep_a = torch.ones_like(a[0, 0, :, 0, 0], dtype=torch.bool) & first
    keep_b = torch.ones_like(b[0, 0, :, 0, 0], dtype=torch.bool) & ~first
    idx = torch.nonzero(torch.cat([keep_a, keep_b])).flatten()
    return both.index_select(2, idx)


class _Walk:
    """Cache bookkeeping for one call: reads cache_in in walk order, collects cache_out."""

    def __init__(self, caches):
        self.caches = list(caches)
        self.out: list[torch.Tensor] = []

    def take(self) -> torch.Tensor:
        i = len(self.out)
        if i >= len(self.caches):
            raise IndexError(f"the walk needs more than the {len(self.caches)} caches it was given")
        return self.caches[i]

    def put(self, c: torch.Tensor) -> None:
        self.out.append(c)


def causal_conv(conv, x: torch.Tensor, walk: _Walk) -> torch.Tensor:
    """A WanCausalConv3d with a temporal kernel, fed the cached frames in front (diffusers:
    `cache_x = x[:, :, -2:]` (with the previous cache's last frame when x has one frame), then
    `conv(x, feat_cache[idx])`)."""
    cache = _broadcast_cache(walk.take(), x)
    walk.put(torch.cat([cache, x], dim=2)[:, :, -CACHE_T:])
    return conv(x, cache)


def residual_block(blk, x: torch.Tensor, walk: _Walk) -> torch.Tensor:
    h = blk.conv_shortcut(x)
    x = blk.nonlinearity(blk.norm1(x))
    x = causal_conv(blk.conv1, x, walk)
    x = blk.nonlinearity(blk.norm2(x))
    x = blk.dropout(x)
    x = causal_conv(blk.conv2, x, walk)
    return x + h


def mid_block(mid, x: torch.Tensor, walk: _Walk) -> torch.Tensor:
    x = residual_block(mid.resnets[0], x, walk)
    for attn, resnet in zip(mid.attentions, mid.resnets[1:]):
        if attn is not None:
            x = attn(x)
        x = residual_block(resnet, x, walk)
    return x


def _spatial(res, x: torch.Tensor) -> torch.Tensor:
    b, c, t, h, w = x.shape
    y = res.resample(x.permute(0, 2, 1, 3, 4).reshape(b * t, c, h, w))
    return y.view(b, t, y.size(1), y.size(2), y.size(3)).permute(0, 2, 1, 3, 4)


def resample(res, x: torch.Tensor, walk: _Walk, first: torch.Tensor) -> torch.Tensor:
    """WanResample: upsample3d doubles the frames with its time_conv (not on the first chunk);
    downsample3d halves them (the first chunk's frame passes through)."""
    if res.mode == "upsample3d":
        cache = _broadcast_cache(walk.take(), x)
        walk.put(torch.where(first, cache, torch.cat([cache, x], dim=2)[:, :, -CACHE_T:]))
        b, c, t, h, w = x.shape
        y = res.time_conv(x, cache)
        y = y.reshape(b, 2, c, t, h, w)
        y = torch.stack((y[:, 0], y[:, 1]), 3).reshape(b, c, t * 2, h, w)
        x = _select_frames(first, x, y)
    x = _spatial(res, x)
    if res.mode == "downsample3d":
        cache = _broadcast_cache(walk.take(), x)
        walk.put(x[:, :, -1:])
        # the first chunk's single frame is too short for the stride-2 kernel of 3: the unused
        # branch gets three copies of it instead, so both branches are computable
        xin = _select_frames(first, torch.cat([x, x, x], 2), torch.cat([cache[:, :, -1:], x], 2))
        x = _select_frames(first, x, res.time_conv(xin))
    return x


def dup_up(du, x: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
    """DupUp3D (the 2.2 decoder's shortcut); the first chunk drops its leading factor_t - 1 frames."""
    y = du(x, first_chunk=False)
    if du.factor_t > 1:
        y = _select_frames(first, y[:, :, du.factor_t - 1:], y)
    return y


def up_block(blk, x: torch.Tensor, walk: _Walk, first: torch.Tensor) -> torch.Tensor:
    residual = hasattr(blk, "avg_shortcut")  # WanResidualUpBlock (2.2) vs WanUpBlock (2.1)
    x_copy = x
    for resnet in blk.resnets:
        x = residual_block(resnet, x, walk)
    ups = blk.upsampler if residual else (blk.upsamplers[0] if blk.upsamplers is not None else None)
    if ups is not None:
        x = resample(ups, x, walk, first)
    if residual and blk.avg_shortcut is not None:
        x = x + dup_up(blk.avg_shortcut, x_copy, first)
    return x


def avg_down(ad, x: torch.Tensor, first: torch.Tensor) -> torch.Tensor:
    """AvgDown3D (the 2.2 encoder's shortcut) pads the frames in front to a multiple of factor_t, a
    count the tracer fixes: its graph is traced for the first frame only (WanVaeFirstFrameEncoderExport),
    which is all the 2.2 pipelines encode."""
    return ad(x)


def decoder_walk(vae, z: torch.Tensor, first: torch.Tensor, caches) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """AutoencoderKLWan._decode for one chunk: post_quant_conv, WanDecoder3d with the cache,
    unpatchify. Not its clamp(-1, 1): diffusers' tiled decode blends the tiles' overlaps before it
    clamps, so the graph gives the values unclamped and the engine clamps after any blending (its
    postprocess, (x / 2 + 0.5) clamped to [0, 1], is the same clamp)."""
    from diffusers.models.autoencoders.autoencoder_kl_wan import unpatchify

    dec = vae.decoder
    walk = _Walk(caches)
    x = vae.post_quant_conv(z)
    x = causal_conv(dec.conv_in, x, walk)
    x = mid_block(dec.mid_block, x, walk)
    for blk in dec.up_blocks:
        x = up_block(blk, x, walk, first)
    x = dec.nonlinearity(dec.norm_out(x))
    x = causal_conv(dec.conv_out, x, walk)
    if vae.config.patch_size is not None:
        x = unpatchify(x, patch_size=vae.config.patch_size)
    return x, walk.out


def encoder_walk(vae, x: torch.Tensor, first: torch.Tensor, caches) -> tuple[torch.Tensor, list[torch.Tensor]]:
    """AutoencoderKLWan._encode for one chunk: patchify, WanEncoder3d with the cache, quant_conv;
    returns the latent distribution's mean (diffusers' retrieve_latents(sample_mode="argmax"))."""
    from diffusers.models.autoencoders.autoencoder_kl_wan import patchify

    enc = vae.encoder
    walk = _Walk(caches)
    if vae.config.patch_size is not None:
        x = patchify(x, patch_size=vae.config.patch_size)
    x = causal_conv(enc.conv_in, x, walk)
    for layer in enc.down_blocks:
        name = type(layer).__name__
        if name == "WanResidualBlock":
            x = residual_block(layer, x, walk)
        elif name == "WanAttentionBlock":
            x = layer(x)
        elif name == "WanResample":
            x = resample(layer, x, walk, first)
        elif name == "WanResidualDownBlock":
            x_copy = x
            for resnet in layer.resnets:
                x = residual_block(resnet, x, walk)
            if layer.downsampler is not None:
                x = resample(layer.downsampler, x, walk, first)
            x = x + avg_down(layer.avg_shortcut, x_copy, first)
        else:
            raise TypeError(f"Wan VAE encoder: no chunked walk for {name}")
    x = mid_block(enc.mid_block, x, walk)
    x = enc.nonlinearity(enc.norm_out(x))
    x = causal_conv(enc.conv_out, x, walk)
    h = vae.quant_conv(x)
    return h[:, : vae.config.z_dim], walk.out


def _cache_channels(walk_fn, vae) -> list[tuple[int, int]]:
    """(channels, frames) of each cache in walk order: the input channels of each cached conv."""
    order: list[tuple[int, int]] = []
    # the module tree in the order the walk reads its caches
    dec = walk_fn is decoder_walk
    root = vae.decoder if dec else vae.encoder

    def conv(c):
        order.append((c.in_channels, CACHE_T))

    def res(blk):
        conv(blk.conv1)
        conv(blk.conv2)

    def resample_(r):
        if r.mode == "upsample3d":
            order.append((r.time_conv.in_channels, CACHE_T))
        if r.mode == "downsample3d":
            order.append((r.time_conv.in_channels, 1))

    conv(root.conv_in)
    if dec:
        mid = root.mid_block
        for r in mid.resnets:
            res(r)
        for blk in root.up_blocks:
            for r in blk.resnets:
                res(r)
            ups = blk.upsampler if hasattr(blk, "avg_shortcut") else (blk.upsamplers[0] if blk.upsamplers is not None else None)
            if ups is not None:
                resample_(ups)
    else:
        for layer in root.down_blocks:
            name = type(layer).__name__
            if name == "WanResidualBlock":
                res(layer)
            elif name == "WanResample":
                resample_(layer)
            elif name == "WanResidualDownBlock":
                for r in layer.resnets:
                    res(r)
                if layer.downsampler is not None:
                    resample_(layer.downsampler)
        for r in root.mid_block.resnets:
            res(r)
    conv(root.conv_out)
    return order


def cache_channels(vae, part: str) -> list[tuple[int, int]]:
    return _cache_channels(decoder_walk if part == "decoder" else encoder_walk, vae)


def nearest_for_export(vae) -> None:
    """WanUpsample's "nearest-exact" has no ONNX export at opset 17; at the integer scale 2 it picks
    the same source pixel as "nearest" (floor((d + 0.5) / 2) = floor(d / 2)), so the mode is switched."""
    for m in vae.modules():
        if isinstance(m, nn.Upsample) and m.mode == "nearest-exact":
            if tuple(float(f) for f in m.scale_factor) != (2.0, 2.0):
                raise ValueError(f"Wan VAE upsampler with scale {m.scale_factor}: nearest-exact differs from nearest")
            m.mode = "nearest"


class WanVaeChunkDecoderExport(nn.Module):
    """latent_sample [B, z, t, h, w] (normalised back: latents * std + mean), first_chunk int64 [1],
    cache_in_* -> sample [B, 3, T, H, W] in [-1, 1], cache_out_*."""

    def __init__(self, vae: nn.Module):
        super().__init__()
        nearest_for_export(vae)
        self.vae = vae

    def forward(self, latent_sample, first_chunk, *caches):
        first = first_chunk.reshape(()) != 0
        out, new = decoder_walk(self.vae, latent_sample, first, caches)
        return (out, *new)


class WanVaeChunkEncoderExport(nn.Module):
    """sample [B, 3, t, H, W] in [-1, 1], first_chunk int64 [1], cache_in_* -> latent_sample (the
    distribution's mean, not normalised) [B, z, t', h, w], cache_out_*."""

    def __init__(self, vae: nn.Module):
        super().__init__()
        self.vae = vae

    def forward(self, sample, first_chunk, *caches):
        first = first_chunk.reshape(()) != 0
        out, new = encoder_walk(self.vae, sample, first, caches)
        return (out, *new)


class WanVaeFirstFrameEncoderExport(nn.Module):
    """sample [B, 3, 1, H, W] -> latent_sample [B, z, 1, h, w] (mean): one frame from an empty cache,
    all the 2.2 pipelines encode (TI2V: the image alone)."""

    def __init__(self, vae: nn.Module):
        super().__init__()
        self.vae = vae
        self.channels = cache_channels(vae, "encoder")

    def forward(self, sample):
        first = torch.ones((), dtype=torch.bool)
        caches = [sample.new_zeros(sample.shape[0], c, t, 1, 1) for c, t in self.channels]
        out, _ = encoder_walk(self.vae, sample, first, caches)
        return out


def decode_in_chunks(vae, z: torch.Tensor, chunk: int = 1) -> torch.Tensor:
    """The chunked decode in torch (what the ONNX graph runs): first latent frame alone, then
    `chunk` latent frames per call, clamped as diffusers' decode ends. Equals vae.decode(z)."""
    channels = cache_channels(vae, "decoder")
    caches = [z.new_zeros(z.shape[0], c, t, 1, 1) for c, t in channels]
    parts = []
    f0 = 0
    while f0 < z.shape[2]:
        k = 1 if f0 == 0 else chunk
        first = torch.tensor(f0 == 0)
        out, caches = decoder_walk(vae, z[:, :, f0:f0 + k], first, caches)
        parts.append(out)
        f0 += k
    return torch.cat(parts, dim=2).clamp(-1.0, 1.0)


def encode_in_chunks(vae, x: torch.Tensor) -> torch.Tensor:
    """The chunked encode in torch: the first frame, then 4 frames at a time (diffusers' _encode)."""
    channels = cache_channels(vae, "encoder")
    caches = [x.new_zeros(x.shape[0], c, t, 1, 1) for c, t in channels]
    parts = []
    f0 = 0
    while f0 < x.shape[2]:
        k = 1 if f0 == 0 else 4
        out, caches = encoder_walk(vae, x[:, :, f0:f0 + k], torch.tensor(f0 == 0), caches)
        parts.append(out)
        f0 += k
    return torch.cat(parts, dim=2)
