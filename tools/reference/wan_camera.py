#!/usr/bin/env python3
"""Reference numbers for the Wan pipelines' inputs, computed by the code that defines them, for the
engine's tests (test/data/wan-camera.json):

- VideoX-Fun's camera input of Wan-Fun Control-Camera: process_pose_params (and the Camera,
  get_relative_pose, ray_condition it calls) from videox_fun/data/utils.py, then the lines of
  WanFunControlPipeline.__call__ that group the Plücker frames 4 per latent frame
  (videox_fun/pipeline/pipeline_wan_fun_control.py), run on VideoX-Fun's own pose assets and on
  an editor-style path.
- transformers' CLIPImageProcessor (the PIL backend diffusers' WanImageToVideoPipeline gets without
  torchvision) on a PNG: the 2.1 I2V CLIP input.

    python tools/reference/wan_camera.py VIDEOX_FUN_SRC VIDEOX_FUN_GIT_DIR

VIDEOX_FUN_SRC is a folder holding VideoX-Fun's files (git archive of aigc-apps/VideoX-Fun, outside
this repository); VIDEOX_FUN_GIT_DIR its git directory (for asset/*.txt). utils.py imports cv2 and
decord at the top, which the functions used here do not need: they are read from the file and run
as VideoX-Fun wrote them (einops must be importable). Nothing of VideoX-Fun's is copied into the
repository; the pose rows (numbers) are, with the results.

Not run in CI: the JSON it writes is committed.
"""
from __future__ import annotations

import ast
import base64
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared"
OUT = ROOT / "test/data/wan-camera.json"


def load_videox_fun(src: Path) -> dict:
    """Camera, custom_meshgrid, get_relative_pose, ray_condition, process_pose_params as defined in
    videox_fun/data/utils.py, without the module's unrelated imports."""
    from einops import rearrange
    from packaging import version as pver

    path = src / "videox_fun/data/utils.py"
    tree = ast.parse(path.read_text())
    want = {"Camera", "custom_meshgrid", "get_relative_pose", "ray_condition", "process_pose_params"}
    nodes = [n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and n.name in want]
    missing = want - {n.name for n in nodes}
    if missing:
        sys.exit(f"{path}: no {', '.join(sorted(missing))}")
    ns = {"np": np, "torch": torch, "pver": pver, "rearrange": rearrange}
    exec(compile(ast.Module(body=nodes, type_ignores=[]), str(path), "exec"), ns)
    return ns


def grouping_code(src: Path) -> str:
    """WanFunControlPipeline.__call__'s statements from `control_camera_latents = torch.concat(` to
    the `.transpose(1, 2)` that ends the grouping, dedented."""
    path = src / "videox_fun/pipeline/pipeline_wan_fun_control.py"
    lines = path.read_text().splitlines()
    start = next(i for i, l in enumerate(lines) if "control_camera_latents = torch.concat(" in l)
    end = next(i for i in range(start, len(lines)) if "view(b, f // 4, c * 4, h, w).transpose(1, 2)" in lines[i])
    block = lines[start:end + 1]
    indent = min(len(l) - len(l.lstrip()) for l in block if l.strip())
    return "\n".join(l[indent:] for l in block)


def camera_input(vf: dict, grouping: str, rows: list, width: int, height: int) -> np.ndarray:
    """predict_v2v_control_camera.py's `process_pose_file(...)[:video_length].permute([3, 0, 1, 2])
    .unsqueeze(0)`, then the pipeline's grouping: [1, 24, latent frames, H, W]."""
    plucker = vf["process_pose_params"](rows, width, height)
    control_camera_video = plucker[: len(rows)].permute([3, 0, 1, 2]).unsqueeze(0)
    ns = {"torch": torch, "control_camera_video": control_camera_video}
    exec(grouping, ns)
    return ns["control_camera_latents"].numpy()


def asset_rows(git_dir: Path, name: str) -> list:
    text = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"HEAD:asset/{name}"], check=True,
                          capture_output=True, text=True).stdout
    return [[float(x) for x in line.split()] for line in text.splitlines()[1:] if line.strip()]


def editor_rows(n: int) -> tuple[list, list]:
    """An orbit that starts away from the origin, turning, with a zoom: three.js poses (camera-to-world,
    OpenGL axes) and the rows the engine writes for them (poseRowsFromPath: the vertical fov, square
    pixels in a 1280x720 frame, centred; world-to-camera in OpenCV axes)."""
    poses, rows = [], []
    for i in range(n):
        a = 0.3 + 0.12 * i
        pos = [2.5 * math.sin(a), 0.4 + 0.05 * i, 2.5 * math.cos(a)]
        # yaw a about y, then a small pitch: a quaternion [x, y, z, w]
        yaw, pitch = a, -0.1
        qy = [0.0, math.sin(yaw / 2), 0.0, math.cos(yaw / 2)]
        qx = [math.sin(pitch / 2), 0.0, 0.0, math.cos(pitch / 2)]
        q = _qmul(qy, qx)
        fov = 55.7 - 1.5 * i
        poses.append({"position": pos, "rotation": q, "fov": fov})
        R = _qmat(q)  # camera-to-world, OpenGL axes
        Rcv = R @ np.diag([1.0, -1.0, -1.0])  # OpenCV camera axes in world space
        w2c_R = Rcv.T
        t = -w2c_R @ np.array(pos)
        fy = 1 / (2 * math.tan(math.radians(fov) / 2))
        row = [float(i), fy * 720 / 1280, fy, 0.5, 0.5, 0.0, 0.0]
        for r in range(3):
            row += [float(w2c_R[r, 0]), float(w2c_R[r, 1]), float(w2c_R[r, 2]), float(t[r])]
        rows.append(row)
    return poses, rows


def _qmul(a, b):
    ax, ay, az, aw = a
    bx, by, bz, bw = b
    return [aw * bx + ax * bw + ay * bz - az * by, aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw, aw * bw - ax * bx - ay * by - az * bz]


def _qmat(q):
    x, y, z, w = q
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def b64(a: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(a, dtype="<f4").tobytes()).decode()


def clip_pixels() -> dict:
    from PIL import Image
    from transformers import CLIPImageProcessor

    proc = CLIPImageProcessor()  # the PIL backend without torchvision: shortest edge 224 bicubic, crop 224
    img = Image.open(SHARED / "fixtures/images/chelsea.png").convert("RGB")
    px = proc(images=img, return_tensors="np")["pixel_values"][0]
    stride = 13
    return {"image": "fixtures/images/chelsea.png", "processor": type(proc).__name__, "shape": list(px.shape),
            "stride": stride, "values": b64(px.reshape(-1)[::stride]), "sum": float(px.astype(np.float64).sum())}


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    src, git_dir = Path(sys.argv[1]), Path(sys.argv[2])
    vf = load_videox_fun(src)
    grouping = grouping_code(src)
    cases = []
    for name, rows, w, h in [
        ("Pan_Left.txt (first 9 rows), 32x16 (wider than 16:9)", asset_rows(git_dir, "Pan_Left.txt")[:9], 32, 16),
        ("CW.txt (first 5 rows), 24x20 (narrower than 16:9)", asset_rows(git_dir, "CW.txt")[:5], 24, 20),
    ]:
        out = camera_input(vf, grouping, rows, w, h)
        cases.append({"name": name, "width": w, "height": h, "rows": rows, "shape": list(out.shape[1:]),
                      "control": b64(out[0])})
    poses, rows = editor_rows(9)
    out = camera_input(vf, grouping, rows, 20, 12)
    cases.append({"name": "editor orbit with zoom, 9 frames, 20x12", "width": 20, "height": 12, "poses": poses,
                  "rows": rows, "shape": list(out.shape[1:]), "control": b64(out[0])})
    data = {"how_built": "tools/reference/wan_camera.py: VideoX-Fun's process_pose_params and "
                         "WanFunControlPipeline's grouping; transformers' CLIPImageProcessor",
            "torch_version": torch.__version__, "camera": cases, "clip": clip_pixels()}
    OUT.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size // 1024} KB)")


if __name__ == "__main__":
    main()
