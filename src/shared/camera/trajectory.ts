// The camera trajectory: keyframes at frame positions, sampled to exactly N frames.
// Plain, versioned data (it is saved in projects); sampling is a pure function.
import {
  add,
  length,
  lerp,
  lookAtQuat,
  normalize,
  qNormalize,
  scale,
  slerp,
  sub,
  type Quat,
  type Vec3,
} from './math'

export type Easing =
  | { type: 'linear' }
  | { type: 'hold' }
  | { type: 'bezier'; handles: [number, number, number, number] }

export type Keyframe = {
  id: string
  /** Frame position on the clip's timeline (0-based, may be fractional). */
  frame: number
  /** Camera position (three.js world, y up). */
  position: Vec3
  /** Camera orientation, three.js camera-to-world (looks down -z). */
  rotation: Quat
  /** Vertical field of view in degrees. */
  fov: number
  /** Easing of the segment that starts at this keyframe. */
  easing: Easing
}

export type Trajectory = {
  version: 1
  /** Frames the trajectory was authored for; sampling to another count rescales time. */
  frames: number
  keyframes: Keyframe[]
  /** free: keyframe rotations; look-at: always face `target`; follow-path: face along the path. */
  aim: 'free' | 'look-at' | 'follow-path'
  target: Vec3
  /** Move at constant speed along the path (arc-length timing) instead of per-keyframe timing. */
  constantSpeed: boolean
}

export type CameraPose = { position: Vec3; rotation: Quat; fov: number }

/** Cubic-bezier easing (CSS-style handles x1, y1, x2, y2), solved for x by bisection. */
export function easeBezier(h: [number, number, number, number], x: number): number {
  const [x1, y1, x2, y2] = h
  const bez = (t: number, a: number, b: number) =>
    3 * (1 - t) * (1 - t) * t * a + 3 * (1 - t) * t * t * b + t * t * t
  let lo = 0
  let hi = 1
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2
    if (bez(mid, x1, x2) < x) lo = mid
    else hi = mid
  }
  return bez((lo + hi) / 2, y1, y2)
}

export function ease(e: Easing, u: number): number {
  if (e.type === 'hold') return 0
  if (e.type === 'linear') return u
  return easeBezier(e.handles, u)
}

/** Centripetal Catmull-Rom (alpha 0.5) between p1 and p2: no cusps or self-intersections. */
export function catmullRom(p0: Vec3, p1: Vec3, p2: Vec3, p3: Vec3, u: number): Vec3 {
  const knot = (a: Vec3, b: Vec3) => Math.max(Math.sqrt(length(sub(b, a))), 1e-6)
  const t0 = 0
  const t1 = t0 + knot(p0, p1)
  const t2 = t1 + knot(p1, p2)
  const t3 = t2 + knot(p2, p3)
  const t = t1 + (t2 - t1) * u
  const l = (a: Vec3, b: Vec3, ta: number, tb: number) => lerp(a, b, (t - ta) / (tb - ta))
  const a1 = l(p0, p1, t0, t1)
  const a2 = l(p1, p2, t1, t2)
  const a3 = l(p2, p3, t2, t3)
  const b1 = l(a1, a2, t0, t2)
  const b2 = l(a2, a3, t1, t3)
  return l(b1, b2, t1, t2)
}

function sortedKeys(t: Trajectory): Keyframe[] {
  return [...t.keyframes].sort((a, b) => a.frame - b.frame)
}

/**
 * Position on segment i (from key i to i+1) at local parameter u. The end segments mirror their
 * missing neighbour; on a closed path (`periodic`: the last key repeats the first) they take
 * the neighbour across the seam instead, so the tangent where the path closes is the same on
 * both sides.
 */
function segmentPoint(keys: Keyframe[], i: number, u: number, periodic = false): Vec3 {
  const p1 = keys[i]!.position
  const p2 = keys[i + 1]!.position
  const n = keys.length
  const wrap = periodic && n > 2
  const p0 = i > 0 ? keys[i - 1]!.position : wrap ? keys[n - 2]!.position : sub(scale(p1, 2), p2)
  const p3 = i + 2 < n ? keys[i + 2]!.position : wrap ? keys[1]!.position : sub(scale(p2, 2), p1)
  return catmullRom(p0, p1, p2, p3, u)
}

/**
 * Samples the trajectory to exactly `n` frames (n >= 1). `periodic` (a closed path, see
 * camera/loop.ts): the n frames divide one lap of the timeline evenly and the pose after the
 * last frame is the first one again, so a looping clip has no repeated frame at the seam.
 */
export function sampleTrajectory(
  t: Trajectory,
  n: number,
  opts: { periodic?: boolean } = {},
): CameraPose[] {
  const periodic = opts.periodic ?? false
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`frame count must be a positive integer, got ${n}`)
  const keys = sortedKeys(t)
  if (keys.length === 0) throw new RangeError('a trajectory needs at least one keyframe')
  const first = keys[0]!
  const last = keys[keys.length - 1]!
  const span = Math.max(t.frames - 1, 1)
  const timeOf = (i: number) =>
    periodic ? (i / n) * span : n === 1 ? first.frame : (i / (n - 1)) * span
  const point = (seg: number, u: number) => segmentPoint(keys, seg, u, periodic)

  // arc-length table for constant speed
  let arc: { s: number[]; total: number; samples: { seg: number; u: number }[] } | null = null
  if (t.constantSpeed && keys.length > 1) {
    const per = 64
    const s: number[] = [0]
    const samples: { seg: number; u: number }[] = [{ seg: 0, u: 0 }]
    let prev = first.position
    let total = 0
    for (let seg = 0; seg < keys.length - 1; seg++) {
      for (let k = 1; k <= per; k++) {
        const u = k / per
        const p = point(seg, u)
        total += length(sub(p, prev))
        prev = p
        s.push(total)
        samples.push({ seg, u })
      }
    }
    arc = { s, total, samples }
  }

  const out: CameraPose[] = []
  for (let i = 0; i < n; i++) {
    const time = timeOf(i)
    let seg = 0
    let u = 0
    if (keys.length > 1) {
      if (arc && arc.total > 0) {
        const frac = Math.min(
          1,
          Math.max(0, (time - first.frame) / Math.max(last.frame - first.frame, 1e-9)),
        )
        const target = frac * arc.total
        let j = 1
        while (j < arc.s.length - 1 && arc.s[j]! < target) j++
        const a = arc.s[j - 1]!
        const b = arc.s[j]!
        const w = b > a ? (target - a) / (b - a) : 0
        const sa = arc.samples[j - 1]!
        const sb = arc.samples[j]!
        seg = sb.seg
        u = sa.seg === sb.seg ? sa.u + (sb.u - sa.u) * w : sb.u * w
      } else if (time <= first.frame) {
        seg = 0
        u = 0
      } else if (time >= last.frame) {
        seg = keys.length - 2
        u = 1
      } else {
        while (seg < keys.length - 2 && time > keys[seg + 1]!.frame) seg++
        const k0 = keys[seg]!
        const k1 = keys[seg + 1]!
        u = (time - k0.frame) / Math.max(k1.frame - k0.frame, 1e-9)
        u = ease(k0.easing, Math.min(1, Math.max(0, u)))
      }
    }
    const k0 = keys[seg]!
    const k1 = keys[Math.min(seg + 1, keys.length - 1)]!
    const position = keys.length > 1 ? point(seg, u) : first.position
    let rotation: Quat
    if (t.aim === 'look-at') rotation = lookAtQuat(position, t.target)
    else if (t.aim === 'follow-path' && keys.length > 1) {
      const ahead = point(seg, Math.min(1, u + 1e-3))
      const behind = point(seg, Math.max(0, u - 1e-3))
      const dir = normalize(sub(ahead, behind))
      rotation = length(dir) > 0 ? lookAtQuat(position, add(position, dir)) : k0.rotation
    } else rotation = qNormalize(slerp(k0.rotation, k1.rotation, u))
    out.push({ position, rotation, fov: k0.fov + (k1.fov - k0.fov) * u })
  }
  return out
}

let idCounter = 0
export function newKeyframeId(): string {
  idCounter = (idCounter + 1) % 1e9
  return `k${Date.now().toString(36)}${idCounter.toString(36)}`
}

/** A trajectory through the given poses, one keyframe per pose at evenly spaced frames. */
export function trajectoryFromPoses(
  poses: CameraPose[],
  frames = poses.length,
  target: Vec3 = [0, 0, -4],
): Trajectory {
  const n = poses.length
  return {
    version: 1,
    frames,
    aim: 'free',
    target,
    constantSpeed: false,
    keyframes: poses.map((p, i) => ({
      id: newKeyframeId(),
      frame: n === 1 ? 0 : (i / (n - 1)) * (frames - 1),
      position: [...p.position] as Vec3,
      rotation: [...p.rotation] as Quat,
      fov: p.fov,
      easing: { type: 'linear' },
    })),
  }
}
