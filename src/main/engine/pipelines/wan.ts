// Wan 2.1 / 2.2, step for step after diffusers' pipelines/wan/ (pipeline_wan.py, pipeline_wan_i2v.py),
// and Wan-Fun Control-Camera after VideoX-Fun's WanFunControlPipeline (pipeline_wan_fun_control.py):
//   1. encode_prompt: prompt_clean (diffusers; VideoX-Fun tokenizes the raw text), UMT5 tokens padded
//      to 512 with the attention mask, the encoder, rows past the prompt's tokens zeroed
//   2. prepare_latents: [1, C, (F-1)/4+1, h, w] = randn(generator); image-to-video adds the image's
//      VAE latents (normalised by latents_mean / latents_std) as the condition
//   3. denoise: the transformer on the latents (+ condition), timestep t (Wan2.2 TI2V: one per
//      token, 0 on the image's frame), CFG u + g (c - u); Wan2.2 A14B switches to transformer_2
//      with guidance_scale_2 once t < boundary_ratio * num_train_timesteps
//   4. decode: latents * std + mean, the causal VAE one latent frame per call with its feature
//      cache carried from call to call (diffusers' AutoencoderKLWan._decode), (x/2 + 0.5).clamp(0, 1)
import * as ort from 'onnxruntime-node'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fitAspect, resizeLanczosPil, resizePil, type RgbImage } from '../media/image'
import { readPythonJson, type ComponentInfo, type ModelFolder } from '../models/model-folder'
import { WAN_VAE_TILE, validFrameCount } from '../../../shared/render'
import type { ModelSessions } from '../runtime/memory'
import type { ModelSession } from '../runtime/session'
import { toFloat32 } from '../runtime/session'
import { PromptTokenizer } from '../tokenizers'
import { promptClean } from '../tokenizers/prompt-clean'
import {
  classifierFreeGuidance,
  PipelineError,
  schedulerFromConfig,
  SettingsError,
  toFramesHWC,
} from './common'
import { CLIP_MEAN, CLIP_STD, toSignedCHW } from './svd-image'
import { PipelineRun, type Embeddings, type Resolved } from './steps'
import { tileCount, tiledDecode } from './vae-tiling'
import type { PipelineCall, PipelineHooks, PipelineOutput, VideoPipeline } from './types'

const f32 = Math.fround

type Json = Record<string, unknown>

function readJson(path: string): Json {
  return existsSync(path) ? (readPythonJson(path) as Json) : {}
}

/** The latent normalisation of AutoencoderKLWan's config: latents_mean and latents_std per channel. */
export type WanLatentStats = { mean: Float32Array; std: Float32Array }

export function latentStats(vaeConfig: Json, z: number, where: string): WanLatentStats {
  const mean = vaeConfig['latents_mean']
  const std = vaeConfig['latents_std']
  if (!Array.isArray(mean) || !Array.isArray(std) || mean.length !== z || std.length !== z)
    throw new PipelineError(
      `${where}: latents_mean / latents_std must list ${z} numbers each (one per latent channel, AutoencoderKLWan's config)`,
    )
  return { mean: Float32Array.from(mean as number[]), std: Float32Array.from(std as number[]) }
}

/** diffusers: `latents / (1 / std) + mean` in float32, per channel of [1, z, f, h, w]. */
export function denormalizeLatents(
  x: Float32Array,
  s: WanLatentStats,
  plane: number,
): Float32Array {
  const out = new Float32Array(x.length)
  const z = s.mean.length
  for (let c = 0; c < z; c++) {
    const inv = f32(1 / s.std[c]!)
    const m = s.mean[c]!
    for (let i = c * plane; i < (c + 1) * plane; i++) out[i] = f32(f32(x[i]! / inv) + m)
  }
  return out
}

/** diffusers: `(latents - mean) * (1 / std)` in float32, per channel of [1, z, f, h, w]. */
export function normalizeLatents(x: Float32Array, s: WanLatentStats, plane: number): Float32Array {
  const out = new Float32Array(x.length)
  const z = s.mean.length
  for (let c = 0; c < z; c++) {
    const inv = f32(1 / s.std[c]!)
    const m = s.mean[c]!
    for (let i = c * plane; i < (c + 1) * plane; i++) out[i] = f32(f32(x[i]! - m) * inv)
  }
  return out
}

/**
 * Runs a chunked causal Wan VAE graph over a clip: each call takes one chunk, `first_chunk` and
 * the feature cache the previous call returned (the first call: zeros [B, C, T, 1, 1], which the
 * graph broadcasts), and hands each chunk's first output to `each`. Memory is one chunk's,
 * whatever the clip's length.
 */
export async function forEachChunk(
  s: ModelSession,
  input: { name: string; data: Float32Array; dims: [number, number, number, number, number] },
  chunks: number[],
  each: (out: Float32Array, dims: number[], f0: number) => void | Promise<void>,
  cancelled?: () => void,
): Promise<void> {
  const [B, C, F, H, W] = input.dims
  const frame = H * W
  if (chunks.reduce((a, b) => a + b, 0) !== F)
    throw new PipelineError(`chunks of ${chunks.join('+')} frames do not cover the ${F} frames`)
  const cacheNames = [...s.inputs.keys()]
    .filter((n) => n.startsWith('cache_in_'))
    .sort((a, b) => Number(a.slice(9)) - Number(b.slice(9)))
  const outCaches = cacheNames.map((n) => n.replace('cache_in_', 'cache_out_'))
  for (const n of outCaches)
    if (!s.outputNames.includes(n))
      throw new PipelineError(
        `${s.label}: ${s.path} has no output "${n}" for its input "${n.replace('out', 'in')}"`,
      )
  let caches: Record<string, ort.Tensor> = {}
  for (const n of cacheNames) {
    const m = s.meta(n)
    const [c, t] = [m.shape[1], m.shape[2]]
    if (typeof c !== 'number' || typeof t !== 'number')
      throw new PipelineError(`${s.label}: cache input "${n}" has no fixed channels and frames`)
    caches[n] = s.floatInput(n, new Float32Array(B * c * t), [B, c, t, 1, 1])
  }
  let f0 = 0
  for (const k of chunks) {
    cancelled?.()
    // [B, C, k, H, W] out of [B, C, F, H, W]
    const part = new Float32Array(B * C * k * frame)
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++)
        part.set(
          input.data.subarray(((b * C + c) * F + f0) * frame, ((b * C + c) * F + f0 + k) * frame),
          (b * C + c) * k * frame,
        )
    const feeds: Record<string, ort.Tensor> = {
      [input.name]: s.floatInput(input.name, part, [B, C, k, H, W]),
      ...caches,
    }
    if (s.has('first_chunk'))
      feeds['first_chunk'] = new ort.Tensor(
        'int64',
        BigInt64Array.of(f0 === 0 ? 1n : 0n),
        s.meta('first_chunk').shape.length ? [1] : [],
      )
    const out = await s.run(feeds)
    const first = out[s.outputNames.find((n) => !n.startsWith('cache_out_'))!]!
    await each(toFloat32(first, s.label), [...first.dims], f0)
    const next: Record<string, ort.Tensor> = {}
    cacheNames.forEach((n, i) => (next[n] = out[outCaches[i]!]!))
    caches = next
    f0 += k
  }
}

/** forEachChunk with the chunks' outputs joined on the frame axis (the encoder's few latents). */
export async function runChunked(
  s: ModelSession,
  input: { name: string; data: Float32Array; dims: [number, number, number, number, number] },
  chunks: number[],
  cancelled?: () => void,
): Promise<{ data: Float32Array; dims: number[] }> {
  const parts: { data: Float32Array; dims: number[] }[] = []
  await forEachChunk(s, input, chunks, (data, dims) => void parts.push({ data, dims }), cancelled)
  return joinFrames(parts)
}

/** Chunks [B, C, t, H, W] joined on the frame axis. */
function joinFrames(parts: { data: Float32Array; dims: number[] }[]): {
  data: Float32Array
  dims: number[]
} {
  const [B, C2, , H2, W2] = parts[0]!.dims as [number, number, number, number, number]
  const T = parts.reduce((a, p) => a + p.dims[2]!, 0)
  const joined = new Float32Array(B * C2 * T * H2 * W2)
  const plane = H2 * W2
  let t0 = 0
  for (const p of parts) {
    const t = p.dims[2]!
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C2; c++)
        joined.set(
          p.data.subarray((b * C2 + c) * t * plane, ((b * C2 + c) * t + t) * plane),
          ((b * C2 + c) * T + t0) * plane,
        )
    t0 += t
  }
  return { data: joined, dims: [B, C2, T, H2, W2] }
}

/** How `decodeWanLatents` tiles the frame: latent tile side, its overlap, the decoder's unpatchify. */
export type WanTiling = { latent: number; overlapFactor: number; patch: number }

/** The tiling diffusers' tiled_decode does for a VAE of this spatial factor and patch size. */
export function wanTiling(scale: number, patch: number): WanTiling {
  return {
    latent: WAN_VAE_TILE.sample / scale,
    overlapFactor: 1 - WAN_VAE_TILE.stride / WAN_VAE_TILE.sample,
    patch,
  }
}

/**
 * diffusers' AutoencoderKLWan._decode over normalised-back latents [1, z, f, h, w]: one latent
 * frame per call (the first gives 1 frame, each later one `temporal`), written straight into the
 * clip's frames [F, 3, H, W] as each call returns, so nothing but one chunk and the clip is held.
 * `onFrames` gets each call's frames [t, 3, H, W] as they come (awaited before the next call);
 * with `keep` false the clip is not assembled (a streamed export never holds every frame).
 *
 * With `tiles` (the minimal plan) and a frame larger than one tile, it is diffusers' tiled_decode:
 * each overlapping spatial tile runs the whole clip with its own feature cache, and the tiles are
 * blended (vae-tiling.ts) before the frames are handed on. A call then holds one tile's
 * activations and caches (256x256 pixels instead of the frame); the tiles' decoded frames are
 * held until the blend.
 */
export async function decodeWanLatents(
  s: ModelSession,
  name: string,
  lat: Float32Array,
  dims: [number, number, number, number, number],
  o: {
    temporal: number
    scale: number
    tiles?: WanTiling | undefined
    onChunk?: (done: number, total: number) => void
    onFrames?: (chunk: Float32Array, first: number, count: number) => Promise<void>
    keep?: boolean
    cancelled?: () => void
  },
): Promise<{ frames: Float32Array; F: number; H: number; W: number }> {
  const [, zc, Fl, h, w] = dims
  const F = 1 + o.temporal * (Fl - 1)
  const H = h * o.scale
  const W = w * o.scale
  const plane = H * W
  const keep = o.keep ?? true
  const frames = new Float32Array(keep ? F * 3 * plane : 0)
  let t0 = 0
  // frames t0.. out of `out` [1, 3, T, H, W] (its frames from `from`), into [F, 3, H, W]
  const hand = async (out: Float32Array, T: number, from: number, t: number) => {
    const dest = keep ? frames : new Float32Array(t * 3 * plane)
    const at = keep ? t0 : 0
    for (let c = 0; c < 3; c++)
      for (let f = 0; f < t; f++)
        dest.set(
          out.subarray((c * T + from + f) * plane, (c * T + from + f + 1) * plane),
          ((at + f) * 3 + c) * plane,
        )
    await o.onFrames?.(dest.subarray(at * 3 * plane, (at + t) * 3 * plane), t0, t)
    t0 += t
  }
  const tiles = o.tiles
  if (tiles && (h > tiles.latent || w > tiles.latent)) {
    const total = tileCount(h, w, tiles.latent, tiles.overlapFactor) * Fl
    let done = 0
    const clip = await tiledDecode(
      lat,
      [1, zc * Fl, h, w],
      o.scale,
      async (z, [, , th, tw]) => {
        const parts: { data: Float32Array; dims: number[] }[] = []
        await forEachChunk(
          s,
          { name, data: z, dims: [1, zc, Fl, th, tw] },
          new Array<number>(Fl).fill(1),
          (data, d) => {
            const [b, ch, t, oh, ow] = d as [number, number, number, number, number]
            if (b !== 1 || ch !== 3 || oh !== th * o.scale || ow !== tw * o.scale)
              throw new PipelineError(
                `the VAE decoder returned [${d.join(', ')}] for a ${tw * o.scale}x${th * o.scale} tile; expected [1, 3, ${t}, ${th * o.scale}, ${tw * o.scale}]`,
              )
            parts.push({ data, dims: d })
            o.onChunk?.(++done, total)
          },
          o.cancelled,
        )
        const joined = joinFrames(parts)
        if (joined.dims[2] !== F)
          throw new PipelineError(
            `the VAE decoder gave ${joined.dims[2]} frames for ${Fl} latent frames; expected ${F}`,
          )
        return joined.data
      },
      tiles.latent,
      tiles.overlapFactor,
      tiles.patch,
    )
    for (let k = 0, at = 0; k < Fl; k++) {
      const t = k === 0 ? 1 : o.temporal
      await hand(clip.data, F, at, t)
      at += t
    }
    return { frames, F, H, W }
  }
  let k = 0
  await forEachChunk(
    s,
    { name, data: lat, dims },
    new Array<number>(Fl).fill(1),
    async (out, d) => {
      const [b, ch, t, oh, ow] = d as [number, number, number, number, number]
      if (b !== 1 || ch !== 3 || oh !== H || ow !== W || t0 + t > F)
        throw new PipelineError(
          `the VAE decoder returned [${d.join(', ')}] for latent frame ${k}; expected [1, 3, ${k === 0 ? 1 : o.temporal}, ${H}, ${W}]`,
        )
      await hand(out, t, 0, t)
      o.onChunk?.(++k, Fl)
    },
    o.cancelled,
  )
  if (t0 !== F)
    throw new PipelineError(
      `the VAE decoder gave ${t0} frames for ${Fl} latent frames; expected ${F}`,
    )
  return { frames, F, H, W }
}

/** transformers' CLIPImageProcessor (PIL backend): shortest edge to 224 bicubic, centre crop, mean/std. */
export function clipProcessorPixels(img: RgbImage, size = 224): Float32Array {
  const short = Math.min(img.width, img.height)
  const long = Math.max(img.width, img.height)
  const newLong = Math.trunc((size * long) / short)
  const [w, h] = img.width <= img.height ? [size, newLong] : [newLong, size]
  const resized = resizePil(img, w, h, 'bicubic')
  const top = Math.floor((h - size) / 2)
  const left = Math.floor((w - size) / 2)
  const out = new Float32Array(3 * size * size)
  for (let c = 0; c < 3; c++) {
    const m = f32(CLIP_MEAN[c]!)
    const sd = f32(CLIP_STD[c]!)
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const v = f32(resized.rgb[((top + y) * w + left + x) * 3 + c]! * (1 / 255))
        out[(c * size + y) * size + x] = f32(f32(v - m) / sd)
      }
  }
  return out
}

/**
 * The I2V mask channels (diffusers' prepare_latents, Wan2.1 I2V): [4, f, h, w], 1 on the first
 * latent frame (it holds the given image), 0 after.
 */
export function firstFrameMask(latentFrames: number, plane: number): Float32Array {
  const m = new Float32Array(4 * latentFrames * plane)
  for (let k = 0; k < 4; k++) m.fill(1, k * latentFrames * plane, (k * latentFrames + 1) * plane)
  return m
}

type TextConditioning = { data: Float32Array; L: number; D: number; doCfg: boolean }
type ImageConditioning = {
  /** Channels joined to the latents on every step: [1, Cc, f, h, w] (none for TI2V). */
  concat: Float32Array | null
  concatChannels: number
  /** TI2V: the image's normalised latents [z, h, w], replacing latent frame 0. */
  firstFrame: Float32Array | null
  /** CLIP image embeddings [1, 257, D] for both guidance halves. */
  imageEmbeds: Embeddings | null
  /** Wan-Fun camera: the control input [1, 24, f, H, W]. */
  camera: Float32Array | null
}

/**
 * Without a begin index (image-to-video, as diffusers' pipeline runs it), a schedule whose first
 * timestep repeats (UniPC's integer timesteps from about 201 steps at flow shift 5, 334 at 3)
 * starts at the second and fails at its last step, in diffusers too: refused before the work,
 * naming the most steps that run.
 */
function refuseRepeatedFirstTimestep(
  run: PipelineRun,
  model: ModelFolder,
  scheduler: string | undefined,
): void {
  const repeats = (ts: ArrayLike<number>) => ts.length > 1 && ts[0] === ts[1]
  if (!repeats(run.scheduler.timesteps)) return
  let most = run.r.steps - 1
  for (; most > 1; most--) {
    const s = schedulerFromConfig(model.schedulerConfig, scheduler)
    s.setTimesteps(most)
    if (!repeats(s.timesteps)) break
  }
  const ts = run.scheduler.timesteps
  throw new SettingsError(
    `${run.r.steps} steps repeat the first timestep (${ts[0]}, ${ts[1]}) with ${run.scheduler.constructor.name} at this flow shift, and image-to-video then runs past its last step (as diffusers does): use at most ${most} steps, or FlowMatchEulerDiscreteScheduler`,
  )
}

abstract class WanBase implements VideoPipeline {
  readonly tokenizer: PromptTokenizer
  readonly index: Json
  readonly vaeConfig: Json
  readonly transformerConfig: Json
  readonly stats: WanLatentStats
  /** Whether the prompt goes through diffusers' prompt_clean (VideoX-Fun tokenizes raw text). */
  protected cleanPrompt = true
  /** diffusers' WanPipeline calls scheduler.set_begin_index(0); its I2V pipeline does not. */
  protected setBeginIndex = false

  constructor(
    readonly model: ModelFolder,
    readonly sessions: ModelSessions,
  ) {
    this.tokenizer = PromptTokenizer.forPipeline(model.tokenizerDir!, model.pipeline)
    this.index = readJson(join(model.dir, 'model_index.json'))
    this.vaeConfig = readJson(join(model.dir, 'vae_decoder', 'config.json'))
    this.transformerConfig = readJson(join(model.dir, 'transformer', 'config.json'))
    const z = this.latentChannels()
    this.stats = latentStats(this.vaeConfig, z, join(model.dir, 'vae_decoder', 'config.json'))
  }

  abstract call(o: PipelineCall, hooks?: PipelineHooks): Promise<PipelineOutput>

  /**
   * The image encoder's output on `pixels` (null when the transformer takes no image embeddings),
   * traced as `trace`.
   */
  protected async imageEmbeds(
    run: PipelineRun,
    trace: string,
    pixels: (enc: ComponentInfo) => { data: Float32Array; dims: number[] },
  ): Promise<Embeddings | null> {
    const tr = this.model.components['transformer']!
    if (!tr.inputNames['encoder_hidden_states_image']) return null
    const enc = this.model.components['image_encoder']
    if (!enc)
      throw new PipelineError(
        `${tr.path} takes CLIP image embeddings but the folder has no image_encoder/model.onnx`,
      )
    const px = pixels(enc)
    return this.sessions.stage('encode', async () => {
      const s = await this.sessions.get('image_encoder')
      const name = enc.inputNames['pixel_values']!
      const e = await s.runFirst({ [name]: s.floatInput(name, px.data, px.dims) })
      run.trace(trace, e.data, e.dims)
      return e
    })
  }

  /** Frames per latent frame after the first (the VAE's temporal compression). */
  protected temporal(): number {
    return this.model.vae.temporalCompression > 1 ? this.model.vae.temporalCompression : 4
  }

  /** The VAE decoder's final unpatchify (config patch_size: Wan2.2's 2), 1 without one. */
  protected vaePatch(): number {
    const p = this.vaeConfig['patch_size']
    return typeof p === 'number' && p > 1 ? p : 1
  }

  /** The VAE's latent channels (z_dim). */
  latentChannels(): number {
    const z = this.vaeConfig['z_dim']
    if (typeof z === 'number') return z
    const dims = this.model.components['vae_decoder']!.inputs['latent_sample']!.shape
    if (typeof dims[1] === 'number') return dims[1]
    throw new PipelineError(
      `${this.model.dir}: the VAE's latent channels are unknown (no z_dim in vae_decoder/config.json)`,
    )
  }

  /** Patch size [t, h, w] of the transformer (config.json), Wan's (1, 2, 2) by default. */
  patchSize(): [number, number, number] {
    const p = this.transformerConfig['patch_size']
    return Array.isArray(p) && p.length === 3 ? (p as [number, number, number]) : [1, 2, 2]
  }

  get boundaryRatio(): number | null {
    const b = this.index['boundary_ratio']
    return typeof b === 'number' ? b : null
  }

  get expandTimesteps(): boolean {
    return this.index['expand_timesteps'] === true
  }

  /** The run, its scheduler carrying the model's flow shift (dolly.json) when it has one. */
  protected newRun(
    o: PipelineCall,
    hooks: PipelineHooks,
  ): { run: PipelineRun; flowShift: number | null } {
    const shift = this.model.dolly.defaults?.flowShift ?? null
    let model = this.model
    if (shift !== null) {
      const name = o.scheduler ?? (this.model.schedulerConfig['_class_name'] as string | undefined)
      const key = name === 'FlowMatchEulerDiscreteScheduler' ? 'shift' : 'flow_shift'
      model = { ...this.model, schedulerConfig: { ...this.model.schedulerConfig, [key]: shift } }
    }
    const run = new PipelineRun(model, this.sessions, hooks, o)
    if (this.setBeginIndex)
      (run.scheduler as { setBeginIndex?: (i: number) => void }).setBeginIndex?.(0)
    else refuseRepeatedFirstTimestep(run, model, o.scheduler)
    const cfg = run.scheduler as unknown as { config?: Json }
    const used = cfg.config?.['flow_shift'] ?? cfg.config?.['shift']
    return { run, flowShift: typeof used === 'number' ? used : shift }
  }

  /** diffusers turns a frame count that is not 4k+1 into num_frames // 4 * 4 + 1 (with a warning). */
  protected framesFor(run: PipelineRun, requested: number): number {
    const t = this.model.vae.temporalCompression > 1 ? this.model.vae.temporalCompression : 4
    const F = validFrameCount(run.facts.frameRule, requested, t)
    if (F !== requested)
      run.warnings.push(
        `Wan decodes ${t}k+1 frames; ${requested} frames were asked for, so the clip has ${F} (diffusers takes num_frames // ${t} * ${t} + 1)`,
      )
    return F
  }

  /**
   * encode_prompt: each prompt cleaned (diffusers' prompt_clean), tokenized to 512 with its
   * attention mask, encoded; the rows past the prompt's tokens are zeroed (diffusers trims them to
   * the mask's length and pads with zeros). Negative prompt only under guidance.
   */
  protected async encodePrompt(
    run: PipelineRun,
    prompt: string,
    negative: string,
  ): Promise<TextConditioning> {
    const doCfg = run.r.doCfg
    const te = this.model.components['text_encoder']!
    const idsName = te.inputNames['input_ids']!
    const maskName = te.inputNames['attention_mask']!
    // diffusers' max_sequence_length (PIPELINES' tokenizer.maxTokens, 512)
    const len = this.tokenizer.maxLength
    const tokenize = (text: string) => {
      const tok = this.tokenizer.encode(this.cleanPrompt ? promptClean(text) : text)
      const seqLen = Math.min(tok.promptTokens, len - 1) + 1
      return { tok, seqLen }
    }
    const pos = tokenize(prompt)
    if (pos.tok.truncated)
      run.warnings.push(
        `the prompt has ${pos.tok.promptTokens} tokens; UMT5 reads the first ${len - 1}, the rest was cut`,
      )
    const neg = doCfg ? tokenize(negative) : null
    run.hooks.onProgress?.({ stage: 'encode', step: 0, steps: 1 })
    const sessions = this.sessions
    const encoded = await sessions.stage('encode', async () => {
      const s = await sessions.get('text_encoder')
      const enc = async ({ tok, seqLen }: ReturnType<typeof tokenize>) => {
        const mask = tok.list.map((_, i) => (i < seqLen ? 1 : 0))
        const r = await s.runFirst({
          [idsName]: s.intInput(idsName, tok.list, [1, len]),
          [maskName]: s.intInput(maskName, mask, [1, len]),
        })
        const D = r.dims[2]!
        r.data.fill(0, seqLen * D)
        return r
      }
      return [await enc(pos), neg ? await enc(neg) : null] as const
    })
    run.cancelled()
    const [p, n] = encoded
    run.trace('prompt_embeds', p.data, p.dims)
    if (n) run.trace('negative_prompt_embeds', n.data, n.dims)
    const L = p.dims[1]!
    const D = p.dims[2]!
    const data = new Float32Array((n ? 2 : 1) * L * D)
    if (n) {
      data.set(n.data)
      data.set(p.data, L * D)
    } else data.set(p.data)
    return { data, L, D, doCfg }
  }

  /** The expert for timestep t (Wan2.2 A14B) and its guidance scale. */
  protected expertAt(
    run: PipelineRun,
    t: number,
    g2: number,
  ): { component: string; guidance: number } {
    const b = this.boundaryRatio
    const numTrain =
      (run.scheduler as unknown as { numTrainTimesteps?: number }).numTrainTimesteps ?? 1000
    if (b === null || !this.model.components['transformer_2'] || t >= b * numTrain)
      return { component: 'transformer', guidance: run.r.guidance }
    return { component: 'transformer_2', guidance: g2 }
  }

  /**
   * The denoising loop: the transformer on [x (+ condition)] for both guidance halves, the
   * timestep as the graph takes it, CFG, the scheduler step; A14B switches experts at the boundary.
   */
  protected denoise(
    run: PipelineRun,
    latents: Float32Array,
    dims: [number, number, number, number, number],
    text: TextConditioning,
    cond: ImageConditioning,
    g2: number,
    onSwitch: (step: number) => void,
  ): Promise<Float32Array> {
    const [, C, Fl, h, w] = dims
    const plane = h * w
    const n = latents.length
    const [, ph, pw] = this.patchSize()
    const tokensPerFrame = Math.floor(h / ph) * Math.floor(w / pw)
    const Cin = C + cond.concatChannels
    let lastComponent = 'transformer'
    const predict = async (s: ModelSession, x: Float32Array, t: number, i: number) => {
      const { component, guidance } = this.expertAt(run, t, g2)
      if (component !== lastComponent) {
        lastComponent = component
        onSwitch(i)
      }
      const names = this.model.components[component]!.inputNames
      // the model input: latents (TI2V: frame 0 replaced by the image's latents), then the condition channels
      const input = new Float32Array(Cin * Fl * plane)
      input.set(x)
      if (cond.firstFrame)
        for (let c = 0; c < C; c++)
          input.set(cond.firstFrame.subarray(c * plane, (c + 1) * plane), c * Fl * plane)
      if (cond.concat) input.set(cond.concat, n)
      run.trace(`step${i}_transformer_hidden_states`, input, [1, Cin, Fl, h, w])
      const rows = text.L * text.D
      const call = async (b0: number, bn: number): Promise<Float32Array> => {
        const hs = new Float32Array(bn * input.length)
        for (let b = 0; b < bn; b++) hs.set(input, b * input.length)
        const feeds: Record<string, ort.Tensor> = {
          [names['hidden_states']!]: s.floatInput(names['hidden_states']!, hs, [bn, Cin, Fl, h, w]),
          [names['encoder_hidden_states']!]: s.floatInput(
            names['encoder_hidden_states']!,
            text.data.subarray(b0 * rows, (b0 + bn) * rows),
            [bn, text.L, text.D],
          ),
          [names['timestep']!]: this.timestepInput(
            s,
            names['timestep']!,
            t,
            bn,
            Fl,
            tokensPerFrame,
            !!cond.firstFrame,
          ),
        }
        const img = names['encoder_hidden_states_image']
        if (img) {
          if (!cond.imageEmbeds)
            throw new PipelineError(
              `${component} takes CLIP image embeddings but this model has no image_encoder`,
            )
          const e = cond.imageEmbeds
          const one = e.data
          const both = new Float32Array(bn * one.length)
          for (let b = 0; b < bn; b++) both.set(one, b * one.length)
          feeds[img] = s.floatInput(img, both, [bn, e.dims[1]!, e.dims[2]!])
        }
        const cam = names['control_camera']
        if (cam) {
          if (!cond.camera)
            throw new PipelineError(`${component} needs the camera input; none was built`)
          feeds[cam] = s.floatInput(cam, cond.camera, [
            1,
            24,
            Fl,
            h * this.model.vae.scaleFactor,
            w * this.model.vae.scaleFactor,
          ])
        }
        return (await s.runFirst(feeds)).data
      }
      const out = await run.guidedCall(text.doCfg, call)
      run.trace(`step${i}_transformer_out`, out, [text.doCfg ? 2 : 1, C, Fl, h, w])
      return text.doCfg ? classifierFreeGuidance(out, guidance) : out
    }
    return run.denoise({
      component: (t) => this.expertAt(run, t, g2).component,
      latents,
      dims,
      predict,
    })
  }

  /** The timestep: [batch] float, or (TI2V) one per token [batch, tokens], 0 on the image's frame. */
  private timestepInput(
    s: ModelSession,
    name: string,
    t: number,
    bn: number,
    Fl: number,
    tokensPerFrame: number,
    imageFrame: boolean,
  ): ort.Tensor {
    const m = s.meta(name)
    if (m.shape.length !== 2) return s.timestep(name, t, bn)
    const tokens = Fl * tokensPerFrame
    const v = new Float32Array(bn * tokens).fill(t)
    if (imageFrame) for (let b = 0; b < bn; b++) v.fill(0, b * tokens, b * tokens + tokensPerFrame)
    if (m.type === 'int64')
      return new ort.Tensor(
        'int64',
        BigInt64Array.from(v, (x) => BigInt(Math.round(x))),
        [bn, tokens],
      )
    return s.floatInput(name, v, [bn, tokens])
  }

  /** latents * std + mean, the VAE one latent frame per call, -> [F, 3, H, W] in [-1, 1]. */
  protected async decode(
    run: PipelineRun,
    x: Float32Array,
    dims: [number, number, number, number, number],
  ): Promise<{ frames: Float32Array; F: number }> {
    const [, , Fl, h, w] = dims
    const lat = denormalizeLatents(x, this.stats, Fl * h * w)
    run.trace('vae_latents', lat, dims)
    const stream = run.hooks.onFrames
    const keep = !(stream && run.hooks.streamOnly)
    // frames already handed on: a decode run again after an out-of-memory step-down does not
    // hand them over twice
    let handed = 0
    const out = await this.sessions.stage('decode', async () => {
      const s = await this.sessions.get('vae_decoder')
      const name = this.model.components['vae_decoder']!.inputNames['latent_sample']!
      const F = 1 + this.temporal() * (Fl - 1)
      const scale = this.model.vae.scaleFactor
      const [H, W] = [h * scale, w * scale]
      return decodeWanLatents(s, name, lat, dims, {
        temporal: this.temporal(),
        scale,
        // minimal: diffusers' tiled decode (each tile the whole clip with its own cache)
        tiles: run.minimal ? wanTiling(scale, this.vaePatch()) : undefined,
        keep,
        onChunk: (done, steps) => run.hooks.onProgress?.({ stage: 'decode', step: done, steps }),
        onFrames: stream
          ? async (chunk, first, count) => {
              if (first + count <= handed) return
              await stream(toFramesHWC(chunk, count, H, W), {
                first,
                count,
                total: F,
                width: W,
                height: H,
              })
              handed = first + count
            }
          : undefined,
        cancelled: () => run.cancelled(),
      })
    })
    if (stream) {
      run.streamed = true
      run.streamedOnly = !keep
    }
    if (out.H !== run.r.height || out.W !== run.r.width)
      throw new PipelineError(
        `the VAE decoder gave ${out.W}x${out.H} frames; expected ${run.r.width}x${run.r.height}`,
      )
    return { frames: out.frames, F: out.F }
  }

  /** The chunked VAE encoder over [1, 3, F, H, W]: the first frame, then 4 at a time. Unnormalised mean. */
  protected async encodeVideo(
    run: PipelineRun,
    video: Float32Array,
    dims: [number, number, number, number, number],
  ): Promise<{ data: Float32Array; dims: number[] }> {
    const F = dims[2]
    const chunks = [1]
    for (let f = 1; f < F; f += 4) chunks.push(Math.min(4, F - f))
    return this.sessions.stage('encode', async () => {
      const s = await this.sessions.get('vae_encoder')
      const name = this.model.components['vae_encoder']!.inputNames['sample']!
      if (![...s.inputs.keys()].some((k) => k.startsWith('cache_in_'))) {
        if (F !== 1)
          throw new PipelineError(
            `${s.path} encodes one frame (Wan2.2's VAE); this pipeline asked it to encode ${F}`,
          )
        return s.runFirst({ [name]: s.floatInput(name, video, dims) })
      }
      return runChunked(s, { name, data: video, dims }, chunks, () => run.cancelled())
    })
  }

  /** The result with the settings the run used. */
  protected finish(
    run: PipelineRun,
    frames: Float32Array,
    F: number,
    extra: { flowShift: number | null; g2: number | null; switchStep: number | null },
  ): PipelineOutput {
    return run.output(frames, {
      numFrames: F,
      decodeChunkSize: null,
      ...(extra.flowShift !== null ? { flowShift: extra.flowShift } : {}),
      ...(extra.g2 !== null ? { guidanceScale2: extra.g2 } : {}),
      ...(extra.switchStep !== null ? { expertSwitchStep: extra.switchStep } : {}),
    })
  }

  /** guidance_scale_2: the call's, else guidance_scale (A14B only; refused elsewhere, as diffusers does). */
  protected secondGuidance(run: PipelineRun, o: PipelineCall): number | null {
    if (this.boundaryRatio === null || !this.model.components['transformer_2']) {
      // a setting to change (exit 2 in the CLI, the setting named in the studio), as diffusers
      // refuses guidance_scale_2 without a second transformer
      if (o.guidanceScale2 !== undefined)
        throw new SettingsError(
          `guidance 2 applies to Wan2.2 A14B's low-noise expert; ${this.model.label} has one transformer: leave guidance 2 unset`,
        )
      return null
    }
    return o.guidanceScale2 ?? run.r.guidance
  }

  /** Runs prompt -> latents -> denoise -> decode around a condition built by `condition`. */
  protected async generate(
    o: PipelineCall,
    hooks: PipelineHooks,
    condition: (
      run: PipelineRun,
      F: number,
      dims: [number, number, number, number, number],
    ) => Promise<ImageConditioning>,
  ): Promise<PipelineOutput> {
    const { run, flowShift } = this.newRun(o, hooks)
    const r: Resolved = run.r
    const F = this.framesFor(run, r.numFrames)
    const g2 = this.secondGuidance(run, o)
    const t = this.model.vae.temporalCompression > 1 ? this.model.vae.temporalCompression : 4
    const Fl = Math.floor((F - 1) / t) + 1
    const C = this.latentChannels()
    const dims: [number, number, number, number, number] = [1, C, Fl, r.h, r.w]
    const text = await run.timed('encode', () =>
      this.encodePrompt(run, o.prompt ?? '', o.negativePrompt ?? ''),
    )
    const { noise: latents } = run.prepareLatents(dims)
    run.trace('init_latents', latents, dims)
    const cond = await run.timed('condition', () => condition(run, F, dims))
    let switchStep: number | null = null
    let x = await run.timed('denoise', () =>
      this.denoise(run, latents, dims, text, cond, g2 ?? r.guidance, (i) => (switchStep = i)),
    )
    if (cond.firstFrame) {
      // TI2V: the image's latents stand for the first latent frame
      x = x.slice()
      const plane = r.h * r.w
      for (let c = 0; c < C; c++)
        x.set(cond.firstFrame.subarray(c * plane, (c + 1) * plane), c * Fl * plane)
    }
    const { frames, F: out } = await run.timed('decode', () => this.decode(run, x, dims))
    return this.finish(run, frames, out, {
      flowShift,
      g2,
      switchStep: g2 !== null ? switchStep : null,
    })
  }
}

const NO_CONDITION: ImageConditioning = {
  concat: null,
  concatChannels: 0,
  firstFrame: null,
  imageEmbeds: null,
  camera: null,
}

/** diffusers' WanPipeline: text-to-video (Wan2.1, Wan2.2 A14B and TI2V-5B without an image). */
export class WanPipeline extends WanBase {
  constructor(model: ModelFolder, sessions: ModelSessions) {
    super(model, sessions)
    this.setBeginIndex = true
  }

  call(o: PipelineCall, hooks: PipelineHooks = {}): Promise<PipelineOutput> {
    return this.generate(o, hooks, async () => NO_CONDITION)
  }
}

/** The image, fitted and resized as diffusers' VideoProcessor does (PIL Lanczos), in [-1, 1]: [3, H, W]. */
function vaeImage(image: RgbImage, r: Resolved, fit: PipelineCall['fit']): Float32Array {
  const fitted = fitAspect(image, r.width, r.height, fit ?? 'stretch')
  const small = resizeLanczosPil(fitted, r.width, r.height)
  return toSignedCHW(small.rgb, r.width, r.height)
}

/** diffusers' WanImageToVideoPipeline: Wan2.1 I2V (CLIP + mask + image latents) and Wan2.2 (TI2V-5B, A14B I2V). */
export class WanImageToVideoPipeline extends WanBase {
  call(o: PipelineCall, hooks: PipelineHooks = {}): Promise<PipelineOutput> {
    if (!o.image) throw new PipelineError(`${this.model.label} animates an image: give one`)
    const image = o.image
    return this.generate(o, hooks, async (run, F, dims) => {
      const [, z, Fl, h, w] = dims
      const plane = h * w
      const r = run.r
      const embeds = await this.encodeClip(run, image)
      const px = vaeImage(image, r, o.fit)
      run.trace('vae_image', px, [1, 3, r.height, r.width])
      if (this.expandTimesteps) {
        // TI2V: the image alone, its latents replace latent frame 0 (mask 0 there)
        const enc = await this.encodeVideo(run, px, [1, 3, 1, r.height, r.width])
        const first = normalizeLatents(enc.data, this.stats, plane)
        return { ...NO_CONDITION, firstFrame: first, imageEmbeds: embeds }
      }
      // the image then F - 1 zero frames, encoded; 4 mask channels in front
      const video = new Float32Array(3 * F * r.height * r.width)
      const pp = r.height * r.width
      for (let c = 0; c < 3; c++) video.set(px.subarray(c * pp, (c + 1) * pp), c * F * pp)
      const enc = await this.encodeVideo(run, video, [1, 3, F, r.height, r.width])
      if (enc.dims[2] !== Fl)
        throw new PipelineError(
          `the VAE encoder gave ${enc.dims[2]} latent frames for ${F} frames; expected ${Fl}`,
        )
      const latentCond = normalizeLatents(enc.data, this.stats, Fl * plane)
      const concat = new Float32Array((4 + z) * Fl * plane)
      concat.set(firstFrameMask(Fl, plane))
      concat.set(latentCond, 4 * Fl * plane)
      run.trace('condition', concat, [1, 4 + z, Fl, h, w])
      return { ...NO_CONDITION, concat, concatChannels: 4 + z, imageEmbeds: embeds }
    })
  }

  /** encode_image: CLIPImageProcessor, the vision tower's penultimate hidden states [1, 257, D]. */
  private encodeClip(run: PipelineRun, image: RgbImage): Promise<Embeddings | null> {
    return this.imageEmbeds(run, 'image_embeds', (enc) => {
      const shape = enc.inputs['pixel_values']!.shape[2]
      const size = typeof shape === 'number' ? shape : 224
      return { data: clipProcessorPixels(image, size), dims: [1, 3, size, size] }
    })
  }
}

/**
 * VideoX-Fun's WanFunControlPipeline with a camera path (Wan-Fun Control-Camera): the start image's
 * latents on the first latent frame as 16 more channels, its CLIP features, and the camera input
 * (Plücker rays grouped 4 frames per latent frame) through the transformer's camera adapter.
 * VideoX-Fun tokenizes the raw prompt (no prompt_clean).
 */
export class WanFunControlPipeline extends WanBase {
  constructor(model: ModelFolder, sessions: ModelSessions) {
    super(model, sessions)
    this.cleanPrompt = false
  }

  call(o: PipelineCall, hooks: PipelineHooks = {}): Promise<PipelineOutput> {
    if (!o.image) throw new PipelineError(`${this.model.label} starts from an image: give one`)
    const image = o.image
    // a setting the person gives, said before any work (it failed the render after the text
    // encoder ran, as a render failure)
    const camera = o.cameraPoses
    if (!camera)
      throw new SettingsError(
        `${this.model.label} is steered by a camera path: give one (--camera, or a path in the editor)`,
      )
    return this.generate(o, hooks, async (run, F, dims) => {
      const [, z, Fl, h, w] = dims
      const plane = h * w
      const r = run.r
      const want = 24 * Fl * r.height * r.width
      if (camera.length !== want)
        throw new PipelineError(
          `the camera input has ${camera.length} values; expected 24 x ${Fl} x ${r.height} x ${r.width} (VideoX-Fun's Plücker rays, 4 frames per latent frame)`,
        )
      const embeds = await this.encodeClip(run, image)
      // get_image_latent: PIL resize (bicubic) to the clip's size, /255, then [-1, 1]
      const fitted = fitAspect(image, r.width, r.height, o.fit ?? 'stretch')
      const small = resizePil(fitted, r.width, r.height, 'bicubic')
      const px = toSignedCHW(small.rgb, r.width, r.height)
      const enc = await this.encodeVideo(run, px, [1, 3, 1, r.height, r.width])
      const start = normalizeLatents(enc.data, this.stats, plane)
      // start_image_latentes_conv_in: zeros but for the first latent frame
      const concat = new Float32Array(z * Fl * plane)
      for (let c = 0; c < z; c++)
        concat.set(start.subarray(c * plane, (c + 1) * plane), c * Fl * plane)
      return { ...NO_CONDITION, concat, concatChannels: z, imageEmbeds: embeds, camera }
    })
  }

  /**
   * VideoX-Fun's CLIPModel.visual: the original image to [-1, 1]; the image encoder graph resizes
   * (torch bicubic) and normalises it itself, so any size goes in.
   */
  private encodeClip(run: PipelineRun, image: RgbImage): Promise<Embeddings | null> {
    return this.imageEmbeds(run, 'clip_context', () => ({
      data: toSignedCHW(image.rgb, image.width, image.height),
      dims: [1, 3, image.height, image.width],
    }))
  }
}
