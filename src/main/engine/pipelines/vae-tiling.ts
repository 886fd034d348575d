// Spatial VAE tiling for the `minimal` plan, after diffusers' AutoencoderKL.tiled_decode:
// tiles of `tile` latent pixels every tile*(1-overlap), each decoded alone, then blended
// linearly over the overlap (top edge with the tile above, left edge with the tile left)
// and cropped, so big frames decode in bounded memory without visible seams. The decoder's
// channel count comes from the tiles (3 for an image VAE, 3 x frames for a 3D VAE's tile
// seen as [N, 3F, H, W]). A VAE whose decoder ends in an unpatchify (Wan2.2's, patch 2) is
// blended by diffusers before it, over patch x patch pixel blocks: `patch` blends rows and
// columns in groups of that many, with the group's weight.

export type DecodeTile = (
  z: Float32Array,
  dims: [number, number, number, number],
) => Promise<Float32Array>

function crop(
  z: Float32Array,
  [N, C, h, w]: number[],
  y0: number,
  x0: number,
  th: number,
  tw: number,
): Float32Array {
  const out = new Float32Array(N! * C! * th * tw)
  for (let nc = 0; nc < N! * C!; nc++) {
    for (let y = 0; y < th; y++) {
      const src = (nc * h! + y0 + y) * w! + x0
      out.set(z.subarray(src, src + tw), (nc * th + y) * tw)
    }
  }
  return out
}

/** Where tiles start along a side of n latent pixels: every diffusers tile stride from 0. */
export function tileStarts(n: number, tile: number, overlapFactor: number): number[] {
  const stride = Math.floor(tile * (1 - overlapFactor))
  return Array.from({ length: Math.ceil(n / stride) }, (_, i) => i * stride)
}

/** How many tiles tiledDecode decodes for an h x w latent. */
export function tileCount(h: number, w: number, tile: number, overlapFactor: number): number {
  return tileStarts(h, tile, overlapFactor).length * tileStarts(w, tile, overlapFactor).length
}

export async function tiledDecode(
  z: Float32Array,
  dims: [number, number, number, number],
  scale: number,
  decode: DecodeTile,
  tile = 64,
  overlapFactor = 0.25,
  patch = 1,
): Promise<{ data: Float32Array; dims: [number, number, number, number] }> {
  const [N, C, h, w] = dims
  const sampleTile = tile * scale
  const blendExtent = Math.floor(sampleTile * overlapFactor)
  const rowLimit = sampleTile - blendExtent
  type T = { data: Float32Array; h: number; w: number }
  const rows: T[][] = []
  let outC = 0
  for (const i of tileStarts(h, tile, overlapFactor)) {
    const row: T[] = []
    for (const j of tileStarts(w, tile, overlapFactor)) {
      const th = Math.min(tile, h - i)
      const tw = Math.min(tile, w - j)
      const data = await decode(crop(z, dims, i, j, th, tw), [N, C, th, tw])
      const c = data.length / (N * th * scale * tw * scale)
      if (!Number.isInteger(c) || (outC && c !== outC))
        throw new RangeError(
          `a decoded tile has ${data.length} values; not N x channels x ${th * scale} x ${tw * scale}`,
        )
      outC = c
      row.push({ data, h: th * scale, w: tw * scale })
    }
    rows.push(row)
  }
  const H = h * scale
  const W = w * scale
  const out = new Float32Array(N * outC * H * W)
  let y0 = 0
  rows.forEach((row, ri) => {
    let x0 = 0
    let rowH = 0
    row.forEach((t, cj) => {
      const d = t.data
      const at = (nc: number, y: number, x: number) => (nc * t.h + y) * t.w + x
      if (ri > 0) {
        const a = rows[ri - 1]![cj]!
        // in patch-row groups: diffusers blends the patched rows, each weighted by its index
        const groups = Math.floor(Math.min(a.h, t.h, blendExtent) / patch)
        const ext = groups * patch
        for (let nc = 0; nc < N * outC; nc++)
          for (let y = 0; y < ext; y++) {
            const wy = Math.floor(y / patch) / groups
            for (let x = 0; x < Math.min(t.w, a.w); x++) {
              const av = a.data[(nc * a.h + a.h - ext + y) * a.w + x]!
              d[at(nc, y, x)] = av * (1 - wy) + d[at(nc, y, x)]! * wy
            }
          }
      }
      if (cj > 0) {
        const a = row[cj - 1]!
        const groups = Math.floor(Math.min(a.w, t.w, blendExtent) / patch)
        const ext = groups * patch
        for (let nc = 0; nc < N * outC; nc++)
          for (let y = 0; y < Math.min(t.h, a.h); y++)
            for (let x = 0; x < ext; x++) {
              const wx = Math.floor(x / patch) / groups
              const av = a.data[(nc * a.h + y) * a.w + a.w - ext + x]!
              d[at(nc, y, x)] = av * (1 - wx) + d[at(nc, y, x)]! * wx
            }
      }
      const ch = Math.min(rowLimit, t.h)
      const cw = Math.min(rowLimit, t.w)
      for (let nc = 0; nc < N * outC; nc++)
        for (let y = 0; y < ch && y0 + y < H; y++)
          for (let x = 0; x < cw && x0 + x < W; x++)
            out[(nc * H + y0 + y) * W + x0 + x] = d[at(nc, y, x)]!
      x0 += cw
      rowH = Math.max(rowH, ch)
    })
    y0 += rowH
  })
  return { data: out, dims: [N, outC, H, W] }
}
