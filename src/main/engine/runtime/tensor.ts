// Tensors are onnxruntime's `Tensor` (pure JS, from onnxruntime-common), so a scheduler's
// output goes straight into `session.run`. Helpers here work on typed arrays in place or
// into one preallocated output: no per-element allocation.
import { Tensor, type TypedTensor } from 'onnxruntime-common'

export { Tensor }
export type FloatTensor = TypedTensor<'float32'>

/** Anything with float32 data and dims: an ort Tensor, or a plain object in tests. */
export type FloatTensorLike = { readonly data: Float32Array; readonly dims: readonly number[] }

export function floatTensor(data: Float32Array, dims: readonly number[]): FloatTensor {
  return new Tensor('float32', data, dims)
}

export function sizeOf(dims: readonly number[]): number {
  let n = 1
  for (const d of dims) n *= d
  return n
}

export function assertFloat32(
  t: { data: unknown; dims: readonly number[] },
  what: string,
): Float32Array {
  if (!(t.data instanceof Float32Array)) throw new TypeError(`${what}: expected float32 data`)
  if (t.data.length !== sizeOf(t.dims)) {
    throw new RangeError(`${what}: ${t.data.length} values do not fill dims [${t.dims.join(', ')}]`)
  }
  return t.data
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i])
}

function strides(dims: readonly number[]): number[] {
  const s = new Array<number>(dims.length)
  let acc = 1
  for (let i = dims.length - 1; i >= 0; i--) {
    s[i] = acc
    acc *= dims[i]!
  }
  return s
}

/**
 * `x.permute(perm)` into a new contiguous array (like torch's permute + contiguous).
 * Walks the output in order with an odometer over the input's strides.
 */
export function permute<T extends Float32Array | Uint16Array>(
  data: T,
  dims: readonly number[],
  perm: readonly number[],
): { data: T; dims: number[] } {
  const rank = dims.length
  if (perm.length !== rank || [...perm].sort((a, b) => a - b).some((p, i) => p !== i)) {
    throw new RangeError(`permute: [${perm.join(', ')}] is not a permutation of ${rank} axes`)
  }
  const inStrides = strides(dims)
  const outDims = perm.map((p) => dims[p]!)
  const stepIn = perm.map((p) => inStrides[p]!)
  const out = new (data.constructor as new (n: number) => T)(data.length)
  const idx = new Array<number>(rank).fill(0)
  let src = 0
  const last = rank - 1
  const innerLen = outDims[last] ?? 1
  const innerStep = stepIn[last] ?? 1
  let o = 0
  const total = data.length
  while (o < total) {
    // inner axis in a tight loop
    let s = src
    for (let k = 0; k < innerLen; k++, s += innerStep) out[o++] = data[s]!
    // carry the odometer over the outer axes
    let ax = last - 1
    while (ax >= 0) {
      idx[ax]!++
      src += stepIn[ax]!
      if (idx[ax]! < outDims[ax]!) break
      src -= stepIn[ax]! * outDims[ax]!
      idx[ax] = 0
      ax--
    }
    if (ax < 0) break
  }
  return { data: out, dims: outDims }
}

/** `torch.cat(parts, axis)`. */
export function concat(
  parts: readonly FloatTensorLike[],
  axis: number,
): { data: Float32Array; dims: number[] } {
  if (parts.length === 0) throw new RangeError('concat: no tensors')
  const first = parts[0]!.dims
  const outDims = [...first]
  outDims[axis] = 0
  for (const p of parts) {
    if (p.dims.length !== first.length || p.dims.some((d, i) => i !== axis && d !== first[i])) {
      throw new RangeError(
        `concat: shapes [${first.join(', ')}] and [${p.dims.join(', ')}] differ off axis ${axis}`,
      )
    }
    outDims[axis] += p.dims[axis]!
  }
  const outer = sizeOf(first.slice(0, axis))
  const out = new Float32Array(sizeOf(outDims))
  let o = 0
  for (let i = 0; i < outer; i++) {
    for (const p of parts) {
      const block = sizeOf(p.dims.slice(axis))
      out.set(p.data.subarray(i * block, (i + 1) * block), o)
      o += block
    }
  }
  return { data: out, dims: outDims }
}

/** `torch.split(x, sizes, axis)` / `chunk`: views where the split is on axis 0, copies otherwise. */
export function split(
  t: FloatTensorLike,
  sizes: readonly number[],
  axis: number,
): { data: Float32Array; dims: number[] }[] {
  const total = sizes.reduce((a, b) => a + b, 0)
  if (total !== t.dims[axis])
    throw new RangeError(`split: sizes add to ${total}, axis ${axis} has ${t.dims[axis]}`)
  const outer = sizeOf(t.dims.slice(0, axis))
  const inner = sizeOf(t.dims.slice(axis + 1))
  const axisLen = t.dims[axis]!
  let offset = 0
  return sizes.map((n) => {
    const dims = [...t.dims]
    dims[axis] = n
    let data: Float32Array
    if (outer === 1) data = t.data.subarray(offset * inner, (offset + n) * inner)
    else {
      data = new Float32Array(outer * n * inner)
      for (let i = 0; i < outer; i++) {
        const from = (i * axisLen + offset) * inner
        data.set(t.data.subarray(from, from + n * inner), i * n * inner)
      }
    }
    offset += n
    return { data, dims }
  })
}

export function chunk(
  t: FloatTensorLike,
  chunks: number,
  axis: number,
): { data: Float32Array; dims: number[] }[] {
  const len = t.dims[axis]!
  const size = Math.ceil(len / chunks)
  const sizes: number[] = []
  for (let s = 0; s < len; s += size) sizes.push(Math.min(size, len - s))
  return split(t, sizes, axis)
}

/** `x.repeat_interleave(repeats, dim=axis)`. */
export function repeatInterleave(
  t: FloatTensorLike,
  repeats: number,
  axis: number,
): { data: Float32Array; dims: number[] } {
  const dims = [...t.dims]
  const outer = sizeOf(dims.slice(0, axis + 1))
  const inner = sizeOf(dims.slice(axis + 1))
  dims[axis] = dims[axis]! * repeats
  const out = new Float32Array(t.data.length * repeats)
  let o = 0
  for (let i = 0; i < outer; i++) {
    const row = t.data.subarray(i * inner, (i + 1) * inner)
    for (let r = 0; r < repeats; r++, o += inner) out.set(row, o)
  }
  return { data: out, dims }
}
