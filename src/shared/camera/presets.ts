// Camera move presets with a speed, combinable at once (sum of moves) and in sequence
// (first A then B), as MotionCtrl's demo and the ComfyUI camera nodes offer. A preset is a
// function of clip time u in [0, 1] giving a move relative to the start pose: a translation
// in the camera's own axes, a rotation in the camera's own axes, an orbit about the target,
// and an fov change. Names follow MotionCtrl where it has one (its "pan" moves the camera
// sideways / up and down); rotations use yaw/tilt/roll; truck/pedestal are the film names
// for MotionCtrl's pans.
import {
  add,
  mat3Vec,
  normalize,
  qFromAxisAngle,
  qMul,
  qToMat3,
  rotateAbout,
  sub,
  type Quat,
  type Vec3,
} from './math'
import { trajectoryFromPoses, type CameraPose, type Trajectory } from './trajectory'

export type Move = {
  /** Translation in camera axes (x right, y up, z back), in scene units. */
  translate?: Vec3
  /** Rotation in camera axes: [pitch (about x), yaw (about y), roll (about z)] in radians. */
  rotate?: Vec3
  /** Orbit about the target around world y, radians (positive = camera moves to its left). */
  orbit?: number
  /** Dolly-zoom: move toward the target by this fraction of the distance, widening fov to keep the subject's size. */
  dollyZoom?: number
}

export type PresetName =
  | 'static'
  | 'pan-left'
  | 'pan-right'
  | 'pan-up'
  | 'pan-down'
  | 'truck-left'
  | 'truck-right'
  | 'pedestal-up'
  | 'pedestal-down'
  | 'tilt-up'
  | 'tilt-down'
  | 'yaw-left'
  | 'yaw-right'
  | 'zoom-in'
  | 'zoom-out'
  | 'roll-cw'
  | 'roll-acw'
  | 'orbit-left'
  | 'orbit-right'
  | 'dolly-zoom-in'
  | 'dolly-zoom-out'

const deg = Math.PI / 180
/** What each preset does over a whole clip at speed 1. */
const PRESETS: Record<PresetName, Move> = {
  static: {},
  'pan-left': { translate: [-1, 0, 0] },
  'pan-right': { translate: [1, 0, 0] },
  'pan-up': { translate: [0, 1, 0] },
  'pan-down': { translate: [0, -1, 0] },
  'truck-left': { translate: [-1, 0, 0] },
  'truck-right': { translate: [1, 0, 0] },
  'pedestal-up': { translate: [0, 1, 0] },
  'pedestal-down': { translate: [0, -1, 0] },
  'tilt-up': { rotate: [20 * deg, 0, 0] },
  'tilt-down': { rotate: [-20 * deg, 0, 0] },
  'yaw-left': { rotate: [0, 25 * deg, 0] },
  'yaw-right': { rotate: [0, -25 * deg, 0] },
  'zoom-in': { translate: [0, 0, -2] },
  'zoom-out': { translate: [0, 0, 2] },
  'roll-cw': { rotate: [0, 0, -60 * deg] },
  'roll-acw': { rotate: [0, 0, 60 * deg] },
  'orbit-left': { orbit: 45 * deg },
  'orbit-right': { orbit: -45 * deg },
  'dolly-zoom-in': { dollyZoom: 0.5 },
  'dolly-zoom-out': { dollyZoom: -0.5 },
}

export const PRESET_NAMES = Object.keys(PRESETS) as PresetName[]

export function isPresetName(s: string): s is PresetName {
  return Object.prototype.hasOwnProperty.call(PRESETS, s)
}

export type PresetSpec = { name: PresetName; speed?: number }

/** The start pose presets move from: at the origin, looking at a subject `distance` ahead. */
export function defaultStartPose(fov = 45): CameraPose {
  return { position: [0, 0, 0], rotation: [0, 0, 0, 1], fov }
}

function sumMoves(moves: { move: Move; speed: number }[]): Move {
  const out: Required<Move> = { translate: [0, 0, 0], rotate: [0, 0, 0], orbit: 0, dollyZoom: 0 }
  for (const { move, speed } of moves) {
    if (move.translate)
      out.translate = add(out.translate, move.translate.map((v) => v * speed) as Vec3)
    if (move.rotate) out.rotate = add(out.rotate, move.rotate.map((v) => v * speed) as Vec3)
    out.orbit += (move.orbit ?? 0) * speed
    out.dollyZoom += (move.dollyZoom ?? 0) * speed
  }
  return out
}

/** The pose after `u` (0..1) of a move, starting from `start` with the subject at `target`. */
export function applyMove(start: CameraPose, m: Move, u: number, target: Vec3): CameraPose {
  let position: Vec3 = [...start.position]
  let rotation: Quat = [...start.rotation]
  let fov = start.fov
  if (m.orbit) {
    // positive orbit moves the camera to its left: a negative turn about world y
    const q = qFromAxisAngle([0, 1, 0], -m.orbit * u)
    position = rotateAbout(position, target, q)
    rotation = qMul(q, rotation)
  }
  if (m.dollyZoom) {
    const toTarget = sub(target, position)
    const d0 = Math.hypot(...toTarget)
    const d = d0 * (1 - m.dollyZoom * u)
    position = add(position, normalize(toTarget).map((v) => v * (d0 - d)) as Vec3)
    const half = Math.atan((Math.tan((start.fov * Math.PI) / 360) * d0) / d)
    fov = (half * 360) / Math.PI
  }
  if (m.translate)
    position = add(position, mat3Vec(qToMat3(rotation), m.translate.map((v) => v * u) as Vec3))
  if (m.rotate) {
    const [p, y, r] = m.rotate
    const local = qMul(
      qMul(qFromAxisAngle([0, 1, 0], y * u), qFromAxisAngle([1, 0, 0], p * u)),
      qFromAxisAngle([0, 0, 1], r * u),
    )
    rotation = qMul(rotation, local)
  }
  return { position, rotation, fov }
}

export type PresetOptions = {
  frames: number
  /** Presets moved at the same time (their moves add up). */
  at?: PresetSpec[]
  /** Distance to the subject the camera looks at (orbits and dolly-zooms use it). */
  distance?: number
  fov?: number
}

/** Poses for `frames` frames of one or several presets at once. */
export function presetPoses(presets: PresetSpec[], o: PresetOptions): CameraPose[] {
  const start = defaultStartPose(o.fov)
  const target: Vec3 = [0, 0, -(o.distance ?? 4)]
  const move = sumMoves(presets.map((p) => ({ move: PRESETS[p.name], speed: p.speed ?? 1 })))
  const n = o.frames
  return Array.from({ length: n }, (_, i) =>
    applyMove(start, move, n === 1 ? 0 : i / (n - 1), target),
  )
}

/** First A, then B: A over the first half of the frames, B continuing from where A ended. */
export function presetSequence(parts: PresetSpec[][], o: PresetOptions): CameraPose[] {
  const target: Vec3 = [0, 0, -(o.distance ?? 4)]
  const n = o.frames
  const counts = parts.map(
    (_, i) => Math.floor(((i + 1) * n) / parts.length) - Math.floor((i * n) / parts.length),
  )
  const out: CameraPose[] = []
  let start = defaultStartPose(o.fov)
  let tgt = target
  parts.forEach((p, k) => {
    const move = sumMoves(p.map((s) => ({ move: PRESETS[s.name], speed: s.speed ?? 1 })))
    const m = counts[k]!
    for (let i = 0; i < m; i++) {
      // each part ends exactly where the next begins (the next part's first frame is u=0)
      const u = (i + (k === 0 ? 0 : 1)) / (k === 0 ? Math.max(m - 1, 1) : m)
      out.push(applyMove(start, move, u, tgt))
    }
    const end = applyMove(start, move, 1, tgt)
    // the target follows translations, so an orbit after a pan circles the new subject point
    tgt = add(tgt, sub(end.position, start.position))
    start = end
  })
  return out
}

/** Parses "orbit-left", "orbit-left+zoom-in" (at once) or "pan-left,zoom-in" (in sequence). */
export function parsePresetExpression(expr: string, speed = 1): PresetSpec[][] {
  const seq = expr.split(',').map((part) =>
    part.split('+').map((raw) => {
      const name = raw.trim()
      if (!isPresetName(name)) {
        throw new RangeError(
          `unknown camera preset "${name}"; known presets: ${PRESET_NAMES.join(', ')}`,
        )
      }
      return { name, speed }
    }),
  )
  return seq
}

/**
 * A preset expression as an editable path: its poses for `frames` frames, with a keyframe
 * every 5 frames and on the last, at the frames they came from.
 */
export function presetTrajectory(expr: string, speed: number, frames: number): Trajectory {
  const seq = parsePresetExpression(expr, speed)
  const poses =
    seq.length === 1 ? presetPoses(seq[0]!, { frames }) : presetSequence(seq, { frames })
  const idx = poses.map((_, i) => i).filter((i) => i % 5 === 0 || i === poses.length - 1)
  const t = trajectoryFromPoses(
    idx.map((i) => poses[i]!),
    frames,
    [0, 0, -4],
  )
  t.keyframes.forEach((k, i) => (k.frame = idx[i]!))
  return t
}
