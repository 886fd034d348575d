// CogVideoXPipeline, after diffusers' pipelines/cogvideo/pipeline_cogvideox.py:
//   1. T5 tokens padded/truncated to 226 (max_sequence_length), T5 encoder; negative "" by default
//   2. latents [B, (F-1)//4+1, C, h, w] = randn * init_noise_sigma
//   3. rotary embeddings computed here when the transformer uses them (5B), passed as inputs
//   4. per step: transformer on cat([x, x]) with timestep [B], CFG (dynamic CFG optional),
//      scheduler step (CogVideoXDPMScheduler keeps its previous x0 itself)
//   5. latents -> [B, C, F, h, w] / scaling_factor, VAE decode (one call, or latent-frame batches
//      when the export carries the causal conv cache)
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type * as ort from 'onnxruntime-node'
import type { ModelFolder } from '../models/model-folder'
import { readPythonJson } from '../models/model-folder'
import { TorchGenerator } from '../random/torch-generator'
import type { ModelSessions } from '../runtime/memory'
import { floatTensor, permute } from '../runtime/tensor'
import { PromptTokenizer } from '../tokenizers'
import type { PipelineOutput } from './animatediff'
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

const f32 = Math.fround

export type CogVideoXOptions = {
  prompt: string
  negativePrompt?: string
  width?: number
  height?: number
  numFrames?: number
  numInferenceSteps?: number
  guidanceScale?: number
  useDynamicCfg?: boolean
  seed?: number | bigint
  scheduler?: string
}

/** Dynamic CFG (diffusers): g = 1 + g0 * (1 - cos(pi * ((N - t) / N)^5)) / 2, t the timestep value. */
export function dynamicGuidance(g0: number, t: number, numInferenceSteps: number): number {
  return 1 + (g0 * (1 - Math.cos(Math.PI * ((numInferenceSteps - t) / numInferenceSteps) ** 5))) / 2
}

/** diffusers' get_resize_crop_region_for_grid. */
export function resizeCropRegionForGrid(
  src: [number, number],
  tgtWidth: number,
  tgtHeight: number,
): [[number, number], [number, number]] {
  const [h, w] = src
  const pyRound = (x: number) => {
    const r = Math.round(x)
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r
  }
  let rh: number
  let rw: number
  if (h / w > tgtHeight / tgtWidth) {
    rh = tgtHeight
    rw = Math.trunc(pyRound((tgtHeight / h) * w))
  } else {
    rw = tgtWidth
    rh = Math.trunc(pyRound((tgtWidth / w) * h))
  }
  const top = Math.trunc(pyRound((tgtHeight - rh) / 2))
  const left = Math.trunc(pyRound((tgtWidth - rw) / 2))
  return [
    [top, left],
    [top + rh, left + rw],
  ]
}

/** torch.linspace for a few float32 values (scalar path). */
function linspaceF32(a: number, b: number, n: number): Float32Array {
  const out = new Float32Array(n)
  if (n === 1) {
    out[0] = a
    return out
  }
  const s = f32(a)
  const e = f32(b)
  const step = f32(f32(e - s) / (n - 1))
  const half = Math.floor(n / 2)
  for (let i = 0; i < n; i++)
    out[i] = i < half ? f32(s + f32(step * i)) : f32(e - f32(step * (n - i - 1)))
  return out
}

/** get_1d_rotary_pos_embed(dim, pos, use_real=True, repeat_interleave_real=True): [S, dim] cos and sin. */
function rope1d(
  dim: number,
  pos: Float32Array,
  theta = 10000,
): { cos: Float32Array; sin: Float32Array } {
  const half = dim / 2
  const freqs = new Float32Array(half)
  for (let i = 0; i < half; i++) freqs[i] = f32(1 / f32(Math.pow(theta, f32(f32(2 * i) / dim))))
  const cos = new Float32Array(pos.length * dim)
  const sin = new Float32Array(pos.length * dim)
  for (let s = 0; s < pos.length; s++)
    for (let i = 0; i < half; i++) {
      const a = f32(pos[s]! * freqs[i]!)
      cos[s * dim + 2 * i] = cos[s * dim + 2 * i + 1] = f32(Math.cos(a))
      sin[s * dim + 2 * i] = sin[s * dim + 2 * i + 1] = f32(Math.sin(a))
    }
  return { cos, sin }
}

/**
 * CogVideoX 1.0's 3-D rotary embeddings (diffusers' get_3d_rotary_pos_embed, linspace grid):
 * [T * gh * gw, head_dim] cos and sin, the head dimension split t : h : w = 1/4 : 3/8 : 3/8.
 */
export function rotaryEmbeddings3d(
  headDim: number,
  crops: [[number, number], [number, number]],
  grid: [number, number],
  temporal: number,
): { cos: Float32Array; sin: Float32Array; dims: [number, number] } {
  const [[t0, l0], [t1, l1]] = crops
  const [gh, gw] = grid
  const gridH = linspaceF32(t0, (t1 * (gh - 1)) / gh, gh)
  const gridW = linspaceF32(l0, (l1 * (gw - 1)) / gw, gw)
  const gridT = linspaceF32(0, (temporal * (temporal - 1)) / temporal, temporal)
  const dimT = Math.floor(headDim / 4)
  const dimH = Math.floor(headDim / 8) * 3
  const dimW = Math.floor(headDim / 8) * 3
  const ft = rope1d(dimT, gridT)
  const fh = rope1d(dimH, gridH)
  const fw = rope1d(dimW, gridW)
  const D = dimT + dimH + dimW
  const n = temporal * gh * gw
  const cos = new Float32Array(n * D)
  const sin = new Float32Array(n * D)
  let row = 0
  for (let t = 0; t < temporal; t++)
    for (let y = 0; y < gh; y++)
      for (let x = 0; x < gw; x++, row++) {
        for (const [src, dst] of [
          [ft.cos, cos],
          [ft.sin, sin],
        ] as const)
          dst.set(src.subarray(t * dimT, (t + 1) * dimT), row * D)
        cos.set(fh.cos.subarray(y * dimH, (y + 1) * dimH), row * D + dimT)
        sin.set(fh.sin.subarray(y * dimH, (y + 1) * dimH), row * D + dimT)
        cos.set(fw.cos.subarray(x * dimW, (x + 1) * dimW), row * D + dimT + dimH)
        sin.set(fw.sin.subarray(x * dimW, (x + 1) * dimW), row * D + dimT + dimH)
      }
  return { cos, sin, dims: [n, D] }
}

export class CogVideoXPipeline {
  readonly tokenizer: PromptTokenizer
  readonly transformerConfig: Record<string, unknown>

  constructor(
    readonly model: ModelFolder,
    readonly sessions: ModelSessions,
  ) {
    if (model.pipeline !== 'cogvideox')
      throw new PipelineError(`${model.dir} is a ${model.pipeline} model, not CogVideoX`)
    this.tokenizer = PromptTokenizer.fromFolder(model.tokenizerDir!, 't5', 226)
    const cfgPath = join(model.dir, 'transformer', 'config.json')
    this.transformerConfig = existsSync(cfgPath)
      ? (readPythonJson(cfgPath) as Record<string, unknown>)
      : {}
  }

  private cfg<T>(key: string, fallback: T): T {
    const v = this.transformerConfig[key]
    return v === undefined || v === null ? fallback : (v as T)
  }

  async call(o: CogVideoXOptions, hooks: PipelineHooks = {}): Promise<PipelineOutput> {
    const t0 = performance.now()
    const timings: Record<string, number> = {}
    const warnings: string[] = []
    const trace = hooks.onTrace ?? (() => undefined)
    const { signal } = hooks
    const sessions = this.sessions
    const vaeCfgPath = join(this.model.dir, 'vae_decoder', 'config.json')
    const vaeCfg = existsSync(vaeCfgPath)
      ? (readPythonJson(vaeCfgPath) as Record<string, unknown>)
      : {}
    const { scaleFactor } = vaeFactors(this.model.dir, 'vae_decoder', 1.15258426)
    const scalingFactor =
      typeof vaeCfg['scaling_factor'] === 'number'
        ? (vaeCfg['scaling_factor'] as number)
        : 1.15258426
    const temporal =
      typeof vaeCfg['temporal_compression_ratio'] === 'number'
        ? (vaeCfg['temporal_compression_ratio'] as number)
        : 4
    const width = o.width ?? this.cfg('sample_width', 90) * scaleFactor
    const height = o.height ?? this.cfg('sample_height', 60) * scaleFactor
    const requestedFrames = o.numFrames ?? this.cfg('sample_frames', 49)
    const steps = o.numInferenceSteps ?? 50
    const g0 = o.guidanceScale ?? 6
    const doCfg = g0 > 1
    if (width % 8 || height % 8)
      throw new PipelineError(`width and height must be multiples of 8, got ${width}x${height}`)
    const latentFrames = Math.floor((requestedFrames - 1) / temporal) + 1
    if ((requestedFrames - 1) % temporal !== 0) {
      warnings.push(
        `CogVideoX was trained on 4k+1 frames; ${requestedFrames} frames give ${latentFrames} latent frames, so the clip will have the ${(latentFrames - 1) * temporal + 1} frames the VAE decodes from them`,
      )
    }
    const tr = this.model.components['transformer']!
    const hsShape = tr.inputs['hidden_states']!.shape
    const C = this.cfg('in_channels', typeof hsShape[2] === 'number' ? hsShape[2] : 16)
    const h = height / scaleFactor
    const w = width / scaleFactor
    for (const [i, want, what] of [
      [1, latentFrames, 'latent frames'],
      [3, h, 'latent height'],
      [4, w, 'latent width'],
    ] as const) {
      const fixed = hsShape[i]
      if (typeof fixed === 'number' && fixed !== want) {
        throw new PipelineError(
          `this transformer was exported for ${fixed} ${what}; ${width}x${height} with ${requestedFrames} frames needs ${want}`,
        )
      }
    }

    const scheduler = schedulerFromConfig(this.model.schedulerConfig, o.scheduler)
    const generator = new TorchGenerator(o.seed ?? 0)

    // 1. prompts
    hooks.onProgress?.({ stage: 'encode', step: 0, steps: 1 })
    const tok = this.tokenizer.encode(o.prompt)
    if (tok.truncated)
      warnings.push(
        `the prompt has ${tok.promptTokens} tokens; T5 reads the first 225, the rest was cut`,
      )
    const neg = this.tokenizer.encode(o.negativePrompt ?? '')
    const te = this.model.components['text_encoder']!
    const [pos, negE] = await sessions.stage('encode', async () => {
      const s = await sessions.get('text_encoder')
      const name = te.inputNames['input_ids']!
      const enc = (ids: number[]) => s.runFirst({ [name]: s.intInput(name, ids, [1, ids.length]) })
      return [await enc(tok.list), doCfg ? await enc(neg.list) : null] as const
    })
    trace('prompt_embeds', pos.data, pos.dims)
    if (negE) trace('negative_prompt_embeds', negE.data, negE.dims)
    const L = pos.dims[1]!
    const D = pos.dims[2]!
    const B = doCfg ? 2 : 1
    const ehs = new Float32Array(B * L * D)
    if (doCfg) ehs.set(negE!.data)
    ehs.set(pos.data, (B - 1) * L * D)
    timings['encode'] = performance.now() - t0
    throwIfCancelled(signal)

    // 2. latents
    scheduler.setTimesteps(steps)
    const latentDims = [1, latentFrames, C, h, w]
    const noise = generator.randn(latentDims)
    trace('init_noise', noise, latentDims)
    const sigma0 = f32(scheduler.initNoiseSigma)
    const start = sigma0 === 1 ? noise : noise.map((v) => f32(v * sigma0))

    // 3. rotary embeddings (5B)
    const ropeCos = tr.inputNames['image_rotary_emb_cos']
    const ropeSin = tr.inputNames['image_rotary_emb_sin']
    let rope: ReturnType<typeof rotaryEmbeddings3d> | null = null
    if (ropeCos && ropeSin) {
      const p = this.cfg('patch_size', 2)
      const gh = Math.floor(height / (scaleFactor * p))
      const gw = Math.floor(width / (scaleFactor * p))
      const crops = resizeCropRegionForGrid(
        [gh, gw],
        Math.floor(this.cfg('sample_width', 90) / p),
        Math.floor(this.cfg('sample_height', 60) / p),
      )
      rope = rotaryEmbeddings3d(this.cfg('attention_head_dim', 64), crops, [gh, gw], latentFrames)
      trace('rope_cos', rope.cos, rope.dims)
    }

    // 4. denoise
    const tDenoise = performance.now()
    const genState = generator.getState()
    const latents = await sessions.stage(
      'denoise',
      async () => {
        let x: Float32Array = start
        const s = await sessions.get('transformer')
        const names = tr.inputNames
        const n = x.length
        for (let i = 0; i < scheduler.timesteps.length; i++) {
          throwIfCancelled(signal)
          const t = scheduler.timesteps[i]!
          const input = new Float32Array(B * n)
          input.set(x)
          if (doCfg) input.set(x, n)
          const scaled = scheduler.scaleModelInput(
            floatTensor(input, [B, latentFrames, C, h, w]),
            t,
          ).data
          trace(`step${i}_transformer_hidden_states`, scaled, [B, latentFrames, C, h, w])
          const feeds: Record<string, ort.Tensor> = {
            [names['hidden_states']!]: s.floatInput(names['hidden_states']!, scaled, [
              B,
              latentFrames,
              C,
              h,
              w,
            ]),
            [names['encoder_hidden_states']!]: s.floatInput(names['encoder_hidden_states']!, ehs, [
              B,
              L,
              D,
            ]),
            [names['timestep']!]: s.timestep(names['timestep']!, t, B),
          }
          if (rope) {
            feeds[ropeCos!] = s.floatInput(ropeCos!, rope.cos, rope.dims)
            feeds[ropeSin!] = s.floatInput(ropeSin!, rope.sin, rope.dims)
          }
          const out = (await s.runFirst(feeds)).data
          trace(`step${i}_transformer_out`, out, [B, latentFrames, C, h, w])
          const g = o.useDynamicCfg ? dynamicGuidance(g0, t, steps) : g0
          const noisePred = doCfg ? classifierFreeGuidance(out, g) : out
          x = stepAndReport(scheduler, noisePred, t, x, latentDims, i, generator, hooks)
        }
        return x
      },
      () => generator.setState(genState),
    )
    timings['denoise'] = performance.now() - tDenoise

    // 5. decode: [B, F, C, h, w] -> [B, C, F, h, w], / scaling_factor
    const tDecode = performance.now()
    const c = f32(1 / scalingFactor)
    const bcf = permute(latents, latentDims, [0, 2, 1, 3, 4]).data.map((v) => f32(c * v))
    const vae = this.model.components['vae_decoder']!
    const decoded = await sessions.stage('decode', async () => {
      const s = await sessions.get('vae_decoder')
      const name = vae.inputNames['latent_sample']!
      hooks.onProgress?.({ stage: 'decode', step: 0, steps: 1 })
      const r = await s.runFirst({ [name]: s.floatInput(name, bcf, [1, C, latentFrames, h, w]) })
      hooks.onProgress?.({ stage: 'decode', step: 1, steps: 1 })
      return r
    })
    const [, ch, F, H, W] = decoded.dims as [number, number, number, number, number]
    if (ch !== 3 || H !== height || W !== width) {
      throw new PipelineError(
        `the VAE decoder returned [${decoded.dims.join(', ')}]; expected [1, 3, frames, ${height}, ${width}]`,
      )
    }
    // [1, 3, F, H, W] -> [F, 3, H, W]
    const perFrame = permute(decoded.data, [3, F, H, W], [1, 0, 2, 3]).data
    timings['decode'] = performance.now() - tDecode
    timings['total'] = performance.now() - t0
    return {
      frames: toFramesHWC(perFrame, F, H, W),
      numFrames: F,
      width: W,
      height: H,
      seed: String(o.seed ?? 0),
      scheduler: scheduler.constructor.name,
      plan: sessions.plan,
      warnings,
      timingsMs: timings,
    }
  }
}
