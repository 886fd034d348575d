import { describe, expect, it } from 'vitest'
import { PIPELINE_KINDS, PIPELINES } from '../../src/shared/render'
import { aspectName, sizeChoices } from '../../src/shared/sizes'

const familySize = (kind: (typeof PIPELINE_KINDS)[number]) => ({
  native: { width: PIPELINES[kind].width, height: PIPELINES[kind].height },
  multiple: PIPELINES[kind].sizeMultiple,
})

describe('size choices', () => {
  it('a fixed-size export offers only its size', () => {
    expect(sizeChoices({ ...familySize('svd'), fixed: { width: 32, height: 32 } })).toEqual([
      { width: 32, height: 32, label: "32×32 (this export's fixed size)" },
    ])
  })

  it('the model size first, then aspect variants at about its area, on the latent grid', () => {
    for (const kind of PIPELINE_KINDS) {
      const c = sizeChoices({ ...familySize(kind), fixed: null })
      const [base, ...rest] = c
      expect(base!.label).toMatch(/the model's own/)
      const m = PIPELINES[kind].sizeMultiple
      for (const s of c) {
        expect(s.width % m).toBe(0)
        expect(s.height % m).toBe(0)
        // within 10% of the base pixel count
        expect(Math.abs((s.width * s.height) / (base!.width * base!.height) - 1)).toBeLessThan(0.1)
      }
      expect(new Set(c.map((s) => `${s.width}x${s.height}`)).size).toBe(c.length)
      expect(rest.length).toBeGreaterThanOrEqual(3)
    }
    // SD1.5 AnimateDiff: 512x512 -> 16:9 at the same area is 680x384 on the 8-grid
    const ad = sizeChoices({ ...familySize('animatediff'), fixed: null })
    expect(ad.find((s) => s.label.includes('16:9'))).toMatchObject({ width: 680, height: 384 })
    // SVD's own 1024x576 is already 16:9, so it is not listed twice
    const svd = sizeChoices({ ...familySize('svd'), fixed: null })
    expect(svd.filter((s) => s.width === 1024 && s.height === 576)).toHaveLength(1)
  })

  it('names the aspect a size has, not the one aimed at (a coarse grid can land elsewhere)', () => {
    // a tiny Wan-like model: 48×32 on a grid of 16; aiming at 16:9 lands on 48×32 itself (3:2)
    const c = sizeChoices({ native: { width: 64, height: 32 }, multiple: 16, fixed: null })
    for (const s of c.slice(1)) {
      const named = /\((square|landscape|portrait) ?(\d+):(\d+)\)$/.exec(s.label)
      if (named && named[2] && named[3])
        expect(
          Math.abs(s.width / s.height / (Number(named[2]) / Number(named[3])) - 1),
        ).toBeLessThan(0.031)
    }
    expect(aspectName(48, 32)).toBe('landscape 3:2')
    expect(aspectName(848, 480)).toBe('landscape 16:9')
    expect(aspectName(80, 32)).toBe('landscape 2.50:1')
    expect(aspectName(32, 80)).toBe('portrait 1:2.50')
  })
})
