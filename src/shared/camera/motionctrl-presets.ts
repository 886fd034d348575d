// MotionCtrl's own camera presets (TencentARC/MotionCtrl examples/camera_poses/test_camera_*.json),
// as the motions they are: world-to-camera rows [R | t] (OpenCV axes) for 16 frames, written as
// formulas so a clip of another length follows the same motion (shipped frame s = i * 15 / (n-1)).
// For a MotionCtrl model, applying one of these in the editor gives exactly the camera input
// MotionCtrl's scripts feed with that file (the test compares with the shipped rows).
import { openCvToThree, rowToW2C } from './convert'
import { parsePresetExpression, presetTrajectory } from './presets'
import { trajectoryFromPoses, type CameraPose, type Trajectory } from './trajectory'

export const MOTIONCTRL_PRESETS = [
  'L',
  'R',
  'U',
  'D',
  'I',
  'O',
  'SPIN-CW-60',
  'SPIN-ACW-60',
  'Round-RI',
  'Round-ZoomIn',
] as const
export type MotionCtrlPreset = (typeof MOTIONCTRL_PRESETS)[number]

/** What each preset does, for the editor's menu. */
export const MOTIONCTRL_PRESET_LABELS: Record<MotionCtrlPreset, string> = {
  L: 'pan left',
  R: 'pan right',
  U: 'pan up',
  D: 'pan down',
  I: 'zoom in',
  O: 'zoom out',
  'SPIN-CW-60': 'spin clockwise 60°',
  'SPIN-ACW-60': 'spin anticlockwise 60°',
  'Round-RI': 'round the subject, right',
  'Round-ZoomIn': 'round, then zoom in',
}

export function isMotionCtrlPreset(name: string): name is MotionCtrlPreset {
  return (MOTIONCTRL_PRESETS as readonly string[]).includes(name)
}

const DEG = Math.PI / 180

/** [R | t] row-major with R a rotation about y (yaw) by `a` radians. */
function yaw(a: number, t: [number, number, number]): number[] {
  const c = Math.cos(a)
  const s = Math.sin(a)
  return [c, 0, s, t[0], 0, 1, 0, t[1], -s, 0, c, t[2]]
}

/** [R | t] with R a rotation about z (roll) by `a` radians. */
function roll(a: number): number[] {
  const c = Math.cos(a)
  const s = Math.sin(a)
  return [c, s, 0, 0, -s, c, 0, 0, 0, 0, 1, 0]
}

/** A translation along one axis (0 x, 1 y, 2 z): 0.2 then 0.0875 a frame, signed. */
function slide(axis: 0 | 1 | 2, sign: 1 | -1, s: number): number[] {
  const t: [number, number, number] = [0, 0, 0]
  t[axis] = sign * (0.2 + 0.0875 * s)
  return [1, 0, 0, t[0], 0, 1, 0, t[1], 0, 0, 1, t[2]]
}

/** Row of the preset at shipped frame `s` (0..15, may be fractional). */
function row(name: MotionCtrlPreset, s: number): number[] {
  switch (name) {
    case 'L':
      return slide(0, 1, s)
    case 'R':
      return slide(0, -1, s)
    case 'U':
      return slide(1, 1, s)
    case 'D':
      return slide(1, -1, s)
    case 'I':
      return slide(2, -1, s)
    case 'O':
      return slide(2, 1, s)
    case 'SPIN-CW-60':
      return roll(3.75 * DEG * s)
    case 'SPIN-ACW-60':
      return roll(-3.75 * DEG * s)
    case 'Round-RI': {
      // orbit at 0.9 around a subject 0.8 ahead, 11.25° a frame: t = R (0, 0, 0.9) + (0, 0, 0.8)
      const a = 11.25 * DEG * s
      return yaw(a, [0.9 * Math.sin(a), 0, 0.8 + 0.9 * Math.cos(a)])
    }
    case 'Round-ZoomIn': {
      // 7 frames of a tight orbit (11.25° a frame), a hold, then 0.1 closer a frame
      const a = 11.25 * DEG * Math.min(s, 7)
      const t: [number, number, number] = [0.01 * Math.sin(a), 0, 0.8 + 0.01 * Math.cos(a)]
      t[2] -= 0.1 * Math.max(0, s - 8)
      return yaw(a, t)
    }
  }
}

/** The preset's world-to-camera rows for `frames` frames (16 reproduces the shipped file). */
export function motionCtrlPresetRows(name: MotionCtrlPreset, frames = 16): number[][] {
  return Array.from({ length: frames }, (_, i) =>
    row(name, frames === 1 ? 0 : (i * 15) / (frames - 1)),
  )
}

/**
 * The preset as editor poses (three.js camera-to-world), for a trajectory. `speed` scales the
 * translation, as MotionCtrl's `--speed` does.
 */
export function motionCtrlPresetPoses(
  name: MotionCtrlPreset,
  frames: number,
  fov = 45,
  speed = 1,
): CameraPose[] {
  return motionCtrlPresetRows(name, frames).map((r) => {
    const scaled = r.map((v, k) => (k % 4 === 3 ? v * speed : v))
    return openCvToThree(rowToW2C(scaled), fov)
  })
}

/** The preset as an editable path: one keyframe a frame, so the path is exactly the file's. */
export function motionCtrlPresetTrajectory(
  name: MotionCtrlPreset,
  speed: number,
  frames: number,
): Trajectory {
  return trajectoryFromPoses(motionCtrlPresetPoses(name, frames, 45, speed), frames, [0, 0, -1.7])
}

/** Preset expressions name MotionCtrl's presets as `motionctrl:<name>` (e.g. motionctrl:Round-RI). */
export const MOTIONCTRL_PREFIX = 'motionctrl:'

export function motionCtrlPresetOf(expr: string): MotionCtrlPreset | null {
  if (!expr.startsWith(MOTIONCTRL_PREFIX)) return null
  const name = expr.slice(MOTIONCTRL_PREFIX.length)
  if (!isMotionCtrlPreset(name))
    throw new RangeError(
      `unknown MotionCtrl preset "${name}"; known: ${MOTIONCTRL_PRESETS.join(', ')}`,
    )
  return name
}

/** Whether `expr` names camera presets (ours, combined, or one of MotionCtrl's), else why not. */
export function presetExpressionProblem(expr: string): string | null {
  try {
    if (motionCtrlPresetOf(expr)) return null
    parsePresetExpression(expr)
    return null
  } catch (err) {
    return err instanceof Error ? err.message : String(err)
  }
}

/** The editable path for a preset expression: one of MotionCtrl's, or ours. */
export function cameraPresetTrajectory(expr: string, speed: number, frames: number): Trajectory {
  const mc = motionCtrlPresetOf(expr)
  return mc ? motionCtrlPresetTrajectory(mc, speed, frames) : presetTrajectory(expr, speed, frames)
}
