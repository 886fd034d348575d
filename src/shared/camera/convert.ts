// Camera conventions (../shared/DOMAIN.md, "Camera conventions"):
//   three.js: camera-to-world, OpenGL axes (x right, y up, looks down -z)
//   OpenCV:   x right, y down, z forward; c2w_cv = c2w_gl * diag(1, -1, -1, 1); w2c = inverse
//   MotionCtrl: per frame the 3x4 world-to-camera [R|t], row-major (12 numbers), relative to
//     frame 0 (R_rel = R_i R_0^T, t_rel = t_i - R_rel t_0), translation scaled per model
//   CameraCtrl / RealEstate10K: `timestamp fx fy cx cy 0 0 w2c(3x4)` with intrinsics
//     normalised by image width/height; Plücker rays (o x d, d) per pixel.
import { mat3Mul, mat3T, mat3ToQ, mat3Vec, qToMat3, type Mat3, type Vec3 } from './math'
import type { CameraPose } from './trajectory'

/** World-to-camera [R | t] in OpenCV axes. */
export type W2C = { R: Mat3; t: Vec3 }

const FLIP_YZ = (m: Mat3): Mat3 => [m[0], -m[1], -m[2], m[3], -m[4], -m[5], m[6], -m[7], -m[8]]

/** three.js pose -> OpenCV world-to-camera. */
export function threeToOpenCv(p: CameraPose): W2C {
  const Rc2w = FLIP_YZ(qToMat3(p.rotation)) // OpenCV camera axes in world space (columns)
  const R = mat3T(Rc2w)
  const t = mat3Vec(R, p.position).map((v) => -v) as Vec3
  return { R, t }
}

/** OpenCV world-to-camera -> three.js pose (fov is carried separately). */
export function openCvToThree(w: W2C, fov: number): CameraPose {
  const Rc2w = mat3T(w.R)
  const position = mat3Vec(Rc2w, w.t).map((v) => -v) as Vec3
  return { position, rotation: mat3ToQ(FLIP_YZ(Rc2w)), fov }
}

/** Poses relative to the first: R_rel = R_i R_0^T, t_rel = t_i - R_rel t_0. */
export function relativeToFirst(ws: W2C[]): W2C[] {
  if (ws.length === 0) return []
  const R0T = mat3T(ws[0]!.R)
  const t0 = ws[0]!.t
  return ws.map((w) => {
    const R = mat3Mul(w.R, R0T)
    const Rt0 = mat3Vec(R, t0)
    return { R, t: [w.t[0] - Rt0[0], w.t[1] - Rt0[1], w.t[2] - Rt0[2]] }
  })
}

export type TranslationScale = number | [number, number, number]

/**
 * MotionCtrl's camera input for one video: [F, 12] (R row-major with t as the 4th column of
 * each row: r00 r01 r02 t0 r10 r11 r12 t1 r20 r21 r22 t2). As MotionCtrl's get_RT does it
 * (svd branch, main/inference/motionctrl_cmcm.py): the model's translation scale is applied to
 * each absolute world-to-camera translation first, and the poses are then made relative to
 * frame 0 (to_relative_RT2). With an anisotropic scale ([3, 1, 4]) the order matters.
 */
export function motionCtrlRT(
  poses: CameraPose[],
  translationScale: TranslationScale = 1,
): Float32Array {
  const s: Vec3 =
    typeof translationScale === 'number'
      ? [translationScale, translationScale, translationScale]
      : translationScale
  const scaled = poses.map((p) => {
    const w = threeToOpenCv(p)
    return { R: w.R, t: [w.t[0] * s[0], w.t[1] * s[1], w.t[2] * s[2]] as Vec3 }
  })
  const rel = relativeToFirst(scaled)
  const out = new Float32Array(rel.length * 12)
  rel.forEach((w, i) => out.set(w2cToRow(w), i * 12))
  return out
}

/** One RT row of 12 (as MotionCtrl JSON stores it) -> W2C. */
export function rowToW2C(row: ArrayLike<number>): W2C {
  return {
    R: [row[0]!, row[1]!, row[2]!, row[4]!, row[5]!, row[6]!, row[8]!, row[9]!, row[10]!],
    t: [row[3]!, row[7]!, row[11]!],
  }
}

export function w2cToRow(w: W2C): number[] {
  return [
    w.R[0],
    w.R[1],
    w.R[2],
    w.t[0],
    w.R[3],
    w.R[4],
    w.R[5],
    w.t[1],
    w.R[6],
    w.R[7],
    w.R[8],
    w.t[2],
  ]
}

/** Normalised intrinsics for a vertical fov and an aspect (width / height), square pixels. */
export function intrinsicsFromFov(
  fovDeg: number,
  aspect: number,
): { fx: number; fy: number; cx: number; cy: number } {
  const fy = 1 / (2 * Math.tan((fovDeg * Math.PI) / 360))
  return { fx: fy / aspect, fy, cx: 0.5, cy: 0.5 }
}

/** Vertical fov (degrees) from normalised fy. */
export function fovFromFy(fy: number): number {
  return (2 * Math.atan(1 / (2 * fy)) * 180) / Math.PI
}

/**
 * CameraCtrl's Plücker embedding [B=1, 6, F, H, W] (float32): for each pixel centre
 * (u + 0.5, v + 0.5), d = normalize(((u-cx)/fx, (v-cy)/fy, 1)) in camera (OpenCV) axes,
 * rotated to world by the camera-to-world rotation; o = the camera centre; channels
 * (o x d, d). Poses are made relative to the first frame (c2w_rel = w2c_0 c2w_i).
 */
export function pluckerEmbedding(poses: CameraPose[], width: number, height: number): Float32Array {
  const F = poses.length
  const rel = relativeToFirst(poses.map(threeToOpenCv))
  const out = new Float32Array(6 * F * height * width)
  const plane = height * width
  poses.forEach((p, f) => {
    const K = intrinsicsFromFov(p.fov, width / height)
    const fx = K.fx * width
    const fy = K.fy * height
    const cx = K.cx * width
    const cy = K.cy * height
    const w = rel[f]!
    const Rc2w = mat3T(w.R)
    const o = mat3Vec(Rc2w, w.t).map((v) => -v) as Vec3
    for (let v = 0; v < height; v++) {
      for (let u = 0; u < width; u++) {
        let dx = (u + 0.5 - cx) / fx
        let dy = (v + 0.5 - cy) / fy
        let dz = 1
        const n = Math.hypot(dx, dy, dz)
        dx /= n
        dy /= n
        dz /= n
        const d = mat3Vec(Rc2w, [dx, dy, dz])
        const m: Vec3 = [
          o[1] * d[2] - o[2] * d[1],
          o[2] * d[0] - o[0] * d[2],
          o[0] * d[1] - o[1] * d[0],
        ]
        const px = v * width + u
        for (let c = 0; c < 3; c++) {
          out[(c * F + f) * plane + px] = m[c]!
          out[((c + 3) * F + f) * plane + px] = d[c]!
        }
      }
    }
  })
  return out
}
