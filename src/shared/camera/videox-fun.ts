// The camera input of VideoX-Fun's Wan-Fun "Control-Camera" models, as VideoX-Fun builds it:
//   1. pose rows in CameraCtrl's RealEstate10K layout: timestamp fx fy cx cy 0 0 + a 3x4
//      world-to-camera (OpenCV axes), intrinsics normalised by the image size
//      (videox_fun/data/utils.py, Camera / process_pose_file)
//   2. process_pose_params(rows, width, height): the intrinsics are read as those of a 1280x720
//      original and refitted to the clip's aspect; c2w relative to the first camera
//      (get_relative_pose); ray_condition: per pixel centre the ray d = normalize(((u+0.5-cx)/fx,
//      (v+0.5-cy)/fy, 1)) rotated to world, o the camera centre, Plücker (o x d, d) -> [F, H, W, 6]
//   3. WanFunControlPipeline.__call__: the first frame repeated 4 times in front, then every 4
//      frames stacked on the channels: [1, 24, (F + 3) / 4, H, W], channel = ray channel * 4 + k.
// Editor paths become rows with the path's vertical field of view and square pixels in a 16:9
// frame (what VideoX-Fun's pose assets hold: fx 0.532, fy 0.946).
import { mat3T, mat3Vec, type Mat3, type Vec3 } from './math'
import { rowToW2C, threeToOpenCv, w2cToRow } from './convert'
import type { CameraPose, Trajectory } from './trajectory'

/** The original aspect VideoX-Fun reads pose intrinsics against (process_pose_params' defaults). */
export const VIDEOX_FUN_POSE_SIZE = { width: 1280, height: 720 } as const

/** The vertical field of view of VideoX-Fun's camera assets (asset/*.txt: fy 0.946026558). */
export const VIDEOX_FUN_FOV = (2 * Math.atan(1 / (2 * 0.946026558)) * 180) / Math.PI

/** One pose row: [timestamp, fx, fy, cx, cy, 0, 0, r00 r01 r02 t0 r10 r11 r12 t1 r20 r21 r22 t2]. */
export type PoseRow = number[]

export class PoseRowsError extends Error {}

/** The rows of a RealEstate10K / CameraCtrl pose file (first line the URL), as written. */
export function readPoseRows(text: string): PoseRow[] {
  const lines = text.split(/\r?\n/)
  const rows: PoseRow[] = []
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (!line) continue
    const nums = line.split(/\s+/).map(Number)
    if (nums.length !== 19)
      throw new PoseRowsError(
        `line ${i + 1}: has ${nums.length} values; expected 19 (timestamp fx fy cx cy 0 0 and a 3x4 world-to-camera)`,
      )
    const bad = nums.findIndex((v) => !Number.isFinite(v))
    if (bad >= 0) throw new PoseRowsError(`line ${i + 1}: value ${bad + 1} is not a finite number`)
    if (!(nums[1]! > 0) || !(nums[2]! > 0))
      throw new PoseRowsError(
        `line ${i + 1}: focal lengths must be positive, found fx=${nums[1]} fy=${nums[2]}`,
      )
    rows.push(nums)
  }
  if (!rows.length) throw new PoseRowsError('the file has no camera lines after its URL line')
  return rows
}

/** Pose rows for an editor path: its vertical fov, square pixels in a 1280x720 frame, centred. */
export function poseRowsFromPath(poses: CameraPose[]): PoseRow[] {
  const { width, height } = VIDEOX_FUN_POSE_SIZE
  return poses.map((p, i) => {
    const fy = 1 / (2 * Math.tan((p.fov * Math.PI) / 360))
    const fx = (fy * height) / width
    return [i, fx, fy, 0.5, 0.5, 0, 0, ...w2cToRow(threeToOpenCv(p))]
  })
}

/**
 * Camera travel (the motion slider on Plücker models): every camera centre moved along its
 * offset from the first one by `k` (1 keeps the path, 0 holds the first position, 2 doubles it).
 */
export function scaleTravel(rows: PoseRow[], k: number): PoseRow[] {
  if (k === 1 || !rows.length) return rows
  const centre = (r: PoseRow): Vec3 => {
    const w = rowToW2C(r.slice(7))
    return mat3Vec(mat3T(w.R), w.t).map((v) => -v) as Vec3
  }
  const c0 = centre(rows[0]!)
  return rows.map((r) => {
    const w = rowToW2C(r.slice(7))
    const c = centre(r)
    const moved: Vec3 = [
      c0[0] + k * (c[0] - c0[0]),
      c0[1] + k * (c[1] - c0[1]),
      c0[2] + k * (c[2] - c0[2]),
    ]
    const t = mat3Vec(w.R, moved).map((v) => -v) as Vec3
    return [...r.slice(0, 7), ...w2cToRow({ R: w.R, t })]
  })
}

/** 4x4 helpers (row-major, float64 as numpy computes get_relative_pose). */
type Mat4 = number[]
function w2c4(row: PoseRow): Mat4 {
  const m = row.slice(7)
  return [...m.slice(0, 4), ...m.slice(4, 8), ...m.slice(8, 12), 0, 0, 0, 1]
}
function mul4(a: Mat4, b: Mat4): Mat4 {
  const o = new Array<number>(16).fill(0)
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 4; j++) {
      let s = 0
      for (let k = 0; k < 4; k++) s += a[i * 4 + k]! * b[k * 4 + j]!
      o[i * 4 + j] = s
    }
  return o
}
/** The inverse of a rigid [R | t; 0 0 0 1] (numpy's inv gives the same to rounding). */
function invRigid(m: Mat4): Mat4 {
  const R: Mat3 = [m[0]!, m[1]!, m[2]!, m[4]!, m[5]!, m[6]!, m[8]!, m[9]!, m[10]!]
  const Rt = mat3T(R)
  const t = mat3Vec(Rt, [m[3]!, m[7]!, m[11]!]).map((v) => -v)
  return [
    Rt[0],
    Rt[1],
    Rt[2],
    t[0]!,
    Rt[3],
    Rt[4],
    Rt[5],
    t[1]!,
    Rt[6],
    Rt[7],
    Rt[8],
    t[2]!,
    0,
    0,
    0,
    1,
  ]
}

const f32 = Math.fround

/**
 * VideoX-Fun's camera control input for a clip of `rows.length` frames (4k+1) at width x height:
 * process_pose_params, then the pipeline's grouping. Returns [24, (F + 3) / 4, height, width]
 * (batch 1), float32.
 */
export function videoxFunControlCamera(
  rows: PoseRow[],
  width: number,
  height: number,
): Float32Array {
  const F = rows.length
  if ((F - 1) % 4 !== 0)
    throw new PoseRowsError(
      `${F} pose rows; Wan-Fun groups 4 frames per latent frame after the first (4k+1 rows)`,
    )
  // intrinsics refitted from the 1280x720 original to the clip's aspect, in pixels (float32)
  const sampleRatio = width / height
  const poseRatio = VIDEOX_FUN_POSE_SIZE.width / VIDEOX_FUN_POSE_SIZE.height
  const K = rows.map((r) => {
    let [fx, fy] = [r[1]!, r[2]!]
    if (poseRatio > sampleRatio) fx = (height * poseRatio * fx) / width
    else fy = ((width / poseRatio) * fy) / height
    return [f32(fx * width), f32(fy * height), f32(r[3]! * width), f32(r[4]! * height)] as const
  })
  // get_relative_pose: c2w_rel_i = w2c_0 c2w_i (the first exactly the identity), float32
  const abs2rel = w2c4(rows[0]!)
  const c2ws = rows.map((r, i) =>
    (i === 0
      ? [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1]
      : mul4(abs2rel, invRigid(w2c4(r)))
    ).map(f32),
  )
  const Fl = (F - 1) / 4 + 1
  const plane = width * height
  const out = new Float32Array(24 * Fl * plane)
  // the frame each (latent frame, k) slot holds: the first repeated 4 times, then 4 per group
  const frameOf = (g: number, k: number) => (g === 0 ? 0 : 4 * g - 3 + k)
  const rays = new Float32Array(6 * plane)
  for (let f = 0; f < F; f++) {
    const [fx, fy, cx, cy] = K[f]!
    const m = c2ws[f]!
    const o = [m[3]!, m[7]!, m[11]!]
    for (let v = 0; v < height; v++)
      for (let u = 0; u < width; u++) {
        const x = f32(f32(f32(u + 0.5) - cx) / fx)
        const y = f32(f32(f32(v + 0.5) - cy) / fy)
        const n = f32(Math.sqrt(f32(f32(f32(x * x) + f32(y * y)) + 1)))
        const d = [f32(x / n), f32(y / n), f32(1 / n)]
        // directions @ R^T: d_world[k] = sum_m d[m] R[k][m]
        const dw = [0, 1, 2].map((k) =>
          f32(d[0]! * m[k * 4]! + d[1]! * m[k * 4 + 1]! + d[2]! * m[k * 4 + 2]!),
        )
        const px = v * width + u
        rays[0 * plane + px] = f32(o[1]! * dw[2]! - o[2]! * dw[1]!)
        rays[1 * plane + px] = f32(o[2]! * dw[0]! - o[0]! * dw[2]!)
        rays[2 * plane + px] = f32(o[0]! * dw[1]! - o[1]! * dw[0]!)
        rays[3 * plane + px] = dw[0]!
        rays[4 * plane + px] = dw[1]!
        rays[5 * plane + px] = dw[2]!
      }
    for (let g = 0; g < Fl; g++)
      for (let k = 0; k < 4; k++) {
        if (frameOf(g, k) !== f) continue
        for (let c = 0; c < 6; c++)
          out.set(rays.subarray(c * plane, (c + 1) * plane), ((c * 4 + k) * Fl + g) * plane)
      }
  }
  return out
}

/**
 * The lens a Plücker camera model (Wan-Fun) sees a path through, for the editor: the model's field
 * of view and the clip's aspect, and whether the path's keyframes use that field of view (its rays
 * are the path's own lens; a model trained at one fov sees another as a different camera).
 */
export function pluckerLens(
  t: Trajectory,
  modelFov: number,
  width: number,
  height: number,
  label: string,
): { aspect: number; matches: boolean; message: string } {
  const fovs = t.keyframes.map((k) => k.fov)
  const min = Math.min(...fovs)
  const max = Math.max(...fovs)
  const matches = fovs.every((f) => Math.abs(f - modelFov) < 0.5)
  const lens = `${label} reads the path as Plücker rays through a ${modelFov.toFixed(1)}° lens (vertical) at ${width}×${height}; the rays depend on both`
  const path = min === max ? `${min.toFixed(1)}°` : `${min.toFixed(1)}° to ${max.toFixed(1)}°`
  return {
    aspect: width / height,
    matches,
    message: matches
      ? `${lens}.`
      : `${lens}. This path's keyframes use ${path}, and its rays follow them.`,
  }
}

/** Every keyframe's field of view set to `fov` (the model's lens), in one edit. */
export function withFov(t: Trajectory, fov: number): Trajectory {
  return { ...t, keyframes: t.keyframes.map((k) => ({ ...k, fov })) }
}
