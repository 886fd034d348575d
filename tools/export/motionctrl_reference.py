"""A PyTorch reference of MotionCtrl's camera module for the export tests, written from
MotionCtrl's code (TencentARC/MotionCtrl) and kept apart from the exporter's own version
(motionctrl.py) so the tests compare two implementations:

- checkpoints are written in MotionCtrl's OWN key format (AnimateDiff branch: UNet3D names with
  temporal_transformer / attention_blocks / norms; SVD branch: sgm names under
  model.diffusion_model.*_blocks.*.1.time_stack), so the exporter's key conversion is exercised;
- the camera step is computed in MotionCtrl's own layout: AnimateDiff's
  [(b f), (h w), c] with RT.reshape(B*t, 1, -1).repeat(1, hw, 1)
  (motionctrl/modified_modules.py, Adapted_TemporalTransformerBlock_forward), and SVD's
  [(b s), t, c] with RT.repeat_interleave(S, dim=0) (sgm/motionctrl/modified_svd.py);
- RT comes from a pose JSON the way each entry point builds it: the AnimateDiff script feeds the
  JSON as is (scripts/motionctrl_animate.py), zeros for the unconditional half; the SVD script
  takes the central rows, scales the translation by [3, 1, 4] * speed, then makes the poses
  relative to frame 0 (main/inference/motionctrl_cmcm.py, get_RT / to_relative_RT2), the same RT
  for both guidance halves.
"""
from __future__ import annotations

import json
import types

import numpy as np
import torch
from torch import nn

# ---------------------------------------------------------------------------------------------
# MotionCtrl's key names


def animatediff_block_prefix(diffusers_block: str) -> str:
    """diffusers motion block 'down_blocks.0.motion_modules.0.transformer_blocks.0' -> MotionCtrl's
    'down_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0' (AnimateDiff UNet3D)."""
    head, sep, tail = diffusers_block.partition(".transformer_blocks.")
    return f"{head}.temporal_transformer.transformer_blocks.{tail}"


ANIMATEDIFF_PARTS = {"attn2": "attention_blocks.1", "norm2": "norms.1", "cc_projection": "cc_projection"}


def svd_block_prefix(diffusers_block: str, layers_per_block: int) -> str:
    """diffusers 'down_blocks.b.attentions.l.temporal_transformer_blocks.k' -> sgm's
    'model.diffusion_model.input_blocks.i.1.time_stack.k'. sgm counts input_blocks from 1 after
    conv_in, layers_per_block res(+attn) layers then one downsampler per level; output_blocks
    have layers_per_block + 1 layers per level."""
    parts = diffusers_block.split(".")
    k = parts[-1]
    if parts[0] == "mid_block":
        return f"model.diffusion_model.middle_block.1.time_stack.{k}"
    level, layer = int(parts[1]), int(parts[3])
    if parts[0] == "down_blocks":
        index = 1 + level * (layers_per_block + 1) + layer
        return f"model.diffusion_model.input_blocks.{index}.1.time_stack.{k}"
    index = level * (layers_per_block + 1) + layer
    return f"model.diffusion_model.output_blocks.{index}.1.time_stack.{k}"


def _blocks(unet, kind):
    from diffusers.models.attention import BasicTransformerBlock, TemporalBasicTransformerBlock

    if kind == "animatediff":
        return {n: m for n, m in unet.named_modules() if isinstance(m, BasicTransformerBlock) and "motion_modules" in n}
    return {n: m for n, m in unet.named_modules() if isinstance(m, TemporalBasicTransformerBlock)}


def make_cmcm_checkpoint(unet, kind: str, seed: int, identity: bool = False, extra: dict | None = None) -> dict:
    """Random CMCM weights for every temporal block of `unet`, keyed as MotionCtrl saves them:
    cc_projection (Linear C+12 -> C; identity-initialised like MotionCtrl when `identity`, the 12
    pose columns then stay random) and a new second attention and its norm (the parts MotionCtrl
    trains). Returns {key: tensor}."""
    g = torch.Generator().manual_seed(seed)
    lpb = getattr(unet.config, "layers_per_block", 1)
    lpb = lpb[0] if isinstance(lpb, (list, tuple)) else lpb
    sd = {}
    for name, blk in _blocks(unet, kind).items():
        prefix = animatediff_block_prefix(name) if kind == "animatediff" else svd_block_prefix(name, lpb)
        C = blk.attn2.to_q.in_features
        w = (torch.rand(C, C + 12, generator=g) * 2 - 1) / (C + 12) ** 0.5
        b = (torch.rand(C, generator=g) * 2 - 1) * 0.1
        if identity:
            w[:, :C] = torch.eye(C)
            b = torch.zeros(C)
        sd[f"{prefix}.cc_projection.weight"] = w
        sd[f"{prefix}.cc_projection.bias"] = b
        attn_name = ANIMATEDIFF_PARTS["attn2"] if kind == "animatediff" else "attn2"
        norm_name = ANIMATEDIFF_PARTS["norm2"] if kind == "animatediff" else "norm2"
        for pname, p in blk.attn2.named_parameters():
            sd[f"{prefix}.{attn_name}.{pname}"] = torch.randn(p.shape, generator=g) * 0.3
        sd[f"{prefix}.{norm_name}.weight"] = 1 + 0.2 * torch.randn(blk.norm2.weight.shape, generator=g)
        sd[f"{prefix}.{norm_name}.bias"] = 0.2 * torch.randn(blk.norm2.bias.shape, generator=g)
    if extra:
        sd.update(extra)
    return sd


# ---------------------------------------------------------------------------------------------
# the camera module, MotionCtrl's way


def _animatediff_forward(self, hidden_states, attention_mask=None, encoder_hidden_states=None,
                         encoder_attention_mask=None, timestep=None, cross_attention_kwargs=None,
                         class_labels=None, added_cond_kwargs=None):
    # attention_blocks[:-1] (one: attn1) with its norm; diffusers keeps AnimateDiff's positional
    # encoding in pos_embed, applied to each attention's input
    def attend(norm, attn, h):
        x = norm(h)
        if self.pos_embed is not None:
            x = self.pos_embed(x)
        return attn(x) + h

    hidden_states = attend(self.norm1, self.attn1, hidden_states)
    RT = self._reference_rt
    if RT is not None:
        # MotionCtrl: hidden_states [batch * video_length, height * width, channel], RT [batch, t, 12]
        B, t, _ = RT.shape
        rows, _, C = hidden_states.shape
        hw = rows // B
        x = hidden_states.reshape(B, hw, t, C).permute(0, 2, 1, 3).reshape(B * t, hw, C)
        rt = RT.reshape(B * t, 1, -1).repeat(1, hw, 1)
        x = self.cc_projection(torch.cat([x, rt], dim=-1))
        hidden_states = x.reshape(B, t, hw, C).permute(0, 2, 1, 3).reshape(B * hw, t, C)
    hidden_states = attend(self.norm2, self.attn2, hidden_states)
    return self.ff(self.norm3(hidden_states)) + hidden_states


def _svd_forward(self, hidden_states, num_frames, encoder_hidden_states=None):
    # sgm VideoTransformerBlock._forward as MotionCtrl-SVD patches it
    BT, S, C = hidden_states.shape
    x = hidden_states.reshape(BT // num_frames, num_frames, S, C).permute(0, 2, 1, 3).reshape(-1, num_frames, C)
    x_skip = x
    x = self.ff_in(self.norm_in(x))
    if self.is_res:
        x = x + x_skip
    x = self.attn1(self.norm1(x)) + x
    RT = self._reference_rt
    if RT is not None:
        RT = RT.repeat_interleave(repeats=S, dim=0)  # (b*s, t, 12)
        x = self.cc_projection(torch.cat([x, RT], dim=-1))
    x = self.attn2(self.norm2(x), encoder_hidden_states=encoder_hidden_states) + x
    x_skip = x
    x = self.ff(self.norm3(x))
    if self.is_res:
        x = x + x_skip
    return x.reshape(BT // num_frames, S, num_frames, C).permute(0, 2, 1, 3).reshape(BT, S, C)


def patch_unet(unet, kind: str, ckpt: dict, camera: bool = True) -> list:
    """Loads the MotionCtrl-format checkpoint into `unet` by MotionCtrl's names: the second
    attention and its norm always; with `camera`, also adds cc_projection and MotionCtrl's forward
    to every temporal block. Without `camera` the UNet is the plain model with the checkpoint's
    attention (the property test compares against it)."""
    lpb = getattr(unet.config, "layers_per_block", 1)
    lpb = lpb[0] if isinstance(lpb, (list, tuple)) else lpb
    strip = {k.replace("module.", ""): v for k, v in ckpt.items()}
    blocks = []
    for name, blk in _blocks(unet, kind).items():
        prefix = animatediff_block_prefix(name) if kind == "animatediff" else svd_block_prefix(name, lpb)
        attn_name = ANIMATEDIFF_PARTS["attn2"] if kind == "animatediff" else "attn2"
        norm_name = ANIMATEDIFF_PARTS["norm2"] if kind == "animatediff" else "norm2"
        with torch.no_grad():
            for pname, p in blk.attn2.named_parameters():
                p.copy_(strip[f"{prefix}.{attn_name}.{pname}"])
            blk.norm2.weight.copy_(strip[f"{prefix}.{norm_name}.weight"])
            blk.norm2.bias.copy_(strip[f"{prefix}.{norm_name}.bias"])
        if camera:
            W = strip[f"{prefix}.cc_projection.weight"]
            proj = nn.Linear(W.shape[1], W.shape[0])
            with torch.no_grad():
                proj.weight.copy_(W)
                proj.bias.copy_(strip[f"{prefix}.cc_projection.bias"])
            blk.add_module("cc_projection", proj)
            fwd = _animatediff_forward if kind == "animatediff" else _svd_forward
            blk.forward = types.MethodType(fwd, blk)
            blk._reference_rt = None
            blocks.append(blk)
    return blocks


def set_rt(blocks: list, rt) -> None:
    for b in blocks:
        b._reference_rt = rt


# ---------------------------------------------------------------------------------------------
# RT from a MotionCtrl pose JSON


def animatediff_rt(json_path, guidance: bool) -> torch.Tensor:
    """scripts/motionctrl_animate.py: RT = tensor(json)[None]; cat([zeros, RT]) under guidance."""
    with open(json_path) as f:
        RT = torch.tensor(np.array(json.load(f))).float()[None]
    return torch.cat([torch.zeros_like(RT), RT], dim=0) if guidance else RT


def _to_relative(pose: np.ndarray) -> np.ndarray:
    pose = pose.reshape(-1, 3, 4)
    R_dst, T_dst = pose[:, :, :3], pose[:, :, 3:]
    R_src = np.repeat(R_dst[0:1], pose.shape[0], axis=0)
    T_src = np.repeat(T_dst[0:1], pose.shape[0], axis=0)
    R_rel = R_dst @ R_src.transpose(0, 2, 1)
    T_rel = T_dst - R_rel @ T_src
    return np.concatenate([R_rel, T_rel], axis=-1).reshape(-1, 12)


def svd_rt(json_path, frames: int, guidance: bool, speed: float = 1.0, scale=(3, 1, 4)) -> torch.Tensor:
    """main/inference/motionctrl_cmcm.py get_RT for one pose file (frame_stride 1)."""
    with open(json_path) as f:
        pose = np.array(json.load(f))
    if frames < 16:
        half = (pose.shape[0] - frames) // 2
        pose = pose[half:half + frames]
    pose = pose.reshape(-1, 3, 4)
    pose[:, :, -1] = pose[:, :, -1] * np.array(scale) * speed
    RT = torch.tensor(_to_relative(pose)).float()[None]
    return RT.repeat(2, 1, 1) if guidance else RT


def write_pose_json(path, frames: int, yaw_deg: float, pitch_deg: float, move) -> None:
    """A MotionCtrl pose file: world-to-camera [R|t] rows, frame 0 the identity (so 'relative to
    frame 0' changes nothing), then a steady turn and move."""
    rows = []
    for i in range(frames):
        a = np.radians(yaw_deg) * i / max(1, frames - 1)
        b = np.radians(pitch_deg) * i / max(1, frames - 1)
        Ry = np.array([[np.cos(a), 0, np.sin(a)], [0, 1, 0], [-np.sin(a), 0, np.cos(a)]])
        Rx = np.array([[1, 0, 0], [0, np.cos(b), -np.sin(b)], [0, np.sin(b), np.cos(b)]])
        R = Rx @ Ry
        t = np.array(move, dtype=float) * i / max(1, frames - 1)
        rows.append(np.concatenate([R, t[:, None]], axis=1).reshape(-1).round(10).tolist())
    with open(path, "w") as f:
        json.dump(rows, f)
