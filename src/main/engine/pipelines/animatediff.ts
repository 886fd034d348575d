// AnimateDiffPipeline, step for step after diffusers' pipelines/animatediff/pipeline_animatediff.py
// (text-to-video with a motion UNet), with MotionCtrl camera poses when the UNet takes them.
//   1. tokenize prompt and negative prompt (CLIP, 77), encode each
//   2. embeddings cat([negative, positive]), repeated per frame (diffusers >= 0.31)
//   3. latents [B, 4, F, h, w] = randn(generator) * init_noise_sigma
//   4. per timestep: UNet on cat([x, x]) (scaled), CFG u + g (c - u), scheduler step
//   5. latents / scaling_factor -> [B*F, 4, h, w], VAE decode in chunks, (x/2 + 0.5).clamp(0, 1)
import type * as ort from 'onnxruntime-node'
import { fixedLatentSize, type ModelFolder } from '../models/model-folder'
import { TorchGenerator } from '../random/torch-generator'
import type { MemoryPlan, ModelSessions } from '../runtime/memory'
import { floatTensor, permute, repeatInterleave } from '../runtime/tensor'
import { PromptTokenizer } from '../tokenizers'
import { tiledDecode } from './vae-tiling'
import {
  classifierFreeGuidance,
  PipelineError,
  schedulerFromConfig,
  throwIfCancelled,
  toFramesHWC,
  vaeFactors,
  type PipelineHooks,
  stepAndReport,
} from './common'

export type AnimateDiffOptions = {
  prompt: string
  negativePrompt?: string
  width?: number
  height?: number
  numFrames?: number
  numInferenceSteps?: number
  guidanceScale?: number
  seed?: number | bigint
  /** A scheduler class name; default: the model's scheduler_config.json. */
  scheduler?: string
  decodeChunkSize?: number
  /** MotionCtrl RT per frame, [numFrames * 12], already relative to frame 0 and scaled. */
  cameraPoses?: Float32Array
  motionScale?: number
  /** Latent tile size for VAE tiling under the minimal plan (diffusers' tile_latent_min_size, 64). */
  vaeTileSize?: number
}

export type PipelineOutput = {
  /** [F, H, W, 3] in [0, 1]. */
  frames: Float32Array
  numFrames: number
  width: number
  height: number
  seed: string
  scheduler: string
  plan: MemoryPlan
  warnings: string[]
  timingsMs: Record<string, number>
}

export class AnimateDiffPipeline {
  readonly tokenizer: PromptTokenizer

  constructor(
    readonly model: ModelFolder,
    readonly sessions: ModelSessions,
  ) {
    if (model.pipeline !== 'animatediff')
      throw new PipelineError(`${model.dir} is a ${model.pipeline} model, not AnimateDiff`)
    this.tokenizer = PromptTokenizer.fromFolder(model.tokenizerDir!, 'clip')
  }

  /** Latent size the UNet was exported for, when its spatial axes are fixed. */
  async call(o: AnimateDiffOptions, hooks: PipelineHooks = {}): Promise<PipelineOutput> {
    const t0 = performance.now()
    const timings: Record<string, number> = {}
    const warnings: string[] = []
    const { signal } = hooks
    const trace = hooks.onTrace ?? (() => undefined)
    const { scaleFactor, scalingFactor } = vaeFactors(this.model.dir)
    const fixed = fixedLatentSize(this.model)
    const width = o.width ?? (fixed ? fixed.w * scaleFactor : 512)
    const height = o.height ?? (fixed ? fixed.h * scaleFactor : 512)
    const F = o.numFrames ?? 16
    const steps = o.numInferenceSteps ?? 25
    const g = o.guidanceScale ?? 7.5
    const doCfg = g > 1
    const decodeChunk = Math.max(1, o.decodeChunkSize ?? 16)

    if (!o.prompt && o.prompt !== '') throw new PipelineError('a prompt is required')
    if (width % 8 || height % 8)
      throw new PipelineError(`width and height must be multiples of 8, got ${width}x${height}`)
    if (!Number.isInteger(F) || F < 1)
      throw new PipelineError(`numFrames must be a positive integer, got ${F}`)
    const h = height / scaleFactor
    const w = width / scaleFactor
    if (fixed && (fixed.h !== h || fixed.w !== w)) {
      throw new PipelineError(
        `this UNet was exported for ${fixed.w * scaleFactor}x${fixed.h * scaleFactor} only; ${width}x${height} is not possible (use ${fixed.w * scaleFactor}x${fixed.h * scaleFactor})`,
      )
    }
    const unetInfo = this.model.components['unet']!
    const camName = unetInfo.inputNames['camera_poses']
    const motionName = unetInfo.inputNames['motion_scale']
    if (o.cameraPoses && !camName)
      warnings.push('this model has no camera input; the camera path is ignored')
    if (o.cameraPoses && camName && o.cameraPoses.length !== F * 12) {
      throw new PipelineError(
        `cameraPoses has ${o.cameraPoses.length / 12} frames; expected ${F} (one 3x4 RT per frame)`,
      )
    }

    const scheduler = schedulerFromConfig(this.model.schedulerConfig, o.scheduler)
    const generator = new TorchGenerator(o.seed ?? 0)
    const sessions = this.sessions

    // 1-2. prompt embeddings
    const tok = this.tokenizer.encode(o.prompt)
    if (tok.truncated)
      warnings.push(
        `the prompt has ${tok.promptTokens} tokens; CLIP reads the first 75, the rest was cut`,
      )
    const neg = this.tokenizer.encode(o.negativePrompt ?? '')
    hooks.onProgress?.({ stage: 'encode', step: 0, steps: 1 })
    const te = this.model.components['text_encoder']!
    const [posEmb, negEmb] = await sessions.stage('encode', async () => {
      const s = await sessions.get('text_encoder')
      const enc = (ids: number[]) =>
        s.runFirst({
          [te.inputNames['input_ids']!]: s.intInput(te.inputNames['input_ids']!, ids, [
            1,
            ids.length,
          ]),
        })
      return [await enc(tok.list), doCfg ? await enc(neg.list) : null] as const
    })
    throwIfCancelled(signal)
    trace('prompt_embeds', posEmb.data, posEmb.dims)
    if (negEmb) trace('negative_prompt_embeds', negEmb.data, negEmb.dims)
    const [, L, D] = posEmb.dims as [number, number, number]
    const perFrame = (this.model.dolly.textEmbeddings ?? 'per-frame') === 'per-frame'
    let embBatch = posEmb.data
    if (doCfg) {
      embBatch = new Float32Array(2 * posEmb.data.length)
      embBatch.set(negEmb!.data)
      embBatch.set(posEmb.data, posEmb.data.length)
    }
    const B = doCfg ? 2 : 1
    const ehs = perFrame
      ? repeatInterleave({ data: embBatch, dims: [B, L, D] }, F, 0)
      : { data: embBatch, dims: [B, L, D] }
    trace('unet_encoder_hidden_states', ehs.data, ehs.dims)
    timings['encode'] = performance.now() - t0

    // 3. latents
    scheduler.setTimesteps(steps)
    const latentDims = [1, 4, F, h, w]
    let latents = generator.randn(latentDims)
    if (scheduler.initNoiseSigma !== 1) {
      const s = Math.fround(scheduler.initNoiseSigma)
      latents = latents.map((v) => Math.fround(v * s))
    }
    trace('init_latents', latents, latentDims)

    // 4. denoise
    const tDenoise = performance.now()
    const n = latents.length
    const poses = o.cameraPoses && camName ? o.cameraPoses : null
    const genState = generator.getState()
    const startLatents = latents
    latents = await sessions.stage(
      'denoise',
      async () => {
        let x = startLatents
        const s = await sessions.get('unet')
        const names = unetInfo.inputNames
        const minimal = sessions.plan === 'minimal'
        for (let i = 0; i < scheduler.timesteps.length; i++) {
          throwIfCancelled(signal)
          const t = scheduler.timesteps[i]!
          const input = new Float32Array(n * B)
          input.set(x)
          if (doCfg) input.set(x, n)
          const scaled = scheduler.scaleModelInput(floatTensor(input, [B, 4, F, h, w]), t).data
          trace(`step${i}_unet_sample`, scaled, [B, 4, F, h, w])
          const call = async (b0: number, bn: number): Promise<Float32Array> => {
            const ehsRows = perFrame ? F : 1
            const feeds: Record<string, ort.Tensor> = {
              [names['sample']!]: s.floatInput(
                names['sample']!,
                scaled.subarray(b0 * n, (b0 + bn) * n),
                [bn, 4, F, h, w],
              ),
              [names['timestep']!]: s.timestep(names['timestep']!, t, bn),
              [names['encoder_hidden_states']!]: s.floatInput(
                names['encoder_hidden_states']!,
                ehs.data.subarray(b0 * ehsRows * L * D, (b0 + bn) * ehsRows * L * D),
                [bn * ehsRows, L, D],
              ),
            }
            if (camName) {
              // MotionCtrl (AnimateDiff branch): zeros for the unconditional half
              const p = new Float32Array(bn * F * 12)
              for (let b = 0; b < bn; b++) {
                const isCond = !doCfg || b0 + b === 1
                if (isCond && poses) p.set(poses, b * F * 12)
              }
              feeds[camName] = s.floatInput(camName, p, [bn, F, 12])
            }
            if (motionName)
              feeds[motionName] = s.floatInput(motionName, Float32Array.of(o.motionScale ?? 1), [1])
            return (await s.runFirst(feeds)).data
          }
          let out: Float32Array
          if (doCfg && minimal) {
            // batch-1 CFG: two calls instead of one batch of 2
            const u = await call(0, 1)
            const c = await call(1, 1)
            out = new Float32Array(2 * n)
            out.set(u)
            out.set(c, n)
          } else out = await call(0, B)
          trace(`step${i}_unet_out_sample`, out, [B, 4, F, h, w])
          const noise = doCfg ? classifierFreeGuidance(out, g) : out
          x = stepAndReport(scheduler, noise, t, x, latentDims, i, generator, hooks)
        }
        return x
      },
      () => generator.setState(genState),
    )
    timings['denoise'] = performance.now() - tDenoise

    // 5. decode
    const tDecode = performance.now()
    const c = Math.fround(1 / scalingFactor)
    const scaledLatents = latents.map((v) => Math.fround(c * v))
    const perFrameLatents = permute(scaledLatents, latentDims, [0, 2, 1, 3, 4]).data // [F, 4, h, w]
    const vae = this.model.components['vae_decoder']!
    const decoded = await sessions.stage('decode', async () => {
      const s = await sessions.get('vae_decoder')
      const chunk = sessions.plan === 'minimal' ? 1 : decodeChunk
      const frameSize = 4 * h * w
      const parts: Float32Array[] = []
      for (let f0 = 0; f0 < F; f0 += chunk) {
        throwIfCancelled(signal)
        const k = Math.min(chunk, F - f0)
        const name = vae.inputNames['latent_sample']!
        const z = perFrameLatents.subarray(f0 * frameSize, (f0 + k) * frameSize)
        const decodeTile = async (t: Float32Array, d: number[]) =>
          (await s.runFirst({ [name]: s.floatInput(name, t, d) })).data
        const tile = o.vaeTileSize ?? 64
        if (sessions.plan === 'minimal' && (h > tile || w > tile)) {
          parts.push((await tiledDecode(z, [k, 4, h, w], scaleFactor, decodeTile, tile)).data)
        } else parts.push(await decodeTile(z, [k, 4, h, w]))
        hooks.onProgress?.({ stage: 'decode', step: Math.min(F, f0 + k), steps: F })
      }
      const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0))
      let off = 0
      for (const p of parts) {
        all.set(p, off)
        off += p.length
      }
      return all
    })
    const outH = height
    const outW = width
    if (decoded.length !== F * 3 * outH * outW) {
      throw new PipelineError(
        `the VAE decoder returned ${decoded.length} values; expected ${F}x3x${outH}x${outW}`,
      )
    }
    timings['decode'] = performance.now() - tDecode
    timings['total'] = performance.now() - t0
    return {
      frames: toFramesHWC(decoded, F, outH, outW),
      numFrames: F,
      width: outW,
      height: outH,
      seed: String(o.seed ?? 0),
      scheduler: scheduler.constructor.name,
      plan: sessions.plan,
      warnings,
      timingsMs: timings,
    }
  }
}
