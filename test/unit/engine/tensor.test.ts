// Tensor helpers against the torch semantics they stand for (values worked out by index).
import { describe, expect, it } from 'vitest'
import { chunk, concat, permute, repeatInterleave, split } from '../../../src/main/engine'

const iota = (n: number) => Float32Array.from({ length: n }, (_, i) => i)

describe('tensor helpers', () => {
  it('permute matches x.permute(...).contiguous() element by element', () => {
    const dims = [2, 3, 4, 5]
    const x = iota(120)
    const perm = [0, 2, 1, 3]
    const r = permute(x, dims, perm)
    expect(r.dims).toEqual([2, 4, 3, 5])
    for (let a = 0; a < 2; a++)
      for (let b = 0; b < 4; b++)
        for (let c = 0; c < 3; c++)
          for (let d = 0; d < 5; d++)
            expect(r.data[((a * 4 + b) * 3 + c) * 5 + d]).toBe(((a * 3 + c) * 4 + b) * 5 + d)
  })

  it('permute [B,C,F,h,w] -> [B*F,C,h,w] order (AnimateDiff decode)', () => {
    const r = permute(iota(2 * 4 * 3 * 2 * 2), [2, 4, 3, 2, 2], [0, 2, 1, 3, 4])
    expect(r.dims).toEqual([2, 3, 4, 2, 2])
    // element (b=1, f=2, c=3, y=1, x=0) comes from (b=1, c=3, f=2, y=1, x=0)
    expect(r.data[(((1 * 3 + 2) * 4 + 3) * 2 + 1) * 2 + 0]).toBe(
      (((1 * 4 + 3) * 3 + 2) * 2 + 1) * 2 + 0,
    )
  })

  it('concat, split and chunk are inverse on any axis', () => {
    const a = { data: iota(24), dims: [2, 3, 4] }
    const b = { data: iota(16).map((v) => v + 100), dims: [2, 2, 4] }
    const c = concat([a, b], 1)
    expect(c.dims).toEqual([2, 5, 4])
    expect(Array.from(c.data.subarray(0, 20))).toEqual([
      ...Array.from(a.data.subarray(0, 12)),
      ...Array.from(b.data.subarray(0, 8)),
    ])
    const [a2, b2] = split(c, [3, 2], 1)
    expect(a2!.data).toEqual(a.data)
    expect(b2!.data).toEqual(b.data)
    const halves = chunk({ data: iota(10), dims: [10] }, 3, 0)
    expect(halves.map((h) => h.dims[0])).toEqual([4, 4, 2])
    expect(() => concat([a, { data: iota(6), dims: [2, 3, 1] }], 1)).toThrow(/differ off axis 1/)
  })

  it('repeat_interleave repeats each row in place (prompt embeddings per frame)', () => {
    const emb = { data: Float32Array.from([1, 2, 3, 4]), dims: [2, 2] }
    const r = repeatInterleave(emb, 3, 0)
    expect(r.dims).toEqual([6, 2])
    expect(Array.from(r.data)).toEqual([1, 2, 1, 2, 1, 2, 3, 4, 3, 4, 3, 4])
  })
})
