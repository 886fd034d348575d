// The steps every pipeline is made of, shared so each pipeline file reads like diffusers'
// (check inputs, encode the prompt, prepare latents, denoise, decode) and so the memory
// plan behaves the same everywhere: under `minimal`, guidance runs as two batch-1 calls and
// the VAE decodes in small chunks of frames and in spatial tiles.
import type * as ort from 'onnxruntime-node'
import { resolveContext, type ResolvedContext } from '../../../shared/longtake'
import { PIPELINES, type PipelineFacts } from '../../../shared/render'
import { fixedLatentSize, type ModelFolder } from '../models/model-folder'
import { TorchGenerator } from '../random/torch-generator'
import type { ModelSessions } from '../runtime/memory'
import type { ModelSession } from '../runtime/session'
import { floatTensor, permute } from '../runtime/tensor'
import type { Scheduler } from '../schedulers/common'
import type { PromptTokenizer } from '../tokenizers'
import {
  PipelineError,
  schedulerFromConfig,
  SettingsError,
  throwIfCancelled,
  toFramesHWC,
} from './common'
import type { PipelineCall, PipelineHooks, PipelineOutput, ResolvedSettings } from './types'
import { tiledDecode } from './vae-tiling'

const f32 = Math.fround

/**
 * One call of a pipeline: the resolved call, its scheduler (timesteps set) and generator, its
 * hooks, and the warnings and timings its output reports. The steps every pipeline shares are
 * its methods.
 */
export class PipelineRun {
  readonly warnings: string[] = []
  readonly timings: Record<string, number> = {}
  /** Decoded frames went to hooks.onFrames as they came (and, under streamOnly, only there). */
  streamed = false
  streamedOnly = false
  private readonly t0 = performance.now()
  /** The call's size, frames, steps, guidance and seed, resolved and checked. */
  readonly r: Resolved
  readonly scheduler: Scheduler & { constructor: { name: string } }
  readonly generator: TorchGenerator

  constructor(
    readonly model: ModelFolder,
    readonly sessions: ModelSessions,
    readonly hooks: PipelineHooks,
    call: PipelineCall,
  ) {
    this.r = resolveCall(model, call)
    if (!this.facts.contextWindows) {
      const label = this.facts.label
      if (call.closedLoop)
        this.warnings.push(`${label} renders one window only; the clip is not made to loop`)
      if (call.promptKeys?.length)
        this.warnings.push(`${label} takes one prompt per clip; the prompt keyframes are ignored`)
    }
    if (call.scheduler && !this.facts.schedulers.includes(call.scheduler as never))
      throw new SettingsError(
        `${this.facts.label} runs ${this.facts.schedulers.join(' or ')}; the scheduler "${call.scheduler}" is for other models`,
      )
    this.scheduler = schedulerFromConfig(model.schedulerConfig, call.scheduler)
    this.scheduler.setTimesteps(this.r.steps)
    this.generator = new TorchGenerator(this.r.seed)
  }

  get facts(): PipelineFacts {
    return PIPELINES[this.model.pipeline]
  }

  get minimal(): boolean {
    return this.sessions.plan === 'minimal'
  }

  trace(name: string, data: Float32Array | number[], dims: number[]): void {
    this.hooks.onTrace?.(name, data, dims)
  }

  cancelled(): void {
    throwIfCancelled(this.hooks.signal)
  }

  /** Runs a named stage of the pipeline and records how long it took. */
  async timed<T>(name: string, fn: () => Promise<T>): Promise<T> {
    const t = performance.now()
    try {
      return await fn()
    } finally {
      this.timings[name] = performance.now() - t
    }
  }

  /**
   * The pipeline's result: decoded frames [F, 3, H, W] to [F, H, W, 3] in [0, 1], and the
   * settings the run really used (the call's resolved values plus the family's own).
   */
  output(
    frames: Float32Array,
    extra: Partial<ResolvedSettings> & { decodeChunkSize: number | null },
  ): PipelineOutput {
    const { r, scheduler } = this
    this.timings['total'] = performance.now() - this.t0
    const F = extra.numFrames ?? r.numFrames
    return {
      // frames streamed to hooks.onFrames under streamOnly were not kept (see decodeFrames)
      frames: this.streamedOnly ? new Float32Array(0) : toFramesHWC(frames, F, r.height, r.width),
      streamed: this.streamed,
      numFrames: F,
      width: r.width,
      height: r.height,
      seed: String(r.seed),
      scheduler: scheduler.constructor.name,
      plan: this.sessions.plan,
      settings: {
        width: r.width,
        height: r.height,
        numFrames: F,
        numInferenceSteps: r.steps,
        guidanceScale: r.guidance,
        scheduler: scheduler.constructor.name,
        ...extra,
      },
      warnings: this.warnings,
      timingsMs: this.timings,
    }
  }

  /**
   * diffusers' encode_prompt: the prompt (and, under guidance, the negative prompt) tokenized
   * to the pipeline's length and run through the text encoder, one prompt per call.
   */
  async encodePromptPair(
    tokenizer: PromptTokenizer,
    prompt: string,
    negativePrompt: string,
    doCfg: boolean,
  ): Promise<{ pos: Embeddings; neg: Embeddings | null }> {
    const tok = tokenizer.encode(prompt)
    if (tok.truncated) {
      const kept = tokenizer.maxLength - (tokenizer.bosId === null ? 1 : 2)
      this.warnings.push(
        `the prompt has ${tok.promptTokens} tokens; ${tokenizer.kind.toUpperCase()} reads the first ${kept}, the rest was cut`,
      )
    }
    const neg = tokenizer.encode(negativePrompt)
    this.hooks.onProgress?.({ stage: 'encode', step: 0, steps: 1 })
    const te = this.model.components['text_encoder']!
    const name = te.inputNames['input_ids']!
    const sessions = this.sessions
    const [pos, negE] = await sessions.stage('encode', async () => {
      const s = await sessions.get('text_encoder')
      const enc = (ids: number[]) => s.runFirst({ [name]: s.intInput(name, ids, [1, ids.length]) })
      return [await enc(tok.list), doCfg ? await enc(neg.list) : null] as const
    })
    this.cancelled()
    this.trace('prompt_embeds', pos.data, pos.dims)
    if (negE) this.trace('negative_prompt_embeds', negE.data, negE.dims)
    return { pos, neg: negE }
  }

  /**
   * Several prompts through the text encoder, one call each (prompt travel: each keyframe's
   * prompt once), with the same truncation notice as encodePromptPair.
   */
  async encodeTexts(tokenizer: PromptTokenizer, prompts: readonly string[]): Promise<Embeddings[]> {
    const toks = prompts.map((p) => tokenizer.encode(p))
    toks.forEach((tok, i) => {
      if (!tok.truncated) return
      const kept = tokenizer.maxLength - (tokenizer.bosId === null ? 1 : 2)
      this.warnings.push(
        `prompt "${prompts[i]!.slice(0, 40)}" has ${tok.promptTokens} tokens; ${tokenizer.kind.toUpperCase()} reads the first ${kept}, the rest was cut`,
      )
    })
    this.hooks.onProgress?.({ stage: 'encode', step: 0, steps: prompts.length })
    const te = this.model.components['text_encoder']!
    const name = te.inputNames['input_ids']!
    const sessions = this.sessions
    const out = await sessions.stage('encode', async () => {
      const s = await sessions.get('text_encoder')
      const res: Embeddings[] = []
      for (const tok of toks)
        res.push(await s.runFirst({ [name]: s.intInput(name, tok.list, [1, tok.list.length]) }))
      return res
    })
    this.hooks.onProgress?.({ stage: 'encode', step: prompts.length, steps: prompts.length })
    this.cancelled()
    return out
  }

  /**
   * The denoiser's output for both guidance halves, [uncond, cond] (or the one half without
   * guidance): one batch-2 call, or under `minimal` two batch-1 calls. `call(b0, bn)` runs
   * batch items b0..b0+bn-1 and returns their output.
   */
  async guidedCall(
    doCfg: boolean,
    call: (b0: number, bn: number) => Promise<Float32Array>,
  ): Promise<Float32Array> {
    if (!doCfg) return call(0, 1)
    if (!this.minimal) return call(0, 2)
    const u = await call(0, 1)
    const c = await call(1, 1)
    const out = new Float32Array(u.length + c.length)
    out.set(u)
    out.set(c, u.length)
    return out
  }

  /** diffusers' prepare_latents: randn(shape, generator) * init_noise_sigma. */
  prepareLatents(dims: number[]): { noise: Float32Array; latents: Float32Array } {
    const noise = this.generator.randn(dims)
    const sigma = f32(this.scheduler.initNoiseSigma)
    return { noise, latents: sigma === 1 ? noise : noise.map((v) => f32(v * sigma)) }
  }

  /**
   * The denoising loop: for each timestep, `predict` gives the (guided) model output and the
   * scheduler steps; progress, the live preview and the trace are reported the same way for
   * every pipeline. Under an out-of-memory error the memory plan steps down and the loop runs
   * again from the same noise (the generator is restored).
   */
  async denoise(o: {
    /** The denoiser, or per step which one (Wan2.2 A14B's two experts; offload loads one at a time). */
    component: string | ((t: number, i: number) => string)
    latents: Float32Array
    dims: number[]
    predict: (s: ModelSession, x: Float32Array, t: number, i: number) => Promise<Float32Array>
  }): Promise<Float32Array> {
    const { scheduler, generator } = this
    const state = generator.getState()
    const { dims } = o
    const hooks = this.hooks
    const componentAt = typeof o.component === 'string' ? () => o.component as string : o.component
    return this.sessions.stage(
      'denoise',
      async () => {
        let x = o.latents
        for (let i = 0; i < scheduler.timesteps.length; i++) {
          this.cancelled()
          const t = scheduler.timesteps[i]!
          const s = await this.sessions.get(componentAt(t, i))
          // the clock for it/s and ETA starts here, with the denoiser loaded (not at step 1)
          if (i === 0)
            hooks.onProgress?.({ stage: 'denoise', step: 0, steps: scheduler.timesteps.length })
          const noisePred = await o.predict(s, x, t, i)
          x = scheduler.step(floatTensor(noisePred, dims), t, floatTensor(x, dims), {
            generator,
          }).prevSample.data
          this.trace(`step${i}_latents_after`, x, dims)
          hooks.onStepLatents?.(x, dims, i)
          hooks.onProgress?.({ stage: 'denoise', step: i + 1, steps: scheduler.timesteps.length })
        }
        return x
      },
      () => generator.setState(state),
    )
  }

  /**
   * The camera input for the denoiser: MotionCtrl RT [F * 12] when the model takes it, else null
   * with a warning (the path is ignored rather than silently dropped).
   */
  cameraPosesFor(poses: Float32Array | undefined, F: number): Float32Array | null {
    if (!poses) return null
    const denoiser = this.model.components['unet'] ?? this.model.components['transformer']
    if (this.model.camera !== 'motionctrl-rt' || !denoiser?.inputNames['camera_poses']) {
      this.warnings.push('this model has no camera input; the camera path is ignored')
      return null
    }
    if (poses.length !== F * 12)
      throw new PipelineError(
        `cameraPoses has ${poses.length / 12} frames; expected ${F} (one 3x4 RT per frame)`,
      )
    return poses
  }

  /** Frames per VAE call: the call's choice, the model's default, and the plan's cap. */
  decodeChunkFor(requested: number | undefined, F: number): number {
    const chunk = this.facts.decodeChunk
    if (!chunk) return F
    const d = this.model.defaults.decodeChunk
    const wanted = Math.max(1, requested ?? (d === 'all' || d === null ? F : d))
    return Math.min(wanted, this.minimal ? chunk.minimal : wanted, F)
  }

  /**
   * diffusers' decode_latents for a per-frame (2D or temporal) VAE: the denoised latents
   * [1, C, F, h, w] or [1, F, C, h, w] divided by the scaling factor, as [F, C, h, w], decoded.
   */
  decodeLatentFrames(
    latents: Float32Array,
    layout: 'BCFHW' | 'BFCHW',
    r: Resolved,
    C: number,
    o: {
      chunk: number
      tileSize?: number | undefined
      extraFeeds?: ((s: ModelSession, k: number) => Record<string, ort.Tensor>) | undefined
    },
  ): Promise<Float32Array> {
    const c = f32(1 / this.model.vae.scalingFactor)
    const scaled = latents.map((v) => f32(c * v))
    const F = r.numFrames
    const perFrame =
      layout === 'BCFHW' ? permute(scaled, [1, C, F, r.h, r.w], [0, 2, 1, 3, 4]).data : scaled
    return this.decodeFrames({
      latents: perFrame,
      dims: [F, C, r.h, r.w],
      chunk: o.chunk,
      ...(o.tileSize !== undefined ? { tileSize: o.tileSize } : {}),
      ...(o.extraFeeds ? { extraFeeds: o.extraFeeds } : {}),
    })
  }

  /**
   * Decodes per-frame latents [F, C, h, w] (already divided by the scaling factor) to
   * [F, 3, H, W], `chunk` frames per call; under `minimal` each call decodes spatial tiles
   * (diffusers' tiled_decode) when a frame is bigger than one tile. `extraFeeds(k)` adds
   * inputs that depend on the chunk (SVD's temporal decoder: num_frames = k).
   */
  async decodeFrames(o: {
    latents: Float32Array
    dims: [number, number, number, number]
    chunk: number
    tileSize?: number
    extraFeeds?: (s: ModelSession, k: number) => Record<string, ort.Tensor>
  }): Promise<Float32Array> {
    const [F, C, h, w] = o.dims
    const vae = this.model.components['vae_decoder']!
    const name = vae.inputNames['latent_sample']!
    const scale = this.model.vae.scaleFactor
    const tile = o.tileSize ?? 64
    const onFrames = this.hooks.onFrames
    const keep = !(onFrames && this.hooks.streamOnly)
    // frames already handed to onFrames: a retry after an out-of-memory step-down decodes
    // again from the start but does not hand them over twice
    let handed = 0
    const decoded = await this.sessions.stage('decode', async () => {
      const s = await this.sessions.get('vae_decoder')
      const frameSize = C * h * w
      const parts: Float32Array[] = []
      for (let f0 = 0; f0 < F; f0 += o.chunk) {
        this.cancelled()
        const k = Math.min(o.chunk, F - f0)
        const z = o.latents.subarray(f0 * frameSize, (f0 + k) * frameSize)
        const decodeTile = async (t: Float32Array, d: number[]) =>
          (await s.runFirst({ [name]: s.floatInput(name, t, d), ...o.extraFeeds?.(s, k) })).data
        const part =
          this.minimal && (h > tile || w > tile)
            ? (await tiledDecode(z, [k, C, h, w], scale, decodeTile, tile)).data
            : await decodeTile(z, [k, C, h, w])
        if (part.length !== k * 3 * h * scale * w * scale)
          throw new PipelineError(
            `the VAE decoder returned ${part.length} values; expected ${k}x3x${h * scale}x${w * scale}`,
          )
        if (keep) parts.push(part)
        if (onFrames && f0 + k > handed) {
          const hwc = toFramesHWC(part, k, h * scale, w * scale)
          const skip = Math.max(0, handed - f0)
          const per = h * scale * w * scale * 3
          await onFrames(hwc.subarray(skip * per), {
            first: f0 + skip,
            count: k - skip,
            total: F,
            width: w * scale,
            height: h * scale,
          })
          handed = f0 + k
        }
        this.hooks.onProgress?.({ stage: 'decode', step: f0 + k, steps: F })
      }
      return joinParts(parts)
    })
    if (onFrames) {
      this.streamed = true
      this.streamedOnly = !keep
      if (!keep) return decoded
    }
    const want = F * 3 * h * scale * w * scale
    if (decoded.length !== want) {
      throw new PipelineError(
        `the VAE decoder returned ${decoded.length} values; expected ${F}x3x${h * scale}x${w * scale}`,
      )
    }
    return decoded
  }

  /**
   * Decodes a 3D VAE's latents [1, C, f, h, w] in one call; under `minimal`, in spatial tiles
   * over every frame (diffusers' CogVideoX tiled decoding blends tiles the same way).
   * Returns [1, 3, F, H, W].
   */
  async decodeVolume(o: {
    latents: Float32Array
    dims: [number, number, number, number, number]
    tileSize?: number
  }): Promise<{ data: Float32Array; dims: number[] }> {
    const [B, C, f, h, w] = o.dims
    const vae = this.model.components['vae_decoder']!
    const name = vae.inputNames['latent_sample']!
    const tile = o.tileSize ?? 64
    return this.sessions.stage('decode', async () => {
      const s = await this.sessions.get('vae_decoder')
      this.hooks.onProgress?.({ stage: 'decode', step: 0, steps: 1 })
      let out: { data: Float32Array; dims: number[] }
      if (this.minimal && (h > tile || w > tile)) {
        // tiles over [B, C*f, h, w]: each tile decodes as [B, C, f, th, tw] -> [B, 3, F, TH, TW]
        let frames = 0
        const tiled = await tiledDecode(
          o.latents,
          [B, C * f, h, w],
          this.model.vae.scaleFactor,
          async (t, [, , th, tw]) => {
            const r = await s.runFirst({ [name]: s.floatInput(name, t, [B, C, f, th!, tw!]) })
            frames = r.dims[2]!
            return r.data
          },
          tile,
        )
        const [, c3F, H, W] = tiled.dims
        out = { data: tiled.data, dims: [B, 3, c3F / 3, H, W] }
        if (c3F !== 3 * frames)
          throw new PipelineError('tiled VAE decode returned a wrong frame count')
      } else {
        out = await s.runFirst({ [name]: s.floatInput(name, o.latents, o.dims) })
      }
      this.hooks.onProgress?.({ stage: 'decode', step: 1, steps: 1 })
      return out
    })
  }
}

export type Resolved = {
  width: number
  height: number
  /** Latent height and width. */
  h: number
  w: number
  numFrames: number
  steps: number
  guidance: number
  doCfg: boolean
  seed: number | bigint
  /** Context windows for a long take or a loop (null: one denoiser call takes every frame). */
  context: ResolvedContext | null
}

/**
 * The call's size, frames, steps, guidance and seed, from the call or the model's defaults,
 * checked the way every pipeline needs: sizes on the model's grid (and the export's fixed
 * size), frames within the model's window.
 */
export function resolveCall(model: ModelFolder, o: PipelineCall): Resolved {
  const facts = PIPELINES[model.pipeline]
  const d = model.defaults
  const width = o.width ?? d.width
  const height = o.height ?? d.height
  const numFrames = o.numFrames ?? d.frames
  const steps = o.numInferenceSteps ?? d.steps
  const guidance = o.maxGuidanceScale ?? o.guidanceScale ?? d.guidance
  const k = model.vae.scaleFactor
  // an export with a fixed size takes that size alone: said first, since the grid's nearest
  // size (100 -> 104 on a grid of 8) is not one it takes either
  const fixed = fixedLatentSize(model)
  if (fixed && (fixed.h * k !== height || fixed.w * k !== width)) {
    throw new SettingsError(
      `${model.label} takes ${fixed.w * k}x${fixed.h * k} only (its export fixes the size); ${width}x${height} is not possible`,
    )
  }
  const m = model.sizeMultiple ?? facts.sizeMultiple
  if (width % m || height % m) {
    const near = (v: number) => Math.max(m, Math.round(v / m) * m)
    throw new SettingsError(
      `width and height must be multiples of ${m}, got ${width}x${height} (nearest: ${near(width)}x${near(height)})`,
    )
  }
  if (!Number.isInteger(numFrames) || numFrames < 1)
    throw new SettingsError(`numFrames must be a positive integer, got ${numFrames}`)
  if (model.maxFrames !== null && numFrames > model.maxFrames && !facts.contextWindows) {
    throw new SettingsError(
      `${model.label} takes at most ${model.maxFrames} frames in one render (its motion window); ${numFrames} were asked for. Render ${model.maxFrames} or fewer, or split the clip into shots`,
    )
  }
  let context: ResolvedContext | null = null
  if (facts.contextWindows) {
    try {
      context = resolveContext(numFrames, model.maxFrames, o.context, o.closedLoop ?? false)
    } catch (err) {
      throw new SettingsError(`${model.label}: ${err instanceof Error ? err.message : err}`)
    }
  }
  if (!Number.isInteger(steps) || steps < 1)
    throw new SettingsError(`numInferenceSteps must be a positive integer, got ${steps}`)
  if (!(guidance >= 0)) throw new SettingsError(`the guidance scale must be >= 0, got ${guidance}`)
  return {
    width,
    height,
    h: height / k,
    w: width / k,
    numFrames,
    steps,
    guidance,
    doCfg: guidance > 1,
    seed: o.seed ?? 0,
    context,
  }
}

export type Embeddings = { data: Float32Array; dims: number[] }

/** [negative, positive] as one batch (diffusers' cat order), or the positive alone. */
export function guidanceBatch(pos: Embeddings, neg: Embeddings | null): Float32Array {
  if (!neg) return pos.data
  const out = new Float32Array(pos.data.length + neg.data.length)
  out.set(neg.data)
  out.set(pos.data, neg.data.length)
  return out
}

function joinParts(parts: Float32Array[]): Float32Array {
  const all = new Float32Array(parts.reduce((a, p) => a + p.length, 0))
  let off = 0
  for (const p of parts) {
    all.set(p, off)
    off += p.length
  }
  return all
}
