#!/usr/bin/env python3
"""MotionCtrl's camera input for its shipped pose files, computed as MotionCtrl computes it, for
the engine's tests (test/data/motionctrl/poses.json).

    python tools/reference/motionctrl_poses.py MOTIONCTRL_GIT_DIR

MOTIONCTRL_GIT_DIR is a git directory of TencentARC/MotionCtrl (branches `svd` and
`animatediff`). The rule is MotionCtrl's SVD entry point (main/inference/motionctrl_cmcm.py,
get_RT and to_relative_RT2): a file with more rows than the clip has frames gives its central
rows, the absolute translation is scaled per axis ([3, 1, 4] * speed) and only then made
relative to frame 0: R_rel = R_i R_0^T, t_rel = t_i - R_rel t_0. The shipped rows are numbers
(facts), copied into the test data with the result; MotionCtrl's code is not.

Not run in CI: the JSON it writes is committed.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]

# (branch, file, frames, scale, speed)
CASES = [
    ("svd", "examples/camera_poses/test_camera_Round-RI.json", 14, [3, 1, 4], 1.0),
    ("svd", "examples/camera_poses/test_camera_Round-RI.json", 16, [3, 1, 4], 1.0),
    ("svd", "examples/camera_poses/test_camera_L.json", 14, [3, 1, 4], 1.0),
    ("svd", "examples/camera_poses/test_camera_SPIN-CW-60.json", 14, [3, 1, 4], 2.0),
    ("svd", "examples/camera_poses/test_camera_Round-ZoomIn.json", 14, [3, 1, 4], 0.5),
    ("svd", "examples/camera_poses/test_camera_d971457c81bca597.json", 14, [3, 1, 4], 1.0),
    ("svd", "examples/camera_poses/test_camera_I.json", 14, [1.5, 1, 1.3], 1.0),
]


# MotionCtrl's basic camera presets (svd branch, examples/camera_poses/test_camera_<name>.json)
PRESETS = ["L", "R", "U", "D", "I", "O", "SPIN-CW-60", "SPIN-ACW-60", "Round-RI", "Round-ZoomIn"]


def motionctrl_rt(rows: np.ndarray, frames: int, scale, speed: float) -> np.ndarray:
    pose = rows.copy()
    if pose.shape[0] > frames:
        half = (pose.shape[0] - frames) // 2
        pose = pose[half : half + frames]
    pose = pose.reshape(-1, 3, 4)
    pose[:, :, -1] = pose[:, :, -1] * np.array(scale) * speed
    R, T = pose[:, :, :3], pose[:, :, 3:]
    R0inv = np.repeat(R[0:1], len(pose), axis=0).transpose(0, 2, 1)
    Rrel = R @ R0inv
    Trel = T - Rrel @ np.repeat(T[0:1], len(pose), axis=0)
    return np.concatenate([Rrel, Trel], axis=-1).reshape(-1, 12)


def main() -> None:
    git = sys.argv[1] if len(sys.argv) > 1 else sys.exit(__doc__)
    out = []
    for branch, path, frames, scale, speed in CASES:
        text = subprocess.check_output(["git", f"--git-dir={git}", "show", f"{branch}:{path}"], text=True)
        rows = np.array(json.loads(text), dtype=np.float64)
        rt = motionctrl_rt(rows, frames, scale, speed)
        out.append(
            {
                "name": Path(path).stem.replace("test_camera_", ""),
                "source": f"TencentARC/MotionCtrl@{branch}:{path}",
                "rows": rows.tolist(),
                "frames": frames,
                "scale": scale,
                "speed": speed,
                "rt": rt.tolist(),
            }
        )
    dst = ROOT / "test/data/motionctrl/poses.json"
    dst.write_text(json.dumps(out, indent=1) + "\n")
    print(f"wrote {dst} ({len(out)} cases)")
    # the basic presets' rows as shipped (16 frames each), for the editor's MotionCtrl presets
    presets = {}
    for name in PRESETS:
        text = subprocess.check_output(
            ["git", f"--git-dir={git}", "show", f"svd:examples/camera_poses/test_camera_{name}.json"], text=True
        )
        presets[name] = json.loads(text)
    dst = ROOT / "test/data/motionctrl/presets.json"
    dst.write_text(json.dumps(presets) + "\n")
    print(f"wrote {dst} ({len(presets)} presets)")


if __name__ == "__main__":
    main()
