"""Activation memory of an exported graph, computed from the graph, and the rule the engine uses.

The peak: every tensor's size comes from the graph's symbolic shapes (onnxruntime's
SymbolicShapeInference, dims as expressions of the named input dims), bound to one input size.
The nodes run in onnxruntime's default execution order (`ort_order`: not the file's order but a
depth-first walk back from the graph's leaf nodes, the last leaf first); a node's outputs are
allocated before it runs and each tensor is freed after its last reader, as onnxruntime's
allocation planner does, with its two savings:
  - Reshape, Squeeze, Unsqueeze, Flatten and Identity alias their input (no new buffer);
  - SiLU's sigmoid is not held (`_fused_away`: onnxruntime fuses x * Sigmoid(x));
  - unary activations and Cast write over their input when it is read for the last time and
    has the output's size (the kernels onnxruntime registers MayInplace; Add, Mul and the other
    binary ops never do), never over a graph input.
Plus what a node holds while it runs:
  - MultiHeadAttention: its q, k, v transposed to [B, N, S, H], and where the CPU kernel cannot
    use its tiled flash attention (a bias or mask) the B x N x S x L scores, float32; counting
    float16 as float32 (the CPU check), also the float32 copies of a float16 q, k, v and output
    the CPU kernel works on;
  - an unfused attention needs no extra: its scores are graph tensors (B x N x S x L, twice
    while Softmax runs);
  - counting for the CPU provider (`cpu=True`, bench_memory's check), Where: its CPU kernel
    broadcasts the condition with X and with Y into two temporaries of the output's type before
    it merges them (onnxruntime's where_op.cc; UMT5's masked position bias, B x N x S x S, is one
    such: measured 281 MiB against 216 counted without them). Its CUDA kernel writes the output
    in one pass.
Graph inputs are live throughout (the caller owns them until the run returns; onnxruntime's
device copies of them too), outputs from when they are made to the end; weights (initializers)
are not activations and are counted apart, from the files.

The rule: the exporter evaluates the graph on a grid of sizes (a quarter of the native frames
and pixels per side up to the native frames and 1.25x the side). What the node holding the
peak holds is a sum of tensor sizes, so a polynomial; for each node that holds the peak
somewhere on the grid it fits
    bytes(batch, frames, width, height) = c0 + batch * sum_k c_k * (frames/F0)^a_k * (pixels/P0)^b_k
with a_k, b_k in {0, 1, 2} (pixels = width * height; non-negative least squares), and the rule
is the largest of these (dolly.json: the first polynomial, then "more"). A fused graph comes
out linear in frames x pixels; an unfused one keeps its quadratic attention terms. `batch` is what one call of the component takes: the guidance batch for a denoiser, the
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
# the kernels onnxruntime lets write over their input (KernelDefBuilder().MayInplace(0, 0)): its CPU
# unary activations and Cast (its CUDA activations are the same set); binary element-wise ops
# (Add, Mul, ...) always allocate their output, on the CPU and on CUDA
INPLACE_OPS = {"Elu", "HardSigmoid", "LeakyRelu", "Relu", "Selu", "Sigmoid", "Softplus", "Softsign", "Tanh",
               "ThresholdedRelu", "Cast"}
EXPONENTS = [(a, b) for a in range(3) for b in range(3)]


@dataclass
class GraphMemory:
    """A graph ready for peak computations at any size."""
    symbols: list[str]  # the graph's named input dims
    unknown: int  # tensors whose size shape inference could not tell (counted as 0)
    unresolved: int = 0  # tensors whose dims depend on symbols shape inference made up (unk__...)
    _nodes: list = field(repr=False, default_factory=list)
    _tensors: dict = field(repr=False, default_factory=dict)
    _fns: dict = field(repr=False, default_factory=dict)
    inputs: dict = field(default_factory=dict)  # graph input -> dims (ints or symbol names)
    inputs_list: list = field(repr=False, default_factory=list)
    outputs_set: set = field(repr=False, default_factory=set)
    last_use: dict = field(repr=False, default_factory=dict)

    def peak(self, bind: dict[str, int]) -> tuple[int, str]:
        """(peak activation bytes, the node where it is reached) with the named dims bound."""
        size = self._sizes(bind)
        return _simulate(self._nodes, size, self.inputs_list, self.outputs_set, self.last_use)

    def _sizes(self, bind: dict[str, int]) -> dict[str, int]:
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
        return size

    def profile(self, bind: dict[str, int]) -> list[int]:
        """The bytes held at each node (in graph order) with the named dims bound."""
        out: list[int] = []
        _simulate(self._nodes, self._sizes(bind), self.inputs_list, self.outputs_set, self.last_use, out)
        return out

    def node_name(self, i: int) -> str:
        op, _, outs, _ = self._nodes[i]
        return f"{op} {outs[0] if outs else ''}"


def _subgraph_inputs(node) -> list[str]:
    """Names a node's subgraphs (If, Loop, Scan) read from the enclosing graph."""
    names = []
    for at in node.attribute:
        for g in ([at.g] if at.type == onnx.AttributeProto.GRAPH else list(at.graphs)):
            inner = {o for n in g.node for o in n.output} | {i.name for i in g.input} | {t.name for t in g.initializer}
            for n in g.node:
                names += [x for x in list(n.input) + _subgraph_inputs(n) if x and x not in inner]
    return names


def _producers(graph: onnx.GraphProto) -> list[list[int]]:
    """For each node (by its place in the file), the nodes that make what it reads, ascending."""
    producer = {o: i for i, n in enumerate(graph.node) for o in n.output if o}
    return [sorted({producer[x] for x in list(n.input) + _subgraph_inputs(n) if x in producer}) for n in graph.node]


def _leaves(preds: list[list[int]]) -> list[int]:
    """The nodes no other node reads (graph outputs do not count), in file order."""
    read = {p for ps in preds for p in ps}
    return [i for i in range(len(preds)) if i not in read]


def ort_order(graph: onnx.GraphProto) -> list[int]:
    """The order onnxruntime runs the nodes in (its GraphViewer's default topological order): a
    depth-first walk back from the leaf nodes (nodes no other node reads; graph outputs do not
    count), the last leaf in the file first, each node's producers visited highest index first,
    every node emitted after its producers. A node index is the node's place in the file.

    So a side branch that ends in a graph output (a cache written out, a slice of a tensor the
    main chain also reads) runs when the walk reaches its leaf, not where the file puts it:
    after everything the leaves explored before it need. `order_leaves_for_ort` arranges the
    leaves so that this order follows the file's."""
    preds = _producers(graph)
    stack = [(i, False) for i in _leaves(preds)]
    seen, order = set(), []
    while stack:
        i, leave = stack.pop()
        if leave:
            order.append(i)
            continue
        if i in seen:
            continue
        seen.add(i)
        stack.append((i, True))
        stack.extend((p, False) for p in preds[i] if p not in seen)
    return order


def order_leaves_for_ort(model: onnx.ModelProto) -> bool:
    """Moves the graph's leaf nodes to the end of the file, the one computable first placed last,
    so that onnxruntime's execution order (`ort_order`) is the file's: its walk starts from the
    last leaf. A graph with many outputs made along the way (the Wan VAE's
    32 cache outputs) otherwise runs every side branch at the very end and keeps each tensor they
    read alive until then: measured on the Wan 2.1 VAE decoder, 1.74 GiB held instead of 0.87.
    Moving a node with no readers to the end keeps the file topologically sorted. Returns whether
    the order changed."""
    g = model.graph
    preds = _producers(g)
    leaves = _leaves(preds)
    kept = set(leaves)
    # where each leaf becomes computable (its last producer, never itself a leaf), latest first:
    # a key that moving the leaves does not change, so a second pass leaves the order as it is
    leaves.sort(key=lambda i: (max(preds[i], default=-1), g.node[i].output[0] if g.node[i].output else ""),
                reverse=True)
    order = [i for i in range(len(g.node)) if i not in kept] + leaves
    if order == list(range(len(g.node))):
        return False
    nodes = list(g.node)
    del g.node[:]
    g.node.extend(nodes[i] for i in order)
    return True


def _fused_away(graph: onnx.GraphProto) -> set[str]:
    """Tensors onnxruntime's graph optimizer never makes: SiLU written x * Sigmoid(x) becomes one
    QuickGelu node (its QuickGeluFusion, for the CPU, CUDA, ROCm and DirectML providers), so the
    sigmoid is never held beside x and the product (measured: AnimateDiff's VAE decoder at
    256x256, 8 frames per call, holds 1344 MB with the fusion, 1881 MB with optimizations off)."""
    consumers: dict[str, list] = {}
    for n in graph.node:
        for x in n.input:
            consumers.setdefault(x, []).append(n)
    outputs = {o.name for o in graph.output}
    away = set()
    for n in graph.node:
        if n.op_type != "Sigmoid" or not n.output or n.output[0] in outputs:
            continue
        readers = consumers.get(n.output[0], [])
        if len(readers) == 1 and readers[0].op_type == "Mul" and n.input[0] in readers[0].input:
            away.add(n.output[0])
    return away


def _simulate(nodes, size, inputs, outputs, last_use, profile=None):
    """(peak, where); with `profile` (a list), appends the bytes held at each node."""
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

    held = set(inputs)  # the caller's: never freed during the run
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
                              and x not in held and len(buf_refs[buf_of[x]]) == 1 and buf_size[buf_of[x]] == size.get(o, 0)), None)
                if reuse is not None:
                    b = buf_of[reuse]
                    buf_of[o] = b
                    buf_refs[b].add(o)
                    continue
            alloc(o)
        extra = scratch(size) if scratch else 0
        if profile is not None:
            profile.append(live + extra)
        if live + extra > peak:
            peak, where = live + extra, f"{op} {outs[0] if outs else ''}"
        for x in set(ins) | set(outs):
            if last_use.get(x, -1) <= i and x not in outputs and x not in held:
                release(x)
    return peak, where


def _broadcast(a: list | None, b: list | None) -> list | None:
    """Numpy broadcasting of two dim lists (ints or symbol names); None when it cannot tell."""
    if a is None or b is None or None in a or None in b:
        return None
    out = []
    for i in range(1, max(len(a), len(b)) + 1):
        x = a[-i] if i <= len(a) else 1
        y = b[-i] if i <= len(b) else 1
        if x == 1 or x == y:
            out.append(y)
        elif y == 1 or (isinstance(x, int) and not isinstance(y, int)):
            out.append(x)  # a symbol broadcast against n > 1 must be n
        elif isinstance(y, int) and not isinstance(x, int):
            out.append(y)
        else:
            return None
    return out[::-1]


def _where_scratch(x_sel: str, y_sel: str):
    return lambda size: size.get(x_sel, 0) + size.get(y_sel, 0)


def _mha_scratch(ins, cpu_float16: bool = False):
    q, k, v = ins[0], ins[1], ins[2]
    bias = ins[5] if len(ins) > 5 and ins[5] else None

    def f(size):
        s = size.get(q, 0) + size.get(k, 0) + size.get(v, 0)
        if cpu_float16:
            # the CPU kernel computes float16 attention on float32 copies of q, k and v and writes a
            # float32 output before casting it back (measured on a lone MultiHeadAttention: 211 MiB
            # against 240 counted this way, 121 against 120 for float32); a GPU runs float16 as is
            s += size.get(q, 0) * 2 + size.get(k, 0) + size.get(v, 0)
        if bias:
            # the kernel's non-flash path: B x N x S x L float32 scores (q is [B, S, N*H], k [B, L, N*H])
            s += size.get("__scores__" + q, 0)
        return s
    return f


def graph_memory(model: onnx.ModelProto, cpu: bool = False, input_shapes: dict | None = None,
                 input_values: dict | None = None) -> GraphMemory:
    """Prepares `model` (weights need not be loaded) for peak computations: what a GPU provider
    holds, or with `cpu` what the CPU provider holds (float16 tensors counted as float32, since
    onnxruntime casts the ops that have no float16 CPU kernel to float32, and the temporaries of
    the CPU kernels that make them)."""
    float16_bytes = 4 if cpu else 2
    import sympy

    from fuse_attention import infer_shapes_and_types

    shapes, types = infer_shapes_and_types(model, input_shapes, input_values)
    sizes = {**DTYPE_BYTES, TensorProto.FLOAT16: float16_bytes}
    g = model.graph
    inits = {t.name for t in g.initializer}
    inputs = [i.name for i in g.input if i.name not in inits]
    symbols = sorted({d for i in g.input if i.name not in inits for d in (shapes.get(i.name) or []) if isinstance(d, str)})
    sym = {s: sympy.Symbol(s) for s in symbols}
    tensors, fns = {}, {}
    init_dims = {t.name: list(t.dims) for t in g.initializer}
    unknown = 0
    nodes = []
    last_use = {}
    run = [g.node[i] for i in ort_order(g)]
    for idx, n in enumerate(run):
        for x in list(n.input) + _subgraph_inputs(n):
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
    for s in _fused_away(g):
        tensors[s] = (0, [])
    made_up = set()
    for _, dims in tensors.values():
        for d in dims:
            if isinstance(d, str) and d not in fns:
                expr = sympy.sympify(d, locals=sym)
                free = [s for s in expr.free_symbols]
                if any(str(s) not in sym for s in free):
                    fns[d] = lambda b: 0  # a dim shape inference made up (unk__): unknown
                    made_up.add(d)
                    continue
                f = sympy.lambdify([sympy.Symbol(s) for s in symbols], expr, modules=["math"])
                fns[d] = (lambda f: lambda b: f(*[b.get(s, 1) for s in symbols]))(f)
    unresolved = sum(1 for _, dims in tensors.values() if any(d in made_up for d in dims))
    for n in run:
        ins = [x for x in n.input] + _subgraph_inputs(n)
        outs = [o for o in n.output if o]
        scratch = None
        if n.op_type == "MultiHeadAttention":
            # float16 counted as float32 is the CPU provider's view (bench_memory's check)
            scratch = _mha_scratch(ins, cpu_float16=float16_bytes == 4 and types.get(ins[0]) == TensorProto.FLOAT16)
            # scores size for the non-flash path: [B, N, S, L] float32 from q [B, S, N*H] and k [B, L, N*H]
            qd, kd = shapes.get(ins[0]), shapes.get(ins[1])
            heads = next((a.i for a in n.attribute if a.name == "num_heads"), 1)
            if qd and kd and len(qd) == 3 and len(kd) == 3:
                tensors["__scores__" + ins[0]] = (4, [qd[0], heads, qd[1], kd[1]])
        elif n.op_type == "Where" and cpu and outs:
            cond, x, y = (shapes.get(t, init_dims.get(t)) for t in n.input[:3])
            x_sel, y_sel = "__where_x__" + outs[0], "__where_y__" + outs[0]
            elem = sizes.get(types.get(outs[0]), 4)
            tensors[x_sel] = (elem, _broadcast(cond, x) or [None])
            tensors[y_sel] = (elem, _broadcast(cond, y) or [None])
            scratch = _where_scratch(x_sel, y_sel)
        nodes.append((n.op_type, [x for x in ins if x and x not in inits], outs, scratch))
    return GraphMemory(symbols=symbols, unknown=unknown, unresolved=unresolved, _nodes=nodes, _tensors=tensors, _fns=fns,
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
    fit_error: float  # worst |rule - graph| / graph over the grid
    peak_at: str  # where the peak is reached at the native size
    more: list = field(default_factory=list)  # further (constant, terms): the rule is the largest

    def bytes(self, batch: int, frames: int, width: int, height: int) -> float:
        f, p = frames / self.F0, (width * height) / self.P0
        return max(c0 + batch * sum(c * f ** a * p ** b for a, b, c in terms)
                   for c0, terms in [(self.constant, self.terms), *self.more])

    @staticmethod
    def from_json(j: dict) -> "ActivationRule":
        return ActivationRule(F0=j["F0"], P0=j["P0"], constant=j["constant"], terms=[tuple(t) for t in j["terms"]],
                              fit_error=j.get("fitError", 0.0), peak_at=j.get("peakAt", ""),
                              more=[(m["constant"], [tuple(t) for t in m["terms"]]) for m in j.get("more", [])])

    def to_json(self) -> dict:
        def piece(c0, terms):
            return {"constant": round(c0), "terms": [[a, b, round(c)] for a, b, c in terms if round(c) > 0]}
        j = {"F0": self.F0, "P0": self.P0, **piece(self.constant, self.terms)}
        if self.more:
            j["more"] = [piece(c0, t) for c0, t in self.more]
        return {**j, "fitError": round(self.fit_error, 4), "peakAt": self.peak_at}


def _fit_poly(points, F0: int, P0: int):
    """(constant, terms) fitted to points (batch, frames, width, height, bytes): non-negative
    least squares over c0 + batch * (frames/F0)^a (pixels/P0)^b, a, b in {0, 1, 2}, each point
    weighed by 1/bytes (relative error)."""
    # a grid at one frame count (a graph whose calls do not depend on the clip's length: encoders,
    # per-frame and per-chunk VAEs) says nothing of frames: only frame-free terms, so the rule
    # cannot grow with the frames an engine passes
    exps = EXPONENTS if len({p[1] for p in points}) > 1 else [(a, e) for a, e in EXPONENTS if a == 0]
    X, y = [], []
    for b, f, w, h, v in points:
        fv, pv = f / F0, (w * h) / P0
        X.append([1.0] + [b * fv ** a * pv ** e for a, e in exps])
        y.append(v)
    X, y = np.asarray(X, dtype=np.float64), np.asarray(y, dtype=np.float64)
    wts = 1.0 / np.maximum(y, 1.0)
    coef = _nnls(X * wts[:, None], y * wts)
    return float(coef[0]), [(a, e, float(c)) for (a, e), c in zip(exps, coef[1:])]


def fit_rule(points: list[tuple[int, int, int, int, int]], F0: int, P0: int, peak_at: str,
             held: dict[int, list] | None = None) -> ActivationRule:
    """The rule from grid points (batch, frames, width, height, peak bytes). With `held`
    (node -> the bytes it holds at each point, for the nodes where the peak is reached somewhere
    on the grid), one polynomial per such node, each exact (what a node holds is a sum of tensor
    sizes), and the rule is their maximum: the peak moves between nodes as sizes change."""
    if held:
        pieces = [_fit_poly([(*p[:4], v) for p, v in zip(points, vals)], F0, P0) for vals in held.values()]
    else:
        pieces = [_fit_poly(points, F0, P0)]
    rule = ActivationRule(F0=F0, P0=P0, constant=pieces[0][0], terms=pieces[0][1], fit_error=0.0, peak_at=peak_at,
                          more=pieces[1:])
    errs = [abs(rule.bytes(b, f, w, h) - v) / max(v, 1.0) for b, f, w, h, v in points]
    rule.fit_error = float(max(errs)) if errs else 0.0
    return rule


def _nnls(A, b):
    """Non-negative least squares by trying every set of columns (10 columns: 1024 small solves):
    the non-negative solution with the smallest residual. Exact where an iterative method can
    stop early on these badly scaled monomials."""
    from itertools import combinations

    n = A.shape[1]
    scale = np.maximum(np.abs(A).max(axis=0), 1e-300)
    As = A / scale
    best, best_res = np.zeros(n), float(np.sum(b ** 2))
    for k in range(1, n + 1):
        for cols in combinations(range(n), k):
            c = list(cols)
            z, *_ = np.linalg.lstsq(As[:, c], b, rcond=None)
            if (z < 0).any():
                continue
            res = float(np.sum((As[:, c] @ z - b) ** 2))
            if res < best_res * (1 - 1e-12):
                best, best_res = np.zeros(n), res
                best[c] = z
    return best / scale


def concrete_memory(model: onnx.ModelProto, input_shapes: dict, cpu: bool = False,
                    input_values: dict | None = None) -> GraphMemory:
    """The graph with its inputs at these shapes, inferred concretely (slower: one shape inference
    per size, for graphs whose symbolic shapes lose track)."""
    return graph_memory(model, cpu=cpu, input_shapes=input_shapes, input_values=input_values)


def activation_rule(gm: GraphMemory, shapes_for, native: tuple[int, int, int], batches=(1, 2),
                    frames_vary: bool = True, model: onnx.ModelProto | None = None,
                    multiple: int = 16, input_values: dict | None = None) -> tuple[ActivationRule, list]:
    """Fits the rule from the graph on a grid around native = (frames, width, height).
    shapes_for(batch, frames, width, height) -> {input name: shape} for that call. Where
    symbolic shape inference lost track of some dims (gm.unresolved) and `model` is given, each
    grid point is inferred concretely instead, on a smaller grid. Grid sizes are multiples of
    `multiple` pixels (what the model takes: 64 for SD-style UNets, 16 for CogVideoX)."""
    F0, W0, H0 = native
    concrete = gm.unresolved > 0 and model is not None
    if concrete:
        fs = sorted({max(1, round(F0 * s)) for s in (0.5, 1.0)}) if frames_vary else [F0]
        scales = (0.5, 0.75, 1.0)
    else:
        fs = sorted({max(1, round(F0 * s)) for s in (0.25, 0.5, 0.75, 1.0)}) if frames_vary else [F0]
        scales = (0.25, 0.5, 0.75, 1.0, 1.25)

    def profile_at(shapes):
        if concrete:
            return concrete_memory(model, shapes, input_values=input_values).profile({})
        return gm.profile(bind_inputs(gm, shapes))

    points, profiles, refused = [], [], []
    for b in batches:
        for f in fs:
            for s in scales:
                w, h = _snap(W0 * s, multiple), _snap(H0 * s, multiple)
                try:
                    shapes = shapes_for(b, f, w, h)
                    prof = profile_at(shapes)
                except Exception as e:  # noqa: BLE001 - a size the model's input code or shapes refuse
                    refused.append(f"{w}x{h}x{f}: {type(e).__name__}")
                    continue
                profiles.append(prof)
                points.append((b, f, w, h, max(prof) if prof else 0))
    if len(points) < max(4, len(batches) * len(fs) * len(scales) // 2):
        raise ValueError(f"too few sizes to fit the activation rule ({len(points)}; refused: {', '.join(refused[:4])})")
    # the nodes where the peak is reached somewhere on the grid, largest first
    peaks = {}
    for prof in profiles:
        if prof:
            i = int(np.argmax(prof))
            peaks[i] = max(peaks.get(i, 0), prof[i])
    nodes = sorted(peaks, key=lambda i: -peaks[i])[:8]
    held = {i: [prof[i] if i < len(prof) else 0 for prof in profiles] for i in nodes}
    nat = profile_at(shapes_for(batches[-1], F0, W0, H0))
    at = gm.node_name(int(np.argmax(nat))) if nat else "inputs"
    return fit_rule(points, F0, W0 * H0, at, held), points


def _snap(v: float, m: int = 16) -> int:
    return max(m, int(math.floor(v / m)) * m)


# ---------------------------------------------------------------------------------------------
# rules for a folder already exported (older exports, or to refit): the graphs' named input dims
# bound from a render's batch, frames and size as the engine calls each component


def render_bindings(kind: str, component: str, b: int, F: int, W: int, H: int, folder_cfg: dict) -> dict:
    """The exporter's axis names bound for one call: batch `b`, clip frames `F`, pixels W x H."""
    s = folder_cfg["vae_scale"]
    h, w = H // s, W // s
    if kind == "wan":
        return _wan_bindings(component, b, F, W, H, folder_cfg)
    if component in ("text_encoder", "image_encoder"):
        return {"batch": b}
    if component == "vae_encoder":
        return {"batch": b, "height": H, "width": W}
    if component == "unet":
        return {"batch": b, "frames": F, "height": h, "width": w, "batch_frames": b * F}
    if component == "transformer":
        t, p, pt = folder_cfg["temporal"], folder_cfg["patch"], folder_cfg["patch_t"]
        lf = (F - 1) // t + 1
        lf += (pt - lf % pt) % pt if pt else 0
        return {"batch": b, "latent_frames": lf, "height": h, "width": w,
                "tokens": (lf // (pt or 1)) * (h // p) * (w // p)}
    if component == "vae_decoder":
        return {"batch": b, "batch_frames": b, "n": b, "height": h, "width": w}
    raise ValueError(f"no render bindings for {component}")


def _wan_bindings(component: str, b: int, F: int, W: int, H: int, cfg: dict) -> dict:
    """Wan (wan.py's axis names): the transformer takes the clip's latent frames ((F - 1) / 4 + 1)
    and, for 2.2 TI2V, one timestep per token; the Fun camera input and the Fun CLIP take pixels.
    The chunked VAE graphs take one call's worth whatever the clip: the decoder one latent frame,
    the 2.1 encoder 4 frames (the 2.2 encoder one frame at pixel `height`/`width`); their caches'
    sizes come from the graph (cache_bindings)."""
    s, t, p = cfg["vae_scale"], cfg["temporal"], cfg["patch"]
    h, w = H // s, W // s
    px = {"height_px": H, "width_px": W}
    if component in ("text_encoder", "image_encoder"):
        return {"batch": b, **px}
    if component in ("transformer", "transformer_2"):
        lf = (F - 1) // t + 1
        return {"batch": b, "latent_frames": lf, "height": h, "width": w, "tokens": lf * (h // p) * (w // p), **px}
    if component == "vae_decoder":
        return {"batch": b, "latent_frames": 1, "height": h, "width": w}
    if component == "vae_encoder":
        return {"batch": b, "frames": t, "height": H, "width": W, **px}
    raise ValueError(f"no render bindings for wan {component}")


def cache_bindings(model: onnx.ModelProto, bind: dict, input_values: dict | None = None) -> dict:
    """The sizes of a chunked graph's caches (the Wan VAE's cache_in_i [B, C, T, cache_i_height,
    cache_i_width]) for a call whose other inputs `bind` sizes: the graph run as a first call
    (caches [B, C, T, 1, 1], which broadcast) gives each cache_out_i at full size. {} for a graph
    without caches."""
    from fuse_attention import _dims, infer_shapes_and_types

    inits = {t.name for t in model.graph.initializer}
    ins = [i for i in model.graph.input if i.name not in inits]
    if not any(i.name.startswith("cache_in_") for i in ins):
        return {}
    shapes = {}
    for i in ins:
        dims = _dims(i)
        if i.name.startswith("cache_in_"):
            shapes[i.name] = (bind["batch"], dims[1], dims[2], 1, 1)
        else:
            shapes[i.name] = tuple(d if isinstance(d, int) else bind[d] for d in dims)
    inferred, _ = infer_shapes_and_types(model, shapes, input_values or {"first_chunk": [0]})
    out = {}
    for i in ins:
        if not i.name.startswith("cache_in_"):
            continue
        names = _dims(i)
        got = inferred.get("cache_out_" + i.name[len("cache_in_"):])
        if not got or not all(isinstance(v, int) for v in got[3:]):
            raise ValueError(f"the size of {i.name} cannot be told from the graph (cache_out: {got})")
        for n, v in zip(names[3:], got[3:]):
            if isinstance(n, str):
                out[n] = v
    return out


# model_index.json class -> the kind render_bindings knows
FOLDER_KINDS = {"AnimateDiffPipeline": "animatediff", "StableVideoDiffusionPipeline": "svd",
                "CogVideoXPipeline": "cogvideox", "CogVideoXImageToVideoPipeline": "cogvideox",
                "WanPipeline": "wan", "WanImageToVideoPipeline": "wan", "WanFunControlPipeline": "wan"}


def folder_config(folder) -> tuple[str, dict]:
    import json
    from pathlib import Path

    folder = Path(folder)
    index = json.loads((folder / "model_index.json").read_text())
    kind = FOLDER_KINDS.get(index["_class_name"])
    if kind is None:
        raise ValueError(f"{folder}: no render bindings for {index['_class_name']} (known: {', '.join(FOLDER_KINDS)})")
    vcfg = json.loads((folder / "vae_decoder/config.json").read_text())
    tcfg = json.loads((folder / "transformer/config.json").read_text()) if (folder / "transformer").exists() else {}
    if kind == "wan":  # AutoencoderKLWan states its factors; the transformer's patch is (t, h, w)
        patch = tcfg.get("patch_size", [1, 2, 2])
        return kind, {"vae_scale": vcfg["scale_factor_spatial"], "temporal": vcfg["scale_factor_temporal"],
                      "patch": patch[1], "patch_t": None}
    return kind, {"vae_scale": 2 ** (len(vcfg["block_out_channels"]) - 1),
                  "temporal": vcfg.get("temporal_compression_ratio", 1),
                  "patch": tcfg.get("patch_size", 1), "patch_t": tcfg.get("patch_size_t")}


def input_shapes(model: onnx.ModelProto, bind: dict) -> dict[str, tuple]:
    inits = {t.name for t in model.graph.initializer}
    out = {}
    for i in model.graph.input:
        if i.name in inits:
            continue
        dims = []
        for d in i.type.tensor_type.shape.dim:
            dims.append(d.dim_value if d.HasField("dim_value") else bind[d.dim_param])
        out[i.name] = tuple(dims)
    return out


def refit_folder(folder, components: list[str] | None = None, log=print) -> dict:
    """Recomputes dolly.json "memory" activation rules of an exported folder from its graphs
    (model.onnx and, where kept, model.unfused.onnx)."""
    import json
    from pathlib import Path

    folder = Path(folder)
    kind, cfg = folder_config(folder)
    dolly = json.loads((folder / "dolly.json").read_text())
    mem = dolly.setdefault("memory", {})
    F0 = dolly.get("nativeFrames", 16)
    native = (F0, dolly.get("nativeWidth", 512), dolly.get("nativeHeight", 512))
    for comp in components or [d.name for d in sorted(folder.iterdir()) if (d / "model.onnx").exists()]:
        per_frame_vae = comp == "vae_decoder" and kind != "cogvideox"
        frames_vary = comp in ("unet", "transformer", "transformer_2")
        batches = (1,) if comp == "vae_decoder" and kind == "cogvideox" else (1, 2)
        entry = mem.setdefault(comp, {})
        for key, fname in (("activations", "model.onnx"), ("activationsUnfused", "model.unfused.onnx")):
            path = folder / comp / fname
            if not path.exists():
                continue
            model = onnx.load(str(path), load_external_data=False)

            values = {"first_chunk": [0]} if kind == "wan" else None  # the Wan VAE: a later chunk

            def shapes_for(b, f, w, h, model=model, comp=comp):
                bind = render_bindings(kind, comp, b, f, w, h, cfg)
                return input_shapes(model, {**bind, **cache_bindings(model, bind)})

            nat = native if not per_frame_vae and comp != "vae_encoder" else (1, native[1], native[2])
            multiple = {"cogvideox": 16, "wan": cfg["vae_scale"] * cfg["patch"]}.get(kind, 8 * cfg["vae_scale"])
            rule, _ = activation_rule(graph_memory(model, input_values=values), shapes_for, nat, batches, frames_vary,
                                      model=model, multiple=multiple, input_values=values)
            entry[key] = rule.to_json()
            log(f"{comp} {key}: {rule.bytes(batches[-1], nat[0], nat[1], nat[2]) / 2**30:.2f} GiB at "
                f"{nat[1]}x{nat[2]}x{nat[0]}, batch {batches[-1]} (fit within {rule.fit_error:.1%})")
    (folder / "dolly.json").write_text(json.dumps(dolly, indent=2) + "\n")
    return mem


if __name__ == "__main__":
    import argparse

    p = argparse.ArgumentParser(description="Refit dolly.json \"memory\" activation rules of an exported folder.")
    p.add_argument("--folder", required=True)
    p.add_argument("--components", help="comma-separated (default: every component)")
    a = p.parse_args()
    refit_folder(a.folder, a.components.split(",") if a.components else None)
