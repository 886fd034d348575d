// StableVideoDiffusionPipeline, after diffusers' pipeline_stable_video_diffusion.py:
//   1. _encode_image: image in [-1, 1], anti-aliased resize to 224, (x+1)/2, CLIP mean/std,
//      image encoder -> image_embeds [1, 1, D]; unconditional = zeros
//   2. _encode_vae_image: PIL Lanczos resize to width x height, [-1, 1],
//      + noise_aug_strength * randn (the generator's first draw), VAE encoder .mode()
//      (not scaled) -> image latents, repeated over frames; unconditional = zeros
//   3. _get_add_time_ids: [fps - 1, motion_bucket_id, noise_aug_strength]
//   4. prepare_latents: [1, F, 4, h, w] = randn (second draw) * init_noise_sigma
//   5. denoise: UNet on cat([scale(x)] * 2) ++ image latents (8 channels), per-frame
//      guidance linspace(min, max, F), Euler step (Karras sigmas, v-prediction)
//   6. decode_latents: latents / scaling_factor, temporal VAE decode in decode_chunk_size chunks
import type * as ort from 'onnxruntime-node'
import {
  DEFAULT_MOTION_BUCKET,
  DEFAULT_NOISE_AUG_STRENGTH,
  MAX_MOTION_BUCKET,
} from '../../../shared/motion'
import { fitAspect, resizeLanczosPil, type RgbImage } from '../media/image'
import type { ModelFolder } from '../models/model-folder'
import { float32ToFloat16 } from '../runtime/fp16'
import type { ModelSessions } from '../runtime/memory'
import type { ModelSession } from '../runtime/session'
import { floatTensor, Tensor } from '../runtime/tensor'
import { torchLinspaceF32 } from '../schedulers/common'
import { PipelineError } from './common'
import { PipelineRun } from './steps'
import { svdGuidance, svdUNetInput, svdUNetInputHalf } from './svd-host'
import { clipPixelValues, resizeWithAntialiasing, toSignedCHW } from './svd-image'
import type { PipelineCall, PipelineHooks, PipelineOutput, VideoPipeline } from './types'

export type SvdOptions = PipelineCall & { image: RgbImage }

const f32 = Math.fround

/** The image as the UNet sees it: CLIP embeddings and the VAE latents of the image. */
type ImageConditioning = { embeds: Float32Array; latents: Float32Array }

export class StableVideoDiffusionPipeline implements VideoPipeline {
  constructor(
    readonly model: ModelFolder,
    readonly sessions: ModelSessions,
  ) {}

  async call(o: PipelineCall, hooks: PipelineHooks = {}): Promise<PipelineOutput> {
    if (!o.image) throw new PipelineError(`${this.model.label} animates an image: give one`)
    const run = new PipelineRun(this.model, this.sessions, hooks, o)
    const r = run.r
    const fps = o.fps ?? this.model.defaults.fps
    const bucket = o.motionBucketId ?? DEFAULT_MOTION_BUCKET
    const aug = o.noiseAugStrength ?? DEFAULT_NOISE_AUG_STRENGTH
    const gMin = o.minGuidanceScale ?? run.facts.minGuidance ?? 1
    if (!(bucket >= 0 && bucket <= MAX_MOTION_BUCKET))
      throw new PipelineError(`motionBucketId must be 0..${MAX_MOTION_BUCKET}, got ${bucket}`)
    const poses = run.cameraPosesFor(o.cameraPoses, r.numFrames)
    const image = fitAspect(o.image, r.width, r.height, o.fit ?? 'stretch')

    const cond = await run.timed('encode', async () => ({
      embeds: await this.encodeImage(run, image),
      latents: await this.encodeVaeImage(run, image, aug),
    }))
    const timeIds = this.addedTimeIds(run, fps, bucket, aug, r.doCfg)
    const dims = [1, r.numFrames, 4, r.h, r.w]
    const { noise, latents } = run.prepareLatents(dims)
    run.trace('init_noise', noise, dims)
    const guidance = torchLinspaceF32(gMin, r.guidance, r.numFrames)
    run.trace('guidance_scale_per_frame', guidance, [r.numFrames])
    const x = await run.timed('denoise', () =>
      this.denoise(run, latents, cond, timeIds, guidance, poses),
    )
    const chunk = run.decodeChunkFor(o.decodeChunkSize, r.numFrames)
    const nf = this.model.components['vae_decoder']!.inputNames['num_frames']
    const frames = await run.timed('decode', () =>
      run.decodeLatentFrames(x, 'BFCHW', r, 4, {
        chunk,
        tileSize: o.vaeTileSize,
        // the temporal decoder mixes the frames of one call: num_frames = the chunk's count
        extraFeeds: nf
          ? (s, k) => ({ [nf]: s.intInput(nf, [k], s.meta(nf).shape.length === 0 ? [] : [1]) })
          : undefined,
      }),
    )
    return run.output(frames, {
      minGuidanceScale: gMin,
      decodeChunkSize: chunk,
      fps,
      motionBucketId: bucket,
      noiseAugStrength: aug,
    })
  }

  /** _encode_image: the CLIP branch (torch ops, not PIL), image_embeds [1, D]. */
  private async encodeImage(run: PipelineRun, image: RgbImage): Promise<Float32Array> {
    run.hooks.onProgress?.({ stage: 'encode', step: 0, steps: 2 })
    const signed = toSignedCHW(image.rgb, image.width, image.height)
    const resized = resizeWithAntialiasing(signed, image.height, image.width, 224, 224)
    run.trace(
      'clip_input_resized_224',
      resized.map((v) => f32(f32(v + 1) / 2)),
      [1, 3, 224, 224],
    )
    const pixels = clipPixelValues(resized)
    run.trace('clip_pixel_values', pixels, [1, 3, 224, 224])
    const name = this.model.components['image_encoder']!.inputNames['pixel_values']!
    const embeds = await run.sessions.stage('encode', async () => {
      const s = await run.sessions.get('image_encoder')
      return (await s.runFirst({ [name]: s.floatInput(name, pixels, [1, 3, 224, 224]) })).data
    })
    run.trace('image_embeds', embeds, [1, embeds.length])
    run.cancelled()
    return embeds
  }

  /** _encode_vae_image with the noise augmentation (the generator's first draw). */
  private async encodeVaeImage(
    run: PipelineRun,
    image: RgbImage,
    aug: number,
  ): Promise<Float32Array> {
    run.hooks.onProgress?.({ stage: 'encode', step: 1, steps: 2 })
    const { width, height, h, w } = run.r
    const small = resizeLanczosPil(image, width, height)
    const vaeImage = toSignedCHW(small.rgb, width, height)
    run.trace('vae_image_preprocessed', vaeImage, [1, 3, height, width])
    const noise = run.generator.randn([1, 3, height, width])
    run.trace('noise_aug_noise', noise, [1, 3, height, width])
    const augS = f32(aug)
    const augmented = vaeImage.map((v, i) => f32(v + f32(augS * noise[i]!)))
    run.trace('vae_image_noise_augmented', augmented, [1, 3, height, width])
    const name = this.model.components['vae_encoder']!.inputNames['sample']!
    let latents = await run.sessions.stage('encode', async () => {
      const s = await run.sessions.get('vae_encoder')
      return s.runFirst({ [name]: s.floatInput(name, augmented, [1, 3, height, width]) })
    })
    // exporters differ: the distribution's mean [1, 4, h, w], or its parameters [1, 8, h, w] (mean first)
    const plane = h * w
    if (latents.dims[1] === 8)
      latents = { data: latents.data.slice(0, 4 * plane), dims: [1, 4, h, w] }
    if (latents.data.length !== 4 * plane) {
      throw new PipelineError(
        `the VAE encoder returned [${latents.dims.join(', ')}]; expected [1, 4, ${h}, ${w}]`,
      )
    }
    run.trace('image_latents_mode', latents.data, [1, 4, h, w])
    run.cancelled()
    return latents.data
  }

  /** _get_add_time_ids: [fps - 1, motion_bucket_id, noise_aug_strength], one row per batch item. */
  private addedTimeIds(
    run: PipelineRun,
    fps: number,
    bucket: number,
    aug: number,
    doCfg: boolean,
  ): Float32Array {
    const B = doCfg ? 2 : 1
    const ids = new Float32Array(B * 3)
    for (let b = 0; b < B; b++) ids.set([f32(fps - 1), f32(bucket), f32(aug)], b * 3)
    run.trace('unet_added_time_ids', ids, [B, 3])
    return ids
  }

  private denoise(
    run: PipelineRun,
    latents: Float32Array,
    cond: ImageConditioning,
    timeIds: Float32Array,
    guidance: Float32Array,
    poses: Float32Array | null,
  ): Promise<Float32Array> {
    const { r, scheduler } = run
    const F = r.numFrames
    const { h, w } = r
    const plane = h * w
    const B = r.doCfg ? 2 : 1
    const D = cond.embeds.length
    const names = this.model.components['unet']!.inputNames
    const camName = names['camera_poses']
    const ehs = new Float32Array(B * D)
    ehs.set(cond.embeds, (B - 1) * D) // [zeros, embeds] under CFG
    run.trace('unet_encoder_hidden_states', ehs, [B, 1, D])
    const sigmas = scheduler.sigmas
    // buffers reused every step (the UNet input is the largest host-side tensor)
    const inF32 = new Float32Array(B * F * 8 * plane)
    let half: { input: Uint16Array; image: Uint16Array; scratch: Float32Array } | null = null
    const predict = async (s: ModelSession, x: Float32Array, t: number, i: number) => {
      if (s.meta(names['sample']!).type === 'float16' && !half)
        half = {
          input: new Uint16Array(inF32.length),
          image: float32ToFloat16(cond.latents),
          scratch: new Float32Array(x.length),
        }
      // c_in = 1 / sqrt(sigma^2 + 1): EulerDiscreteScheduler.scale_model_input divides by it
      const sigma = sigmas ? sigmas[i]! : 0
      const denom = sigmas ? f32(Math.sqrt(f32(f32(sigma * sigma) + 1))) : 1
      if (half) svdUNetInputHalf(x, half.image, F, plane, denom, r.doCfg, half.input, half.scratch)
      if (!half || run.hooks.onTrace) svdUNetInput(x, cond.latents, F, plane, denom, r.doCfg, inF32)
      run.trace(`step${i}_unet_sample`, inF32, [B, F, 8, h, w])
      const per = F * 8 * plane
      const call = async (b0: number, bn: number): Promise<Float32Array> => {
        const sample = half
          ? new Tensor('float16', half.input.subarray(b0 * per, (b0 + bn) * per), [bn, F, 8, h, w])
          : floatTensor(inF32.subarray(b0 * per, (b0 + bn) * per), [bn, F, 8, h, w])
        const feeds: Record<string, ort.Tensor> = {
          [names['sample']!]: sample,
          [names['timestep']!]: s.timestep(names['timestep']!, t, bn),
          [names['encoder_hidden_states']!]: s.floatInput(
            names['encoder_hidden_states']!,
            ehs.subarray(b0 * D, (b0 + bn) * D),
            [bn, 1, D],
          ),
          [names['added_time_ids']!]: s.floatInput(
            names['added_time_ids']!,
            timeIds.subarray(b0 * 3, (b0 + bn) * 3),
            [bn, 3],
          ),
        }
        if (camName) {
          // MotionCtrl-SVD: the same poses for both CFG halves
          const p = new Float32Array(bn * F * 12)
          for (let b = 0; b < bn; b++) if (poses) p.set(poses, b * F * 12)
          feeds[camName] = s.floatInput(camName, p, [bn, F, 12])
        }
        return (await s.runFirst(feeds)).data
      }
      const out = await run.guidedCall(r.doCfg, call)
      run.trace(`step${i}_unet_out_sample`, out, [B, F, 4, h, w])
      return r.doCfg ? svdGuidance(out, guidance, F) : out
    }
    return run.denoise({
      component: 'unet',
      latents,
      dims: [1, F, 4, h, w],
      predict,
    })
  }
}
