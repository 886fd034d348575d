import { describe, expect, it } from 'vitest'
import { cameraTravel, describeMotion, mapMotion, motionControlFor } from '../../src/shared/motion'

describe('motion-strength mapping, per model kind', () => {
  const svd = { motion: 'motion_bucket_id', camera: 'none' } as const
  const svdCam = { motion: 'motion_bucket_id', camera: 'motionctrl-rt' } as const
  const scale = { motion: 'motion_scale', camera: 'none' } as const
  const motionctrl = { motion: 'none', camera: 'motionctrl-rt' } as const
  const plain = { motion: 'none', camera: 'none' } as const
  const cog = { motion: 'none', camera: 'none' } as const

  it("SVD: motion_bucket_id 0..255, the middle is diffusers' default 127 (MotionCtrl-SVD too)", () => {
    for (const m of [svd, svdCam]) {
      expect(mapMotion(m, 0)).toEqual({ kind: 'motion_bucket_id', motionBucketId: 0 })
      // regression: round(0.5 * 255) gave 128, not the default
      expect(mapMotion(m, 0.5)).toEqual({ kind: 'motion_bucket_id', motionBucketId: 127 })
      expect(mapMotion(m, 1)).toEqual({ kind: 'motion_bucket_id', motionBucketId: 255 })
    }
    expect(describeMotion(svd, 0.5)).toBe('motion bucket 127 of 255')
    // monotonic over the whole slider, every bucket reachable in 1/255 steps
    let prev = -1
    for (let i = 0; i <= 1000; i++) {
      const b = (mapMotion(svd, i / 1000) as { motionBucketId: number }).motionBucketId
      expect(b).toBeGreaterThanOrEqual(prev)
      prev = b
    }
  })

  it('AnimateDiff with a motion_scale input: 0..2, 1 in the middle', () => {
    expect(mapMotion(scale, 0.5)).toEqual({ kind: 'motion_scale', motionScale: 1 })
    expect(mapMotion(scale, 1)).toEqual({ kind: 'motion_scale', motionScale: 2 })
  })

  it('MotionCtrl: the camera translation scale', () => {
    expect(mapMotion(motionctrl, 0.25)).toEqual({ kind: 'camera_scale', cameraScale: 0.5 })
    expect(describeMotion(motionctrl, 0.5)).toBe('camera travel x1.00')
  })

  it("the camera's rendered travel (what the editor's too-fast warning measures): x0..x2 only where the slider drives the camera", () => {
    expect([0, 0.5, 1].map((v) => cameraTravel('camera_scale', v))).toEqual([0, 1, 2])
    expect(cameraTravel('motion_bucket_id', 1)).toBe(1)
    expect(cameraTravel('none', 0)).toBe(1)
  })

  it('no motion input: disabled with the reason', () => {
    for (const m of [plain, cog]) {
      expect(motionControlFor(m)).toMatchObject({
        kind: 'none',
        reason: expect.stringMatching(/no motion input/),
      })
      expect(mapMotion(m, 0.7)).toEqual({ kind: 'none' })
    }
  })

  it('clamps out-of-range values and refuses NaN', () => {
    expect(mapMotion(svd, 3)).toEqual({ kind: 'motion_bucket_id', motionBucketId: 255 })
    expect(mapMotion(svd, -1)).toEqual({ kind: 'motion_bucket_id', motionBucketId: 0 })
    expect(() => mapMotion(svd, Number.NaN)).toThrow(/must be a number/)
  })
})
