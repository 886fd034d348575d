// Live previews of latents while a clip denoises: a small RGB image of one frame per step.
// With a preview decoder (VAElight's VAEpreview.onnx, or any `latent -> outputs` model whose
// image is the sum of its outputs upsampled) when the model folder names one; otherwise the
// linear latent-to-RGB factors known for SD1.5 latents.
import type { ModelSession } from '../runtime/session'
import { toFloat32 } from '../runtime/session'
import { Tensor } from '../runtime/tensor'
import type { LatentRgb } from '../pipelines/latent-rgb'
export { WAN21_LATENT_RGB, type LatentRgb } from '../pipelines/latent-rgb'

/** SD1.5 latent channels -> RGB (rows: channels 0..3; columns: R, G, B), ComfyUI's (comfy/latent_formats.py SD15). */
export const SD15_LATENT_RGB = [
  [0.3512, 0.2297, 0.3227],
  [0.325, 0.4974, 0.235],
  [-0.2829, 0.1762, 0.2721],
  [-0.212, -0.2616, -0.7177],
] as const

export type PreviewImage = { width: number; height: number; rgb: Uint8Array }

const clamp255 = (v: number) => (v <= 0 ? 0 : v >= 1 ? 255 : Math.round(v * 255))

/** One frame's latent [4, h, w] (scaled, as the UNet sees it) -> an h x w RGB preview. */
export function latentToRgbLinear(latent: Float32Array, h: number, w: number): PreviewImage {
  const plane = h * w
  const rgb = new Uint8Array(plane * 3)
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      let v = 0
      for (let k = 0; k < 4; k++) v += latent[k * plane + p]! * SD15_LATENT_RGB[k]![c]!
      rgb[p * 3 + c] = clamp255((v + 1) / 2)
    }
  }
  return { width: w, height: h, rgb }
}

/** One frame's latent [C, h, w] -> RGB through per-channel factors and a bias (C = factors' rows). */
export function latentToRgbFactors(
  latent: Float32Array,
  h: number,
  w: number,
  k: LatentRgb,
): PreviewImage {
  const plane = h * w
  const C = k.factors.length
  const rgb = new Uint8Array(plane * 3)
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      let v = k.bias[c]!
      for (let ch = 0; ch < C; ch++) v += latent[ch * plane + p]! * k.factors[ch]![c]!
      rgb[p * 3 + c] = clamp255((v + 1) / 2)
    }
  }
  return { width: w, height: h, rgb }
}

/** Bilinear (half-pixel centres) resize of a [3, h, w] plane stack, added into `out` [3, H, W]. */
function addUpsampled(
  src: Float32Array,
  h: number,
  w: number,
  out: Float32Array,
  H: number,
  W: number,
): void {
  const fy = h / H
  const fx = w / W
  for (let c = 0; c < 3; c++) {
    const s = c * h * w
    const o = c * H * W
    for (let y = 0; y < H; y++) {
      const sy = Math.min(h - 1, Math.max(0, (y + 0.5) * fy - 0.5))
      const y0 = Math.floor(sy)
      const y1 = Math.min(h - 1, y0 + 1)
      const wy = sy - y0
      for (let x = 0; x < W; x++) {
        const sx = Math.min(w - 1, Math.max(0, (x + 0.5) * fx - 0.5))
        const x0 = Math.floor(sx)
        const x1 = Math.min(w - 1, x0 + 1)
        const wx = sx - x0
        const top = src[s + y0 * w + x0]! * (1 - wx) + src[s + y0 * w + x1]! * wx
        const bot = src[s + y1 * w + x0]! * (1 - wx) + src[s + y1 * w + x1]! * wx
        out[o + y * W + x] = out[o + y * W + x]! + top * (1 - wy) + bot * wy
      }
    }
  }
}

/**
 * Runs a preview decoder on one frame's latent. `latent` is scaled as the UNet sees it;
 * the decoder takes raw VAE latents, so it is divided by the VAE's scaling factor first.
 */
export async function latentToRgbDecoder(
  session: ModelSession,
  latent: Float32Array,
  h: number,
  w: number,
  scalingFactor: number,
  maxSide = 512,
): Promise<PreviewImage> {
  const raw = latent.map((v) => v / scalingFactor)
  const name = [...session.inputs.keys()][0]!
  const outs = await session.run({ [name]: new Tensor('float32', raw, [1, 4, h, w]) })
  let scale = 1
  while (scale < 8 && Math.max(h, w) * scale * 2 <= maxSide) scale *= 2
  const H = h * scale
  const W = w * scale
  const acc = new Float32Array(3 * H * W)
  for (const t of Object.values(outs)) {
    if (t.dims.length !== 4 || t.dims[1] !== 3) continue
    addUpsampled(toFloat32(t, 'preview decoder'), t.dims[2]!, t.dims[3]!, acc, H, W)
  }
  const rgb = new Uint8Array(H * W * 3)
  for (let p = 0; p < H * W; p++)
    for (let c = 0; c < 3; c++) rgb[p * 3 + c] = clamp255((acc[c * H * W + p]! + 1) / 2)
  return { width: W, height: H, rgb }
}
