// The spatial tile blend (vae-tiling.ts) as diffusers' blend_v does it: the top of a tile takes
// the tile above with weight 1 - y / extent. A decoder ending in an unpatchify (Wan2.2's, patch
// 2) is blended by diffusers before it, in the patched domain: pixel rows go in pairs, each pair
// with its patched row's weight.
import { describe, expect, it } from 'vitest'
import { tiledDecode } from '../../../src/main/engine/pipelines/vae-tiling'

describe('tile blending', () => {
  // latent 20 x 12 with Wan2.2's factor 16: 16-latent tiles every 12 -> two rows of tiles; each
  // "decodes" to its row's index everywhere, so the blend's weights are what comes out
  const blendedRows = async (patch: number) => {
    let tile = 0
    const out = await tiledDecode(
      new Float32Array(20 * 12),
      [1, 1, 20, 12],
      16,
      async (_z, [, , th, tw]) => new Float32Array(3 * th * 16 * tw * 16).fill(tile++),
      16,
      0.25,
      patch,
    )
    expect(out.dims).toEqual([1, 3, 320, 192])
    expect(tile).toBe(2)
    // rows 192..255: the second tile's top 64 rows over the first tile's bottom 64
    return Array.from({ length: 64 }, (_, y) => out.data[(192 + y) * 192 + 5]!)
  }

  it('patch 1: row y of the overlap weighs the lower tile y / 64', async () => {
    const rows = await blendedRows(1)
    rows.forEach((v, y) => expect(v).toBeCloseTo(y / 64, 6))
  })

  it('patch 2: rows in pairs, pair k weighs the lower tile k / 32 (diffusers, before unpatchify)', async () => {
    const rows = await blendedRows(2)
    rows.forEach((v, y) => expect(v).toBeCloseTo(Math.floor(y / 2) / 32, 6))
    expect(rows[1]).toBe(rows[0])
    expect(rows[3]).toBeGreaterThan(rows[1]!)
  })
})
