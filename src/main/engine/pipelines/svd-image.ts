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
  const out = new Float32Array(3 * H * W)
  for (let c = 0; c < 3; c++) {
    const p = x.subarray(c * plane, (c + 1) * plane)
    const blurred = blur1d(blur1d(p, h, w, kernelX, true), h, w, kernelY, false)
    out.set(bicubicAlignCorners(blurred, h, w, H, W), c * H * W)
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
