// What the camera math can carry: positions within ±MAX_POSITION scene units (the engine works
// in float32, and the poses feed MotionCtrl's RT rows and Plücker rays), rotations as unit
// quaternions (within ROTATION_TOLERANCE of length 1), fields of view from 1° to 170°, and
// bezier easing handles CSS-style (x in 0..1, y within ±MAX_HANDLE_Y). Keyframe positions of
// ±1e308 used to pass, and the clip rendered all black and was marked done.
import type { CameraPose, Trajectory } from './trajectory'
import { sampleTrajectory } from './trajectory'

export const MAX_POSITION = 10_000
export const ROTATION_TOLERANCE = 0.01
export const MIN_FOV = 1
export const MAX_FOV = 170
export const MAX_HANDLE_Y = 10
/** A preset's speed: how far its move goes in the clip (1 = the preset's own distance). */
export const PRESET_SPEED = { min: 0, max: 10 } as const
/** The most frames a trajectory samples, and the latest frame a keyframe may sit at. */
export const MAX_TRAJECTORY_FRAMES = 1024
export const MAX_KEYFRAME_FRAME = 10_000

/** Why a position is out of bounds, or null. */
export function positionProblem(p: readonly number[]): string | null {
  const i = p.findIndex((v) => !Number.isFinite(v) || Math.abs(v) > MAX_POSITION)
  return i < 0
    ? null
    : `${'xyz'[i]} is ${p[i]}; positions must be finite and within ±${MAX_POSITION}`
}

/** Why a rotation is not a unit quaternion, or null. */
export function quaternionProblem(q: readonly number[]): string | null {
  if (q.length !== 4 || !q.every(Number.isFinite))
    return 'a rotation must be 4 finite numbers (a quaternion x, y, z, w)'
  const len = Math.hypot(...q)
  return Math.abs(len - 1) <= ROTATION_TOLERANCE
    ? null
    : `a rotation must be a unit quaternion (length 1 ± ${ROTATION_TOLERANCE}); this one has length ${len.toPrecision(4)}`
}

export function fovProblem(fov: number): string | null {
  return Number.isFinite(fov) && fov >= MIN_FOV && fov <= MAX_FOV
    ? null
    : `the field of view is ${Number.isFinite(fov) ? +fov.toFixed(2) : fov}°; expected ${MIN_FOV}° to ${MAX_FOV}°`
}

/** Why a pose is outside what the math can carry, or null. */
export function poseProblem(p: CameraPose): string | null {
  const pos = positionProblem(p.position)
  if (pos) return `position ${pos}`
  return quaternionProblem(p.rotation) ?? fovProblem(p.fov)
}

/**
 * Why a trajectory cannot be rendered, naming the keyframe and the value, or null: every
 * keyframe's values, then every sampled pose (for `frames` frames).
 */
export function trajectoryProblem(t: Trajectory, frames = t.frames): string | null {
  if (!Number.isInteger(t.frames) || t.frames < 1 || t.frames > MAX_TRAJECTORY_FRAMES)
    return `the trajectory's frames is ${t.frames}; expected 1 to ${MAX_TRAJECTORY_FRAMES}`
  const target = positionProblem(t.target)
  if (target) return `target ${target}`
  for (const [i, k] of t.keyframes.entries()) {
    const where = `keyframe ${i + 1} (${k.id})`
    if (!Number.isFinite(k.frame) || k.frame < 0 || k.frame > MAX_KEYFRAME_FRAME)
      return `${where}: frame ${k.frame}; expected 0 to ${MAX_KEYFRAME_FRAME}`
    const p = poseProblem(k)
    if (p) return `${where}: ${p}`
    if (k.easing.type === 'bezier') {
      const [x1, y1, x2, y2] = k.easing.handles
      if (![x1, x2].every((x) => Number.isFinite(x) && x >= 0 && x <= 1))
        return `${where}: bezier handles x must be within 0..1, found ${x1} and ${x2}`
      if (![y1, y2].every((y) => Number.isFinite(y) && Math.abs(y) <= MAX_HANDLE_Y))
        return `${where}: bezier handles y must be within ±${MAX_HANDLE_Y}, found ${y1} and ${y2}`
    }
  }
  let poses: CameraPose[]
  try {
    poses = sampleTrajectory(t, frames)
  } catch (err) {
    return `the path cannot be sampled: ${err instanceof Error ? err.message : err}`
  }
  for (const [i, p] of poses.entries()) {
    const problem = poseProblem(p)
    if (problem) return `frame ${i} of the sampled path: ${problem}`
  }
  return null
}
