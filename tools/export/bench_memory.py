#!/usr/bin/env python3
"""Activation memory at real sizes, on the CPU: an exported folder (random weights at real size:
export_model.py KIND --random-weights NAME --keep-unfused) is run one call per component at a
reduced size, with and without fused attention, and the measured peak is set beside the estimate
the engine's plans use (dolly.json "memory", activation_memory.py). Writes JSON that
`npm run bench` reads (bench/memory.ts); this is a benchmark, not a test.

    python tools/export/bench_memory.py --folder DIR --name sd15-animatediff-v3 --width 256 --height 256 \\
        --frames 8 --out src/shared/memory-realsize.json

Measured: each graph in a fresh process (onnxruntime 1.30, CPU provider, graph optimizations
'all' as the engine runs it except the CPU provider's own NCHWc layout transform, which no GPU
provider makes and which copies every 2D convolution's input and output into blocked layout:
with it the SD and SVD VAE decoders hold 1.20x what they hold without, 1612 against 1344 MB
for AnimateDiff's; CPU arena and memory patterns off so freed memory leaves the process;
glibc's mmap threshold 64 KiB so large frees go back at once). The graph runs twice: the first
run pages in the weights the session reads in place (mapped external data, convolution weights
it does not repack), which is not activation memory. Peak = the process's high-water resident
set during the second run minus its resident set just before (weights, inputs and the session
are already there), read from /proc/self/status after /proc/self/clear_refs. The
comparison adds the inputs' bytes back (inputBytes), since the estimate holds them from the start.

Estimated, at the same call: the rule of dolly.json (what the plans use) and the graph's peak
(activation_memory.graph_memory) computed directly at that size; for a float16 graph also with
float16 tensors counted as float32, since the CPU provider computes most float16 ops in float32
(onnxruntime inserts casts), which is what this CPU measurement sees.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

MEASURE = textwrap.dedent("""
    import json, re, sys, time
    import numpy as np, onnxruntime as ort
    path, feeds_spec = sys.argv[1], json.loads(sys.argv[2])
    def status():
        t = open('/proc/self/status').read()
        return {k: int(re.search(k + r':\\s+(\\d+)', t).group(1)) * 1024 for k in ('VmRSS', 'VmHWM')}
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.enable_cpu_mem_arena = False
    so.enable_mem_pattern = False
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    s = ort.InferenceSession(path, so, providers=['CPUExecutionProvider'], disabled_optimizers=['NchwcTransformer'])
    rng = np.random.default_rng(0)
    feeds = {}
    for name, (dtype, shape, value) in feeds_spec.items():
        if value is not None:
            feeds[name] = np.full(shape, value, dtype=dtype)
        elif dtype == 'int64':
            feeds[name] = rng.integers(0, 1000, shape).astype(np.int64)
        else:
            feeds[name] = rng.standard_normal(shape).astype(dtype)
    # one run first: weights the session reads in place (external data is mapped, and conv weights
    # are not repacked without the NCHWc transform) are paged in by their first use, which is not
    # activation memory; this run's tensors are freed when it returns (no arena)
    s.run(None, feeds)
    before = status()['VmRSS']
    open('/proc/self/clear_refs', 'w').write('5')
    t = time.time()
    out = s.run(None, feeds)[0]
    dt = time.time() - t
    peak = status()['VmHWM']
    print(json.dumps({'peakBytes': peak - before, 'rssBeforeBytes': before, 'seconds': round(dt, 1),
                      'finite': bool(np.isfinite(out.astype(np.float32)).all()), 'outShape': list(out.shape)}))
""")

ORT_DTYPE = {"tensor(float)": "float32", "tensor(float16)": "float16", "tensor(int64)": "int64",
             "tensor(int32)": "int32"}


def feeds_for(path: Path, bind: dict, b: int) -> dict:
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    s = ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])
    spec = {}
    for i in s.get_inputs():
        shape = [d if isinstance(d, int) else bind[d] for d in i.shape]
        value = None
        if i.name == "timestep":
            value = 500
        elif i.name == "num_frames":
            value = b
        elif i.name == "added_time_ids":
            value = 6.0
        elif i.name == "first_chunk":
            value = 0  # the Wan VAE: a later chunk (4 frames from one latent frame, the caches at full size)
        spec[i.name] = (ORT_DTYPE[i.type], shape, value)
    return spec


def measure(path: Path, spec: dict) -> dict:
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": "65536", "MALLOC_TRIM_THRESHOLD_": "65536"}
    r = subprocess.run([sys.executable, "-c", MEASURE, str(path), json.dumps(spec)], capture_output=True, text=True,
                       env=env)
    if r.returncode != 0:
        return {"error": f"exit {r.returncode}: " + (r.stderr.strip().splitlines() or [""])[-1][:400]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def float32_copies(comp_dir: Path, dst: Path) -> dict[str, Path]:
    """A float16 component's graphs (fused and as exported) converted to float32 in dst: weights,
    constants, casts and inputs become float32 (the architecture is unchanged), both graphs
    reading one weights file. The CPU provider computes a float16 graph partly in float32
    through casts it inserts; a float32 graph is what the estimate's method can be checked on."""
    import numpy as np
    import onnx
    from onnx import TensorProto, numpy_helper

    def convert(model):
        g = model.graph
        for t in list(g.initializer):
            if t.data_type == TensorProto.FLOAT16:
                t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(t).astype(np.float32), t.name))
        for n in g.node:
            if n.op_type == "Cast":
                for at in n.attribute:
                    if at.name == "to" and at.i == TensorProto.FLOAT16:
                        at.i = TensorProto.FLOAT
            for at in n.attribute:
                if at.type == onnx.AttributeProto.TENSOR and at.t.data_type == TensorProto.FLOAT16:
                    at.t.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(at.t).astype(np.float32), at.t.name))
        for v in list(g.input) + list(g.output):
            if v.type.tensor_type.elem_type == TensorProto.FLOAT16:
                v.type.tensor_type.elem_type = TensorProto.FLOAT
        del g.value_info[:]
        return model

    dst.mkdir(parents=True, exist_ok=True)
    out = {}
    fused = convert(onnx.load(str(comp_dir / "model.onnx"), load_external_data=True))
    onnx.save_model(fused, str(dst / "model.onnx"), save_as_external_data=True, all_tensors_to_one_file=True,
                    location="weights.bin", size_threshold=1024)
    out["fused"] = dst / "model.onnx"
    saved = {t.name: t for t in onnx.load(str(dst / "model.onnx"), load_external_data=False).graph.initializer}
    del fused
    if (comp_dir / "model.unfused.onnx").exists():
        unf = onnx.load(str(comp_dir / "model.unfused.onnx"), load_external_data=False)
        for t in unf.graph.initializer:
            if t.name in saved and saved[t.name].data_location == TensorProto.EXTERNAL:
                t.CopyFrom(saved[t.name])
            elif t.data_location == TensorProto.EXTERNAL:
                raise RuntimeError(f"{t.name}: in the unfused graph only")
        unf = convert(unf)
        onnx.save_model(unf, str(dst / "model.unfused.onnx"))
        out["unfused"] = dst / "model.unfused.onnx"
    return out


def _merge(old: list, new: list) -> list:
    """Rows of this run replace earlier rows of the same component, graph and call."""
    key = lambda r: (r["component"], r["graph"], json.dumps(r["call"], sort_keys=True))  # noqa: E731
    fresh = {key(r) for r in new}
    return [r for r in old if key(r) not in fresh] + new


def reestimate(folder: Path, rows: list, memory: dict) -> list:
    """Earlier rows' estimates recomputed with today's activation_memory (a float16 graph's
    converted copy has the same nodes: its estimate is the float16 graph's counted as float32)
    and their inputs' bytes added to the measurement; nothing runs."""
    import onnx

    from activation_memory import graph_memory

    out = []
    for r in rows:
        graph = {"fused": "model.onnx", "unfused": "model.unfused.onnx"}.get(r["graph"].split(" ")[0])
        path = folder / r["component"] / graph if graph else None
        if path is None or not path.exists() or "inputs" not in r:
            out.append(r)
            continue
        model = onnx.load(str(path), load_external_data=False)
        shapes = {n: tuple(v) for n, v in r["inputs"].items()}
        as_float32 = r["precision"] == "fp16" or "as float32" in r["graph"]
        values = {"first_chunk": [0]} if "first_chunk" in shapes else None
        cpu = graph_memory(model, cpu=True, input_shapes=shapes, input_values=values).peak({})[0]
        if "as float32" not in r["graph"]:
            key = "activations" if r["graph"] == "fused" else "activationsUnfused"
            c = r["call"]
            rule = memory.get(r["component"], {}).get(key)
            r = {**r, "graphBytes": graph_memory(model, input_shapes=shapes, input_values=values).peak({})[0],
                 "ruleBytes": round(rule_bytes(rule, c["batch"], c["frames"], c["width"], c["height"])) if rule else None}
        r = {**r, "cpuEstimateBytes": cpu, "inputBytes": input_bytes(model, shapes, 4 if as_float32 else 2)}
        if "peakBytes" in r:
            r["measuredOverEstimate"] = round((r["peakBytes"] + r["inputBytes"]) / max(1, cpu), 3)
        print(json.dumps({k: v for k, v in r.items() if k != "inputs"}), flush=True)
        out.append(r)
    return out


def _available_bytes() -> int:
    for line in open("/proc/meminfo"):
        if line.startswith("MemAvailable:"):
            return int(line.split()[1]) * 1024
    return 0


def rule_bytes(j: dict, b, f, w, h) -> float:
    from activation_memory import ActivationRule

    return ActivationRule.from_json(j).bytes(b, f, w, h)


def input_bytes(model, shapes: dict, float16_bytes: int) -> int:
    """The graph inputs' bytes at these shapes, counted as the estimate counts them: the
    measurement starts with the inputs already allocated, the estimate holds them from the start."""
    import math

    from onnx import TensorProto

    size = {TensorProto.FLOAT: 4, TensorProto.FLOAT16: float16_bytes, TensorProto.INT64: 8, TensorProto.INT32: 4,
            TensorProto.BOOL: 1}
    return sum(size.get(i.type.tensor_type.elem_type, 4) * math.prod(shapes[i.name])
               for i in model.graph.input if i.name in shapes)


def run_one(comp, graph, path, rule, precision, bind, b, rf, a, use_rule=True) -> dict:
    """Measures one graph at one call and sets the estimates beside it (the rule's only where
    the graph is the one the rule was fitted on)."""
    import onnx

    from activation_memory import graph_memory

    spec = feeds_for(path, bind, b)
    model = onnx.load(str(path), load_external_data=False)
    shapes = {n: tuple(x[1]) for n, x in spec.items()}
    # the graph's peak at exactly this call: shapes inferred with the inputs' concrete shapes, and
    # the values shape computations read (the Wan VAE's first_chunk picks which frames go on:
    # without it every tensor after that choice has an unknown size and counts as 0)
    values = {n: [x[2]] for n, x in spec.items() if n == "first_chunk"}
    est_graph = graph_memory(model, input_shapes=shapes, input_values=values).peak({})[0]
    cpu = est_graph
    if precision == "fp16":
        cpu = graph_memory(model, cpu=True, input_shapes=shapes, input_values=values).peak({})[0]
    t0 = time.time()
    avail = _available_bytes()
    if cpu > 0.6 * avail:  # never push this (shared) machine into its OOM killer
        m = {"skipped": f"needs ~{cpu / 2**30:.1f} GiB of activations; {avail / 2**30:.1f} GiB available"}
    else:
        m = measure(path, spec)
    row = {"component": comp, "graph": graph, "precision": precision,
           "call": {"batch": b, "frames": rf, "width": a.width, "height": a.height},
           "inputs": {n: x[1] for n, x in spec.items()},
           "ruleBytes": round(rule_bytes(rule, b, rf, a.width, a.height)) if use_rule else None,
           "graphBytes": est_graph, "cpuEstimateBytes": cpu,
           "inputBytes": input_bytes(model, shapes, 4 if precision == "fp16" else 2),
           **m, "wallSeconds": round(time.time() - t0, 1)}
    if "peakBytes" in m:
        # the inputs are there before the measurement starts; the estimate holds them throughout
        row["measuredOverEstimate"] = round((m["peakBytes"] + row["inputBytes"]) / max(1, cpu), 3)
    print(json.dumps(row), flush=True)
    return row


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--folder", required=True)
    p.add_argument("--name", required=True, help="the random_models.py config it was built from")
    p.add_argument("--width", type=int, required=True)
    p.add_argument("--height", type=int, required=True)
    p.add_argument("--frames", type=int, required=True)
    p.add_argument("--components", help="comma-separated (default: every component with a memory rule)")
    p.add_argument("--text-encoder-layers", type=int, help="the text encoder was built with this many blocks")
    p.add_argument("--denoiser-layers", type=int, help="the transformer denoiser was built with this many blocks")
    p.add_argument("--out", required=True, help="JSON file to update (one entry per --name)")
    p.add_argument("--float32-check", metavar="DIR",
                   help="also measure float16 components converted to float32, written under DIR (large)")
    p.add_argument("--reestimate", action="store_true",
                   help="measure nothing: recompute the CPU estimate of the model's float16 rows already in --out")
    p.add_argument("--refresh-only", action="store_true",
                   help="measure nothing: refresh the model's entry (dolly.json memory, weights) and keep its rows")
    p.add_argument("--float32-only", action="store_true",
                   help="with --float32-check: only the float32 conversions (keeps the other rows already in --out)")
    a = p.parse_args(argv)
    folder = Path(a.folder)
    dolly = json.loads((folder / "dolly.json").read_text())
    import onnx

    from activation_memory import cache_bindings, folder_config, render_bindings

    kind, cfg = folder_config(folder)
    vae_scale = cfg["vae_scale"]
    guidance_batch = 2
    # the batch of one call: the Wan VAE decodes one latent frame per call whatever the clip
    calls = {"text_encoder": 1, "image_encoder": 1, "vae_encoder": 1, "unet": guidance_batch,
             "transformer": guidance_batch, "transformer_2": guidance_batch,
             "vae_decoder": 1 if kind in ("cogvideox", "wan") else min(a.frames, 8)}
    wanted = a.components.split(",") if a.components else list(dolly.get("memory", {}))
    if a.refresh_only or a.reestimate:
        wanted = []
    rows = []
    for comp in wanted:
        b = calls[comp]
        frames = a.frames
        bind = render_bindings(kind, comp, b, frames, a.width, a.height, cfg)
        bind.update(cache_bindings(onnx.load(str(folder / comp / "model.onnx"), load_external_data=False), bind))
        mem = dolly["memory"][comp]
        # the rule's terms: frames are the clip's for denoisers and 3D VAEs, 1 for per-frame calls
        rf = frames if comp in ("unet", "transformer", "transformer_2") or (comp == "vae_decoder" and kind == "cogvideox") else 1
        graphs = [("fused", folder / comp / "model.onnx", "activations", mem.get("precision")),
                  ("unfused", folder / comp / "model.unfused.onnx", "activationsUnfused", mem.get("precision"))]
        for graph, path, key, precision in graphs:
            if path.exists() and key in mem and not a.float32_only:
                rows.append(run_one(comp, graph, path, mem[key], precision, bind, b, rf, a))
        if mem.get("precision") == "fp16" and a.float32_check:
            tmp = Path(a.float32_check) / comp
            for graph, path in float32_copies(folder / comp, tmp).items():
                key = "activations" if graph == "fused" else "activationsUnfused"
                rows.append(run_one(comp, f"{graph} (as float32)", path, mem[key], "fp32", bind, b, rf, a, use_rule=False))
            shutil.rmtree(tmp, ignore_errors=True)
    out = Path(a.out)
    data = json.loads(out.read_text()) if out.exists() else {}
    import onnxruntime

    from random_models import published_weight_bytes

    data["method"] = __doc__.split("Measured:")[1].strip()
    data["machine"] = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(),
                       "memGiB": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
                       "onnxruntime": onnxruntime.__version__}
    models = data.setdefault("models", {})
    prev = models.get(a.name, {})
    earlier = prev.get("measured", [])
    if a.reestimate:
        earlier = reestimate(folder, earlier, dolly["memory"])
    models[a.name] = {
        "pipeline": kind,
        "label": dolly.get("label"),
        "memory": dolly["memory"],
        "publishedWeightBytes": published_weight_bytes(a.name, dolly["precision"]),
        # what the folder was built with: a run that measures nothing keeps what the last one said
        "textEncoderLayers": a.text_encoder_layers if a.text_encoder_layers or wanted else prev.get("textEncoderLayers"),
        "denoiserLayers": a.denoiser_layers if a.denoiser_layers or wanted else prev.get("denoiserLayers"),
        "decodeChunk": {"animatediff": 16, "svd": "all", "cogvideox": None, "wan": None}[kind],
        "vaeScale": vae_scale,
        "native": {"width": dolly.get("nativeWidth"), "height": dolly.get("nativeHeight"),
                   "frames": dolly.get("nativeFrames")},
        "measured": _merge(earlier, rows),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"bench_memory: wrote {out}", flush=True)


if __name__ == "__main__":
    main()
