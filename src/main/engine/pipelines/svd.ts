// StableVideoDiffusionPipeline, after diffusers' pipeline_stable_video_diffusion.py:
//   1. CLIP branch: image in [-1, 1], anti-aliased resize to 224, (x+1)/2, CLIP mean/std,
//      image encoder -> image_embeds [1, 1, D]; unconditional = zeros
//   2. VAE branch: PIL Lanczos resize to width x height, [-1, 1], + noise_aug_strength * randn
//      (the generator's first draw), VAE encoder .mode() (not scaled) -> image latents,
//      repeated over frames; unconditional = zeros
//   3. added_time_ids = [fps - 1, motion_bucket_id, noise_aug_strength]
//   4. latents [1, F, 4, h, w] = randn (second draw) * init_noise_sigma
//   5. per step: UNet on cat([scale(x)] * 2) ++ image latents (8 channels), per-frame
//      guidance linspace(min, max, F), Euler step (Karras sigmas, v-prediction)
//   6. latents / scaling_factor, temporal VAE decode in decode_chunk_size chunks
import type * as ort from 'onnxruntime-node'
import { fitAspect, resizeLanczosPil, type RgbImage } from '../media/image'
import { fixedLatentSize, type ModelFolder } from '../models/model-folder'
import { TorchGenerator } from '../random/torch-generator'
import type { ModelSessions } from '../runtime/memory'
import { floatTensor, Tensor } from '../runtime/tensor'
import { float32ToFloat16 } from '../runtime/fp16'
import { torchLinspaceF32 } from '../schedulers/common'
import {
  PipelineError,
  schedulerFromConfig,
  throwIfCancelled,
  toFramesHWC,
  vaeFactors,
  type PipelineHooks,
  stepAndReport,
} from './common'
import type { PipelineOutput } from './animatediff'
import { svdGuidance, svdUNetInput, svdUNetInputHalf } from './svd-host'
import { clipPixelValues, resizeWithAntialiasing, toSignedCHW } from './svd-image'

export type SvdOptions = {
  image: RgbImage
  /** How the image meets the clip's aspect: diffusers stretches; crop or pad keep proportions. */
  fit?: 'stretch' | 'crop' | 'pad'
  width?: number
  height?: number
  numFrames?: number
  numInferenceSteps?: number
  fps?: number
  motionBucketId?: number
  noiseAugStrength?: number
  minGuidanceScale?: number
  maxGuidanceScale?: number
  decodeChunkSize?: number
  seed?: number | bigint
  scheduler?: string
  /** MotionCtrl-SVD RT per frame [numFrames * 12] (the same for both CFG halves). */
  cameraPoses?: Float32Array
}

const f32 = Math.fround

export class StableVideoDiffusionPipeline {
  constructor(
    readonly model: ModelFolder,
    readonly sessions: ModelSessions,
  ) {
    if (model.pipeline !== 'svd')
      throw new PipelineError(
        `${model.dir} is a ${model.pipeline} model, not Stable Video Diffusion`,
      )
  }

  async call(o: SvdOptions, hooks: PipelineHooks = {}): Promise<PipelineOutput> {
    const t0 = performance.now()
    const timings: Record<string, number> = {}
    const warnings: string[] = []
    const trace = hooks.onTrace ?? (() => undefined)
    const { signal } = hooks
    const sessions = this.sessions
    const { scaleFactor, scalingFactor } = vaeFactors(this.model.dir)
    const fixed = fixedLatentSize(this.model)
    const width = o.width ?? this.model.dolly.nativeWidth ?? (fixed ? fixed.w * scaleFactor : 1024)
    const height =
      o.height ?? this.model.dolly.nativeHeight ?? (fixed ? fixed.h * scaleFactor : 576)
    const F = o.numFrames ?? this.model.nativeFrames ?? 14
    const steps = o.numInferenceSteps ?? 25
    const fps = o.fps ?? 7
    const bucket = o.motionBucketId ?? 127
    const aug = o.noiseAugStrength ?? 0.02
    const gMin = o.minGuidanceScale ?? 1.0
    const gMax = o.maxGuidanceScale ?? 3.0
    const chunk = Math.max(1, o.decodeChunkSize ?? F)
    const doCfg = gMax > 1

    if (width % 8 || height % 8) {
      const near = (v: number) => Math.max(8, Math.round(v / 8) * 8)
      throw new PipelineError(
        `width and height must be multiples of 8, got ${width}x${height} (nearest: ${near(width)}x${near(height)})`,
      )
    }
    const h = height / scaleFactor
    const w = width / scaleFactor
    if (fixed && (fixed.h !== h || fixed.w !== w)) {
      throw new PipelineError(
        `this UNet was exported for ${fixed.w * scaleFactor}x${fixed.h * scaleFactor} only; use that size instead of ${width}x${height}`,
      )
    }
    if (!(bucket >= 0 && bucket <= 255))
      throw new PipelineError(`motionBucketId must be 0..255, got ${bucket}`)
    const unet = this.model.components['unet']!
    const camName = unet.inputNames['camera_poses']
    if (o.cameraPoses && !camName)
      warnings.push('this model has no camera input; the camera path is ignored')
    if (o.cameraPoses && camName && o.cameraPoses.length !== F * 12) {
      throw new PipelineError(`cameraPoses has ${o.cameraPoses.length / 12} frames; expected ${F}`)
    }

    const scheduler = schedulerFromConfig(this.model.schedulerConfig, o.scheduler)
    const generator = new TorchGenerator(o.seed ?? 0)
    const image = fitAspect(o.image, width, height, o.fit ?? 'stretch')

    // 1. CLIP branch
    hooks.onProgress?.({ stage: 'encode', step: 0, steps: 2 })
    const signed = toSignedCHW(image.rgb, image.width, image.height)
    const resized = resizeWithAntialiasing(signed, image.height, image.width, 224, 224)
    trace(
      'clip_input_resized_224',
      resized.map((v) => f32(f32(v + 1) / 2)),
      [1, 3, 224, 224],
    )
    const pixels = clipPixelValues(resized)
    trace('clip_pixel_values', pixels, [1, 3, 224, 224])
    const ie = this.model.components['image_encoder']!
    const embeds = await sessions.stage('encode', async () => {
      const s = await sessions.get('image_encoder')
      const name = ie.inputNames['pixel_values']!
      return (await s.runFirst({ [name]: s.floatInput(name, pixels, [1, 3, 224, 224]) })).data
    })
    trace('image_embeds', embeds, [1, embeds.length])
    const D = embeds.length
    throwIfCancelled(signal)

    // 2. VAE branch (the generator's first draw is the augmentation noise)
    const small = resizeLanczosPil(image, width, height)
    const vaeImage = toSignedCHW(small.rgb, width, height)
    trace('vae_image_preprocessed', vaeImage, [1, 3, height, width])
    const noise = generator.randn([1, 3, height, width])
    trace('noise_aug_noise', noise, [1, 3, height, width])
    const augS = f32(aug)
    const augmented = vaeImage.map((v, i) => f32(v + f32(augS * noise[i]!)))
    trace('vae_image_noise_augmented', augmented, [1, 3, height, width])
    const ve = this.model.components['vae_encoder']!
    let imageLatents = await sessions.stage('encode', async () => {
      const s = await sessions.get('vae_encoder')
      const name = ve.inputNames['sample']!
      return s.runFirst({ [name]: s.floatInput(name, augmented, [1, 3, height, width]) })
    })
    // exporters differ: the distribution's mean [1, 4, h, w], or its parameters [1, 8, h, w] (mean first)
    const plane = h * w
    if (imageLatents.dims[1] === 8)
      imageLatents = { data: imageLatents.data.slice(0, 4 * plane), dims: [1, 4, h, w] }
    if (imageLatents.data.length !== 4 * plane) {
      throw new PipelineError(
        `the VAE encoder returned [${imageLatents.dims.join(', ')}]; expected [1, 4, ${h}, ${w}]`,
      )
    }
    trace('image_latents_mode', imageLatents.data, [1, 4, h, w])
    timings['encode'] = performance.now() - t0
    throwIfCancelled(signal)

    // 3-4. conditioning and initial latents (the second draw)
    const timeIds = [f32(fps - 1), f32(bucket), f32(aug)]
    const B = doCfg ? 2 : 1
    const addedTimeIds = new Float32Array(B * 3)
    for (let b = 0; b < B; b++) addedTimeIds.set(timeIds, b * 3)
    trace('unet_added_time_ids', addedTimeIds, [B, 3])
    const ehs = new Float32Array(B * D)
    ehs.set(embeds, (B - 1) * D) // [zeros, embeds] under CFG
    trace('unet_encoder_hidden_states', ehs, [B, 1, D])
    scheduler.setTimesteps(steps)
    const latentDims = [1, F, 4, h, w]
    const initNoise = generator.randn(latentDims)
    trace('init_noise', initNoise, latentDims)
    const sigma0 = f32(scheduler.initNoiseSigma)
    const startLatents = initNoise.map((v) => f32(v * sigma0))
    const guidance = torchLinspaceF32(gMin, gMax, F)
    trace('guidance_scale_per_frame', guidance, [F])

    // 5. denoise
    const tDenoise = performance.now()
    const genState = generator.getState()
    const sigmas = (scheduler as unknown as { sigmas?: number[] }).sigmas
    const latents = await sessions.stage(
      'denoise',
      async () => {
        let x: Float32Array = startLatents
        const s = await sessions.get('unet')
        const names = unet.inputNames
        const half = s.meta(names['sample']!).type === 'float16'
        const inF32 = new Float32Array(B * F * 8 * plane)
        const inF16 = half ? new Uint16Array(inF32.length) : null
        const imageHalf = half ? float32ToFloat16(imageLatents.data) : null
        const scratch = half ? new Float32Array(x.length) : null
        const minimal = sessions.plan === 'minimal'
        for (let i = 0; i < scheduler.timesteps.length; i++) {
          throwIfCancelled(signal)
          const t = scheduler.timesteps[i]!
          // c_in = 1 / sqrt(sigma^2 + 1): EulerDiscreteScheduler.scale_model_input divides by it
          const sigma = sigmas ? sigmas[i]! : 0
          const denom = sigmas ? f32(Math.sqrt(f32(f32(sigma * sigma) + 1))) : 1
          let sampleTensor: ort.Tensor
          if (half) {
            svdUNetInputHalf(x, imageHalf!, F, plane, denom, doCfg, inF16!, scratch!)
            sampleTensor = new Tensor('float16', inF16!, [B, F, 8, h, w])
          } else {
            svdUNetInput(x, imageLatents.data, F, plane, denom, doCfg, inF32)
            sampleTensor = floatTensor(inF32, [B, F, 8, h, w])
          }
          if (hooks.onTrace) {
            if (half) svdUNetInput(x, imageLatents.data, F, plane, denom, doCfg, inF32)
            trace(`step${i}_unet_sample`, inF32, [B, F, 8, h, w])
          }
          const call = async (b0: number, bn: number): Promise<Float32Array> => {
            const per = F * 8 * plane
            const feeds: Record<string, ort.Tensor> = {
              [names['sample']!]:
                bn === B
                  ? sampleTensor
                  : half
                    ? new Tensor('float16', inF16!.subarray(b0 * per, (b0 + bn) * per), [
                        bn,
                        F,
                        8,
                        h,
                        w,
                      ])
                    : floatTensor(inF32.subarray(b0 * per, (b0 + bn) * per), [bn, F, 8, h, w]),
              [names['timestep']!]: s.timestep(names['timestep']!, t, bn),
              [names['encoder_hidden_states']!]: s.floatInput(
                names['encoder_hidden_states']!,
                ehs.subarray(b0 * D, (b0 + bn) * D),
                [bn, 1, D],
              ),
              [names['added_time_ids']!]: s.floatInput(
                names['added_time_ids']!,
                addedTimeIds.subarray(b0 * 3, (b0 + bn) * 3),
                [bn, 3],
              ),
            }
            if (camName) {
              // MotionCtrl-SVD: the same poses for both CFG halves
              const p = new Float32Array(bn * F * 12)
              for (let b = 0; b < bn; b++) if (o.cameraPoses) p.set(o.cameraPoses, b * F * 12)
              feeds[camName] = s.floatInput(camName, p, [bn, F, 12])
            }
            return (await s.runFirst(feeds)).data
          }
          let out: Float32Array
          if (doCfg && minimal) {
            out = new Float32Array(2 * x.length)
            out.set(await call(0, 1))
            out.set(await call(1, 1), x.length)
          } else out = await call(0, B)
          trace(`step${i}_unet_out_sample`, out, [B, F, 4, h, w])
          const noisePred = doCfg ? svdGuidance(out, guidance, F) : out
          x = stepAndReport(scheduler, noisePred, t, x, latentDims, i, generator, hooks)
        }
        return x
      },
      () => generator.setState(genState),
    )
    timings['denoise'] = performance.now() - tDenoise

    // 6. decode: temporal decoder, decode_chunk_size frames per call (num_frames = the chunk)
    const tDecode = performance.now()
    const c = f32(1 / scalingFactor)
    const scaled = latents.map((v) => f32(c * v)) // [F, 4, h, w]
    const vae = this.model.components['vae_decoder']!
    const decoded = await sessions.stage('decode', async () => {
      const s = await sessions.get('vae_decoder')
      const per = 4 * plane
      const parts: Float32Array[] = []
      for (let f0 = 0; f0 < F; f0 += chunk) {
        throwIfCancelled(signal)
        const k = Math.min(chunk, F - f0)
        const name = vae.inputNames['latent_sample']!
        const feeds: Record<string, ort.Tensor> = {
          [name]: s.floatInput(name, scaled.subarray(f0 * per, (f0 + k) * per), [k, 4, h, w]),
        }
        const nf = vae.inputNames['num_frames']
        if (nf) feeds[nf] = s.intInput(nf, [k], s.meta(nf).shape.length === 0 ? [] : [1])
        parts.push((await s.runFirst(feeds)).data)
        hooks.onProgress?.({ stage: 'decode', step: f0 + k, steps: F })
      }
      const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0))
      let off = 0
      for (const p of parts) {
        all.set(p, off)
        off += p.length
      }
      return all
    })
    if (decoded.length !== F * 3 * height * width) {
      throw new PipelineError(
        `the VAE decoder returned ${decoded.length} values; expected ${F}x3x${height}x${width}`,
      )
    }
    timings['decode'] = performance.now() - tDecode
    timings['total'] = performance.now() - t0
    return {
      frames: toFramesHWC(decoded, F, height, width),
      numFrames: F,
      width,
      height,
      seed: String(o.seed ?? 0),
      scheduler: scheduler.constructor.name,
      plan: sessions.plan,
      warnings,
      timingsMs: timings,
    }
  }
}
