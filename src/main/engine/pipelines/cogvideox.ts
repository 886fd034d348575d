// CogVideoXPipeline and CogVideoXImageToVideoPipeline, after diffusers'
// pipelines/cogvideo/pipeline_cogvideox.py and pipeline_cogvideox_image2video.py (1.0 and 1.5):
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
import { fitAspect, resizeLanczosPil, type RgbImage } from '../media/image'
import { PromptTokenizer } from '../tokenizers'
import { clipFrameCount, validFrameCount } from '../../../shared/render'
import { toSignedCHW } from './svd-image'
import { classifierFreeGuidance, PipelineError, SettingsError } from './common'
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
  if (dim % 2) throw new PipelineError(`a rotary embedding needs an even dimension, got ${dim}`)
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

type Rope = { cos: Float32Array; sin: Float32Array; dims: [number, number] }
type PositionTable = { data: Float32Array; dims: [number, number] }

/** get_3d_rotary_pos_embed's combination: per token (t, y, x) the t, h and w parts of head_dim. */
function rope3d(
  headDim: number,
  gridT: Float32Array,
  gridH: Float32Array,
  gridW: Float32Array,
): Rope {
  const dimT = Math.floor(headDim / 4)
  const dimH = Math.floor(headDim / 8) * 3
  const dimW = Math.floor(headDim / 8) * 3
  const ft = rope1d(dimT, gridT)
  const fh = rope1d(dimH, gridH)
  const fw = rope1d(dimW, gridW)
  const D = dimT + dimH + dimW
  const [T, gh, gw] = [gridT.length, gridH.length, gridW.length]
  const n = T * gh * gw
  const cos = new Float32Array(n * D)
  const sin = new Float32Array(n * D)
  let row = 0
  for (let t = 0; t < T; t++)
    for (let y = 0; y < gh; y++)
      for (let x = 0; x < gw; x++, row++) {
        for (const [f, at, d] of [
          [ft, t, dimT],
          [fh, y, dimH],
          [fw, x, dimW],
        ] as const) {
          const off = row * D + (f === ft ? 0 : f === fh ? dimT : dimT + dimH)
          cos.set(f.cos.subarray(at * d, (at + 1) * d), off)
          sin.set(f.sin.subarray(at * d, (at + 1) * d), off)
        }
      }
  return { cos, sin, dims: [n, D] }
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
): Rope {
  const [[t0, l0], [t1, l1]] = crops
  const [gh, gw] = grid
  return rope3d(
    headDim,
    linspaceF32(0, (temporal * (temporal - 1)) / temporal, temporal),
    linspaceF32(t0, (t1 * (gh - 1)) / gh, gh),
    linspaceF32(l0, (l1 * (gw - 1)) / gw, gw),
  )
}

/** CogVideoX 1.5's (grid_type "slice"): integer positions 0..n-1 on each axis. */
export function rotaryEmbeddings3dSlice(
  headDim: number,
  grid: [number, number],
  temporal: number,
): Rope {
  const arange = (n: number) => Float32Array.from({ length: n }, (_, i) => i)
  return rope3d(headDim, arange(temporal), arange(grid[0]), arange(grid[1]))
}

/**
 * get_1d_sincos_pos_embed_from_grid(dim, pos): [sin(pos * w), cos(pos * w)] with
 * w_k = 1 / 10000^(k / (dim / 2)), in float64 as diffusers computes it; written at `row * stride + off`.
 */
function sincos1d(
  out: Float64Array,
  stride: number,
  off: number,
  dim: number,
  pos: number,
  row: number,
): void {
  const half = dim / 2
  for (let k = 0; k < half; k++) {
    const a = pos * (1 / Math.pow(10000, k / half))
    out[row * stride + off + k] = Math.sin(a)
    out[row * stride + off + half + k] = Math.cos(a)
  }
}

/**
 * CogVideoX-2B's position table for one size (diffusers' CogVideoXPatchEmbed
 * _get_positional_embeddings, get_3d_sincos_pos_embed): the video rows [frames * gh * gw, dim]
 * (its text rows are zeros), a token (t, y, x) getting the temporal quarter of `dim` from t and
 * the spatial three quarters from x then y (meshgrid "xy": its "h" half reads the x coordinate).
 * Positions are float32 (arange / scale), the sines float64, the table float32 as the
 * pipeline adds it.
 */
export function sincosPositionTable(
  dim: number,
  grid: [number, number],
  frames: number,
  spatialScale: number,
  temporalScale: number,
): PositionTable {
  if (dim % 16)
    throw new PipelineError(`a sincos position table needs a dimension divisible by 16, got ${dim}`)
  const [gh, gw] = grid
  const dt = dim / 4
  const half = (3 * dim) / 8 // each spatial axis' share of the spatial three quarters
  const n = frames * gh * gw
  // torch's float32 arange divided by the scale in float32
  const [sScale, tScale] = [f32(spatialScale), f32(temporalScale)]
  const table = new Float64Array(n * dim)
  // one row per distinct position, then copied: a frame's spatial rows are all alike
  const spatial = new Float64Array(gh * gw * dim)
  for (let y = 0; y < gh; y++)
    for (let x = 0; x < gw; x++) {
      const r = y * gw + x
      sincos1d(spatial, dim, dt, half, f32(x / sScale), r)
      sincos1d(spatial, dim, dt + half, half, f32(y / sScale), r)
    }
  const temporal = new Float64Array(frames * dim)
  for (let t = 0; t < frames; t++) sincos1d(temporal, dim, 0, dt, f32(t / tScale), t)
  for (let t = 0; t < frames; t++)
    for (let r = 0; r < gh * gw; r++) {
      const row = (t * gh * gw + r) * dim
      table.set(spatial.subarray(r * dim + dt, (r + 1) * dim), row + dt)
      table.set(temporal.subarray(t * dim, t * dim + dt), row)
    }
  return { data: Float32Array.from(table), dims: [n, dim] }
}

/** [N, C, ...] and [N', C, ...] frames interleaved on the channel axis: per frame f (of `frames`,
 * cycling over the image's frames) the latents' C channels then the image's. */
function withImageChannels(
  latents: Float32Array,
  image: Float32Array,
  frames: number,
  frameSize: number,
): Float32Array {
  const out = new Float32Array(2 * latents.length)
  const imageFrames = image.length / frameSize
  for (let f = 0; f < frames; f++) {
    out.set(latents.subarray(f * frameSize, (f + 1) * frameSize), 2 * f * frameSize)
    const g = f % imageFrames
    out.set(image.subarray(g * frameSize, (g + 1) * frameSize), (2 * f + 1) * frameSize)
  }
  return out
}

export class CogVideoXPipeline implements VideoPipeline {
  readonly tokenizer: PromptTokenizer
  readonly transformerConfig: Record<string, unknown>

  constructor(
    readonly model: ModelFolder,
    readonly sessions: ModelSessions,
  ) {
    this.tokenizer = PromptTokenizer.forPipeline(model.tokenizerDir!, model.pipeline)
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
    const withImage = run.facts.input === 'image'
    if (withImage && !o.image)
      throw new PipelineError(`${this.model.label} animates an image: give one (--image FILE)`)
    const latentFrames = this.latentFrames(run, r.numFrames)
    // CogVideoX 1.5 pads the latent frames to a multiple of patch_size_t (dropped before decoding)
    const pt = this.cfg<number | null>('patch_size_t', null)
    const extra = pt && latentFrames % pt ? pt - (latentFrames % pt) : 0
    const frames = latentFrames + extra
    const C = this.latentChannels(withImage)
    this.checkExportedShape(r, frames, latentFrames)

    const { pos, neg } = await run.timed('encode', () =>
      run.encodePromptPair(this.tokenizer, o.prompt ?? '', o.negativePrompt ?? '', r.doCfg),
    )
    const text = { data: guidanceBatch(pos, neg), L: pos.dims[1]!, D: pos.dims[2]! }
    // image-to-video: the image's latents (the generator's first draw), frame 0 of `frames`
    const image = o.image
      ? await run.timed('encodeImage', () =>
          this.encodeImage(
            run,
            fitAspect(o.image!, r.width, r.height, o.fit ?? 'stretch'),
            C,
            frames,
          ),
        )
      : null
    const dims = [1, frames, C, r.h, r.w]
    const { noise, latents } = run.prepareLatents(dims)
    run.trace('init_noise', noise, dims)
    const rope = this.rotaryEmbeddings(run, r, frames, pt)
    const table = this.positionTable(run, r, frames)
    const x = await run.timed('denoise', () =>
      this.denoise(run, latents, dims, text, image, rope, table, o.useDynamicCfg),
    )
    // latents[:, extra:]
    const kept = x.subarray(extra * C * r.h * r.w)
    const decoded = await run.timed('decode', () =>
      this.decodeLatents(run, kept, r, latentFrames, C, o.vaeTileSize),
    )
    return run.output(decoded.frames, { numFrames: decoded.F, decodeChunkSize: null })
  }

  /**
   * prepare_latents' image branch: PIL Lanczos resize to the clip's size, [-1, 1], the VAE
   * encoder's distribution sampled (mean + std * randn, logvar clamped to [-30, 20]), scaled
   * (times scaling_factor; 1.5's VAE sets invert_scale_latents: divided), as latent frame 0 of
   * [1, frames, C, h, w] with zeros after it.
   */
  private async encodeImage(
    run: PipelineRun,
    image: RgbImage,
    C: number,
    frames: number,
  ): Promise<Float32Array> {
    const { width, height, h, w } = run.r
    const px = toSignedCHW(resizeLanczosPil(image, width, height).rgb, width, height)
    run.trace('vae_image_preprocessed', px, [1, 3, 1, height, width])
    const name = this.model.components['vae_encoder']!.inputNames['sample']!
    const params = await run.sessions.stage('encode', async () => {
      const s = await run.sessions.get('vae_encoder')
      return s.runFirst({ [name]: s.floatInput(name, px, [1, 3, 1, height, width]) })
    })
    const plane = h * w
    if (params.data.length !== 2 * C * plane) {
      throw new PipelineError(
        `the VAE encoder returned [${params.dims.join(', ')}]; expected the latent distribution's parameters [1, ${2 * C}, 1, ${h}, ${w}] (mean, then log-variance)`,
      )
    }
    const noise = run.generator.randn([1, C, 1, h, w])
    const vae = this.model.vae
    const k = f32(vae.invertScaleLatents ? 1 / vae.scalingFactor : vae.scalingFactor)
    const out = new Float32Array(frames * C * plane) // frame 0, channels first: [C, h, w]
    for (let i = 0; i < C * plane; i++) {
      const logvar = Math.min(20, Math.max(-30, params.data[C * plane + i]!))
      const std = f32(Math.exp(f32(0.5 * logvar)))
      out[i] = f32(k * f32(params.data[i]! + f32(std * noise[i]!)))
    }
    run.trace('image_latents', out, [1, frames, C, h, w])
    run.cancelled()
    return out
  }

  /** (F - 1) / temporal_compression + 1 latent frames (the family's frame rule); warns when F is not 4k+1. */
  private latentFrames(run: PipelineRun, requested: number): number {
    const temporal = this.model.vae.temporalCompression > 1 ? this.model.vae.temporalCompression : 4
    const latentFrames =
      (validFrameCount(run.facts.frameRule, requested, temporal) - 1) / temporal + 1
    const decoded = clipFrameCount(run.facts, requested, temporal)
    if (decoded !== requested) {
      run.warnings.push(
        `${requested} frames give ${latentFrames} latent frames, and the VAE decodes ${decoded} frames from them: CogVideoX renders ${temporal * (run.facts.vaeLatentBatch ?? 1)}k+1 frames exactly (49, 81)`,
      )
    }
    return latentFrames
  }

  /** Latent channels: the transformer's in_channels (image-to-video: half, the rest is the image). */
  private latentChannels(withImage: boolean): number {
    const hsShape = this.model.components['transformer']!.inputs['hidden_states']!.shape
    const inChannels = this.cfg('in_channels', typeof hsShape[2] === 'number' ? hsShape[2] : 16)
    return withImage ? inChannels / 2 : inChannels
  }

  /**
   * An export with fixed latent frames or size takes only those: checked before any work, so a
   * mismatch is not found at the decode after every step. The transformer sees the padded
   * latent frames (1.5), the VAE decoder the clip's own (its export fixes them: its causal
   * decoder loops over frames in Python).
   */
  private checkExportedShape(r: Resolved, latentFrames: number, decodedFrames: number): void {
    const hsShape = this.model.components['transformer']!.inputs['hidden_states']!.shape
    const vaeShape = this.model.components['vae_decoder']?.inputs['latent_sample']?.shape ?? []
    const t = this.model.vae.temporalCompression
    for (const [component, shape, i, want, what] of [
      ['transformer', hsShape, 1, latentFrames, 'latent frames'],
      ['transformer', hsShape, 3, r.h, 'latent height'],
      ['transformer', hsShape, 4, r.w, 'latent width'],
      ['VAE decoder', vaeShape, 2, decodedFrames, 'latent frames'],
    ] as const) {
      const fixed = shape[i]
      if (typeof fixed === 'number' && fixed !== want) {
        // the transformer's latent frames are padded to a multiple of patch_size_t (1.5): the
        // fewest a clip needs for them is fixed - pt + 1 (4 padded: 3, a clip of 9 frames, not 13)
        const pt =
          component === 'transformer'
            ? Math.max(1, this.cfg<number | null>('patch_size_t', null) ?? 1)
            : 1
        const fewest = fixed % pt === 0 ? Math.max(1, fixed - pt + 1) : fixed
        const hint = what === 'latent frames' ? ` (a clip of ${(fewest - 1) * t + 1} frames)` : ''
        throw new SettingsError(
          `this ${component} was exported for ${fixed} ${what}${hint}; ${r.width}x${r.height} with ${r.numFrames} frames needs ${want}`,
        )
      }
    }
  }

  /** The 3-D RoPE tables 5B and 1.5 take as inputs (2B has none): 1.0's crop grid, 1.5's slice. */
  private rotaryEmbeddings(
    run: PipelineRun,
    r: Resolved,
    latentFrames: number,
    pt: number | null,
  ): Rope | null {
    const names = this.model.components['transformer']!.inputNames
    if (!names['image_rotary_emb_cos'] || !names['image_rotary_emb_sin']) return null
    const p = this.cfg('patch_size', 2)
    const k = this.model.vae.scaleFactor
    const grid: [number, number] = [Math.floor(r.height / (k * p)), Math.floor(r.width / (k * p))]
    const headDim = this.cfg('attention_head_dim', 64)
    const rope = pt
      ? rotaryEmbeddings3dSlice(headDim, grid, Math.floor((latentFrames + pt - 1) / pt))
      : rotaryEmbeddings3d(
          headDim,
          resizeCropRegionForGrid(
            grid,
            Math.floor(this.cfg('sample_width', 90) / p),
            Math.floor(this.cfg('sample_height', 60) / p),
          ),
          grid,
          latentFrames,
        )
    run.trace('rope_cos', rope.cos, rope.dims)
    return rope
  }

  /**
   * The 2B's sincos position table, when its export takes it as an input (pos_embedding; an
   * older export holds it as a constant of its one size): the video rows for this size.
   */
  private positionTable(run: PipelineRun, r: Resolved, latentFrames: number): PositionTable | null {
    if (!this.model.components['transformer']!.inputNames['pos_embedding']) return null
    const p = this.cfg('patch_size', 2)
    const grid: [number, number] = [Math.floor(r.h / p), Math.floor(r.w / p)]
    const dim = this.cfg('num_attention_heads', 30) * this.cfg('attention_head_dim', 64)
    const table = sincosPositionTable(
      dim,
      grid,
      latentFrames,
      this.cfg('spatial_interpolation_scale', 1.875),
      this.cfg('temporal_interpolation_scale', 1),
    )
    run.trace('pos_embedding', table.data, table.dims)
    return table
  }

  private denoise(
    run: PipelineRun,
    latents: Float32Array,
    dims: number[],
    text: { data: Float32Array; L: number; D: number },
    image: Float32Array | null,
    rope: Rope | null,
    table: PositionTable | null,
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
      let scaled = scheduler.scaleModelInput(floatTensor(input, [B, Fl, C, h, w]), t).data
      // image-to-video: cat([scaled, image latents], dim=2), the image the same in both halves
      const Cin = image ? 2 * C : C
      if (image) scaled = withImageChannels(scaled, image, B * Fl, C * h * w)
      run.trace(`step${i}_transformer_hidden_states`, scaled, [B, Fl, Cin, h, w])
      const rows = text.L * text.D
      const per = Fl * Cin * h * w
      const call = async (b0: number, bn: number): Promise<Float32Array> => {
        const feeds: Record<string, ort.Tensor> = {
          [names['hidden_states']!]: s.floatInput(
            names['hidden_states']!,
            scaled.subarray(b0 * per, (b0 + bn) * per),
            [bn, Fl, Cin, h, w],
          ),
          [names['encoder_hidden_states']!]: s.floatInput(
            names['encoder_hidden_states']!,
            text.data.subarray(b0 * rows, (b0 + bn) * rows),
            [bn, text.L, text.D],
          ),
          [names['timestep']!]: s.timestep(names['timestep']!, t, bn),
        }
        // 1.5 image-to-video: the ofs embedding's input, 2.0 (latents.new_full((1,), 2.0))
        if (names['ofs']) feeds[names['ofs']] = s.floatInput(names['ofs'], Float32Array.of(2), [1])
        if (table)
          feeds[names['pos_embedding']!] = s.floatInput(
            names['pos_embedding']!,
            table.data,
            table.dims,
          )
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
