// Keyframe edits as pure functions over a trajectory (the editor's toolbar, shortcuts, drags
// and numeric fields all go through these), so each is one undoable value and testable alone.
// A trajectory keeps the frame count it was authored for; the clip's playhead (0..frames-1)
// maps onto that timeline proportionally, as sampleTrajectory does.
import { newKeyframeId, sampleTrajectory } from './trajectory'
import type { CameraPose, Keyframe, Trajectory } from './trajectory'
import type { Vec3 } from './math'

const EPS = 1e-6

/** The clip's frame `playhead` (of `frames`) on the trajectory's own timeline. */
export function keyFrameAt(t: Trajectory, frames: number, playhead: number): number {
  return (playhead / Math.max(frames - 1, 1)) * (t.frames - 1)
}

/** The inverse: where a key of the trajectory falls in a clip of `frames` (0-based, fractional). */
export function clipFrameOf(t: Trajectory, frames: number, keyFrame: number): number {
  return (keyFrame / Math.max(t.frames - 1, 1)) * (frames - 1)
}

function withKey(t: Trajectory, k: Keyframe): Trajectory {
  // a key at the same frame is replaced, never stacked
  return {
    ...t,
    keyframes: [...t.keyframes.filter((x) => Math.abs(x.frame - k.frame) > EPS), k],
  }
}

/**
 * A keyframe at the playhead holding the pose the path has there (linear easing); where a key
 * is at the playhead already, that key (the path unchanged: replacing it lost its easing).
 */
export function addKeyframeAt(
  t: Trajectory,
  frames: number,
  playhead: number,
): { trajectory: Trajectory; id: string } {
  const at = keyFrameAt(t, frames, playhead)
  const there = t.keyframes.find((k) => Math.abs(k.frame - at) <= EPS)
  if (there) return { trajectory: t, id: there.id }
  const pose = sampleTrajectory(t, Math.max(frames, 1))[Math.min(playhead, frames - 1)]!
  const k: Keyframe = {
    id: newKeyframeId(),
    frame: keyFrameAt(t, frames, playhead),
    position: pose.position,
    rotation: pose.rotation,
    fov: pose.fov,
    easing: { type: 'linear' },
  }
  return { trajectory: withKey(t, k), id: k.id }
}

/** Removes a keyframe; the last one stays (a path needs one). */
export function deleteKeyframe(t: Trajectory, id: string): Trajectory {
  if (t.keyframes.length <= 1 || !t.keyframes.some((k) => k.id === id)) return t
  return { ...t, keyframes: t.keyframes.filter((k) => k.id !== id) }
}

/**
 * A copy of keyframe `id` at the playhead (a hold, or a return to a framing); `replaced` when
 * it took the place of another key there (said to the person, undoable). An error when there
 * is no such key or the playhead is on it already.
 */
export function duplicateKeyframe(
  t: Trajectory,
  id: string,
  frames: number,
  playhead: number,
): { trajectory: Trajectory; id: string; replaced: boolean } | { error: string } {
  const src = t.keyframes.find((k) => k.id === id)
  if (!src) return { error: 'Select a keyframe to duplicate' }
  const frame = keyFrameAt(t, frames, playhead)
  if (Math.abs(src.frame - frame) < EPS)
    return { error: 'Move the playhead to where the copy should go, then duplicate' }
  const k = { ...src, id: newKeyframeId(), frame }
  const replaced = t.keyframes.some((x) => Math.abs(x.frame - frame) <= EPS)
  return { trajectory: withKey(t, k), id: k.id, replaced }
}

/**
 * Changes fields of keyframe `id` (a drag moves position/rotation; the fields edit any). A frame
 * another key already holds is refused (the path unchanged): two keys on one frame made the
 * camera jump between frames.
 */
export function updateKeyframe(
  t: Trajectory,
  id: string,
  patch: Partial<Omit<Keyframe, 'id'>>,
): Trajectory {
  if (!t.keyframes.some((k) => k.id === id)) return t
  const f = patch.frame
  if (f !== undefined && t.keyframes.some((k) => k.id !== id && Math.abs(k.frame - f) <= EPS))
    return t
  return { ...t, keyframes: t.keyframes.map((k) => (k.id === id ? { ...k, ...patch } : k)) }
}

/**
 * The poses a camera model renders for a travel scale `k` (the motion slider on camera models):
 * every camera centre moved along its offset from the first one by `k`, rotations and lenses as
 * drawn. MotionCtrl's relative RT and VideoX-Fun's Plücker rows of the scaled path are those of
 * these poses, so the editor draws this as "the path as rendered".
 */
export function withTravel(poses: CameraPose[], k: number): CameraPose[] {
  if (k === 1 || !poses.length) return poses
  const c0 = poses[0]!.position
  return poses.map((p) => ({
    ...p,
    position: p.position.map((v, i) => c0[i]! + k * (v - c0[i]!)) as Vec3,
  }))
}

/** Largest camera travel between two consecutive frames (the "faster than trained" warning). */
export function maxFrameStep(t: Trajectory, frames: number): number {
  const p = sampleTrajectory(t, Math.max(frames, 2))
  let m = 0
  for (let i = 1; i < p.length; i++)
    m = Math.max(m, Math.hypot(...p[i]!.position.map((v, k) => v - p[i - 1]!.position[k]!)))
  return m
}

/**
 * What an RT camera input (MotionCtrl: rotation and translation only) cannot see of a path:
 * a change of field of view (a zoom, or the zoom half of a dolly-zoom). Null when the fov
 * holds; else the range and a sentence for the editor and the render's warnings.
 */
export function fovChangeForRT(
  t: Trajectory,
  frames: number,
): { min: number; max: number; message: string } | null {
  const fovs = sampleTrajectory(t, Math.max(frames, 2)).map((p) => p.fov)
  const min = Math.min(...fovs)
  const max = Math.max(...fovs)
  if (max - min < 0.5) return null
  return {
    min,
    max,
    message: `The field of view changes from ${min.toFixed(0)}° to ${max.toFixed(0)}° along this path; an RT camera input (MotionCtrl) takes only position and rotation, so the zoom is not rendered.`,
  }
}
