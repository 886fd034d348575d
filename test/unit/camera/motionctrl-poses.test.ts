// MotionCtrl's camera input for its own shipped pose files, as its SVD entry point computes
// it (test/data/motionctrl/poses.json, written by tools/reference/motionctrl_poses.py from
// TencentARC/MotionCtrl's files and get_RT's rule): central rows of a longer file, the
// translation scaled per axis before the poses are made relative to frame 0.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { importMotionCtrlJson, motionCtrlRT } from '../../../src/shared/camera'

type Case = {
  name: string
  rows: number[][]
  frames: number
  scale: [number, number, number]
  speed: number
  rt: number[][]
}
const cases = JSON.parse(
  readFileSync(resolve(__dirname, '../../data/motionctrl/poses.json'), 'utf8'),
) as Case[]

describe('MotionCtrl RT from its shipped pose files (scale before relative)', () => {
  for (const c of cases) {
    it(`${c.name}: ${c.rows.length} rows for ${c.frames} frames, scale [${c.scale}] x${c.speed}`, () => {
      const { poses } = importMotionCtrlJson(JSON.stringify(c.rows), c.frames)
      const rt = motionCtrlRT(poses, c.scale.map((v) => v * c.speed) as [number, number, number])
      expect(rt.length).toBe(c.frames * 12)
      let err = 0
      c.rt.forEach((row, f) =>
        row.forEach((v, k) => (err = Math.max(err, Math.abs(rt[f * 12 + k]! - v)))),
      )
      expect(err).toBeLessThan(1e-5)
    })
  }

  it('Round-RI at 16 frames with [3, 1, 4]: frame 8 has tx -4.1 (scaling after relative gave -2.4)', () => {
    const c = cases.find((x) => x.name === 'Round-RI' && x.frames === 16)!
    const { poses } = importMotionCtrlJson(JSON.stringify(c.rows), 16)
    const rt = motionCtrlRT(poses, [3, 1, 4])
    expect(rt[8 * 12 + 3]).toBeCloseTo(-4.1, 5)
    expect(c.rt[8]![3]).toBeCloseTo(-4.1, 9)
  })
})
