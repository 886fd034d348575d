// Closed camera paths for loops (src/shared/camera/loop.ts): the last key holds the first
// pose, the clip samples one lap (the frame after the last is the first), and the spline's
// tangent is the same on both sides of the seam.
import { describe, expect, it } from 'vitest'
import {
  closeTrajectory,
  isClosed,
  presetTrajectory,
  sampleLoop,
  sampleTrajectory,
  trajectoryFromPoses,
  type CameraPose,
  type Vec3,
} from '../../../src/shared/camera'

const pose = (position: Vec3): CameraPose => ({ position, rotation: [0, 0, 0, 1], fov: 50 })
// an open path: three corners of a square, authored at 25 frames
const open = trajectoryFromPoses([pose([0, 0, 0]), pose([2, 0, 0]), pose([2, 0, -2])], 25)

const sub = (a: Vec3, b: Vec3): Vec3 => [a[0] - b[0], a[1] - b[1], a[2] - b[2]]
const norm = (a: Vec3) => Math.hypot(...a)

describe('closeTrajectory', () => {
  it('adds a last key with the first pose, pressing the keys so the way back gets its share', () => {
    const closed = closeTrajectory(open)
    expect(isClosed(open)).toBe(false)
    expect(isClosed(closed)).toBe(true)
    const keys = [...closed.keyframes].sort((a, b) => a.frame - b.frame)
    expect(keys).toHaveLength(4)
    expect(keys.at(-1)!.position).toEqual([0, 0, 0])
    expect(keys.at(-1)!.frame).toBe(24)
    // the three original segments and the way back take a quarter of the timeline each
    expect(keys.map((k) => k.frame)).toEqual([0, 8, 16, 24])
    expect(open.keyframes).toHaveLength(3) // the input is never changed
    expect(closeTrajectory(closed)).toBe(closed) // closed already: unchanged
    const still = presetTrajectory('static', 1, 16)
    expect(closeTrajectory(still)).toBe(still)
  })

  it('keeps the keys where they are when the last one ends before the timeline does', () => {
    const early = { ...open, keyframes: open.keyframes.map((k) => ({ ...k, frame: k.frame / 2 })) }
    const keys = closeTrajectory(early).keyframes
    expect(keys.map((k) => k.frame)).toEqual([0, 6, 12, 24])
  })
})

describe('sampleLoop', () => {
  it('samples one lap: frame n would be frame 0 again, so no frame repeats at the seam', () => {
    const n = 16
    const poses = sampleLoop(open, n)
    expect(poses).toHaveLength(n)
    expect(poses[0]!.position).toEqual([0, 0, 0])
    // the path's end (one step past the last frame) is the first pose
    const lap = sampleTrajectory(closeTrajectory(open), n + 1, { periodic: false })
    expect(norm(sub(lap[n]!.position, poses[0]!.position))).toBeLessThan(1e-9)
    expect(norm(sub(poses[n - 1]!.position, poses[0]!.position))).toBeGreaterThan(0.1)
  })

  it('matches the tangent direction at the seam, as at any key inside the path (the periodic spline does it)', () => {
    // keys evenly spaced in time but not in distance: a centripetal Catmull-Rom's speed steps at
    // every key (here 2.83 vs 2 units per segment), its direction does not; the seam is a key
    const n = 4000
    const cos = (a: Vec3, b: Vec3) =>
      (a[0] * b[0] + a[1] * b[1] + a[2] * b[2]) / (norm(a) * norm(b))
    const p = sampleLoop(open, n).map((x) => x.position)
    const start = sub(p[1]!, p[0]!) // leaving the first frame
    const seam = sub(p[0]!, p[n - 1]!) // from the last frame into the first
    expect(cos(start, seam)).toBeGreaterThan(0.9999)
    // the same holds at an inner key (frame 1000 of 4000 is the key at a quarter)
    expect(cos(sub(p[1001]!, p[1000]!), sub(p[1000]!, p[999]!))).toBeGreaterThan(0.9999)
    // mirrored end tangents (an open spline through the same keys) leave a kink at the seam
    const q = sampleTrajectory(closeTrajectory(open), n + 1, { periodic: false }).map(
      (x) => x.position,
    )
    expect(cos(sub(q[1]!, q[0]!), sub(q[n]!, q[n - 1]!))).toBeLessThan(0.99)
    // the field of view is continuous across the seam too
    const r = sampleLoop(open, n)
    expect(Math.abs(r[n - 1]!.fov - r[0]!.fov)).toBeLessThan(1e-9)
  })

  it("closes a preset's path the same way (an orbit that does not come round)", () => {
    const pan = presetTrajectory('pan-left', 1, 16)
    const poses = sampleLoop(pan, 24)
    expect(poses).toHaveLength(24)
    expect(isClosed(closeTrajectory(pan))).toBe(true)
  })
})
