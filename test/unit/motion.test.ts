import { describe, expect, it } from 'vitest'
import { describeMotion, mapMotion, motionControlFor } from '../../src/shared/motion'

describe('motion-strength mapping, per model kind', () => {
  const svd = { pipeline: 'svd', motion: 'motion_bucket_id', camera: 'none' } as const
  const svdCam = { pipeline: 'svd', motion: 'motion_bucket_id', camera: 'motionctrl-rt' } as const
  const scale = { pipeline: 'animatediff', motion: 'motion_scale', camera: 'none' } as const
  const motionctrl = { pipeline: 'animatediff', motion: 'none', camera: 'motionctrl-rt' } as const
  const plain = { pipeline: 'animatediff', motion: 'none', camera: 'none' } as const
  const cog = { pipeline: 'cogvideox', motion: 'none', camera: 'none' } as const

  it('SVD: motion_bucket_id 0..255 with 127 near the middle (MotionCtrl-SVD too)', () => {
    for (const m of [svd, svdCam]) {
      expect(mapMotion(m, 0)).toEqual({ kind: 'motion_bucket_id', motionBucketId: 0 })
      expect(mapMotion(m, 0.5)).toEqual({ kind: 'motion_bucket_id', motionBucketId: 128 })
      expect(mapMotion(m, 1)).toEqual({ kind: 'motion_bucket_id', motionBucketId: 255 })
    }
    expect(describeMotion(svd, 127 / 255)).toBe('motion bucket 127 of 255')
  })

  it('AnimateDiff with a motion_scale input: 0..2, 1 in the middle', () => {
    expect(mapMotion(scale, 0.5)).toEqual({ kind: 'motion_scale', motionScale: 1 })
    expect(mapMotion(scale, 1)).toEqual({ kind: 'motion_scale', motionScale: 2 })
  })

  it('MotionCtrl: the camera translation scale', () => {
    expect(mapMotion(motionctrl, 0.25)).toEqual({ kind: 'camera_scale', cameraScale: 0.5 })
    expect(describeMotion(motionctrl, 0.5)).toBe('camera travel x1.00')
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
