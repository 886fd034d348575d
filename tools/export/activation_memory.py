"""Activation memory of an exported graph, computed from the graph, and the rule the engine uses.

The peak: every tensor's size comes from the graph's symbolic shapes (onnxruntime's
SymbolicShapeInference, dims as expressions of the named input dims), bound to one input size.
The nodes run in graph order; a node's outputs are allocated before it runs and each tensor is
freed after its last reader, as onnxruntime's allocation planner does, with its two savings:
  - Reshape, Squeeze, Unsqueeze, Flatten and Identity alias their input (no new buffer);
  - element-wise ops write over an input of the same size that is read for the last time
    (onnxruntime's MayInplace kernels).
Plus what a node holds while it runs:
  - MultiHeadAttention: its q, k, v transposed to [B, N, S, H], and where the CPU kernel cannot
    use its tiled flash attention (a bias or mask) the B x N x S x L scores, float32;
  - an unfused attention needs no extra: its scores are graph tensors (B x N x S x L, twice
    while Softmax runs).
Graph inputs are live from the start, outputs to the end; weights (initializers) are not
activations and are counted apart, from the files.

The rule: the exporter evaluates the peak on a grid of sizes (a quarter of the native frames and
pixels per side up to the native frames and 1.25x the side) and fits
    bytes(batch, frames, width, height) = c0 + batch * sum_k c_k * (frames/F0)^a_k * (pixels/P0)^b_k
with a_k, b_k in {0, 1, 2} (pixels = width * height; non-negative least squares), so a fused
graph comes out linear in frames x pixels and an unfused one keeps its quadratic attention
terms. `batch` is what one call of the component takes: the guidance batch for a denoiser, the
frames per call for a per-frame VAE, 1 for the encoders. The rule and the grid's worst fit
error are written to dolly.json; the engine evaluates it for each stage of each plan.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import TensorProto

DTYPE_BYTES = {TensorProto.FLOAT: 4, TensorProto.FLOAT16: 2, TensorProto.BFLOAT16: 2, TensorProto.DOUBLE: 8,
               TensorProto.INT64: 8, TensorProto.INT32: 4, TensorProto.INT16: 2, TensorProto.INT8: 1,
               TensorProto.UINT8: 1, TensorProto.BOOL: 1, TensorProto.UINT64: 8, TensorProto.UINT32: 4}
ALIAS_OPS = {"Reshape", "Squeeze", "Unsqueeze", "Flatten", "Identity"}
INPLACE_OPS = {"Add", "Sub", "Mul", "Div", "Sigmoid", "Relu", "Tanh", "Erf", "Neg", "Sqrt", "Pow", "Where",
               "LeakyRelu", "Gelu", "FastGelu", "QuickGelu", "Clip"}
EXPONENTS = [(a, b) for a in range(3) for b in range(3)]


@dataclass
class GraphMemory:
    """A graph ready for peak computations at any size."""
    symbols: list[str]  # the graph's named input dims
    unknown: int  # tensors whose size shape inference could not tell (counted as 0)
    _nodes: list = field(repr=False, default_factory=list)
    _tensors: dict = field(repr=False, default_factory=dict)
    _fns: dict = field(repr=False, default_factory=dict)
    inputs: dict = field(default_factory=dict)  # graph input -> dims (ints or symbol names)
    inputs_list: list = field(repr=False, default_factory=list)
    outputs_set: set = field(repr=False, default_factory=set)
    last_use: dict = field(repr=False, default_factory=dict)

    def peak(self, bind: dict[str, int]) -> tuple[int, str]:
        """(peak activation bytes, the node where it is reached) with the named dims bound."""
        size = {}
        for name, (elem, dims) in self._tensors.items():
            n = elem
            for d in dims:
                if isinstance(d, int):
                    n *= d
                elif d is None:
                    n = 0
                    break
                else:
                    v = self._fns[d](bind)
                    n *= max(0, int(v))
            size[name] = n
        return _simulate(self._nodes, size, self.inputs_list, self.outputs_set, self.last_use)


def _simulate(nodes, size, inputs, outputs, last_use):
    buf_of = {}  # tensor -> buffer id
    buf_size = {}
    buf_refs = {}  # buffer -> tensors alive on it
    live = 0

    def alloc(t):
        nonlocal live
        b = len(buf_size)
        buf_of[t], buf_size[b], buf_refs[b] = b, size.get(t, 0), {t}
        live += buf_size[b]

    def release(t):
        nonlocal live
        b = buf_of.pop(t, None)
        if b is None:
            return
        buf_refs[b].discard(t)
        if not buf_refs[b]:
            live -= buf_size[b]
            del buf_refs[b]

    for t in inputs:
        alloc(t)
    peak, where = live, "inputs"
    for i, (op, ins, outs, scratch) in enumerate(nodes):
        for o in outs:
            if op in ALIAS_OPS and ins and ins[0] in buf_of:
                b = buf_of[ins[0]]
                buf_of[o] = b
                buf_refs[b].add(o)
                continue
            if op in INPLACE_OPS:
                reuse = next((x for x in ins if x in buf_of and last_use.get(x) == i and x not in outputs
                              and len(buf_refs[buf_of[x]]) == 1 and buf_size[buf_of[x]] == size.get(o, 0)), None)
                if reuse is not None:
                    b = buf_of[reuse]
                    buf_of[o] = b
                    buf_refs[b].add(o)
                    continue
            alloc(o)
        extra = scratch(size) if scratch else 0
        if live + extra > peak:
            peak, where = live + extra, f"{op} {outs[0] if outs else ''}"
        for x in set(ins) | set(outs):
            if last_use.get(x, -1) <= i and x not in outputs:
                release(x)
    return peak, where


def _mha_scratch(ins, elem):
    q, k, v = ins[0], ins[1], ins[2]
    bias = ins[5] if len(ins) > 5 and ins[5] else None

    def f(size):
        s = size.get(q, 0) + size.get(k, 0) + size.get(v, 0)
        if bias:
            # the kernel's non-flash path: B x N x S x L float32 scores (q is [B, S, N*H], k [B, L, N*H])
            s += size.get("__scores__" + q, 0)
        return s
    return f


def graph_memory(model: onnx.ModelProto, float16_bytes: int = 2) -> GraphMemory:
    """Prepares `model` (weights need not be loaded) for peak computations. float16_bytes=4
    counts float16 tensors as float32: what the CPU provider holds when it computes a float16
    graph (onnxruntime casts the ops that have no float16 CPU kernel to float32)."""
    import sympy

    from fuse_attention import infer_shapes_and_types

    shapes, types = infer_shapes_and_types(model)
    sizes = {**DTYPE_BYTES, TensorProto.FLOAT16: float16_bytes}
    g = model.graph
    inits = {t.name for t in g.initializer}
    inputs = [i.name for i in g.input if i.name not in inits]
    symbols = sorted({d for i in g.input if i.name not in inits for d in (shapes.get(i.name) or []) if isinstance(d, str)})
    sym = {s: sympy.Symbol(s) for s in symbols}
    tensors, fns = {}, {}
    unknown = 0
    nodes = []
    last_use = {}
    for idx, n in enumerate(g.node):
        for x in n.input:
            if x:
                last_use[x] = idx
    for n in g.node:
        for o in n.output:
            if not o:
                continue
            elem = sizes.get(types.get(o), 4)
            dims = shapes.get(o)
            if dims is None:
                unknown += 1
                dims = [None]
            tensors[o] = (elem, dims)
    for name in inputs:
        tensors[name] = (sizes.get(types.get(name), 4), shapes.get(name) or [None])
    for _, dims in tensors.values():
        for d in dims:
            if isinstance(d, str) and d not in fns:
                expr = sympy.sympify(d, locals=sym)
                free = [s for s in expr.free_symbols]
                if any(str(s) not in sym for s in free):
                    fns[d] = lambda b: 0  # a dim shape inference made up (unk__): unknown
                    continue
                f = sympy.lambdify([sympy.Symbol(s) for s in symbols], expr, modules=["math"])
                fns[d] = (lambda f: lambda b: f(*[b.get(s, 1) for s in symbols]))(f)
    for idx, n in enumerate(g.node):
        ins = [x for x in n.input]
        outs = [o for o in n.output if o]
        scratch = None
        if n.op_type == "MultiHeadAttention":
            scratch = _mha_scratch(ins, None)
            # scores size for the non-flash path: [B, N, S, L] float32 from q [B, S, N*H] and k [B, L, N*H]
            qd, kd = shapes.get(ins[0]), shapes.get(ins[1])
            heads = next((a.i for a in n.attribute if a.name == "num_heads"), 1)
            if qd and kd and len(qd) == 3 and len(kd) == 3:
                tensors["__scores__" + ins[0]] = (4, [qd[0], heads, qd[1], kd[1]])
        nodes.append((n.op_type, [x for x in ins if x and x not in inits], outs, scratch))
    return GraphMemory(symbols=symbols, unknown=unknown, _nodes=nodes, _tensors=tensors, _fns=fns,
                       inputs={i: shapes.get(i) for i in inputs}, inputs_list=inputs,
                       outputs_set={o.name for o in g.output}, last_use=last_use)


def bind_inputs(gm: GraphMemory, feeds: dict[str, tuple]) -> dict[str, int]:
    """Named dims from the shapes of one set of inputs (name -> shape)."""
    bind: dict[str, int] = {}
    for name, dims in gm.inputs.items():
        shape = feeds.get(name)
        if shape is None or dims is None:
            continue
        for d, v in zip(dims, shape):
            if isinstance(d, str):
                bind[d] = int(v)
    return bind


@dataclass
class ActivationRule:
    F0: int
    P0: int
    constant: float  # bytes whatever the batch
    terms: list[tuple[int, int, float]]  # (frames exponent, pixels exponent, bytes per batch item)
    fit_error: float  # worst |fit - graph| / graph over the grid
    peak_at: str  # where the peak is reached at the native size

    def bytes(self, batch: int, frames: int, width: int, height: int) -> float:
        f, p = frames / self.F0, (width * height) / self.P0
        return self.constant + batch * sum(c * f ** a * p ** b for a, b, c in self.terms)

    def to_json(self) -> dict:
        return {"F0": self.F0, "P0": self.P0, "constant": round(self.constant),
                "terms": [[a, b, round(c)] for a, b, c in self.terms if round(c) > 0],
                "fitError": round(self.fit_error, 4), "peakAt": self.peak_at}


def fit_rule(points: list[tuple[int, int, int, int, int]], F0: int, P0: int, peak_at: str) -> ActivationRule:
    """points: (batch, frames, width, height, peak bytes). Non-negative least squares over the
    monomials (frames/F0)^a (pixels/P0)^b, a, b in {0, 1, 2}, times batch; relative errors
    weigh every point alike."""
    X, y = [], []
    for b, f, w, h, peak in points:
        fv, pv = f / F0, (w * h) / P0
        X.append([1.0] + [b * fv ** a * pv ** e for a, e in EXPONENTS])
        y.append(peak)
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    wts = 1.0 / np.maximum(y, 1.0)
    coef = _nnls(X * wts[:, None], y * wts)
    fit = X @ coef
    err = float(np.max(np.abs(fit - y) / np.maximum(y, 1.0))) if len(y) else 0.0
    return ActivationRule(F0=F0, P0=P0, constant=float(coef[0]),
                          terms=[(a, e, float(c)) for (a, e), c in zip(EXPONENTS, coef[1:])],
                          fit_error=err, peak_at=peak_at)


def _nnls(A, b, iters=200):
    """Lawson-Hanson non-negative least squares (numpy only)."""
    n = A.shape[1]
    x = np.zeros(n)
    passive = np.zeros(n, dtype=bool)
    for _ in range(iters):
        w = A.T @ (b - A @ x)
        if passive.all() or w[~passive].max(initial=0) <= 1e-12 * max(1.0, np.abs(w).max()):
            break
        j = int(np.argmax(np.where(passive, -np.inf, w)))
        passive[j] = True
        while True:
            z = np.zeros(n)
            z[passive] = np.linalg.lstsq(A[:, passive], b, rcond=None)[0]
            if (z[passive] > 0).all():
                x = z
                break
            neg = passive & (z <= 0)
            alpha = np.min(x[neg] / (x[neg] - z[neg] + 1e-300))
            x = x + alpha * (z - x)
            passive &= x > 1e-12
    return x


def activation_rule(gm: GraphMemory, shapes_for, native: tuple[int, int, int], batches=(1, 2),
                    frames_vary: bool = True) -> tuple[ActivationRule, list]:
    """Fits the rule from peaks on a grid around native = (frames, width, height).
    shapes_for(batch, frames, width, height) -> {input name: shape} for that call."""
    F0, W0, H0 = native
    fs = sorted({max(1, round(F0 * s)) for s in (0.25, 0.5, 0.75, 1.0)}) if frames_vary else [F0]
    scales = (0.25, 0.5, 0.75, 1.0, 1.25)
    points, refused = [], []
    for b in batches:
        for f in fs:
            for s in scales:
                w, h = _snap(W0 * s), _snap(H0 * s)
                try:
                    shapes = shapes_for(b, f, w, h)
                except Exception as e:  # noqa: BLE001 - a size the model's own input code refuses
                    refused.append(f"{w}x{h}x{f}: {type(e).__name__}")
                    continue
                peak, _ = gm.peak(bind_inputs(gm, shapes))
                points.append((b, f, w, h, peak))
    if len(points) < max(4, len(batches) * len(fs) * len(scales) // 2):
        raise ValueError(f"too few sizes to fit the activation rule ({len(points)}; refused: {', '.join(refused[:4])})")
    _, at = gm.peak(bind_inputs(gm, shapes_for(batches[-1], F0, W0, H0)))
    return fit_rule(points, F0, W0 * H0, at), points


def _snap(v: float, m: int = 16) -> int:
    return max(m, int(math.floor(v / m)) * m)
