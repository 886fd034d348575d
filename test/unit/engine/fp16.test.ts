// float32 <-> float16 against the IEEE-754 binary16 bit patterns (the values numpy's
// np.float16 gives for the same inputs).
import { describe, expect, it } from 'vitest'
import {
  float16ToFloat32,
  float32ToFloat16,
  fromHalfBits,
  toHalfBits,
} from '../../../src/main/engine'

const cases: [string, number, number][] = [
  ['zero', 0, 0x0000],
  ['negative zero', -0, 0x8000],
  ['one', 1, 0x3c00],
  ['minus two', -2, 0xc000],
  ['one third (rounded)', 1 / 3, 0x3555],
  ['pi', Math.PI, 0x4248],
  ['max normal 65504', 65504, 0x7bff],
  ['65519 rounds down to max', 65519, 0x7bff],
  ['65520 rounds up to infinity', 65520, 0x7c00],
  ['min normal 2^-14', 2 ** -14, 0x0400],
  ['largest subnormal', 1023 * 2 ** -24, 0x03ff],
  ['smallest subnormal 2^-24', 2 ** -24, 0x0001],
  ['half the smallest subnormal ties to even (zero)', 2 ** -25, 0x0000],
  ['just over half the smallest subnormal', 2 ** -25 * 1.0001, 0x0001],
  ['1.5 * 2^-24 ties to even (2 * 2^-24)', 1.5 * 2 ** -24, 0x0002],
  ['negative subnormal', -3 * 2 ** -24, 0x8003],
  ['tie to even at 1 + 2^-11', 1 + 2 ** -11, 0x3c00],
  ['tie to even at 1 + 3 * 2^-11', 1 + 3 * 2 ** -11, 0x3c02],
  ['infinity', Infinity, 0x7c00],
  ['minus infinity', -Infinity, 0xfc00],
  ['float32 subnormal underflows to zero', 1e-40, 0x0000],
]

describe('fp16', () => {
  for (const [name, v, bits] of cases) {
    it(`${name}: ${v} -> 0x${bits.toString(16).padStart(4, '0')}`, () => {
      expect(toHalfBits(v)).toBe(bits)
    })
  }

  it('NaN stays NaN both ways', () => {
    const h = toHalfBits(NaN)
    expect(h & 0x7c00).toBe(0x7c00)
    expect(h & 0x03ff).not.toBe(0)
    expect(Number.isNaN(fromHalfBits(h))).toBe(true)
    expect(Number.isNaN(fromHalfBits(0x7e00))).toBe(true)
  })

  it('every half value survives half -> float32 -> half exactly', () => {
    const all = new Uint16Array(65536).map((_, i) => i)
    const back = float32ToFloat16(float16ToFloat32(all))
    for (let h = 0; h < 65536; h++) {
      const isNaN = (h & 0x7c00) === 0x7c00 && (h & 0x3ff) !== 0
      if (isNaN) expect(Number.isNaN(fromHalfBits(back[h]!))).toBe(true)
      else if (back[h] !== h)
        throw new Error(`0x${h.toString(16)} came back as 0x${back[h]!.toString(16)}`)
    }
  })

  it('decodes subnormal, max, and infinite halves to their float32 values', () => {
    expect(fromHalfBits(0x0001)).toBe(2 ** -24)
    expect(fromHalfBits(0x03ff)).toBe(1023 * 2 ** -24)
    expect(fromHalfBits(0x7bff)).toBe(65504)
    expect(fromHalfBits(0xfc00)).toBe(-Infinity)
    expect(Object.is(fromHalfBits(0x8000), -0)).toBe(true)
  })
})

import { svdUNetInput, svdUNetInputHalf } from '../../../src/main/engine/pipelines/svd-host'
describe('SVD UNet input in float16', () => {
  it('equals the float32 input converted to half, value for value', () => {
    const F = 3
    const plane = 6
    const lat = Float32Array.from({ length: F * 4 * plane }, (_, i) => Math.sin(i) * 40)
    const img = Float32Array.from({ length: 4 * plane }, (_, i) => Math.cos(i) * 3)
    const f32in = svdUNetInput(lat, img, F, plane, 70.5, true, new Float32Array(2 * F * 8 * plane))
    const half = svdUNetInputHalf(
      lat,
      float32ToFloat16(img),
      F,
      plane,
      70.5,
      true,
      new Uint16Array(2 * F * 8 * plane),
      new Float32Array(lat.length),
    )
    expect(Array.from(half)).toEqual(Array.from(float32ToFloat16(f32in)))
  })
})
