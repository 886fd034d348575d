// The host-side work of one SVD denoising step, shared by StableVideoDiffusionPipeline and
// the benchmark: build the UNet input in one pass into a reused buffer, and combine the CFG
// halves with per-frame guidance. diffusers (pipeline_stable_video_diffusion.py):
//   latent_model_input = scheduler.scale_model_input(cat([latents] * 2), t)
//   latent_model_input = cat([latent_model_input, image_latents], dim=2)
//   noise_pred = uncond + guidance_scale[frame] * (cond - uncond)
import { float32ToFloat16 } from '../runtime/fp16'

const f32 = Math.fround

/**
 * [B2, F, 8, h, w] UNet input: channels 0-3 the latents divided by c_in's denominator
 * sqrt(sigma^2 + 1), channels 4-7 the image latents (zeros for the unconditional half).
 * `latents` is [F, 4, h, w] (batch 1); `imageLatents` is [4, h, w], repeated over frames.
 */
export function svdUNetInput(
  latents: Float32Array,
  imageLatents: Float32Array,
  frames: number,
  plane: number,
  denom: number,
  doCfg: boolean,
  out: Float32Array,
): Float32Array {
  const B = doCfg ? 2 : 1
  const lat = 4 * plane
  const frameIn = 8 * plane
  const need = B * frames * frameIn
  if (out.length !== need)
    throw new RangeError(`svdUNetInput: output buffer has ${out.length} values, needs ${need}`)
  for (let b = 0; b < B; b++) {
    const cond = !doCfg || b === 1
    for (let f = 0; f < frames; f++) {
      const src = f * lat
      const dst = (b * frames + f) * frameIn
      for (let i = 0; i < lat; i++) out[dst + i] = f32(latents[src + i]! / denom)
      if (cond) out.set(imageLatents, dst + lat)
      else out.fill(0, dst + lat, dst + frameIn)
    }
  }
  return out
}

/** uncond + g[f] * (cond - uncond) over [2, F, 4, h, w] -> [F, 4, h, w]. */
export function svdGuidance(
  out: Float32Array,
  guidance: Float32Array,
  frames: number,
  out1?: Float32Array,
): Float32Array {
  const n = out.length / 2
  const per = n / frames
  const res = out1 ?? new Float32Array(n)
  for (let f = 0; f < frames; f++) {
    const g = guidance[f]!
    const o = f * per
    for (let i = o; i < o + per; i++) {
      const u = out[i]!
      res[i] = f32(u + f32(g * f32(out[n + i]! - u)))
    }
  }
  return res
}

/**
 * The same input for a float16 UNet, written as half bits straight into `out`. Only the
 * scaled latents change per step, and the two CFG halves share them, so each latent value
 * is converted once; the image latents (and zeros) are converted once per clip by the caller.
 */
export function svdUNetInputHalf(
  latents: Float32Array,
  imageLatentsHalf: Uint16Array,
  frames: number,
  plane: number,
  denom: number,
  doCfg: boolean,
  out: Uint16Array,
  scratch: Float32Array,
): Uint16Array {
  const B = doCfg ? 2 : 1
  const lat = 4 * plane
  const frameIn = 8 * plane
  if (out.length !== B * frames * frameIn)
    throw new RangeError(
      `svdUNetInputHalf: output buffer has ${out.length} values, needs ${B * frames * frameIn}`,
    )
  for (let i = 0; i < latents.length; i++) scratch[i] = f32(latents[i]! / denom)
  const half = float32ToFloat16(scratch.subarray(0, latents.length))
  for (let b = 0; b < B; b++) {
    const cond = !doCfg || b === 1
    for (let f = 0; f < frames; f++) {
      const dst = (b * frames + f) * frameIn
      out.set(half.subarray(f * lat, (f + 1) * lat), dst)
      if (cond) out.set(imageLatentsHalf, dst + lat)
      else out.fill(0, dst + lat, dst + frameIn)
    }
  }
  return out
}
