// SVD's CLIP-branch resize computes the blur only where the bicubic step reads it. It must be
// bit for bit what blurring the whole image gives (the reference test compares the pipeline with
// diffusers' frames): here against the whole-image version it replaced, kept below verbatim,
// on shapes that exercise the edges (reflect padding, clamped taps, upscaling, one row).
import { describe, expect, it } from 'vitest'
import {
  ModelSessions,
  openModelFolder,
  Runtime,
  StableVideoDiffusionPipeline,
} from '../../../src/main/engine'
import { resizeWithAntialiasing } from '../../../src/main/engine/pipelines/svd-image'
import { missing, sharedPath } from './reference'

const f32 = Math.fround

// ---- the previous implementation (whole-image separable blur, then bicubic), verbatim ----
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

/** reflect-padded 1-D convolution along x (axis = 1) or y (axis = 0) of one [h, w] plane. */
function blur1d(
  src: Float32Array,
  h: number,
  w: number,
  k: Float32Array,
  alongX: boolean,
): Float32Array {
  const out = new Float32Array(h * w)
  const r = Math.floor(k.length / 2)
  const n = alongX ? w : h
  const reflect = (i: number) => (i < 0 ? -i : i >= n ? 2 * n - 2 - i : i)
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      let s = 0
      for (let j = 0; j < k.length; j++) {
        const v = alongX ? src[y * w + reflect(x - r + j)]! : src[reflect(y - r + j) * w + x]!
        s = f32(s + f32(v * k[j]!))
      }
      out[y * w + x] = s
    }
  return out
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

/** torch.nn.functional.interpolate(mode='bicubic', align_corners=True) of one plane. */
function bicubicAlignCorners(
  src: Float32Array,
  h: number,
  w: number,
  H: number,
  W: number,
): Float32Array {
  const out = new Float32Array(H * W)
  const sy = H > 1 ? f32((h - 1) / (H - 1)) : 0
  const sx = W > 1 ? f32((w - 1) / (W - 1)) : 0
  const at = (y: number, x: number) =>
    src[Math.min(Math.max(y, 0), h - 1) * w + Math.min(Math.max(x, 0), w - 1)]!
  for (let oy = 0; oy < H; oy++) {
    const ry = f32(sy * oy)
    const iy = Math.floor(ry)
    const cy = cubicCoeffs(f32(ry - iy))
    for (let ox = 0; ox < W; ox++) {
      const rx = f32(sx * ox)
      const ix = Math.floor(rx)
      const cx = cubicCoeffs(f32(rx - ix))
      const rows = [0, 1, 2, 3].map((j) => {
        const y = iy - 1 + j
        return f32(
          f32(
            f32(f32(at(y, ix - 1) * cx[0]) + f32(at(y, ix) * cx[1])) + f32(at(y, ix + 1) * cx[2]),
          ) + f32(at(y, ix + 2) * cx[3]),
        )
      })
      out[oy * W + ox] = f32(
        f32(f32(f32(rows[0]! * cy[0]) + f32(rows[1]! * cy[1])) + f32(rows[2]! * cy[2])) +
          f32(rows[3]! * cy[3]),
      )
    }
  }
  return out
}

/** diffusers' _resize_with_antialiasing of a [3, h, w] float32 image to [3, H, W]. */
function referenceResize(
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
  const out = new Float32Array(3 * H * W)
  for (let c = 0; c < 3; c++) {
    const p = x.subarray(c * plane, (c + 1) * plane)
    const blurred = blur1d(blur1d(p, h, w, kernelX, true), h, w, kernelY, false)
    out.set(bicubicAlignCorners(blurred, h, w, H, W), c * H * W)
  }
  return out
}

// ---- end of the previous implementation ----

function image(h: number, w: number, seed: number): Float32Array {
  const out = new Float32Array(3 * h * w)
  let s = seed >>> 0
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1103515245) + 12345) >>> 0
    out[i] = f32(f32((s >>> 24) / 255) * 2 - 1)
  }
  return out
}

describe('resizeWithAntialiasing is bit for bit the whole-image blur and bicubic', () => {
  const shapes: [number, number, number, number][] = [
    [576, 1024, 224, 224], // SVD's own clip size
    [1000, 750, 224, 224],
    [225, 223, 224, 224],
    [224, 224, 224, 224],
    [100, 60, 224, 224], // upscaling
    [7, 5, 3, 2],
    [1, 40, 1, 10],
    [40, 1, 10, 1],
    [3, 3, 1, 1],
    [2, 9, 2, 3],
  ]
  for (const [h, w, H, W] of shapes) {
    it(`${w}x${h} to ${W}x${H}`, () => {
      const x = image(h, w, h * 31 + w)
      const got = resizeWithAntialiasing(x, h, w, H, W)
      const want = referenceResize(x, h, w, H, W)
      expect(got.length).toBe(want.length)
      // the same bits (NaN where the reference reads past a tiny image, too)
      expect(Buffer.from(got.buffer).equals(Buffer.from(want.buffer))).toBe(true)
    })
  }

  it('takes an 8000x8000 image in seconds, not minutes (about 108 s before)', () => {
    const n = 8000
    const x = new Float32Array(3 * n * n)
    for (let i = 0; i < x.length; i += 7919) x[i] = f32(((i % 255) / 255) * 2 - 1)
    const t0 = performance.now()
    const out = resizeWithAntialiasing(x, n, n, 224, 224)
    const ms = performance.now() - t0
    expect(out.length).toBe(3 * 224 * 224)
    expect(out.every(Number.isFinite)).toBe(true)
    expect(ms).toBeLessThan(30_000)
  })
})

const svdTiny = sharedPath('reference/models/svd-tiny')
describe.skipIf(missing(svdTiny))('an 8000x8000 input on the SVD pipeline', () => {
  it('is cancelled within seconds (the engine was blocked for minutes and cancel timed out)', async () => {
    const model = openModelFolder(svdTiny)
    const runtime = new Runtime({ preferCuda: false })
    const sessions = new ModelSessions(
      runtime,
      Object.fromEntries(Object.entries(model.components).map(([k, c]) => [k, c.path])),
      'offload',
    )
    const n = 8000
    const rgb = new Uint8Array(n * n * 3)
    for (let i = 0; i < rgb.length; i += 4099) rgb[i] = i & 255
    const ac = new AbortController()
    // a cancel pressed right after the job starts; it can only land between the engine's steps
    setTimeout(() => ac.abort(), 100)
    const t0 = performance.now()
    const run = sessions.job(() =>
      new StableVideoDiffusionPipeline(model, sessions).call(
        {
          image: { width: n, height: n, rgb },
          width: 32,
          height: 32,
          numFrames: 4,
          numInferenceSteps: 2,
          seed: 1,
        },
        { signal: ac.signal },
      ),
    )
    await expect(run).rejects.toThrow(/cancel/i)
    const ms = performance.now() - t0
    await runtime.releaseAll()
    expect(ms).toBeLessThan(30_000)
  })
})
