// Closed camera paths for looping clips: the path returns to where it started (the last key
// holds the first key's pose) and, sampled periodically, the tangent where it closes is the
// same on both sides of the seam, so a clip played in a loop has no jump in the camera.
import { qNormalize, type Quat } from './math'
import {
  newKeyframeId,
  sampleTrajectory,
  type CameraPose,
  type Keyframe,
  type Trajectory,
} from './trajectory'

const EPS = 1e-6

function samePose(a: Keyframe, b: Keyframe): boolean {
  const dq = Math.abs(
    a.rotation[0] * b.rotation[0] +
      a.rotation[1] * b.rotation[1] +
      a.rotation[2] * b.rotation[2] +
      a.rotation[3] * b.rotation[3],
  )
  return (
    a.position.every((v, i) => Math.abs(v - b.position[i]!) < EPS) &&
    Math.abs(1 - dq) < EPS &&
    Math.abs(a.fov - b.fov) < EPS
  )
}

/** True when the path already ends on its first pose (or never moves). */
export function isClosed(t: Trajectory): boolean {
  const keys = [...t.keyframes].sort((a, b) => a.frame - b.frame)
  return keys.length < 2 || samePose(keys[0]!, keys.at(-1)!)
}

/**
 * The path closed: a last key with the first key's pose. It goes at the end of the path's
 * timeline when the last key ends earlier; when the last key is already at the end, the keys
 * are pressed together so the way back gets the mean segment's share of the time. A path that
 * is closed already comes back unchanged. Pure: the input is never changed.
 */
export function closeTrajectory(t: Trajectory): Trajectory {
  if (isClosed(t)) return t
  const keys = [...t.keyframes].sort((a, b) => a.frame - b.frame)
  const first = keys[0]!
  const end = Math.max(t.frames - 1, 1)
  const last = keys.at(-1)!
  let moved = keys
  if (last.frame > end - EPS) {
    const k = keys.length // segments after closing
    const f0 = first.frame
    moved = keys.map((x) => ({ ...x, frame: f0 + ((x.frame - f0) * (k - 1)) / k }))
  }
  const rotation = qNormalize([...first.rotation] as Quat)
  const closing: Keyframe = {
    ...first,
    id: newKeyframeId(),
    frame: end,
    position: [...first.position],
    rotation,
    easing: { type: 'linear' },
  }
  return { ...t, keyframes: [...moved, closing] }
}

/**
 * `n` poses for a looping clip: the closed path sampled periodically (frame n would be frame 0
 * again), with the neighbours across the seam shaping the spline's first and last segments.
 */
export function sampleLoop(t: Trajectory, n: number): CameraPose[] {
  return sampleTrajectory(closeTrajectory(t), n, { periodic: true })
}
