import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import {
  exportMotionCtrlJson,
  exportRealEstate10K,
  importMotionCtrlJson,
  importRealEstate10K,
  intrinsicsFromFov,
  mat3Mul,
  mat3T,
  mat3Vec,
  motionCtrlRT,
  openCvToThree,
  pluckerEmbedding,
  presetPoses,
  presetSequence,
  parsePresetExpression,
  qFromAxisAngle,
  qMul,
  qNormalize,
  relativeToFirst,
  sampleTrajectory,
  slerp,
  threeToOpenCv,
  trajectoryFromPoses,
  type CameraPose,
  type Quat,
  type Vec3,
} from '../../../src/shared/camera'

const vec = fc.tuple(
  fc.double({ min: -5, max: 5, noNaN: true }),
  fc.double({ min: -5, max: 5, noNaN: true }),
  fc.double({ min: -5, max: 5, noNaN: true }),
)
const quat = fc
  .tuple(
    fc.double({ min: -1, max: 1, noNaN: true }),
    fc.double({ min: -1, max: 1, noNaN: true }),
    fc.double({ min: -1, max: 1, noNaN: true }),
    fc.double({ min: -1, max: 1, noNaN: true }),
  )
  .filter((q) => Math.hypot(...q) > 0.1)
  .map((q) => qNormalize(q as Quat))
const pose = fc.record({
  position: vec.map((v) => v as Vec3),
  rotation: quat,
  fov: fc.double({ min: 20, max: 90, noNaN: true }),
})

const qClose = (a: Quat, b: Quat, tol: number) => {
  const d = Math.abs(a[0] * b[0] + a[1] * b[1] + a[2] * b[2] + a[3] * b[3])
  expect(1 - d).toBeLessThanOrEqual(tol)
}

describe('three.js <-> OpenCV', () => {
  it('round-trips exactly (1e-9) on random poses', () => {
    fc.assert(
      fc.property(pose, (p) => {
        const back = openCvToThree(threeToOpenCv(p), p.fov)
        for (let i = 0; i < 3; i++)
          expect(Math.abs(back.position[i]! - p.position[i]!)).toBeLessThanOrEqual(1e-9)
        qClose(back.rotation, p.rotation, 1e-12)
      }),
    )
  })

  it('a three.js camera at the origin looking down -z is the OpenCV identity after the axis flip', () => {
    const w = threeToOpenCv({ position: [0, 0, 0], rotation: [0, 0, 0, 1], fov: 45 })
    expect(w.R.map((v) => v + 0)).toEqual([1, 0, 0, 0, -1, 0, 0, 0, -1])
    // a point 1 unit in front of the camera (three.js -z) has OpenCV z = +1
    expect(mat3Vec(w.R, [0, 0, -1])[2]).toBeCloseTo(1, 12)
  })

  it('makes poses relative to the first as R_i R_0^T, t_i - R_rel t_0', () => {
    fc.assert(
      fc.property(fc.array(pose, { minLength: 2, maxLength: 5 }), (ps) => {
        const ws = ps.map(threeToOpenCv)
        const rel = relativeToFirst(ws)
        ws.forEach((w, i) => {
          const R = mat3Mul(w.R, mat3T(ws[0]!.R))
          const Rt0 = mat3Vec(R, ws[0]!.t)
          rel[i]!.R.forEach((v, k) => expect(Math.abs(v - R[k]!)).toBeLessThan(1e-12))
          rel[i]!.t.forEach((v, k) => expect(Math.abs(v - (w.t[k]! - Rt0[k]!))).toBeLessThan(1e-9))
        })
        // the first frame becomes the identity
        rel[0]!.R.forEach((v, k) =>
          expect(Math.abs(v - [1, 0, 0, 0, 1, 0, 0, 0, 1][k]!)).toBeLessThan(1e-12),
        )
      }),
    )
  })
})

describe('MotionCtrl RT', () => {
  it('is [F, 12] rows of a relative world-to-camera with the translation scaled per axis', () => {
    const poses = presetPoses([{ name: 'pan-left', speed: 1 }], { frames: 16 })
    const rt = motionCtrlRT(poses, [1.5, 1, 1.3])
    expect(rt.length).toBe(16 * 12)
    expect(Array.from(rt.subarray(0, 12), (v) => v + 0)).toEqual([
      1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0,
    ])
    // MotionCtrl: positive W2C tx means the camera moved left; the last frame moved 1 unit, scaled by 1.5
    expect(rt[15 * 12 + 3]).toBeCloseTo(1.5, 6)
    for (let f = 1; f < 16; f++) expect(rt[f * 12 + 3]!).toBeGreaterThan(rt[(f - 1) * 12 + 3]!)
  })
})

describe('MotionCtrl shipped preset', () => {
  // tx column of TencentARC/MotionCtrl examples/camera_poses/test_camera_L.json (16 rows,
  // R = identity, ty = tz = 0); DOMAIN.md quotes the first two and the last.
  const shippedTx = [
    0.2, 0.28750000000000003, 0.37500000000000006, 0.4625000000000001, 0.55, 0.6375000000000002,
    0.7250000000000001, 0.8125000000000002, 0.9000000000000001, 0.9875000000000003,
    1.0750000000000002, 1.1625000000000003, 1.2500000000000002, 1.3375000000000001,
    1.4250000000000003, 1.5125000000000004,
  ]
  const shippedText = JSON.stringify(shippedTx.map((tx) => [1, 0, 0, tx, 0, 1, 0, 0, 0, 0, 1, 0]))

  it('our pan-left at the shipped speed and the Gradio scale gives its rows relative to frame 0', () => {
    // The shipped file moves 1.5125 - 0.2 = 1.3125 scaled units over 15 frame steps. Our pan-left
    // moves 1 unit per unit of speed over the clip, and MotionCtrl's Gradio entry point scales x
    // by 1.5, so the same move is speed 1.3125 / 1.5 = 0.875. The file's rows are absolute (the
    // camera starts 0.2 to the left of the world origin); MotionCtrl's create_relative and
    // DOMAIN.md's rule subtract frame 0 (R = I, so t_rel = t_i - t_0), which is what we emit.
    const rt = motionCtrlRT(
      presetPoses([{ name: 'pan-left', speed: 0.875 }], { frames: 16 }),
      [1.5, 1, 1.3],
    )
    shippedTx.forEach((tx, f) => {
      const expected = [1, 0, 0, tx - shippedTx[0]!, 0, 1, 0, 0, 0, 0, 1, 0]
      for (let k = 0; k < 12; k++) expect(rt[f * 12 + k]!).toBeCloseTo(expected[k]!, 6)
    })
    // and adding the file's frame-0 offset back gives DOMAIN.md's quoted rows
    expect(rt[3]! + 0.2).toBeCloseTo(0.2, 6)
    expect(rt[12 + 3]! + 0.2).toBeCloseTo(0.2875, 6)
    expect(rt[15 * 12 + 3]! + 0.2).toBeCloseTo(1.5125, 6)
  })

  it('importing the shipped file gives a camera moving left by the same steps', () => {
    const { poses, warnings } = importMotionCtrlJson(shippedText, 16)
    expect(warnings).toEqual([])
    // world-to-camera tx = -x of the camera centre (R = I): the camera sits at x = -tx, so it moves left
    poses.forEach((p, f) => {
      expect(p.position[0]).toBeCloseTo(-shippedTx[f]!, 12)
      expect(p.position[1]).toBeCloseTo(0, 12)
      expect(p.position[2]).toBeCloseTo(0, 12)
    })
    const rel = motionCtrlRT(poses, 1)
    shippedTx.forEach((tx, f) => expect(rel[f * 12 + 3]!).toBeCloseTo(tx - 0.2, 6))
  })
})

describe('sampling', () => {
  it('samples N frames from 2 keyframes with the keyframes first and last', () => {
    const a: CameraPose = { position: [0, 0, 0], rotation: [0, 0, 0, 1], fov: 40 }
    const b: CameraPose = {
      position: [2, 1, -3],
      rotation: qFromAxisAngle([0, 1, 0], 0.8),
      fov: 60,
    }
    const t = trajectoryFromPoses([a, b], 16)
    for (const n of [2, 7, 16, 25]) {
      const s = sampleTrajectory(t, n)
      expect(s).toHaveLength(n)
      expect(s[0]!.position).toEqual(a.position)
      s[n - 1]!.position.forEach((v, i) => expect(v).toBeCloseTo(b.position[i]!, 9))
      qClose(s[n - 1]!.rotation, b.rotation, 1e-12)
      expect(s[n - 1]!.fov).toBeCloseTo(60, 9)
    }
  })

  it('slerp takes the short way even when the quaternions have opposite signs', () => {
    const a = qFromAxisAngle([0, 1, 0], 0.1)
    const b = qFromAxisAngle([0, 1, 0], 0.3).map((v) => -v) as Quat // same rotation, negated
    const mid = slerp(a, b, 0.5)
    // 0.2 rad about y, not the long way round
    qClose(mid, qFromAxisAngle([0, 1, 0], 0.2), 1e-12)
  })

  it('constant-speed timing spaces frames evenly along the path', () => {
    const t = trajectoryFromPoses(
      [
        { position: [0, 0, 0], rotation: [0, 0, 0, 1], fov: 45 },
        { position: [0.2, 0, 0], rotation: [0, 0, 0, 1], fov: 45 },
        { position: [4, 0, 0], rotation: [0, 0, 0, 1], fov: 45 },
      ],
      16,
    )
    t.constantSpeed = true
    const s = sampleTrajectory(t, 9)
    const steps = s.slice(1).map((p, i) => p.position[0] - s[i]!.position[0])
    for (const st of steps) expect(st).toBeCloseTo(0.5, 2)
  })

  it('look-at keeps the target in the middle of the view', () => {
    const t = trajectoryFromPoses(
      [
        { position: [3, 1, 0], rotation: [0, 0, 0, 1], fov: 45 },
        { position: [-3, 2, -2], rotation: [0, 0, 0, 1], fov: 45 },
      ],
      8,
    )
    t.aim = 'look-at'
    t.target = [0, 0, -4]
    for (const p of sampleTrajectory(t, 8)) {
      const w = threeToOpenCv(p)
      const c = mat3Vec(w.R, t.target).map((v, i) => v + w.t[i]!)
      expect(Math.abs(c[0]! / c[2]!)).toBeLessThan(1e-9)
      expect(Math.abs(c[1]! / c[2]!)).toBeLessThan(1e-9)
      expect(c[2]).toBeGreaterThan(0)
    }
  })
})

describe('presets', () => {
  it('orbit-left circles the subject at a constant distance, always facing it', () => {
    const poses = presetPoses([{ name: 'orbit-left' }], { frames: 9, distance: 4 })
    for (const p of poses) {
      expect(Math.hypot(p.position[0], p.position[1], p.position[2] + 4)).toBeCloseTo(4, 9)
      const w = threeToOpenCv(p)
      const c = mat3Vec(w.R, [0, 0, -4]).map((v, i) => v + w.t[i]!)
      expect(Math.abs(c[0]! / c[2]!)).toBeLessThan(1e-9)
    }
    expect(poses.at(-1)!.position[0]).toBeLessThan(0) // moved to the camera's left
  })

  it('speed scales the move; "a+b" adds moves; "a,b" runs them one after the other', () => {
    const slow = presetPoses([{ name: 'zoom-in', speed: 0.5 }], { frames: 5 })
    const fast = presetPoses([{ name: 'zoom-in', speed: 2 }], { frames: 5 })
    expect(fast.at(-1)!.position[2]).toBeCloseTo(4 * slow.at(-1)!.position[2], 9)
    const both = presetPoses(parsePresetExpression('pan-left+pan-up')[0]!, { frames: 5 })
    expect(both.at(-1)!.position[0]).toBeCloseTo(-1, 9)
    expect(both.at(-1)!.position[1]).toBeCloseTo(1, 9)
    const seq = presetSequence(parsePresetExpression('pan-left,pan-up'), { frames: 8 })
    expect(seq).toHaveLength(8)
    expect(seq[3]!.position[1]).toBeCloseTo(0, 9) // first half: only left
    expect(seq.at(-1)!.position).toEqual([-1, 1, 0].map((v) => expect.closeTo(v, 9)))
    expect(() => parsePresetExpression('spin-around')).toThrow(
      /unknown camera preset "spin-around"/,
    )
  })

  it('dolly-zoom keeps the subject the same size on screen', () => {
    const poses = presetPoses([{ name: 'dolly-zoom-in' }], { frames: 6, distance: 4, fov: 40 })
    const size = (p: CameraPose) => Math.tan((p.fov * Math.PI) / 360) * Math.abs(-4 - p.position[2])
    for (const p of poses) expect(size(p)).toBeCloseTo(size(poses[0]!), 9)
    expect(poses.at(-1)!.fov).toBeGreaterThan(40)
  })
})

describe('Plücker embedding', () => {
  it('matches a hand-computed pixel', () => {
    // Two frames on a 4x2 image with a 90 degree vertical fov: fy = 1 / (2 tan 45) = 0.5
    // (normalised) = 1 px, fx = fy / aspect = 0.25 = 1 px, cx = 2 px, cy = 1 px.
    // Pixel (u=3, v=0) has centre (3.5, 0.5): camera ray (1.5, -0.5, 1) / n, n = |(1.5, -0.5, 1)|.
    // Frame 0 is the reference (identity, at the origin): d = (1.5, -0.5, 1)/n, o = 0, o x d = 0.
    // Frame 1 is at three.js (1, 0, 0), yawed +90 deg (looking down three.js -x). In frame 0's
    // OpenCV axes (x right, y down, z forward) its centre is o = (1, 0, 0); its right axis is
    // (0, 0, 1), its down axis (0, 1, 0), its forward axis (-1, 0, 0). So
    // d = 1.5/n * (0,0,1) - 0.5/n * (0,1,0) + 1/n * (-1,0,0) = (-1, -0.5, 1.5)/n and
    // o x d = (0*1.5 - 0*(-0.5), 0*(-1) - 1*1.5, 1*(-0.5) - 0*(-1))/n = (0, -1.5, -0.5)/n.
    const p0: CameraPose = { position: [0, 0, 0], rotation: [0, 0, 0, 1], fov: 90 }
    const p1: CameraPose = {
      position: [1, 0, 0],
      rotation: qFromAxisAngle([0, 1, 0], Math.PI / 2),
      fov: 90,
    }
    const W = 4
    const H = 2
    const e = pluckerEmbedding([p0, p1], W, H)
    const K = intrinsicsFromFov(90, W / H)
    expect([K.fx * W, K.fy * H, K.cx * W, K.cy * H]).toEqual(
      [1, 1, 2, 1].map((v) => expect.closeTo(v, 6)),
    )
    const at = (c: number, f: number, v: number, u: number) => e[((c * 2 + f) * H + v) * W + u]!
    // frame 0, pixel (3, 0): d = (1.5, -0.5, 1) / |.|, o = 0 so o x d = 0
    const n = Math.hypot(1.5, -0.5, 1)
    expect([at(3, 0, 0, 3), at(4, 0, 0, 3), at(5, 0, 0, 3)]).toEqual(
      [1.5 / n, -0.5 / n, 1 / n].map((v) => expect.closeTo(v, 6)),
    )
    expect([at(0, 0, 0, 3), at(1, 0, 0, 3), at(2, 0, 0, 3)]).toEqual(
      [0, 0, 0].map((v) => expect.closeTo(v, 6)),
    )
    const d1 = [-1 / n, -0.5 / n, 1.5 / n]
    expect([at(3, 1, 0, 3), at(4, 1, 0, 3), at(5, 1, 0, 3)]).toEqual(
      d1.map((v) => expect.closeTo(v, 6)),
    )
    expect([at(0, 1, 0, 3), at(1, 1, 0, 3), at(2, 1, 0, 3)]).toEqual(
      [0, -1.5 / n, -0.5 / n].map((v) => expect.closeTo(v, 6)),
    )
  })
})

describe('a RealEstate10K file read against its own numbers', () => {
  // VideoX-Fun's Pan_Left.txt (first 9 rows, test/data/wan-camera.json): each camera line is
  // timestamp fx fy cx cy 0 0 and a row-major OpenCV world-to-camera [R | t]. Expected values are
  // computed here from the file with plain matrix algebra, not with the app's conversions
  // (a column or axis slip made in both export and import would pass a round trip).
  const data = JSON.parse(
    readFileSync(resolve(__dirname, '../../data/wan-camera.json'), 'utf8'),
  ) as { camera: { rows: number[][] }[] }
  const rows = data.camera[0]!.rows
  // as VideoX-Fun ships it: a blank URL line, and timestamp 0 on every line (both were refused)
  const text = ['', ...rows.map((r) => r.join(' '))].join('\n')
  const rotate = (q: Quat, v: Vec3): Vec3 => {
    const [x, y, z, w] = q
    const p: Quat = [v[0], v[1], v[2], 0]
    const r = qMul(qMul([x, y, z, w], p), [-x, -y, -z, w])
    return [r[0], r[1], r[2]]
  }
  it('puts each camera at -R^T t, looking along R row 3 with up -R row 2, with fov 2 atan(1 / 2fy)', () => {
    const { poses, warnings } = importRealEstate10K(text, rows.length)
    expect(warnings).toEqual([])
    expect(poses).toHaveLength(rows.length)
    rows.forEach((row, i) => {
      const m = row.slice(7)
      const R = [0, 1, 2].map((r) => m.slice(r * 4, r * 4 + 3))
      const t = [m[3]!, m[7]!, m[11]!]
      const centre = [0, 1, 2].map(
        (c) => -(R[0]![c]! * t[0]! + R[1]![c]! * t[1]! + R[2]![c]! * t[2]!),
      )
      const p = poses[i]!
      p.position.forEach((v, k) => expect(v).toBeCloseTo(centre[k]!, 9))
      // three.js looks down its -z and has +y up; OpenCV looks along +z with y down
      rotate(p.rotation, [0, 0, -1]).forEach((v, k) => expect(v).toBeCloseTo(R[2]![k]!, 9))
      rotate(p.rotation, [0, 1, 0]).forEach((v, k) => expect(v).toBeCloseTo(-R[1]![k]!, 9))
      expect(p.fov).toBeCloseTo((2 * Math.atan(1 / (2 * row[2]!)) * 180) / Math.PI, 9)
    })
    // the file pans left: the camera slides towards -x, looking ahead the whole way
    const xs = poses.map((p) => p.position[0])
    expect(xs.at(-1)!).toBeLessThan(xs[0]! - 0.1)
    xs.slice(1).forEach((x, i) => expect(x).toBeLessThan(xs[i]!))
  })
})

describe('pose files', () => {
  it('MotionCtrl JSON round-trips (resampled to N) within 1e-6', () => {
    fc.assert(
      fc.property(
        fc.array(pose, { minLength: 2, maxLength: 6 }),
        fc.integer({ min: 2, max: 20 }),
        (ps, n) => {
          const sampled = sampleTrajectory(trajectoryFromPoses(ps, n), n)
          const back = importMotionCtrlJson(exportMotionCtrlJson(sampled), n, sampled[0]!.fov)
          expect(back.warnings).toEqual([])
          back.poses.forEach((p, i) => {
            p.position.forEach((v, k) =>
              expect(Math.abs(v - sampled[i]!.position[k]!)).toBeLessThanOrEqual(1e-6),
            )
            qClose(p.rotation, sampled[i]!.rotation, 1e-9)
          })
        },
      ),
      { numRuns: 60 },
    )
  })

  it('RealEstate10K txt round-trips poses and fov within 1e-6', () => {
    fc.assert(
      fc.property(
        fc.array(pose, { minLength: 2, maxLength: 6 }),
        fc.integer({ min: 2, max: 20 }),
        (ps, n) => {
          const sampled = sampleTrajectory(trajectoryFromPoses(ps, n), n)
          const back = importRealEstate10K(
            exportRealEstate10K(sampled, { width: 1024, height: 576, fps: 8 }),
            n,
          )
          back.poses.forEach((p, i) => {
            p.position.forEach((v, k) =>
              expect(Math.abs(v - sampled[i]!.position[k]!)).toBeLessThanOrEqual(1e-6),
            )
            qClose(p.rotation, sampled[i]!.rotation, 1e-9)
            expect(Math.abs(p.fov - sampled[i]!.fov)).toBeLessThanOrEqual(1e-6)
          })
        },
      ),
      { numRuns: 60 },
    )
  })

  it('resamples a shorter pose file, saying so', () => {
    const poses = presetPoses([{ name: 'orbit-left' }], { frames: 16 })
    const r = importMotionCtrlJson(exportMotionCtrlJson(poses), 25)
    expect(r.poses).toHaveLength(25)
    expect(r.warnings[0]).toMatch(/16 frames, fewer than the clip's 25: resampled/)
  })

  it('takes the central rows of a longer pose file, as MotionCtrl does, saying so', () => {
    const poses = presetPoses([{ name: 'pan-left' }], { frames: 16 })
    const r = importMotionCtrlJson(exportMotionCtrlJson(poses), 14)
    expect(r.warnings[0]).toMatch(/central 14 \(rows 2 to 15\)/)
    r.poses.forEach((p, i) =>
      p.position.forEach((v, k) => expect(v).toBeCloseTo(poses[i + 1]!.position[k]!, 9)),
    )
  })

  const id = [1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]
  const bad: [string, string, RegExp][] = [
    ['not JSON', '[[1, 0, 0,', /not valid JSON/],
    ['not a list', '{"poses": []}', /expected a JSON list of frames/],
    ['an empty list', '[]', /the pose list is empty/],
    [
      'a short row',
      JSON.stringify([id, id.slice(0, 11)]),
      /frame 1 \(line 1\): has 11 numbers; expected 12/,
    ],
    [
      'a NaN (as a string)',
      `[\n${JSON.stringify(id)},\n${JSON.stringify(id).replace('1,', '"NaN",')}\n]`,
      /frame 1 \(line 3\): value 1 \(row 1, column 1 of the 3x4 \[R\|t\]\) is not a finite number: it is "NaN"/,
    ],
    [
      'a number too large for a double (1e400 reads as Infinity)',
      `[\n${JSON.stringify(id)},\n[1, 0, 0, 0, 0, 1, 0, -1e400, 0, 0, 1, 0]\n]`,
      /frame 1 \(line 3\): value 8 \(row 2, column 4 of the 3x4 \[R\|t\]\) is not a finite number: it is too large \(it reads as -Infinity\)/,
    ],
    [
      'a null',
      `[[1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, null]]`,
      /frame 0 \(line 1\): value 12 \(row 3, column 4 of the 3x4 \[R\|t\]\) is not a finite number: it is null/,
    ],
    [
      'a non-orthonormal rotation',
      JSON.stringify([id, [2, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]]),
      /frame 1 .*not orthonormal/,
    ],
    ['a reflection', JSON.stringify([[-1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0]]), /determinant -1/],
    [
      'a row that is not a list',
      JSON.stringify([id, 'hello']),
      /frame 1 .*expected a list of 12 numbers/,
    ],
  ]
  for (const [what, text, msg] of bad) {
    it(`refuses a MotionCtrl JSON with ${what}`, () => {
      expect(() => importMotionCtrlJson(text, 16)).toThrow(msg)
    })
  }

  const good = exportRealEstate10K(presetPoses([{ name: 'pan-left' }], { frames: 3 }), {
    width: 512,
    height: 512,
    fps: 8,
  }).split('\n')
  const re10k: [string, string, RegExp][] = [
    ['an empty file', '', /line 1: expected the video URL line first/],
    ['no camera lines', 'https://example.com/v\n', /no camera lines/],
    [
      'a short line',
      `${good[0]}\n${good[1]}\n0 0.5 0.5 0.5 0.5 0 0 1 0 0\n`,
      /line 3: has 10 values; expected 19/,
    ],
    [
      'a non-number',
      `${good[0]}\n${good[1]!.replace(/^\S+/, 'abc')}\n`,
      /line 2: value 1 \("abc"\) is not a finite number/,
    ],
    [
      'a number too large for a double (1e400)',
      `${good[0]}\n0 0.5 0.5 0.5 0.5 0 0 1 0 0 0 0 1 0 1e400 0 0 1 0\n`,
      /line 2: value 15 \("1e400"\) is not a finite number: it is too large \(it reads as Infinity\); row 2, column 4 of the 3x4 world-to-camera/,
    ],
    [
      'a non-orthonormal rotation',
      `${good[0]}\n0 0.5 0.5 0.5 0.5 0 0 1 0 0 0 0 3 0 0 0 0 1 0\n`,
      /line 2: the rotation is not orthonormal/,
    ],
    [
      'a zero focal length',
      `${good[0]}\n0 0 0.5 0.5 0.5 0 0 1 0 0 0 0 1 0 0 0 0 1 0\n`,
      /line 2: focal lengths must be positive/,
    ],
  ]
  for (const [what, text, msg] of re10k) {
    it(`refuses a RealEstate10K file with ${what}`, () => {
      expect(() => importRealEstate10K(text, 3)).toThrow(msg)
    })
  }

  it('reads the lines in file order where timestamps do not increase, and says so', () => {
    const [url, a, b, c] = good
    const swapped = [url, a, c!.replace(/^\S+/, '1'), b!.replace(/^\S+/, '1')].join('\n')
    const r = importRealEstate10K(swapped, 3)
    expect(r.warnings).toEqual([
      "the file's timestamps do not increase; its lines were read in file order",
    ])
    // line 3 (the pan's last pose) is frame 1
    const last = importRealEstate10K(good.join('\n'), 3).poses[2]!
    r.poses[1]!.position.forEach((v, k) => expect(v).toBeCloseTo(last.position[k]!, 12))
  })

  it('keeps the multiplication helpers honest', () => {
    const q = qMul(qFromAxisAngle([0, 1, 0], 0.3), qFromAxisAngle([0, 1, 0], 0.2))
    qClose(q, qFromAxisAngle([0, 1, 0], 0.5), 1e-12)
  })
})
