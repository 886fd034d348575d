// MotionCtrl's camera input for its own shipped pose files, as its SVD entry point computes
// it (test/data/motionctrl/poses.json, written by tools/reference/motionctrl_poses.py from
// TencentARC/MotionCtrl's files and get_RT's rule): central rows of a longer file, the
// translation scaled per axis before the poses are made relative to frame 0.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  importMotionCtrlJson,
  MOTIONCTRL_PRESETS,
  motionCtrlPresetPoses,
  motionCtrlPresetRows,
  motionCtrlRT,
} from '../../../src/shared/camera'

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

describe("MotionCtrl's own presets in the editor", () => {
  const shipped = JSON.parse(
    readFileSync(resolve(__dirname, '../../data/motionctrl/presets.json'), 'utf8'),
  ) as Record<string, number[][]>

  it('covers every shipped basic preset', () => {
    expect(Object.keys(shipped).sort()).toEqual([...MOTIONCTRL_PRESETS].sort())
  })

  for (const name of MOTIONCTRL_PRESETS) {
    it(`${name}: the rows MotionCtrl ships, and its camera input through the editor's poses`, () => {
      const rows = shipped[name]!
      // our formula gives the shipped rows
      const ours = motionCtrlPresetRows(name, rows.length)
      let err = 0
      ours.forEach((r, f) => r.forEach((v, k) => (err = Math.max(err, Math.abs(v - rows[f]![k]!)))))
      expect(err).toBeLessThan(1e-4)
      // and, as editor poses, the RT MotionCtrl computes from its file ([3, 1, 4], SVD's scale)
      const rt = motionCtrlRT(motionCtrlPresetPoses(name, 16), [3, 1, 4])
      const want = motionCtrlRT(importMotionCtrlJson(JSON.stringify(rows), 16).poses, [3, 1, 4])
      let e2 = 0
      for (let i = 0; i < rt.length; i++) e2 = Math.max(e2, Math.abs(rt[i]! - want[i]!))
      expect(e2).toBeLessThan(1e-3)
    })
  }

  it('another frame count follows the same motion (end poses equal)', () => {
    const r16 = motionCtrlPresetRows('Round-RI', 16)
    const r25 = motionCtrlPresetRows('Round-RI', 25)
    r16.at(-1)!.forEach((v, k) => expect(r25.at(-1)![k]).toBeCloseTo(v, 9))
    expect(r25).toHaveLength(25)
  })
})
