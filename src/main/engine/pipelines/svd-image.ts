// SVD's CLIP-branch preprocessing, after diffusers' pipeline_stable_video_diffusion.py
// (_resize_with_antialiasing): a Gaussian blur (kernel and sigma from the downscale factor,
// reflect padding), then torch's bicubic interpolation with align_corners=True (A = -0.75),
// all in float32 as torch computes it.
const f32 = Math.fround

export const CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
export const CLIP_STD = [0.26862954, 0.26130258, 0.27577711]

/** uint8 RGB (HWC) -> float32 CHW in [-1, 1]: numpy's u8 / 255, then torch's x * 2 - 1. */
export function toSignedCHW(rgb: Uint8Array, w: number, h: number): Float32Array {
  const plane = w * h
  const out = new Float32Array(3 * plane)
  for (let p = 0; p < plane; p++)
    for (let c = 0; c < 3; c++) out[c * plane + p] = f32(f32(f32(rgb[p * 3 + c]! / 255) * 2) - 1)
  return out
}

function gaussianKernel(size: number, sigma: number): Float32Array {
  const s = f32(sigma)
  const s2 = f32(2 * f32(s * s))
  const k = new Float32Array(size)
  let sum = 0
  for (let i = 0; i < size; i++) {
    let x = i - Math.floor(size / 2)
    if (size % 2 === 0) x += 0.5
    k[i] = f32(Math.exp(f32(-f32(x * x) / s2)))
    sum = f32(sum + k[i]!)
  }
  for (let i = 0; i < size; i++) k[i] = f32(k[i]! / sum)
  return k
}

function cubic1(x: number, A: number): number {
  return f32(f32(f32(f32(f32((A + 2) * x) - (A + 3)) * x) * x) + 1)
}
function cubic2(x: number, A: number): number {
  return f32(f32(f32(f32(f32(f32(A * x) - 5 * A) * x) + 8 * A) * x) - 4 * A)
}
function cubicCoeffs(t: number): [number, number, number, number] {
  const A = -0.75
  return [cubic2(f32(t + 1), A), cubic1(t, A), cubic1(f32(1 - t), A), cubic2(f32(2 - t), A)]
}

/**
 * diffusers' _resize_with_antialiasing of a [3, h, w] float32 image to [3, H, W].
 *
 * The bicubic step reads only 4 source rows and 4 source columns per output row and column, so
 * the blur is computed only where it is read: the x pass at those columns (on the rows the y
 * pass needs), the y pass at those rows and columns. Each blurred value is the same float32
 * sum in the same order as blurring the whole image, so the result is bit for bit the same;
 * an 8000x8000 image took about 108 s single-threaded and blocked the engine (cancel timed
 * out), and takes a few seconds now.
 */
export function resizeWithAntialiasing(
  x: Float32Array,
  h: number,
  w: number,
  H: number,
  W: number,
): Float32Array {
  const sigmaY = Math.max((h / H - 1) / 2, 0.001)
  const sigmaX = Math.max((w / W - 1) / 2, 0.001)
  let ky = Math.trunc(Math.max(2 * 2 * sigmaY, 3))
  let kx = Math.trunc(Math.max(2 * 2 * sigmaX, 3))
  if (ky % 2 === 0) ky += 1
  if (kx % 2 === 0) kx += 1
  const kernelX = gaussianKernel(kx, sigmaX)
  const kernelY = gaussianKernel(ky, sigmaY)
  const plane = h * w
  const rows = bicubicTaps(h, H)
  const cols = bicubicTaps(w, W)
  // the rows the y pass reads around each needed row, as blur1d's reflect gives them
  const ry = Math.floor(kernelY.length / 2)
  const reflectY = (i: number) => (i < 0 ? -i : i >= h ? 2 * h - 2 - i : i)
  const xRowsSet = new Set<number>()
  for (const y of rows.sources)
    for (let j = 0; j < kernelY.length; j++) {
      const yy = reflectY(y - ry + j)
      if (yy >= 0 && yy < h) xRowsSet.add(yy)
    }
  const xRows = Int32Array.from([...xRowsSet].sort((a, b) => a - b))
  const xRowAt = new Int32Array(h).fill(-1)
  xRows.forEach((y, i) => (xRowAt[y] = i))
  const nc = cols.sources.length
  const out = new Float32Array(3 * H * W)
  const passX = new Float32Array(xRows.length * nc)
  const blurred = new Float32Array(rows.sources.length * nc)
  const rx = Math.floor(kernelX.length / 2)
  const reflectX = (i: number) => (i < 0 ? -i : i >= w ? 2 * w - 2 - i : i)
  for (let c = 0; c < 3; c++) {
    const p = x.subarray(c * plane, (c + 1) * plane)
    // x pass: blur1d(p, alongX) at the needed columns; four columns at a time where no
    // reflection is needed (four independent sums, each in blur1d's order)
    const K = kernelX.length
    for (let ri = 0; ri < xRows.length; ri++) {
      const base = xRows[ri]! * w
      const row = ri * nc
      let ci = 0
      while (ci < nc) {
        const x0 = cols.sources[ci]! - rx
        if (ci + 3 < nc && x0 >= 0 && cols.sources[ci + 3]! - rx + K <= w) {
          const o0 = base + x0
          const o1 = base + cols.sources[ci + 1]! - rx
          const o2 = base + cols.sources[ci + 2]! - rx
          const o3 = base + cols.sources[ci + 3]! - rx
          let s0 = 0
          let s1 = 0
          let s2 = 0
          let s3 = 0
          for (let j = 0; j < K; j++) {
            const k = kernelX[j]!
            s0 = f32(s0 + f32(p[o0 + j]! * k))
            s1 = f32(s1 + f32(p[o1 + j]! * k))
            s2 = f32(s2 + f32(p[o2 + j]! * k))
            s3 = f32(s3 + f32(p[o3 + j]! * k))
          }
          passX[row + ci] = s0
          passX[row + ci + 1] = s1
          passX[row + ci + 2] = s2
          passX[row + ci + 3] = s3
          ci += 4
          continue
        }
        let s = 0
        for (let j = 0; j < K; j++) s = f32(s + f32(p[base + reflectX(x0 + j)]! * kernelX[j]!))
        passX[row + ci] = s
        ci++
      }
    }
    // y pass: blur1d(passX, alongY) at the needed rows and columns (a row outside the image,
    // which blur1d reads as undefined, gives NaN here as there)
    const offsets = new Int32Array(kernelY.length)
    for (let bi = 0; bi < rows.sources.length; bi++) {
      const y0 = rows.sources[bi]! - ry
      let inside = true
      for (let j = 0; j < kernelY.length; j++) {
        const yy = reflectY(y0 + j)
        inside &&= yy >= 0 && yy < h
        offsets[j] = yy >= 0 && yy < h ? xRowAt[yy]! * nc : -1
      }
      let ci = 0
      for (; inside && ci + 3 < nc; ci += 4) {
        let s0 = 0
        let s1 = 0
        let s2 = 0
        let s3 = 0
        for (let j = 0; j < kernelY.length; j++) {
          const k = kernelY[j]!
          const o = offsets[j]! + ci
          s0 = f32(s0 + f32(passX[o]! * k))
          s1 = f32(s1 + f32(passX[o + 1]! * k))
          s2 = f32(s2 + f32(passX[o + 2]! * k))
          s3 = f32(s3 + f32(passX[o + 3]! * k))
        }
        blurred[bi * nc + ci] = s0
        blurred[bi * nc + ci + 1] = s1
        blurred[bi * nc + ci + 2] = s2
        blurred[bi * nc + ci + 3] = s3
      }
      for (; ci < nc; ci++) {
        let s = 0
        for (let j = 0; j < kernelY.length; j++) {
          const v = offsets[j]! >= 0 ? passX[offsets[j]! + ci]! : NaN
          s = f32(s + f32(v * kernelY[j]!))
        }
        blurred[bi * nc + ci] = s
      }
    }
    out.set(bicubicFromTaps(blurred, nc, rows, cols, H, W), c * H * W)
  }
  return out
}

type Taps = {
  /** Distinct source indices the bicubic step reads, ascending. */
  sources: Int32Array
  /** Per output index: the four (clamped) source indices' positions in `sources`. */
  at: Int32Array
  /** Per output index: the four cubic coefficients. */
  coeffs: Float64Array
}

/** Where torch's bicubic (align_corners=True) reads along one axis of `n` for `N` outputs. */
function bicubicTaps(n: number, N: number): Taps {
  const scale = N > 1 ? f32((n - 1) / (N - 1)) : 0
  const idx = new Int32Array(N * 4)
  const coeffs = new Float64Array(N * 4)
  for (let o = 0; o < N; o++) {
    const r = f32(scale * o)
    const i = Math.floor(r)
    const cf = cubicCoeffs(f32(r - i))
    for (let j = 0; j < 4; j++) {
      idx[o * 4 + j] = Math.min(Math.max(i - 1 + j, 0), n - 1)
      coeffs[o * 4 + j] = cf[j]!
    }
  }
  const sources = Int32Array.from([...new Set(idx)].sort((a, b) => a - b))
  const pos = new Map<number, number>()
  sources.forEach((v, k) => pos.set(v, k))
  return { sources, at: idx.map((v) => pos.get(v)!), coeffs }
}

/** bicubicAlignCorners over the blurred samples only, in the same order of operations. */
function bicubicFromTaps(
  b: Float32Array,
  nc: number,
  rows: Taps,
  cols: Taps,
  H: number,
  W: number,
): Float32Array {
  const out = new Float32Array(H * W)
  const at = (ri: number, ci: number) => b[ri * nc + ci]!
  for (let oy = 0; oy < H; oy++) {
    const cy = rows.coeffs.subarray(oy * 4, oy * 4 + 4)
    for (let ox = 0; ox < W; ox++) {
      const cx = cols.coeffs.subarray(ox * 4, ox * 4 + 4)
      const c0 = cols.at[ox * 4]!
      const c1 = cols.at[ox * 4 + 1]!
      const c2 = cols.at[ox * 4 + 2]!
      const c3 = cols.at[ox * 4 + 3]!
      const r = [0, 1, 2, 3].map((j) => {
        const y = rows.at[oy * 4 + j]!
        return f32(
          f32(f32(f32(at(y, c0) * cx[0]!) + f32(at(y, c1) * cx[1]!)) + f32(at(y, c2) * cx[2]!)) +
            f32(at(y, c3) * cx[3]!),
        )
      })
      out[oy * W + ox] = f32(
        f32(f32(f32(r[0]! * cy[0]!) + f32(r[1]! * cy[1]!)) + f32(r[2]! * cy[2]!)) +
          f32(r[3]! * cy[3]!),
      )
    }
  }
  return out
}

/** The CLIP image encoder's pixel_values from a [-1, 1] image resized to 224: (x+1)/2, then mean/std. */
export function clipPixelValues(resized: Float32Array, size = 224): Float32Array {
  const plane = size * size
  const out = new Float32Array(3 * plane)
  for (let c = 0; c < 3; c++) {
    const m = f32(CLIP_MEAN[c]!)
    const s = f32(CLIP_STD[c]!)
    for (let p = 0; p < plane; p++)
      out[c * plane + p] = f32(f32(f32(f32(resized[c * plane + p]! + 1) / 2) - m) / s)
  }
  return out
}
