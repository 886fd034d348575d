"""Fused attention for exported graphs: every `softmax(q k^T * scale + bias) v` becomes one
com.microsoft MultiHeadAttention node, so ONNX Runtime never materialises the
batch x heads x tokens x tokens score tensor (CUDA: flash / memory-efficient attention; CPU:
its tiled flash-attention kernel when there is no bias).

Why a pass of our own rather than onnxruntime.transformers.optimizer: on these exports the
optimizer's 'unet' model type raises (onnxruntime 1.30), 'clip' and 'vae' fuse no attention at
all (the TorchScript SDPA pattern of transformers 5 / diffusers is not one they match), and the
'unet'/'vae' passes add GroupNorm, NhwcConv, BiasSplitGelu and packed QKV, which have no CPU
kernel. This pass matches the one pattern every exported attention has, whatever the model:

    scores = MatMul(q [* sq], kT [* sk])         q [B, N, S, H], kT [B, N, H, L]
    scores = scores [* / c] [+ bias]              bias [B|1, N|1, S, L]
    out    = MatMul(Softmax(scores, axis=-1), v)  v [B, N, L, Hv] -> out [B, N, S, Hv]

(UNet spatial/cross/temporal attention, the VAEs' mid-block attention, CLIP text (causal mask as
bias) and vision, T5 (relative position bias), CogVideoX's joint attention with qk-norm and
RoPE). q, k and v are given to MultiHeadAttention as [B, S, N*H] (BSNH reshaped: no copy where
the export already had that layout before its transpose), the scale is sq * sk * c evaluated
from the graph, and the output goes back to [B, N, S, Hv] (or straight to BSNH where the graph
transposed it there). Only opset-17 ops and MultiHeadAttention are added, which both the CPU and
CUDA providers of onnxruntime 1.30 run in float32 and float16.

Only graph structure is read and written: weights kept in model.onnx_data stay where they are.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

MS_DOMAIN = "com.microsoft"


@dataclass
class FusionReport:
    softmax_before: int = 0
    softmax_after: int = 0
    mha_after: int = 0
    fused: int = 0
    skipped: list[str] = field(default_factory=list)  # one line per attention left unfused, with the reason

    def summary(self) -> str:
        s = (f"attention fused: {self.fused} of {self.softmax_before} Softmax -> MultiHeadAttention "
             f"(Softmax {self.softmax_before} -> {self.softmax_after}, MultiHeadAttention {self.mha_after})")
        if self.skipped:
            s += "; left unfused: " + "; ".join(self.skipped[:5]) + (" ..." if len(self.skipped) > 5 else "")
        return s


class _Graph:
    def __init__(self, model: onnx.ModelProto):
        self.model = model
        self.g = model.graph
        self.reindex()
        self.inits = {i.name: i for i in self.g.initializer}
        self._uid = 0

    def reindex(self):
        self.prod = {o: n for n in self.g.node for o in n.output if o}
        self.cons: dict[str, list] = {}
        for n in self.g.node:
            for i in n.input:
                if i:
                    self.cons.setdefault(i, []).append(n)
        self.outputs = {o.name for o in self.g.output}

    def uid(self, base: str) -> str:
        self._uid += 1
        return f"{base}/fused_attn_{self._uid}"

    def single_consumer(self, name: str) -> bool:
        return len(self.cons.get(name, [])) == 1 and name not in self.outputs

    def const_i64(self, values, base: str) -> str:
        name = self.uid(base + "_shape")
        self.g.initializer.append(numpy_helper.from_array(np.asarray(values, dtype=np.int64), name))
        return name


def _attr(node, name, default=None):
    for a in node.attribute:
        if a.name == name:
            return helper.get_attribute_value(a)
    return default


def _shape_inference_class():
    from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference

    class ShapeInference(SymbolicShapeInference):
        """onnxruntime's symbolic shape inference, which would read a weight whenever it meets one
        in an Add or Mul: weights never carry shapes, so they are left alone."""

        value_of = None  # set by infer_shapes_and_types: evaluates a small shape computation

        def _try_get_value(self, node, idx):
            if idx < len(node.input):
                t = self.initializers_.get(node.input[idx])
                if t is not None and t.data_location == TensorProto.EXTERNAL:
                    return None
            v = super()._try_get_value(node, idx)
            if v is None and self.value_of is not None and idx < len(node.input) and node.input[idx]:
                # a shape computation its data propagation does not follow (OneHot, Range, Where...
                # feeding a Tile or Reshape): evaluated from the shapes known so far
                v = self.value_of(node.input[idx], self.known_vi_)
            return v

        def _infer_OneHot(self, node):  # noqa: N802 - onnxruntime's name
            # SVD's UNet builds its image-only indicator with OneHot: a depth given as a 0-d
            # array is a number, not a new symbol (which would spread to every tensor it broadcasts with)
            from onnx import helper as h

            depth = self._try_get_value(node, 1)
            if depth is None or not hasattr(depth, "size") or depth.size != 1:
                return super()._infer_OneHot(node)
            shape = self._get_sympy_shape(node, 0)
            axis = next((a.i for a in node.attribute if a.name == "axis"), -1)
            axis = axis + len(shape) + 1 if axis < 0 else axis
            new = [*shape[:axis], int(np.asarray(depth).reshape(())), *shape[axis:]]
            from onnxruntime.tools.symbolic_shape_infer import get_shape_from_sympy_shape

            vi = self.known_vi_[node.output[0]]
            vi.CopyFrom(h.make_tensor_value_info(node.output[0], self.known_vi_[node.input[2]].type.tensor_type.elem_type,
                                                 get_shape_from_sympy_shape(new)))

        def _infer_NonZero(self, node):  # noqa: N802 - onnxruntime's name
            # the Wan VAE chunk graphs keep one of two branches' frames with an index from NonZero
            # over a mask computed from first_chunk: with that input's value given, the count is known
            v = self.value_of(node.input[0], self.known_vi_, True) if self.value_of is not None else None
            if v is None:
                return super()._infer_NonZero(node)
            from onnx import helper as h

            self.known_vi_[node.output[0]].CopyFrom(h.make_tensor_value_info(
                node.output[0], TensorProto.INT64, [max(1, np.ndim(v)), int(np.count_nonzero(v))]))

    return ShapeInference


def _ShapeInference(*args):
    return _shape_inference_class()(*args)


def _dims(vi) -> list | None:
    if vi is None or not vi.type.HasField("tensor_type") or not vi.type.tensor_type.HasField("shape"):
        return None
    out = []
    for d in vi.type.tensor_type.shape.dim:
        out.append(d.dim_value if d.HasField("dim_value") else (d.dim_param or None))
    return out


def infer_shapes_and_types(model: onnx.ModelProto, input_shapes: dict[str, tuple] | None = None,
                           input_values: dict | None = None) -> tuple[dict[str, list], dict[str, int]]:
    """Symbolic shapes of every tensor (onnxruntime's SymbolicShapeInference: it follows the
    shape arithmetic of reshapes, so head counts and head sizes come out as numbers and the
    rest as expressions of the graph's named input dims, e.g. 'height*width'). With
    `input_shapes` the graph inputs get those concrete shapes first, so every shape comes out
    as numbers (where symbolic arithmetic would lose track). `input_values` gives the values of
    small graph inputs that sizes depend on (the Wan VAE's first_chunk), for the shape
    computations evaluated on the way."""
    # a copy without weight payloads: shape inference needs their dims, and values only of the
    # small shape tensors, so weights become external references nothing reads
    bare = onnx.ModelProto()
    bare.ir_version = model.ir_version
    bare.opset_import.extend(model.opset_import)
    g = bare.graph
    g.node.extend(model.graph.node)
    g.input.extend(model.graph.input)
    g.output.extend(model.graph.output)
    for vi in g.input:
        shape = (input_shapes or {}).get(vi.name)
        if shape is not None:
            dims = vi.type.tensor_type.shape.dim
            for d, v in zip(dims, shape):
                d.Clear()
                d.dim_value = int(v)
    for t in model.graph.initializer:
        if t.data_location == TensorProto.EXTERNAL or int(np.prod(t.dims)) > 64:
            stub = g.initializer.add()
            stub.name, stub.data_type = t.name, t.data_type
            stub.dims.extend(t.dims)
            stub.data_location = TensorProto.EXTERNAL
            e = stub.external_data.add()
            e.key, e.value = "location", "__not_loaded__"
        else:
            g.initializer.append(t)
    si = _ShapeInference(2**31 - 1, True, False, 0)
    gr = _Graph(model)
    cache: dict = {}

    def value_of(name, known_vi, with_inputs=False):
        """name's value from the shapes known so far; with_inputs: and from input_values (only
        where a count is wanted: onnxruntime's own propagation of small values mishandles the
        scalars a graph input's value would start)."""
        key = (name, with_inputs)
        if key not in cache:
            def shape_of(t):
                vi = known_vi.get(t)
                d = _dims(vi) if vi is not None else None
                return d if d is not None and all(isinstance(x, int) or isinstance(x, str) for x in d) else None
            v = _ConstEval(gr, shape_of, input_values if with_inputs else None).value(name)
            cache[key] = v if v is not None and 0 < v.size <= 64 else None
        return cache[key]

    si.value_of = value_of
    si._preprocess(bare)
    while si.run_:
        si._infer_impl()
    si._update_output_from_vi()
    inferred = si.out_mp_
    shapes, types = {}, {}
    for vi in list(inferred.graph.input) + list(inferred.graph.value_info) + list(inferred.graph.output):
        d = _dims(vi)
        if d is not None:
            shapes[vi.name] = d
        if vi.type.HasField("tensor_type"):
            types[vi.name] = vi.type.tensor_type.elem_type
    for t in model.graph.initializer:
        shapes[t.name] = list(t.dims)
        types[t.name] = t.data_type
    return shapes, types


def infer_shapes(model: onnx.ModelProto) -> dict[str, list]:
    return infer_shapes_and_types(model)[0]




class _ConstEval:
    """Evaluates small scalar subgraphs (the attention scale: sqrt(1/sqrt(head_dim)) computed
    from Shape nodes). Shape nodes are replaced by the inferred shape; a symbolic dim gets a
    stand-in value, twice with different values, so a result that depends on one is refused."""

    OPS = {"Constant", "Shape", "Gather", "Cast", "Div", "Mul", "Sqrt", "Unsqueeze", "Squeeze", "Slice", "Concat",
           "Reshape", "Pow", "Reciprocal", "Identity", "Sub", "Add", "Floor", "Ceil", "ConstantOfShape", "Neg",
           "OneHot", "Equal", "Where", "Expand", "Range", "Tile", "ReduceProd", "ReduceSum", "Less", "Greater", "Not",
           "And", "Or", "Min", "Max", "Abs", "Mod", "Size", "NonZero", "Transpose", "Flatten"}

    def __init__(self, gr: _Graph, shapes, input_values: dict | None = None):
        """shapes: tensor name -> dims (a dict, or a function giving None where unknown);
        input_values: graph input -> its value, for inputs a computation may read."""
        self.gr = gr
        self.shape_of = shapes.get if isinstance(shapes, dict) else shapes
        self.input_values = {}
        types = {i.name: i.type.tensor_type.elem_type for i in gr.g.input}
        for k, v in (input_values or {}).items():
            if k in types:
                self.input_values[k] = np.asarray(v, dtype=helper.tensor_dtype_to_np_dtype(types[k]))

    def value(self, name: str):
        try:
            a, b = self._eval(name, 3), self._eval(name, 5)
        except _NotConst:
            return None
        if a is None or b is None or a.shape != b.shape or not np.allclose(a, b):
            return None
        return a

    def _eval(self, name: str, stand_in: int):
        cone, seen, stack = [], set(), [name]
        while stack:
            t = stack.pop()
            if t in seen or not t:
                continue
            seen.add(t)
            if t in self.gr.inits or t in self.input_values:
                continue
            n = self.gr.prod.get(t)
            if n is None:
                raise _NotConst(t)
            if n.op_type not in self.OPS:
                raise _NotConst(n.op_type)
            cone.append(n)
            if n.op_type == "Shape":
                continue
            stack.extend(n.input)
            if len(cone) > 64:
                raise _NotConst("too deep")
        from onnx.reference import ReferenceEvaluator

        nodes, inits = [], []
        for k, v in self.input_values.items():
            if k in seen:
                nodes.append(helper.make_node("Constant", [], [k], value=numpy_helper.from_array(v)))
        for n in self._topo(cone):
            if n.op_type == "Shape":
                d = self.shape_of(n.input[0])
                if d is None:
                    raise _NotConst("unknown shape")
                full = np.array([v if isinstance(v, int) else stand_in for v in d], dtype=np.int64)
                start, end = _attr(n, "start", 0), _attr(n, "end", None)
                nodes.append(helper.make_node("Constant", [], [n.output[0]],
                                              value=numpy_helper.from_array(full[start:end])))
            else:
                nodes.append(n)
        for n in cone:
            for i in n.input:
                if i in self.gr.inits:
                    t = self.gr.inits[i]
                    if t.data_location == TensorProto.EXTERNAL:
                        raise _NotConst("external")
                    inits.append(t)
        g = helper.make_graph(nodes, "scale", [], [helper.make_tensor_value_info(name, TensorProto.UNDEFINED, None)],
                              initializer=inits)
        m = helper.make_model(g, opset_imports=list(self.gr.model.opset_import), ir_version=self.gr.model.ir_version)
        try:
            return np.asarray(ReferenceEvaluator(m).run(None, {})[0])
        except Exception as e:  # noqa: BLE001 - any op the evaluator cannot run here
            raise _NotConst(str(e)) from e

    def _topo(self, cone):
        order = {id(n): i for i, n in enumerate(self.gr.g.node)}  # the graph is topologically sorted
        return sorted(cone, key=lambda n: order[id(n)])


class _NotConst(Exception):
    pass


def _scalar(ev: _ConstEval, name: str) -> float | None:
    v = ev.value(name)
    if v is None or v.size != 1:
        return None
    return float(v.reshape(()))


def _scaled(gr: _Graph, ev: _ConstEval, name: str):
    """name = Mul(x, c) / Div(x, c) with scalar c (single consumer): (x, c); else (name, 1)."""
    n = gr.prod.get(name)
    if n is not None and n.op_type in ("Mul", "Div") and gr.single_consumer(name):
        for xi, ci in ((0, 1), (1, 0)) if n.op_type == "Mul" else ((0, 1),):
            c = _scalar(ev, n.input[ci])
            if c is not None:
                return n.input[xi], (c if n.op_type == "Mul" else 1.0 / c), n
    return name, 1.0, None


def _same(a, b) -> bool:
    return a is not None and b is not None and a == b


def fuse_attention(model: onnx.ModelProto) -> FusionReport:
    """Rewrites `model` in place; returns what was fused and why anything was not."""
    rep = FusionReport()
    gr = _Graph(model)
    softmaxes = [n for n in gr.g.node if n.op_type == "Softmax"]
    rep.softmax_before = len(softmaxes)
    if not softmaxes:
        rep.mha_after = sum(1 for n in gr.g.node if n.op_type == "MultiHeadAttention")
        return rep
    shapes = infer_shapes(model)
    ev = _ConstEval(gr, shapes)
    new_nodes: dict[int, list] = {}  # id of the Softmax's value MatMul -> nodes to insert before it
    for sm in softmaxes:
        why = _fuse_one(gr, ev, shapes, sm, new_nodes)
        if why:
            rep.skipped.append(f"{sm.name or sm.output[0]}: {why}")
        else:
            rep.fused += 1
    if rep.fused:
        # insert the new nodes where their value MatMul was (keeps the graph topologically sorted)
        nodes = list(gr.g.node)
        out = []
        for n in nodes:
            out.extend(new_nodes.get(id(n), []))
            out.append(n)
        del gr.g.node[:]
        gr.g.node.extend(out)
        _prune(gr)
        if not any(o.domain == MS_DOMAIN for o in model.opset_import):
            model.opset_import.append(helper.make_opsetid(MS_DOMAIN, 1))
    rep.softmax_after = sum(1 for n in gr.g.node if n.op_type == "Softmax")
    rep.mha_after = sum(1 for n in gr.g.node if n.op_type == "MultiHeadAttention")
    return rep


def _fuse_one(gr: _Graph, ev: _ConstEval, shapes: dict, sm, new_nodes) -> str | None:
    axis = _attr(sm, "axis", -1)
    rank = len(shapes.get(sm.input[0]) or [])
    if rank != 4:
        return f"scores of rank {rank or 'unknown'}, expected 4"
    if axis not in (-1, 3):
        return f"softmax over axis {axis}"
    # score chain, from the Softmax up: [Add(bias)] [Mul/Div(c)] MatMul
    bias = None
    c = 1.0
    x = sm.input[0]
    n = gr.prod.get(x)
    if n is not None and n.op_type == "Add" and gr.single_consumer(x):
        sides = [i for i in (0, 1) if _is_score_chain(gr, n.input[i])]
        if len(sides) != 1:
            return "the score is not MatMul [* c] + bias"
        x, bias = n.input[sides[0]], n.input[1 - sides[0]]
        n = gr.prod.get(x)
    if n is not None and n.op_type in ("Mul", "Div"):
        x2, c, _ = _scaled(gr, ev, x)
        if x2 == x:
            return "the score is scaled by a non-constant"
        x = x2
        n = gr.prod.get(x)
    if n is None or n.op_type != "MatMul" or not gr.single_consumer(x):
        return "the score is not a MatMul used once"
    score_mm = n
    consumers = gr.cons.get(sm.output[0], [])
    if len(consumers) != 1 or consumers[0].op_type != "MatMul" or consumers[0].input[0] != sm.output[0] \
            or sm.output[0] in gr.outputs:
        return "the probabilities are not only multiplied by v"
    pv = consumers[0]
    q, sq, _ = _scaled(gr, ev, score_mm.input[0])
    kt, sk, _ = _scaled(gr, ev, score_mm.input[1])
    v = pv.input[1]
    qd, ktd, vd, od = shapes.get(q), shapes.get(kt), shapes.get(v), shapes.get(pv.output[0])
    if not (qd and ktd and vd and od and len(qd) == len(ktd) == len(vd) == 4):
        return "q, k or v is not rank 4 with a known shape"
    N, H, Hk, L, Hv = qd[1], qd[3], ktd[2], ktd[3], vd[3]
    if not isinstance(N, int) or not isinstance(H, int) or not isinstance(Hv, int):
        return f"heads/head size not static (q {qd}, v {vd})"
    if not (_same(ktd[1], N) and _same(vd[1], N) and _same(Hk, H)):
        return f"q {qd}, k^T {ktd}, v {vd} do not line up as [B,N,S,H], [B,N,H,L], [B,N,L,Hv]"
    if not _same(vd[2], L) and not (vd[2] is None or L is None):
        return f"k and v lengths differ ({L} vs {vd[2]})"
    bias_rank = 4
    if bias is not None:
        bd = shapes.get(bias)
        if not bd or len(bd) > 4 or len(bd) < 2:
            return f"bias of shape {bd}, expected rank 2 to 4"
        bias_rank = len(bd)
        bd = [1] * (4 - len(bd)) + list(bd)  # broadcast as numpy does: leading axes of 1
        if not (_same(bd[2], qd[2]) and _same(bd[3], L)):
            return f"bias {bd} is not [.., .., S, L] for q {qd} and k {ktd}"
        if not (bd[1] == 1 or _same(bd[1], N)):
            return f"bias {bd} broadcasts over heads unlike [B|1, N|1, S, L]"
    scale = sq * sk * c
    base = sm.name.rsplit("/", 1)[0] if sm.name else sm.output[0]
    nodes = []

    def bsd(t: str, perm_to_bsnh: list[int], what: str) -> str:
        """[B, N, *, *] tensor t -> [B, S, N*H]; skips the transpose where t is a transpose of BSNH."""
        p = gr.prod.get(t)
        src = None
        if p is not None and p.op_type == "Transpose":
            perm = list(_attr(p, "perm", []))
            # t = Transpose(x, perm); Transpose(t, perm_to_bsnh) == x iff perm o perm_to_bsnh == identity
            if [perm[i] for i in perm_to_bsnh] == [0, 1, 2, 3]:
                src = p.input[0]
        if src is None:
            src = gr.uid(base + f"/{what}_bsnh")
            nodes.append(helper.make_node("Transpose", [t], [src], perm=perm_to_bsnh, name=gr.uid(base + f"/{what}_T")))
        out = gr.uid(base + f"/{what}_bsd")
        nodes.append(helper.make_node("Reshape", [src, gr.const_i64([0, 0, -1], base)], [out], name=gr.uid(base + f"/{what}_R")))
        return out

    if bias is not None and bias_rank < 4:  # e.g. CLIP's causal mask [S, L] -> [1, 1, S, L]
        b4 = gr.uid(base + "/bias_4d")
        nodes.append(helper.make_node("Unsqueeze", [bias, gr.const_i64(list(range(4 - bias_rank)), base)], [b4],
                                      name=gr.uid(base + "/bias_U")))
        bias = b4
    q3 = bsd(q, [0, 2, 1, 3], "q")
    k3 = bsd(kt, [0, 3, 1, 2], "k")  # [B,N,H,L] -> [B,L,N,H]
    v3 = bsd(v, [0, 2, 1, 3], "v")
    o3 = gr.uid(base + "/mha_out")
    mha_inputs = [q3, k3, v3] + (["", "", bias] if bias is not None else [])
    nodes.append(helper.make_node("MultiHeadAttention", mha_inputs, [o3], domain=MS_DOMAIN, num_heads=N,
                                  scale=float(scale), name=gr.uid(base + "/MultiHeadAttention")))
    # the output: straight to BSNH where the graph transposed it there, else back to BNSH
    o4 = gr.uid(base + "/mha_out_bsnh")
    nodes.append(helper.make_node("Reshape", [o3, gr.const_i64([0, 0, N, Hv], base)], [o4], name=gr.uid(base + "/out_R")))
    out_cons = gr.cons.get(pv.output[0], [])
    if out_cons and pv.output[0] not in gr.outputs and all(
            c.op_type == "Transpose" and list(_attr(c, "perm", [])) == [0, 2, 1, 3] for c in out_cons):
        for t in out_cons:  # Transpose(BNSH -> BSNH) becomes Identity of the BSNH output
            t.op_type = "Identity"
            del t.attribute[:]
            t.input[0] = o4
    else:
        nodes.append(helper.make_node("Transpose", [o4], [pv.output[0]], perm=[0, 2, 1, 3], name=gr.uid(base + "/out_T")))
        pv.output[0] = gr.uid(base + "/unfused_out")  # the old MatMul now feeds nothing and is pruned
    new_nodes.setdefault(id(pv), []).extend(nodes)
    return None


def _is_score_chain(gr: _Graph, name: str) -> bool:
    """name is MatMul(..) or Mul/Div(MatMul(..), ..), each used once."""
    n = gr.prod.get(name)
    if n is not None and n.op_type in ("Mul", "Div") and gr.single_consumer(name):
        name = n.input[0]
        n = gr.prod.get(name)
    return n is not None and n.op_type == "MatMul" and gr.single_consumer(name)


def _prune(gr: _Graph):
    """Removes nodes whose outputs nothing uses (the unfused attention), then unused initializers."""
    while True:
        gr.reindex()
        keep = []
        removed = 0
        for n in gr.g.node:
            if any(o in gr.outputs or gr.cons.get(o) for o in n.output if o):
                keep.append(n)
            else:
                removed += 1
        if not removed:
            break
        del gr.g.node[:]
        gr.g.node.extend(keep)
    used = {i for n in gr.g.node for i in n.input} | gr.outputs
    kept = [t for t in gr.g.initializer if t.name in used]
    if len(kept) != len(gr.g.initializer):
        del gr.g.initializer[:]
        gr.g.initializer.extend(kept)
    gr.reindex()


def count_ops(model: onnx.ModelProto) -> dict[str, int]:
    ops = {}
    for n in model.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    return ops


def fuse_file(path: Path) -> FusionReport:
    """Fuses model.onnx in place. Weights in model.onnx_data beside it are not read or moved:
    only the graph (and a few small shape constants) is rewritten."""
    model = onnx.load(str(path), load_external_data=False)
    rep = fuse_attention(model)
    if rep.fused:
        tmp = path.with_name(path.name + ".fused")
        onnx.save_model(model, str(tmp))
        tmp.replace(path)
    return rep
