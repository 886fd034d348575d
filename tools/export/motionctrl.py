"""MotionCtrl's camera motion control module (CMCM) inside diffusers' UNets, for export.

What the module is (TencentARC/MotionCtrl):
- AnimateDiff branch, motionctrl/modified_modules.py (Adapted_TemporalTransformerBlock_forward):
  in every temporal transformer block with attention_blocks (Temporal_Self, Temporal_Self), the
  first attention (and its residual) runs, then the pose RT [B, F, 12] is repeated over the
  spatial tokens, concatenated to the hidden states and projected back by cc_projection
  (Linear C+12 -> C); then the last attention and the feed-forward. Only the last attention
  sees projected states: "every attention but the last" is the first one here.
  In diffusers' UNetMotionModel those blocks are the BasicTransformerBlocks of each
  AnimateDiffTransformer3D, whose hidden states are [(b h w), f, c]: RT is broadcast over b h w.
- SVD branch, sgm/motionctrl/modified_svd.py (_forward_VideoTransformerBlock_attan2): in every
  VideoTransformerBlock (diffusers: TemporalBasicTransformerBlock, hidden states [(b s), f, c]),
  after attn1 + residual, RT.repeat_interleave(S, dim=0) is concatenated and projected by
  cc_projection, then attn2 and the feed-forward.

Checkpoints as MotionCtrl releases them, converted here:
- AnimateDiff CMCM (motionctrl_animatediff_cmcm.ckpt): {"state_dict": {...}} with the keys of
  MotionCtrl's UNet3DConditionModel, e.g.
  down_blocks.0.motion_modules.0.temporal_transformer.transformer_blocks.0.cc_projection.weight,
  ....attention_blocks.1.to_q.weight, ....norms.1.weight ("module." may prefix them). Renamed
  with diffusers' AnimateDiff motion-module rules (scripts/convert_animatediff_motion_module_to_diffusers.py):
  .temporal_transformer dropped, attention_blocks.0/1 -> attn1/attn2, norms.0/1 -> norm1/norm2,
  ff_norm -> norm3; pos_encoder tables are skipped (diffusers computes the same sinusoids).
- SVD CMCM (motionctrl_svd.ckpt): an sgm DiffusionEngine checkpoint; the UNet's keys start with
  model.diffusion_model. and the temporal blocks are input_blocks.{i}.1 / middle_block.1 /
  output_blocks.{i}.1 .time_stack.{k}; renamed with diffusers' SVD rules
  (scripts/convert_svd_to_diffusers.py: time_stack -> temporal_transformer_blocks, input/middle/
  output blocks -> down/mid/up_blocks.{b}.attentions.{l}). The trained parts are taken:
  cc_projection, attn2, norm2 of each temporal block (MotionCtrl trains exactly these; the rest
  of the checkpoint is the SVD it was trained on).
"""
from __future__ import annotations

import re
from pathlib import Path

import torch
from torch import nn

from export_lib import ExportError, log

POSE_DIM = 12


# ---------------------------------------------------------------------------------------------
# camera blocks: the diffusers blocks with cc_projection between the first and second attention


def _broadcast_rows(poses: torch.Tensor, rows: int, frames: int) -> torch.Tensor:
    """[B, F, 12] -> [(B S), F, 12] with S = rows / B: every token row of video b gets RT[b]."""
    b = poses.shape[0]
    return poses.unsqueeze(1).expand(b, rows // b, frames, poses.shape[-1]).reshape(rows, frames, poses.shape[-1])


def _camera_project(block, hidden_states: torch.Tensor) -> torch.Tensor:
    poses = block._camera_poses
    if poses is None:
        raise RuntimeError("a MotionCtrl camera block ran without camera poses; call set_camera_poses first")
    rows, frames, _ = hidden_states.shape
    rt = _broadcast_rows(poses.to(hidden_states.dtype), rows, frames)
    return block.cc_projection(torch.cat([hidden_states, rt], dim=-1))


def _camera_classes():
    from diffusers.models.attention import BasicTransformerBlock, TemporalBasicTransformerBlock

    class CameraMotionBlock(BasicTransformerBlock):
        """diffusers' motion-module BasicTransformerBlock (layer_norm) with MotionCtrl's camera
        projection after attn1."""

        def forward(self, hidden_states, attention_mask=None, encoder_hidden_states=None,
                    encoder_attention_mask=None, timestep=None, cross_attention_kwargs=None,
                    class_labels=None, added_cond_kwargs=None):
            norm = self.norm1(hidden_states)
            if self.pos_embed is not None:
                norm = self.pos_embed(norm)
            attn = self.attn1(norm, encoder_hidden_states=encoder_hidden_states if self.only_cross_attention else None,
                              attention_mask=attention_mask)
            hidden_states = attn + hidden_states
            if hidden_states.ndim == 4:
                hidden_states = hidden_states.squeeze(1)
            hidden_states = _camera_project(self, hidden_states)
            norm = self.norm2(hidden_states)
            if self.pos_embed is not None:
                norm = self.pos_embed(norm)
            hidden_states = self.attn2(norm, encoder_hidden_states=encoder_hidden_states,
                                       attention_mask=encoder_attention_mask) + hidden_states
            hidden_states = self.ff(self.norm3(hidden_states)) + hidden_states
            if hidden_states.ndim == 4:
                hidden_states = hidden_states.squeeze(1)
            return hidden_states

    class CameraTemporalBlock(TemporalBasicTransformerBlock):
        """diffusers' TemporalBasicTransformerBlock (SVD) with MotionCtrl-SVD's camera projection
        after attn1."""

        def forward(self, hidden_states, num_frames, encoder_hidden_states=None):
            batch_frames, seq_length, channels = hidden_states.shape
            batch_size = batch_frames // num_frames
            hidden_states = hidden_states[None, :].reshape(batch_size, num_frames, seq_length, channels)
            hidden_states = hidden_states.permute(0, 2, 1, 3).reshape(batch_size * seq_length, num_frames, channels)
            residual = hidden_states
            hidden_states = self.ff_in(self.norm_in(hidden_states))
            if self.is_res:
                hidden_states = hidden_states + residual
            hidden_states = self.attn1(self.norm1(hidden_states), encoder_hidden_states=None) + hidden_states
            hidden_states = _camera_project(self, hidden_states)
            if self.attn2 is not None:
                hidden_states = self.attn2(self.norm2(hidden_states),
                                           encoder_hidden_states=encoder_hidden_states) + hidden_states
            ff = self.ff(self.norm3(hidden_states))
            hidden_states = ff + hidden_states if self.is_res else ff
            hidden_states = hidden_states[None, :].reshape(batch_size, seq_length, num_frames, channels)
            return hidden_states.permute(0, 2, 1, 3).reshape(batch_size * num_frames, seq_length, channels)

    return CameraMotionBlock, CameraTemporalBlock


def motion_blocks(unet) -> dict[str, nn.Module]:
    """The temporal transformer blocks of a UNetMotionModel, by module name."""
    from diffusers.models.attention import BasicTransformerBlock

    return {n: m for n, m in unet.named_modules()
            if isinstance(m, BasicTransformerBlock) and ".motion_modules." in f".{n}"}


def temporal_blocks(unet) -> dict[str, nn.Module]:
    """The TemporalBasicTransformerBlocks of a UNetSpatioTemporalConditionModel, by module name."""
    from diffusers.models.attention import TemporalBasicTransformerBlock

    return {n: m for n, m in unet.named_modules() if isinstance(m, TemporalBasicTransformerBlock)}


def add_camera_module(unet, kind: str) -> dict[str, nn.Module]:
    """Turns every temporal block into its camera version with a cc_projection (Linear C+12 -> C,
    identity-initialised as MotionCtrl does); returns the blocks by name."""
    motion_cls, temporal_cls = _camera_classes()
    blocks = motion_blocks(unet) if kind == "animatediff" else temporal_blocks(unet)
    if not blocks:
        raise ExportError(f"the {kind} UNet has no temporal transformer blocks for MotionCtrl's camera module")
    for name, blk in blocks.items():
        if kind == "animatediff":
            if blk.norm_type != "layer_norm" or blk.attn2 is None:
                raise ExportError(f"{name}: expected a motion-module block with layer norms and two attentions "
                                  f"(AnimateDiff v2/v3), found norm_type {blk.norm_type!r} and "
                                  f"{'no' if blk.attn2 is None else 'a'} second attention")
            dim = blk.attn1.to_q.in_features
            blk.__class__ = motion_cls
        else:
            if blk.attn2 is None:
                raise ExportError(f"{name}: expected a TemporalBasicTransformerBlock with attn2 (SVD)")
            dim = blk.attn2.to_q.in_features
            blk.__class__ = temporal_cls
        proj = nn.Linear(dim + POSE_DIM, dim)
        with torch.no_grad():
            nn.init.eye_(proj.weight[:, :dim])
            nn.init.zeros_(proj.bias)
        param = next(blk.parameters())
        blk.add_module("cc_projection", proj.to(device=param.device, dtype=param.dtype))
        blk._camera_poses = None
    return blocks


def set_camera_poses(unet, poses) -> None:
    """Hands the poses [B, F, 12] (or None) to every camera block of the UNet for the next call."""
    for m in unet.modules():
        if hasattr(m, "cc_projection") and hasattr(m, "_camera_poses"):
            m._camera_poses = poses


# ---------------------------------------------------------------------------------------------
# checkpoints


def load_checkpoint(path: str, allow_pickle: bool = False) -> dict[str, torch.Tensor]:
    """A MotionCtrl checkpoint as released: .safetensors, or a torch .ckpt/.pt/.pth (possibly
    {"state_dict": ...} or {"module": ...}). Returns the tensors by key."""
    p = Path(path)
    if not p.is_file():
        raise ExportError(f"--motionctrl {path}: no such file")
    if p.suffix == ".safetensors":
        from safetensors.torch import load_file

        sd = load_file(str(p))
    else:
        try:
            sd = torch.load(str(p), map_location="cpu", weights_only=not allow_pickle)
        except Exception as e:  # noqa: BLE001
            if allow_pickle:
                raise ExportError(f"--motionctrl {path}: cannot be read by torch.load: {e}") from e
            raise ExportError(
                f"--motionctrl {path}: torch.load(weights_only=True) refused it ({str(e).splitlines()[0][:200]}); "
                f"if you trust the file, pass --allow-pickle to unpickle it") from e
    for wrapper in ("state_dict", "module"):
        if isinstance(sd, dict) and wrapper in sd and isinstance(sd[wrapper], dict):
            sd = sd[wrapper]
    if not isinstance(sd, dict):
        raise ExportError(f"--motionctrl {path}: expected a dict of tensors, found {type(sd).__name__}")
    return {k: v for k, v in sd.items() if torch.is_tensor(v)}


_ANIMATEDIFF_RULES = [(".norms.0", ".norm1"), (".norms.1", ".norm2"), (".ff_norm", ".norm3"),
                      (".attention_blocks.0", ".attn1"), (".attention_blocks.1", ".attn2"),
                      (".temporal_transformer", "")]


def animatediff_key(k: str) -> str | None:
    """MotionCtrl/AnimateDiff key -> UNetMotionModel key (None: not a UNet weight we load)."""
    k = k.replace("module.", "")
    if "pos_encoder" in k or "motion_modules." not in k:
        return None
    for a, b in _ANIMATEDIFF_RULES:
        k = k.replace(a, b)
    return k


def animatediff_original_key(diffusers_key: str) -> str:
    """UNetMotionModel key -> the key MotionCtrl's checkpoint uses (for messages)."""
    k = re.sub(r"(motion_modules\.\d+)\.", r"\1.temporal_transformer.", diffusers_key)
    for a, b in (("attn1", "attention_blocks.0"), ("attn2", "attention_blocks.1"), ("norm1", "norms.0"),
                 ("norm2", "norms.1"), ("norm3", "ff_norm")):
        k = re.sub(rf"\.{a}\.", f".{b}.", k)
    return k


def _svd_block_map(layers_per_block: int):
    L1 = layers_per_block + 1

    def to_diffusers(k: str) -> str | None:
        m = re.match(r"input_blocks\.(\d+)\.1\.time_stack\.(.*)$", k)
        if m:
            i = int(m.group(1))
            return f"down_blocks.{(i - 1) // L1}.attentions.{(i - 1) % L1}.temporal_transformer_blocks.{m.group(2)}"
        m = re.match(r"middle_block\.1\.time_stack\.(.*)$", k)
        if m:
            return f"mid_block.attentions.0.temporal_transformer_blocks.{m.group(1)}"
        m = re.match(r"output_blocks\.(\d+)\.1\.time_stack\.(.*)$", k)
        if m:
            i = int(m.group(1))
            return f"up_blocks.{i // L1}.attentions.{i % L1}.temporal_transformer_blocks.{m.group(2)}"
        return None

    def to_original(k: str) -> str:
        m = re.match(r"down_blocks\.(\d+)\.attentions\.(\d+)\.temporal_transformer_blocks\.(.*)$", k)
        if m:
            return f"model.diffusion_model.input_blocks.{int(m.group(1)) * L1 + int(m.group(2)) + 1}.1.time_stack.{m.group(3)}"
        m = re.match(r"mid_block\.attentions\.0\.temporal_transformer_blocks\.(.*)$", k)
        if m:
            return f"model.diffusion_model.middle_block.1.time_stack.{m.group(1)}"
        m = re.match(r"up_blocks\.(\d+)\.attentions\.(\d+)\.temporal_transformer_blocks\.(.*)$", k)
        if m:
            return f"model.diffusion_model.output_blocks.{int(m.group(1)) * L1 + int(m.group(2))}.1.time_stack.{m.group(3)}"
        return k

    return to_diffusers, to_original


_SVD_TRAINED = ("cc_projection.", "attn2.", "norm2.")


def load_cmcm(unet, kind: str, state: dict[str, torch.Tensor], source: str) -> dict[str, nn.Module]:
    """Adds the camera module to `unet` and loads MotionCtrl's weights into it. Refuses, naming
    the key, when a weight the camera module needs is missing or has the wrong shape."""
    blocks = add_camera_module(unet, kind)
    own = unet.state_dict()
    converted: dict[str, torch.Tensor] = {}
    if kind == "animatediff":
        original = animatediff_original_key
        unknown = []
        for k, v in state.items():
            nk = animatediff_key(k)
            if nk is None:
                if "pos_encoder" in k or k == "animatediff_config":
                    continue
                unknown.append(k)
            elif nk not in own:
                unknown.append(k)
            else:
                converted[nk] = v
        if unknown:
            raise ExportError(f"{source}: {len(unknown)} keys are not weights of the AnimateDiff motion UNet "
                              f"(first: {unknown[0]!r}); is this MotionCtrl's AnimateDiff CMCM checkpoint, for "
                              f"this motion adapter?")
    else:
        lpb = unet.config.layers_per_block
        lpb = lpb[0] if isinstance(lpb, (list, tuple)) else lpb
        to_diffusers, original = _svd_block_map(lpb)
        for k, v in state.items():
            k2 = k.replace("module.", "")
            if k2.startswith("model.diffusion_model."):
                k2 = k2[len("model.diffusion_model."):]
            nk = to_diffusers(k2)
            if nk is None:
                continue
            rest = nk.split("temporal_transformer_blocks.", 1)[1].split(".", 1)[1]
            if rest.startswith(_SVD_TRAINED):
                if nk not in own:
                    raise ExportError(f"{source}: {k!r} has no place in this SVD UNet ({nk}); is --base the SVD "
                                      f"this checkpoint was trained on?")
                converted[nk] = v
    missing = []
    for name in blocks:
        for k in own:
            if k.startswith(name + ".") and k[len(name) + 1:].startswith(("cc_projection.", "attn2.", "norm2.")):
                if k not in converted:
                    missing.append(k)
    if missing:
        raise ExportError(f"{source}: the checkpoint has no {original(missing[0])!r} ({len(missing)} camera-module "
                          f"weights missing; cc_projection, the second attention and its norm are needed in each "
                          f"of the {len(blocks)} temporal blocks)")
    for k, v in converted.items():
        if tuple(own[k].shape) != tuple(v.shape):
            raise ExportError(f"{source}: {original(k)!r} has shape {list(v.shape)}; this UNet needs "
                              f"{list(own[k].shape)}")
    unet.load_state_dict(converted, strict=False)
    log(f"MotionCtrl: loaded {len(converted)} tensors from {source} into {len(blocks)} temporal blocks "
        f"(cc_projection, {'attention_blocks.1 -> attn2, norms.1 -> norm2' if kind == 'animatediff' else 'attn2, norm2'})")
    return blocks
