"""The torch side of the exporter: export wrappers, one ONNX export path, verification against
torch, symbolic-axis probing and float16 islands. Imported only where torch is installed.

Exporter path (pinned): torch.onnx.export(..., dynamo=False), the TorchScript tracer. It needs
no onnxscript, handles every diffusers model exported here, and keeps a size computed from an
input tensor (the SVD decoder's num_frames) symbolic in the graph. torch.export's dynamo path
would need unbacked symbolic ints for that input and fails on the diffusers models' Python-side
shape arithmetic; see requirements.txt for the torch versions this is tested with.

Every module exported is a registered submodule of a wrapper nn.Module (no closures), so its
weights are parameters of the traced module and become ONNX initializers.
"""
from __future__ import annotations

import inspect
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
from torch import nn

TWO_GB = 2 * 1024**3
FP16_MAX = 65504.0
OPSET = 17


class ExportError(Exception):
    """A refusal or a failed check, with a message that names the thing and what was expected."""


def log(msg: str) -> None:
    print(f"export_model: {msg}", flush=True)


# ---------------------------------------------------------------------------------------------
# wrappers: each one registers the model it exports as a submodule


class TextEncoderExport(nn.Module):
    """input_ids -> last_hidden_state (CLIPTextModel, T5EncoderModel)."""

    def __init__(self, text_encoder: nn.Module):
        super().__init__()
        self.text_encoder = text_encoder

    def forward(self, input_ids):
        return self.text_encoder(input_ids, return_dict=False)[0]


class ImageEncoderExport(nn.Module):
    """pixel_values -> image_embeds (CLIPVisionModelWithProjection)."""

    def __init__(self, image_encoder: nn.Module):
        super().__init__()
        self.image_encoder = image_encoder

    def forward(self, pixel_values):
        return self.image_encoder(pixel_values).image_embeds


class VaeEncoderModeExport(nn.Module):
    """sample -> the latent distribution's mode (SVD: not scaled by scaling_factor)."""

    def __init__(self, vae: nn.Module):
        super().__init__()
        self.vae = vae

    def forward(self, sample):
        return self.vae.encode(sample).latent_dist.mode()


class VaeEncoderParametersExport(nn.Module):
    """sample -> the latent distribution's parameters, [mean, logvar] on the channel axis, so a
    pipeline that samples (CogVideoX image-to-video: mean + exp(0.5 logvar) * randn) can."""

    def __init__(self, vae: nn.Module):
        super().__init__()
        self.vae = vae

    def forward(self, sample):
        return self.vae.encode(sample).latent_dist.parameters


class VaeDecoderExport(nn.Module):
    """latent_sample -> sample (AutoencoderKL, AutoencoderKLCogVideoX): vae.decode as diffusers calls it."""

    def __init__(self, vae: nn.Module):
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample):
        return self.vae.decode(latent_sample, return_dict=False)[0]


class TemporalVaeDecoderExport(nn.Module):
    """SVD's temporal decoder with num_frames a real int64 input: the graph reshapes by its value,
    so one export decodes any chunk size (odd ones included)."""

    def __init__(self, vae: nn.Module):
        super().__init__()
        self.vae = vae

    def forward(self, latent_sample, num_frames):
        n = num_frames.reshape(())
        return self.vae.decode(latent_sample, num_frames=n, return_dict=False)[0]


class MotionUNetExport(nn.Module):
    """AnimateDiff UNetMotionModel: sample [B,4,F,h,w], timestep [1], encoder_hidden_states
    [B*F,77,D] (per frame), optional MotionCtrl camera_poses [B,F,12]."""

    def __init__(self, unet: nn.Module):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states, camera_poses=None):
        from motionctrl import set_camera_poses

        if camera_poses is not None:
            set_camera_poses(self.unet, camera_poses)
        try:
            return self.unet(sample, timestep, encoder_hidden_states=encoder_hidden_states, return_dict=False)[0]
        finally:
            if camera_poses is not None:
                set_camera_poses(self.unet, None)


class SpatioTemporalUNetExport(nn.Module):
    """SVD UNetSpatioTemporalConditionModel, optional MotionCtrl-SVD camera_poses [B,F,12]."""

    def __init__(self, unet: nn.Module):
        super().__init__()
        self.unet = unet

    def forward(self, sample, timestep, encoder_hidden_states, added_time_ids, camera_poses=None):
        from motionctrl import set_camera_poses

        if camera_poses is not None:
            set_camera_poses(self.unet, camera_poses)
        try:
            return self.unet(sample, timestep, encoder_hidden_states=encoder_hidden_states,
                             added_time_ids=added_time_ids, return_dict=False)[0]
        finally:
            if camera_poses is not None:
                set_camera_poses(self.unet, None)


class CogVideoXTransformerExport(nn.Module):
    """CogVideoXTransformer3DModel: hidden_states [B,F,C,h,w], encoder_hidden_states [B,226,D],
    timestep [B]; 5B / 1.5: image_rotary_emb_cos/sin [tokens, head_dim]; 1.5 I2V: ofs [1]."""

    def __init__(self, transformer: nn.Module):
        super().__init__()
        self.transformer = transformer

    def forward(self, hidden_states, encoder_hidden_states, timestep, image_rotary_emb_cos=None,
                image_rotary_emb_sin=None, ofs=None):
        rope = None
        if image_rotary_emb_cos is not None:
            rope = (image_rotary_emb_cos, image_rotary_emb_sin)
        kw = {}
        if ofs is not None:
            kw["ofs"] = ofs
        return self.transformer(hidden_states=hidden_states, encoder_hidden_states=encoder_hidden_states,
                                timestep=timestep, image_rotary_emb=rope, return_dict=False, **kw)[0]


def use_position_table_input(pe: nn.Module) -> None:
    """CogVideoX-2B's patch embedding, made to add the sincos position table it is handed
    (`pe.position_table`, [video tokens, dim], set by CogVideoXSincosTransformerExport) instead of
    the one it keeps for its sample size or rebuilds in Python for another: the table becomes a
    graph input, so the graph is symbolic in frames and size. What it computes is diffusers'
    `embeds + pos_embedding.to(embeds.dtype)`, the table's text rows being zeros (x + 0 = x)."""
    import types

    import torch

    pe.use_positional_embeddings = False  # its own forward then adds nothing
    plain = pe.forward

    def forward(self, text_embeds, image_embeds):
        embeds = plain(text_embeds, image_embeds)
        L = text_embeds.shape[1]
        table = self.position_table.to(dtype=embeds.dtype)
        return torch.cat([embeds[:, :L], embeds[:, L:] + table], dim=1)

    pe.forward = types.MethodType(forward, pe)


class CogVideoXSincosTransformerExport(nn.Module):
    """CogVideoX-2B: as CogVideoXTransformerExport, with its sincos position table as the input
    pos_embedding [video tokens, dim] (see use_position_table_input)."""

    def __init__(self, transformer: nn.Module):
        super().__init__()
        self.transformer = transformer

    def forward(self, hidden_states, encoder_hidden_states, timestep, pos_embedding):
        self.transformer.patch_embed.position_table = pos_embedding
        return self.transformer(hidden_states=hidden_states, encoder_hidden_states=encoder_hidden_states,
                                timestep=timestep, return_dict=False)[0]


# ---------------------------------------------------------------------------------------------
# float16 islands


class Fp32Island(nn.Module):
    """Runs its module in float32 inside a float16 model: float inputs are cast up, float outputs
    cast back. Used where the float32 run showed activations float16 cannot hold."""

    def __init__(self, inner: nn.Module):
        super().__init__()
        self.inner = inner.float()

    def forward(self, *args, **kwargs):
        up = lambda x: x.float() if torch.is_tensor(x) and x.is_floating_point() else x  # noqa: E731
        out = self.inner(*[up(a) for a in args], **{k: up(v) for k, v in kwargs.items()})
        return _map_tensors(out, lambda t: t.half() if t.is_floating_point() else t)


def _map_tensors(x, fn):
    if torch.is_tensor(x):
        return fn(x)
    if isinstance(x, tuple):
        return tuple(_map_tensors(v, fn) for v in x)
    if isinstance(x, list):
        return [_map_tensors(v, fn) for v in x]
    return x


def _max_abs(x) -> float | None:
    if torch.is_tensor(x) and x.is_floating_point() and x.numel():
        return float(x.detach().abs().max())
    if isinstance(x, (tuple, list)):
        vals = [v for v in (_max_abs(y) for y in x) if v is not None]
        return max(vals) if vals else None
    if hasattr(x, "sample") and torch.is_tensor(getattr(x, "sample")):
        return _max_abs(x.sample)
    return None


def _returns_tensors(x) -> bool:
    if torch.is_tensor(x):
        return True
    if isinstance(x, (tuple, list)):
        return all(torch.is_tensor(v) or v is None for v in x)
    return False


@dataclass
class Fp16Plan:
    limit: float
    peak: float  # the largest activation seen anywhere in the float32 run
    islands: list[str] = field(default_factory=list)  # module names kept float32
    peaks: dict[str, float] = field(default_factory=dict)  # island -> the offending peak inside it


def plan_fp16(wrapper: nn.Module, inputs: tuple, margin: float) -> Fp16Plan:
    """Runs the float32 model once with hooks on every module and finds where float16 would
    overflow: any module whose output exceeds FP16_MAX / margin. Each offender is kept in
    float32 together with its nearest ancestor whose output fits, so no float16 tensor between
    islands ever holds an out-of-range value. Fails when only the whole model would do."""
    limit = FP16_MAX / margin
    peaks: dict[str, float] = {}
    returns_ok: dict[str, bool] = {}
    hooks = []
    for name, mod in wrapper.named_modules():
        def hook(m, a, out, name=name):
            v = _max_abs(out)
            if v is not None:
                peaks[name] = max(peaks.get(name, 0.0), v)
            returns_ok[name] = _returns_tensors(out)
        hooks.append(mod.register_forward_hook(hook))
    try:
        with torch.no_grad():
            wrapper(*inputs)
    finally:
        for h in hooks:
            h.remove()
    peak = max(peaks.values()) if peaks else 0.0
    offenders = sorted(n for n, v in peaks.items() if v > limit)
    plan = Fp16Plan(limit=limit, peak=peak)
    chosen: dict[str, float] = {}
    for name in offenders:
        parts = name.split(".")
        island = None
        for k in range(len(parts) - 1, 0, -1):
            anc = ".".join(parts[:k])
            if anc in peaks and peaks[anc] <= limit and returns_ok.get(anc, False):
                island = anc
                break
        if island is None:
            raise ExportError(
                f"float16: the output of {name or 'the model'} reaches {peaks[name]:.4g}, beyond float16's "
                f"safe range {limit:.4g} (65504 / margin {margin:g}), and no enclosing module brings it back "
                f"in range; export this model without --fp16")
        chosen[island] = max(chosen.get(island, 0.0), peaks[name])
    for name in sorted(chosen):
        if not any(name.startswith(o + ".") for o in chosen if o != name):
            plan.islands.append(name)
            plan.peaks[name] = chosen[name]
    return plan


def apply_fp16(wrapper: nn.Module, plan: Fp16Plan) -> None:
    wrapper.half()
    for name in plan.islands:
        parent_name, _, child = name.rpartition(".")
        parent = wrapper.get_submodule(parent_name) if parent_name else wrapper
        parent._modules[child] = Fp32Island(parent._modules[child])


# ---------------------------------------------------------------------------------------------
# export and verification


def _torch_export(module, args, path: Path, input_names, output_names, dynamic_axes):
    kw = dict(input_names=input_names, output_names=output_names, dynamic_axes=dynamic_axes,
              opset_version=OPSET, do_constant_folding=True, export_params=True)
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kw["dynamo"] = False  # the TorchScript exporter; see the module docstring
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with torch.no_grad():
            torch.onnx.export(module, args, str(path), **kw)


def save_onnx(src_dir: Path, dest: Path) -> int:
    """Moves the export in src_dir to dest; graphs over 2 GB keep their weights in one
    model.onnx_data beside model.onnx (protobuf cannot hold more). Returns bytes on disk."""
    import onnx

    src = src_dir / "model.onnx"
    size = sum(f.stat().st_size for f in src_dir.iterdir() if f.is_file())
    dest.parent.mkdir(parents=True, exist_ok=True)
    for stale in (dest, dest.with_name("model.onnx_data")):
        if stale.exists():
            stale.unlink()
    if size < TWO_GB and len(list(src_dir.iterdir())) == 1:
        shutil.move(str(src), str(dest))
    else:
        m = onnx.load(str(src), load_external_data=True)
        if size >= TWO_GB:
            onnx.save_model(m, str(dest), save_as_external_data=True, all_tensors_to_one_file=True,
                            location="model.onnx_data", size_threshold=1024)
        else:
            onnx.save_model(m, str(dest))
    return sum(f.stat().st_size for f in (dest, dest.with_name("model.onnx_data")) if f.exists())


def _to_numpy(t):
    return t.detach().cpu().numpy()


@dataclass
class Case:
    """One set of inputs: the float32 inputs and torch's float32 output on them."""
    label: str
    inputs: tuple
    ref: np.ndarray | None = None


@dataclass
class Axis:
    name: str  # the symbolic dim's name in the graph
    groups: tuple  # symbolic when any of these groups is


@dataclass
class MemorySpec:
    """How one call of a component is sized, for its activation-memory rule (activation_memory.py):
    to_size(batch, frames, width, height) gives the size dict make_inputs takes, in the terms the
    engine uses (batch: what one call takes; frames: the clip's; width, height: pixels)."""
    to_size: Callable[[int, int, int, int], dict]
    native: tuple[int, int, int]  # frames, width, height
    batches: tuple = (1, 2)
    frames_vary: bool = True
    multiple: int = 16  # sizes the model takes are multiples of this many pixels
    # the inputs of one call at a size dict, where not the component's own make_inputs (the Wan
    # VAE chunk graphs: caches at full size, on the meta device: only their shapes are read)
    make_inputs: Callable[[dict], tuple] | None = None
    # graph inputs whose values shape inference may use (the Wan VAE's first_chunk: how many frames
    # its selection keeps, so the tensors after it have sizes)
    input_values: dict | None = None


@dataclass
class ComponentResult:
    name: str
    path: Path
    bytes: int
    precision: str
    symbolic: list[str]
    fixed: list[str]
    errors: dict[str, float]
    fp16: Fp16Plan | None = None
    fusion: object | None = None  # fuse_attention.FusionReport
    memory: dict | None = None  # activation rules (activation_memory.ActivationRule.to_json)

    def memory_json(self) -> dict:
        """This component's entry in dolly.json "memory"."""
        m = {"weightsBytes": self.bytes, "precision": self.precision, **(self.memory or {})}
        if self.fusion is not None:
            m["attention"] = {"fused": self.fusion.fused, "softmaxBefore": self.fusion.softmax_before,
                              "softmax": self.fusion.softmax_after, "multiHeadAttention": self.fusion.mha_after}
        return m


def export_component(name: str, wrapper: nn.Module, out_dir: Path, input_names: list[str], output_name: str,
                     axes: dict[str, dict[int, Axis]], make_inputs: Callable[[dict], tuple], size: dict,
                     alternates: dict[str, dict], *, fp16: bool = False, fp16_margin: float = 4.0,
                     tolerance: float = 1e-4, verify: bool = True, float_inputs_fp16: set | None = None,
                     required_symbolic: set | None = None, fixed: tuple = (), fuse: bool = True,
                     memory: MemorySpec | None = None, keep_unfused: bool = False) -> ComponentResult:
    """Exports one component to out_dir/name/model.onnx and checks it against torch.

    `axes` gives, per input/output name, the axes that may be symbolic and the groups they belong
    to (batch, frames, spatial...). The graph is traced at `size`; each group in `alternates` is
    then checked at another size that differs in that group only. A group whose check fails is
    made fixed and the component exported again, so a graph is symbolic exactly where the model
    allows it. `required_symbolic` groups may not be dropped (the export fails instead).

    With `fuse` (the default) every attention becomes one MultiHeadAttention node
    (fuse_attention.py) right after the export, so the checks above run on the fused graph.
    With `memory`, the activation-memory rule of the graph is fitted (activation_memory.py), for
    the fused graph and for the graph as exported, and kept in the result for dolly.json.
    `keep_unfused` leaves the graph as exported beside it as model.unfused.onnx (benchmarks).
    """
    t0 = time.time()
    groups = {g for ax in axes.values() for a in ax.values() for g in a.groups}
    symbolic = set(groups)
    wrapper.eval()
    wrapper.requires_grad_(False)
    main = Case("traced size", make_inputs(size))
    alts = {g: Case(f"{g} varied", make_inputs(s)) for g, s in alternates.items() if g in groups}
    if verify:
        with torch.no_grad():
            for c in [main, *alts.values()]:
                c.ref = _to_numpy(wrapper(*c.inputs).float())
    plan = None
    if fp16:
        plan = plan_fp16(wrapper, main.inputs, fp16_margin)
        apply_fp16(wrapper, plan)
        where = ", ".join(f"{n} (peak {plan.peaks[n]:.3g})" for n in plan.islands) or "none needed"
        log(f"{name}: float16; largest float32 activation {plan.peak:.4g} (safe limit {plan.limit:.4g}); "
            f"layers kept float32: {where}")
    half_names = float_inputs_fp16 if float_inputs_fp16 is not None else set(input_names)

    def cast(case: Case) -> tuple:
        if not fp16:
            return case.inputs
        return tuple(x.half() if (torch.is_tensor(x) and x.is_floating_point() and n in half_names) else x
                     for n, x in zip(input_names, case.inputs))

    tol = tolerance if not fp16 else max(tolerance * 30, 3e-2)
    dest = out_dir / name / "model.onnx"
    while True:
        dyn = {}
        for tensor_name, ax in axes.items():
            d = {i: a.name for i, a in ax.items() if any(g in symbolic for g in a.groups)}
            if d:
                dyn[tensor_name] = d
        tmp = out_dir / name / ".export-tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            _torch_export(wrapper, cast(main), tmp / "model.onnx", input_names, [output_name], dyn)
        except Exception as e:  # noqa: BLE001 - name the component, keep the cause
            raise ExportError(f"{name}: torch.onnx.export failed: {type(e).__name__}: {e}") from e
        nbytes = save_onnx(tmp, dest)
        shutil.rmtree(tmp, ignore_errors=True)
        fusion, mem = _post_pass(name, dest, fuse, keep_unfused, memory, make_inputs, input_names)
        errors: dict[str, float] = {}
        if not verify:
            break
        sess = _session(dest)
        err = _check(sess, name, input_names, main, cast(main), tol)
        if err is None or isinstance(err, str):
            raise ExportError(f"{name}: the ONNX graph differs from torch at the traced size: {err}")
        errors[main.label] = err
        dropped = None
        for g in sorted(symbolic):
            if g not in alts:
                continue
            e = _check(sess, name, input_names, alts[g], cast(alts[g]), tol)
            if isinstance(e, str):
                if required_symbolic and g in required_symbolic:
                    raise ExportError(f"{name}: the {g} axis must be symbolic, but the graph fails when it changes: {e}")
                dropped = (g, e)
                break
            errors[alts[g].label] = e
        del sess
        if dropped is None:
            break
        g, why = dropped
        symbolic.discard(g)
        log(f"{name}: the {g} axis cannot be symbolic ({why}); exporting it fixed at the traced size")
    result = ComponentResult(name=name, path=dest, bytes=nbytes, precision="fp16" if fp16 else "fp32",
                             symbolic=sorted(symbolic), fixed=sorted((groups - symbolic) | set(fixed)), errors=errors,
                             fp16=plan, fusion=fusion, memory=mem)
    errs = ", ".join(f"{k} {v:.3g}" for k, v in errors.items()) or "not verified"
    log(f"{name}: wrote {dest} ({nbytes / 1e6:.1f} MB, {result.precision}); symbolic: "
        f"{', '.join(result.symbolic) or 'none'}; fixed: {', '.join(result.fixed) or 'none'}; "
        f"max |torch - onnxruntime|: {errs} (tolerance {tol:g} x max(1, |output|)) [{time.time() - t0:.0f}s]")
    return result



def _post_pass(name: str, dest: Path, fuse: bool, keep_unfused: bool, memory: MemorySpec | None,
               make_inputs, input_names):
    """Orders dest's leaf nodes for onnxruntime's execution order, fuses attention in dest (in
    place) and fits the activation rules, of the graph as exported and of the fused one; returns
    (fusion report or None, memory dict or None)."""
    import onnx

    from activation_memory import activation_rule, graph_memory, order_leaves_for_ort
    from fuse_attention import fuse_attention

    model = onnx.load(str(dest), load_external_data=False)
    if order_leaves_for_ort(model):
        tmp = dest.with_name("model.onnx.ordered")
        onnx.save_model(model, str(tmp))
        tmp.replace(dest)
    if not fuse and memory is None and not keep_unfused:
        return None, None
    if keep_unfused:
        onnx.save_model(model, str(dest.with_name("model.unfused.onnx")))

    def shapes_for(b, f, w, h):
        xs = (memory.make_inputs or make_inputs)(memory.to_size(b, f, w, h))
        return {n: tuple(x.shape) for n, x in zip(input_names, xs) if torch.is_tensor(x)}

    def rule():
        t0 = time.time()
        r, _ = activation_rule(graph_memory(model, input_values=memory.input_values), shapes_for, memory.native,
                               memory.batches, memory.frames_vary, model=model, multiple=memory.multiple,
                               input_values=memory.input_values)
        return r, time.time() - t0

    mem = None
    if memory is not None:
        before, _ = rule()
        mem = {"activationsUnfused": before.to_json()}
    rep = None
    if fuse:
        t0 = time.time()
        try:
            rep = fuse_attention(model)
        except Exception as e:  # noqa: BLE001 - name the component and the way around it
            raise ExportError(f"{name}: attention fusion failed ({type(e).__name__}: {e}); "
                              f"--no-fuse exports attention unfused") from e
        if rep.fused:
            tmp = dest.with_name("model.onnx.fused")
            onnx.save_model(model, str(tmp))
            tmp.replace(dest)
        log(f"{name}: {rep.summary()} [{time.time() - t0:.0f}s]")
    if memory is not None:
        after, dt = rule()
        mem["activations"] = after.to_json()
        F0, W0, H0 = memory.native
        b = memory.batches[-1]
        size = lambda r: _bytes(r.bytes(b, F0, W0, H0))  # noqa: E731
        log(f"{name}: activations for one call at {W0}x{H0}, {F0} frames, batch {b}: {size(after)}"
            + (f" ({size(before)} unfused)" if fuse else "")
            + f"; rule within {after.fit_error:.1%} of the graph on its grid, peak at {after.peak_at} [{dt:.0f}s]")
    return rep, mem


def _bytes(n: float) -> str:
    return f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / 2**20:.1f} MiB"


def _session(path: Path):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])


def _check(sess, name, input_names, case: Case, inputs: tuple, tol: float):
    """max |torch - onnxruntime| on this case, or a string saying why it failed."""
    graph_inputs = [i.name for i in sess.get_inputs()]
    feeds = {}
    for n, x in zip(input_names, inputs):
        if n in graph_inputs:
            feeds[n] = _to_numpy(x)
    try:
        got = sess.run(None, feeds)[0]
    except Exception as e:  # noqa: BLE001
        return f"onnxruntime failed at {case.label} ({_shapes(feeds)}): {str(e).splitlines()[0][:300]}"
    got = got.astype(np.float32)
    if got.shape != case.ref.shape:
        return f"output shape {list(got.shape)} at {case.label}, torch gives {list(case.ref.shape)}"
    if not np.isfinite(got).all():
        return f"output has {int((~np.isfinite(got)).sum())} non-finite values at {case.label}"
    diff = float(np.abs(got - case.ref).max())
    scale = max(1.0, float(np.abs(case.ref).max()))
    if not diff <= tol * scale:
        return f"max |torch - onnxruntime| = {diff:.3g} at {case.label} ({_shapes(feeds)}), over {tol:g} x {scale:.3g}"
    return diff


def _shapes(feeds) -> str:
    return ", ".join(f"{k} {list(v.shape)}" for k, v in feeds.items())


def copy_config(model, dest_dir: Path) -> None:
    """The component's diffusers config.json beside its model.onnx (scaling factors, sizes)."""
    dest_dir.mkdir(parents=True, exist_ok=True)
    model.save_config(str(dest_dir))
