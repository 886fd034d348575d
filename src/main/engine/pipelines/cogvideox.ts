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
import type { ModelSessions } from '../runtime/memory'
import type { ModelSession } from '../runtime/session'
import { floatTensor, permute } from '../runtime/tensor'
import { PromptTokenizer } from '../tokenizers'
import { classifierFreeGuidance, PipelineError } from './common'
import { guidanceBatch, PipelineRun, type Resolved } from './steps'
import type { PipelineCall, PipelineHooks, PipelineOutput, VideoPipeline } from './types'

const f32 = Math.fround

export type CogVideoXOptions = PipelineCall & { prompt: string }

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

export class CogVideoXPipeline implements VideoPipeline {
  readonly tokenizer: PromptTokenizer
  readonly transformerConfig: Record<string, unknown>

  constructor(
    readonly model: ModelFolder,
    readonly sessions: ModelSessions,
  ) {
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

  async call(o: PipelineCall, hooks: PipelineHooks = {}): Promise<PipelineOutput> {
    const run = new PipelineRun(this.model, this.sessions, hooks, o)
    const r = run.r
    const latentFrames = this.latentFrames(run, r.numFrames)
    const C = this.latentChannels()
    this.checkExportedShape(r, latentFrames)

    const { pos, neg } = await run.timed('encode', () =>
      run.encodePromptPair(this.tokenizer, o.prompt ?? '', o.negativePrompt ?? '', r.doCfg),
    )
    const text = { data: guidanceBatch(pos, neg), L: pos.dims[1]!, D: pos.dims[2]! }
    const dims = [1, latentFrames, C, r.h, r.w]
    const { noise, latents } = run.prepareLatents(dims)
    run.trace('init_noise', noise, dims)
    const rope = this.rotaryEmbeddings(run, r, latentFrames)
    const x = await run.timed('denoise', () =>
      this.denoise(run, latents, dims, text, rope, o.useDynamicCfg),
    )
    const { frames, F } = await run.timed('decode', () =>
      this.decodeLatents(run, x, r, latentFrames, C, o.vaeTileSize),
    )
    return run.output(frames, { numFrames: F, decodeChunkSize: null })
  }

  /** (F - 1) / temporal_compression + 1 latent frames; warns when F is not 4k+1. */
  private latentFrames(run: PipelineRun, requested: number): number {
    const temporal = this.model.vae.temporalCompression > 1 ? this.model.vae.temporalCompression : 4
    const latentFrames = Math.floor((requested - 1) / temporal) + 1
    if ((requested - 1) % temporal !== 0) {
      run.warnings.push(
        `CogVideoX was trained on 4k+1 frames; ${requested} frames give ${latentFrames} latent frames, so the clip will have the ${(latentFrames - 1) * temporal + 1} frames the VAE decodes from them`,
      )
    }
    return latentFrames
  }

  private latentChannels(): number {
    const hsShape = this.model.components['transformer']!.inputs['hidden_states']!.shape
    return this.cfg('in_channels', typeof hsShape[2] === 'number' ? hsShape[2] : 16)
  }

  /** An export with fixed latent frames or size takes only those. */
  private checkExportedShape(r: Resolved, latentFrames: number): void {
    const hsShape = this.model.components['transformer']!.inputs['hidden_states']!.shape
    for (const [i, want, what] of [
      [1, latentFrames, 'latent frames'],
      [3, r.h, 'latent height'],
      [4, r.w, 'latent width'],
    ] as const) {
      const fixed = hsShape[i]
      if (typeof fixed === 'number' && fixed !== want) {
        throw new PipelineError(
          `this transformer was exported for ${fixed} ${what}; ${r.width}x${r.height} with ${r.numFrames} frames needs ${want}`,
        )
      }
    }
  }

  /** The 3-D RoPE tables the 5B transformer takes as inputs (2B has none). */
  private rotaryEmbeddings(
    run: PipelineRun,
    r: Resolved,
    latentFrames: number,
  ): ReturnType<typeof rotaryEmbeddings3d> | null {
    const names = this.model.components['transformer']!.inputNames
    if (!names['image_rotary_emb_cos'] || !names['image_rotary_emb_sin']) return null
    const p = this.cfg('patch_size', 2)
    const k = this.model.vae.scaleFactor
    const gh = Math.floor(r.height / (k * p))
    const gw = Math.floor(r.width / (k * p))
    const crops = resizeCropRegionForGrid(
      [gh, gw],
      Math.floor(this.cfg('sample_width', 90) / p),
      Math.floor(this.cfg('sample_height', 60) / p),
    )
    const rope = rotaryEmbeddings3d(
      this.cfg('attention_head_dim', 64),
      crops,
      [gh, gw],
      latentFrames,
    )
    run.trace('rope_cos', rope.cos, rope.dims)
    return rope
  }

  private denoise(
    run: PipelineRun,
    latents: Float32Array,
    dims: number[],
    text: { data: Float32Array; L: number; D: number },
    rope: ReturnType<typeof rotaryEmbeddings3d> | null,
    useDynamicCfg: boolean | undefined,
  ): Promise<Float32Array> {
    const { r, scheduler } = run
    const names = this.model.components['transformer']!.inputNames
    const B = r.doCfg ? 2 : 1
    const n = latents.length
    const [, Fl, C, h, w] = dims as [number, number, number, number, number]
    const predict = async (s: ModelSession, x: Float32Array, t: number, i: number) => {
      const input = new Float32Array(B * n)
      input.set(x)
      if (r.doCfg) input.set(x, n)
      const scaled = scheduler.scaleModelInput(floatTensor(input, [B, Fl, C, h, w]), t).data
      run.trace(`step${i}_transformer_hidden_states`, scaled, [B, Fl, C, h, w])
      const rows = text.L * text.D
      const call = async (b0: number, bn: number): Promise<Float32Array> => {
        const feeds: Record<string, ort.Tensor> = {
          [names['hidden_states']!]: s.floatInput(
            names['hidden_states']!,
            scaled.subarray(b0 * n, (b0 + bn) * n),
            [bn, Fl, C, h, w],
          ),
          [names['encoder_hidden_states']!]: s.floatInput(
            names['encoder_hidden_states']!,
            text.data.subarray(b0 * rows, (b0 + bn) * rows),
            [bn, text.L, text.D],
          ),
          [names['timestep']!]: s.timestep(names['timestep']!, t, bn),
        }
        if (rope) {
          feeds[names['image_rotary_emb_cos']!] = s.floatInput(
            names['image_rotary_emb_cos']!,
            rope.cos,
            rope.dims,
          )
          feeds[names['image_rotary_emb_sin']!] = s.floatInput(
            names['image_rotary_emb_sin']!,
            rope.sin,
            rope.dims,
          )
        }
        return (await s.runFirst(feeds)).data
      }
      const out = await run.guidedCall(r.doCfg, call)
      run.trace(`step${i}_transformer_out`, out, [B, Fl, C, h, w])
      const g = useDynamicCfg ? dynamicGuidance(r.guidance, t, r.steps) : r.guidance
      return r.doCfg ? classifierFreeGuidance(out, g) : out
    }
    return run.denoise({ component: 'transformer', latents, dims, predict })
  }

  /** [1, F, C, h, w] -> [1, C, F, h, w] / scaling_factor, VAE -> frames [F, 3, H, W]. */
  private async decodeLatents(
    run: PipelineRun,
    latents: Float32Array,
    r: Resolved,
    latentFrames: number,
    C: number,
    tileSize: number | undefined,
  ): Promise<{ frames: Float32Array; F: number }> {
    const c = f32(1 / this.model.vae.scalingFactor)
    const bcf = permute(latents, [1, latentFrames, C, r.h, r.w], [0, 2, 1, 3, 4]).data.map((v) =>
      f32(c * v),
    )
    const decoded = await run.decodeVolume({
      latents: bcf,
      dims: [1, C, latentFrames, r.h, r.w],
      ...(tileSize !== undefined ? { tileSize } : {}),
    })
    const [, ch, F, H, W] = decoded.dims as [number, number, number, number, number]
    if (ch !== 3 || H !== r.height || W !== r.width) {
      throw new PipelineError(
        `the VAE decoder returned [${decoded.dims.join(', ')}]; expected [1, 3, frames, ${r.height}, ${r.width}]`,
      )
    }
    // [1, 3, F, H, W] -> [F, 3, H, W]
    return { frames: permute(decoded.data, [3, F, H, W], [1, 0, 2, 3]).data, F }
  }
}
