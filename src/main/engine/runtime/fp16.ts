// IEEE-754 half precision <-> float32, for float16 model inputs and outputs (onnxruntime-node
// takes and returns float16 tensors as Uint16Array). Round to nearest even, subnormals,
// infinities and NaN (payload kept quiet) as numpy's float16 conversion does.

const f32 = new Float32Array(1)
const u32 = new Uint32Array(f32.buffer)

/** One float32 value to half bits. */
export function toHalfBits(value: number): number {
  f32[0] = value
  const x = u32[0]!
  const sign = (x >>> 16) & 0x8000
  const exp = (x >>> 23) & 0xff
  let mant = x & 0x7fffff

  if (exp === 0xff) {
    // Inf or NaN; keep NaN a NaN (quiet bit set) with the top payload bits
    return mant ? sign | 0x7e00 | (mant >>> 13) : sign | 0x7c00
  }
  const e = exp - 127 + 15
  if (e >= 0x1f) return sign | 0x7c00 // overflow to infinity
  if (e <= 0) {
    // half subnormal (or zero): shift the mantissa with its hidden bit, round to even
    if (e < -10) return sign // underflows to signed zero
    mant |= 0x800000
    const shift = 14 - e
    const half = mant >>> shift
    const rem = mant & ((1 << shift) - 1)
    const mid = 1 << (shift - 1)
    const rounded = rem > mid || (rem === mid && (half & 1) === 1) ? half + 1 : half
    return sign | rounded
  }
  const half = (e << 10) | (mant >>> 13)
  const rem = mant & 0x1fff
  // round to nearest even; a carry into the exponent is correct (it may reach infinity)
  const rounded = rem > 0x1000 || (rem === 0x1000 && (half & 1) === 1) ? half + 1 : half
  return sign | rounded
}

/** Half bits to a float32 value. */
export function fromHalfBits(h: number): number {
  const sign = h & 0x8000 ? -1 : 1
  const exp = (h >>> 10) & 0x1f
  const mant = h & 0x3ff
  if (exp === 0) return sign * mant * 2 ** -24
  if (exp === 0x1f) return mant ? NaN : sign * Infinity
  return sign * (1 + mant / 1024) * 2 ** (exp - 15)
}

export function float32ToFloat16(
  src: ArrayLike<number>,
  out = new Uint16Array(src.length),
): Uint16Array {
  if (!(src instanceof Float32Array)) {
    for (let i = 0; i < src.length; i++) out[i] = toHalfBits(src[i]!)
    return out
  }
  // Hot path (every input of an fp16 model). Int32Array, not Uint32Array: V8 keeps int32
  // values unboxed. Normal halves (2^-14 <= |x| < 65520) round to nearest even without a
  // branch: add 0xfff plus the kept mantissa's low bit, then shift (a carry into the
  // exponent is correct). Everything else (zero, subnormal, overflow, inf, NaN) goes the slow way.
  const bits = new Int32Array(src.buffer, src.byteOffset, src.length)
  for (let i = 0; i < bits.length; i++) {
    const x = bits[i]!
    const abs = x & 0x7fffffff
    if (abs >= 0x38800000 && abs < 0x477ff000) {
      out[i] = ((x >> 16) & 0x8000) | ((abs - 0x38000000 + 0xfff + ((abs >> 13) & 1)) >> 13)
    } else out[i] = toHalfBits(src[i]!)
  }
  return out
}

export function float16ToFloat32(
  src: Uint16Array,
  out = new Float32Array(src.length),
): Float32Array {
  // A table of all 65,536 halves makes the hot direction (model outputs) one load per value.
  const table = halfTable()
  for (let i = 0; i < src.length; i++) out[i] = table[src[i]!]!
  return out
}

let table: Float32Array | null = null
function halfTable(): Float32Array {
  if (!table) {
    table = new Float32Array(65536)
    for (let h = 0; h < 65536; h++) table[h] = fromHalfBits(h)
  }
  return table
}
