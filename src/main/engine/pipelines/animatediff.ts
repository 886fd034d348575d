// AnimateDiffPipeline, step for step after diffusers' pipelines/animatediff/pipeline_animatediff.py
// (text-to-video with a motion UNet), with MotionCtrl camera poses when the UNet takes them.
//   1. encode_prompt: CLIP (77 tokens), prompt and negative prompt each through the encoder;
//      cat([negative, positive]) repeated per frame (diffusers >= 0.31)
//   2. prepare_latents: [B, 4, F, h, w] = randn(generator) * init_noise_sigma
//   3. denoise: UNet on cat([x, x]) (scaled), CFG u + g (c - u), scheduler step
//   4. decode_latents: latents / scaling_factor -> [B*F, 4, h, w], VAE in chunks, (x/2 + 0.5).clamp(0, 1)
// Long takes (past the motion window, prompt keyframes, loops) follow diffusers' FreeNoise for
// the initial noise and the prompt interpolation (_prepare_latents_free_noise,
// _encode_prompt_free_noise), and run the UNet over context windows (pipelines/context.ts).
import type * as ort from 'onnxruntime-node'
import { interpolateEmbeddings, promptSchedule } from '../../../shared/longtake'
import type { ModelFolder } from '../models/model-folder'
import type { ModelSessions } from '../runtime/memory'
import type { ModelSession } from '../runtime/session'
import { floatTensor, repeatInterleave } from '../runtime/tensor'
import { PromptTokenizer } from '../tokenizers'
import { classifierFreeGuidance } from './common'
import {
  anchorColour,
  blendWindows,
  gatherFrames,
  gatherRows,
  longTakeNoise,
  planWindows,
  windowPoses,
  type WindowPlan,
} from './context'
import { guidanceBatch, PipelineRun, type Resolved } from './steps'
import type {
  LongTakeReport,
  PipelineCall,
  PipelineHooks,
  PipelineOutput,
  VideoPipeline,
} from './types'

export type AnimateDiffOptions = PipelineCall & { prompt: string }
export type { PipelineOutput } from './types'

/**
 * The prompt embeddings: `rows` per guidance half ([B*rows, L, D], negative block first),
 * one per frame (rows = F) or one per video (rows = 1). `perVideo`: the UNet takes one row
 * per video, so a window takes the row of its middle frame from per-frame embeddings.
 */
type TextConditioning = {
  data: Float32Array
  rows: number
  L: number
  D: number
  perVideo: boolean
}

export class AnimateDiffPipeline implements VideoPipeline {
  readonly tokenizer: PromptTokenizer

  constructor(
    readonly model: ModelFolder,
    readonly sessions: ModelSessions,
  ) {
    this.tokenizer = PromptTokenizer.forPipeline(model.tokenizerDir!, model.pipeline)
  }

  async call(o: PipelineCall, hooks: PipelineHooks = {}): Promise<PipelineOutput> {
    const run = new PipelineRun(this.model, this.sessions, hooks, o)
    const r = run.r
    const ctx = r.context
    const poses = run.cameraPosesFor(o.cameraPoses, r.numFrames)
    const longTake = ctx !== null || (o.promptKeys?.length ?? 0) > 0

    const text = await run.timed('encode', () =>
      longTake
        ? this.encodePromptTravel(run, o.prompt ?? '', o.negativePrompt ?? '', o, r)
        : this.encodePrompt(run, o.prompt ?? '', o.negativePrompt ?? '', r),
    )
    const dims = [1, 4, r.numFrames, r.h, r.w]
    const latents = ctx ? longTakeNoise(run.generator, dims, ctx) : run.prepareLatents(dims).latents
    if (ctx && run.scheduler.initNoiseSigma !== 1) {
      const sigma = Math.fround(run.scheduler.initNoiseSigma)
      for (let i = 0; i < latents.length; i++) latents[i] = Math.fround(latents[i]! * sigma)
    }
    run.trace('init_latents', latents, dims)
    const plan = ctx ? planWindows(r.numFrames, ctx) : null
    const x = await run.timed('denoise', () =>
      this.denoise(run, latents, text, poses, o.motionScale, plan),
    )
    let report: LongTakeReport | undefined
    if (ctx && plan) {
      // colour anchoring holds a take to one look; prompt travel asks for a change of look
      const travel = (o.promptKeys?.length ?? 0) > 0
      const anchor = ctx.colourAnchor && !travel && plan.windows.length > 1
      const drift = anchor ? anchorColour(x, dims, plan.windows) : null
      if (ctx.colourAnchor && travel && plan.windows.length > 1)
        run.warnings.push(
          'colour anchoring is off for this take: its prompt keyframes change the look on purpose',
        )
      report = {
        windows: plan.windows.length,
        window: ctx.window,
        overlap: ctx.overlap,
        weighting: ctx.weighting,
        noise: ctx.noise,
        loop: ctx.loop,
        drift,
      }
    }
    const chunk = run.decodeChunkFor(o.decodeChunkSize, r.numFrames)
    const frames = await run.timed('decode', () =>
      run.decodeLatentFrames(x, 'BCFHW', r, 4, { chunk, tileSize: o.vaeTileSize }),
    )
    return run.output(frames, {
      decodeChunkSize: chunk,
      ...(o.motionScale !== undefined ? { motionScale: o.motionScale } : {}),
      ...(report ? { context: report } : {}),
    })
  }

  /** encode_prompt, then the per-frame repeat diffusers' AnimateDiff pipeline does. */
  private async encodePrompt(
    run: PipelineRun,
    prompt: string,
    negative: string,
    r: Resolved,
  ): Promise<TextConditioning> {
    const { pos, neg } = await run.encodePromptPair(this.tokenizer, prompt, negative, r.doCfg)
    const [, L, D] = pos.dims as [number, number, number]
    const B = r.doCfg ? 2 : 1
    const batch = guidanceBatch(pos, neg)
    const perFrame = (this.model.dolly.textEmbeddings ?? 'per-frame') === 'per-frame'
    const ehs = perFrame
      ? repeatInterleave({ data: batch, dims: [B, L, D] }, r.numFrames, 0)
      : { data: batch, dims: [B, L, D] }
    run.trace('unet_encoder_hidden_states', ehs.data, [...ehs.dims])
    return { data: ehs.data, rows: perFrame ? r.numFrames : 1, L, D, perVideo: false }
  }

  /**
   * diffusers' _encode_prompt_free_noise: each keyframe's prompt encoded once, the frames'
   * embeddings interpolated between keys (the last key holds to the end; a loop returns to the
   * first prompt after the last frame); the negative prompt the same way (one key, so every
   * frame gets it, through the same float32 interpolation). [negative frames, prompt frames].
   */
  private async encodePromptTravel(
    run: PipelineRun,
    prompt: string,
    negative: string,
    o: PipelineCall,
    r: Resolved,
  ): Promise<TextConditioning> {
    const F = r.numFrames
    const loop = r.context?.loop ?? false
    // a loop interpolates towards the first prompt again at frame F (the frame after the last)
    const keys = [
      ...(o.promptKeys ?? []),
      ...(loop && o.promptKeys?.length ? [{ frame: F, prompt }] : []),
    ]
    const sched = promptSchedule(prompt, keys, loop && o.promptKeys?.length ? F + 1 : F)
    // the person's keys that no frame of the clip reaches (the loop's own key at F is not one of
    // them; a key of theirs at F was dropped silently: the frame after the last, or replaced by
    // the loop's)
    const dropped = (o.promptKeys ?? [])
      .map((k) => k.frame)
      .filter((f) => !Number.isInteger(f) || f < 1 || f >= F)
    if (dropped.length)
      run.warnings.push(
        `prompt keyframes at frame ${dropped.map((f) => f + 1).join(', ')} lie past the clip's ${F} frames and were left out`,
      )
    const mix = sched.mix.slice(0, F)
    const encoded = await run.encodeTexts(this.tokenizer, sched.prompts)
    const [, L, D] = encoded[0]!.dims as [number, number, number]
    const size = L * D
    const pos = interpolateEmbeddings(
      encoded.map((e) => e.data),
      mix,
      size,
    )
    run.trace('prompt_embeds', pos, [F, L, D])
    let data = pos
    if (r.doCfg) {
      const negSched = promptSchedule(negative, [], F)
      const [negE] = await run.encodeTexts(this.tokenizer, negSched.prompts)
      const neg = interpolateEmbeddings([negE!.data], negSched.mix, size)
      run.trace('negative_prompt_embeds', neg, [F, L, D])
      data = new Float32Array(2 * F * size)
      data.set(neg)
      data.set(pos, F * size)
    }
    run.trace('unet_encoder_hidden_states', data, [(r.doCfg ? 2 : 1) * F, L, D])
    const perVideo = (this.model.dolly.textEmbeddings ?? 'per-frame') !== 'per-frame'
    if (perVideo && o.promptKeys?.length)
      run.warnings.push(
        `${this.model.label} takes one prompt embedding per video: each window reads the prompt of its middle frame`,
      )
    return { data, rows: F, L, D, perVideo }
  }

  private denoise(
    run: PipelineRun,
    latents: Float32Array,
    text: TextConditioning,
    poses: Float32Array | null,
    motionScale: number | undefined,
    plan: WindowPlan | null,
  ): Promise<Float32Array> {
    const { r, scheduler } = run
    const F = r.numFrames
    const B = r.doCfg ? 2 : 1
    const names = this.model.components['unet']!.inputNames
    const camName = names['camera_poses']
    const motionName = names['motion_scale']
    const size = text.L * text.D

    let roundingSaid = false
    /** The guided UNet prediction for latents [1, 4, n, h, w] (a window, or every frame). */
    const unet = async (
      s: ModelSession,
      x: Float32Array,
      n: number,
      t: number,
      textRows: Float32Array,
      rows: number,
      windowPoses: Float32Array | null,
      trace: number | null,
    ): Promise<Float32Array> => {
      const len = x.length
      const input = new Float32Array(len * B)
      input.set(x)
      if (r.doCfg) input.set(x, len)
      const scaled = scheduler.scaleModelInput(floatTensor(input, [B, 4, n, r.h, r.w]), t).data
      if (trace !== null) run.trace(`step${trace}_unet_sample`, scaled, [B, 4, n, r.h, r.w])
      if (!roundingSaid && s.roundsTimestep(names['timestep']!, t)) {
        // diffusers' UNet embeds the fraction (Euler's linspace timesteps: 957.375, ...)
        roundingSaid = true
        run.warnings.push(
          `this export's UNet takes whole-number timesteps, so ${scheduler.constructor.name}'s fractional ones (${t}) are rounded and the clip differs from diffusers'; re-export the model (tools/export writes a float timestep) or pick DDIMScheduler, DPMSolverMultistepScheduler or LCMScheduler`,
        )
      }
      const call = async (b0: number, bn: number): Promise<Float32Array> => {
        const rowSize = rows * size
        const feeds: Record<string, ort.Tensor> = {
          [names['sample']!]: s.floatInput(
            names['sample']!,
            scaled.subarray(b0 * len, (b0 + bn) * len),
            [bn, 4, n, r.h, r.w],
          ),
          [names['timestep']!]: s.timestep(names['timestep']!, t, bn),
          [names['encoder_hidden_states']!]: s.floatInput(
            names['encoder_hidden_states']!,
            textRows.subarray(b0 * rowSize, (b0 + bn) * rowSize),
            [bn * rows, text.L, text.D],
          ),
        }
        if (camName) {
          // MotionCtrl (AnimateDiff branch): zeros for the unconditional half
          const p = new Float32Array(bn * n * 12)
          for (let b = 0; b < bn; b++) {
            const isCond = !r.doCfg || b0 + b === 1
            if (isCond && windowPoses) p.set(windowPoses, b * n * 12)
          }
          feeds[camName] = s.floatInput(camName, p, [bn, n, 12])
        }
        if (motionName)
          feeds[motionName] = s.floatInput(motionName, Float32Array.of(motionScale ?? 1), [1])
        return (await s.runFirst(feeds)).data
      }
      const out = await run.guidedCall(r.doCfg, call)
      if (trace !== null) run.trace(`step${trace}_unet_out_sample`, out, [B, 4, n, r.h, r.w])
      return r.doCfg ? classifierFreeGuidance(out, r.guidance) : out
    }

    const predict = async (s: ModelSession, x: Float32Array, t: number, i: number) => {
      if (!plan) {
        if (text.perVideo) {
          const mid = gatherRows(text.data, text.rows, size, [Math.floor(F / 2)], B)
          return unet(s, x, F, t, mid, 1, poses, i)
        }
        return unet(s, x, F, t, text.data, text.rows, poses, i)
      }
      const dims = [1, 4, F, r.h, r.w]
      return blendWindows(plan, dims, async (idx) => {
        run.cancelled()
        const xw = gatherFrames(x, dims, idx)
        const rowsIdx = text.perVideo
          ? [idx[Math.floor(idx.length / 2)]!]
          : text.rows === 1
            ? [0]
            : idx
        const textRows = gatherRows(text.data, text.rows, size, rowsIdx, B)
        const p = poses ? windowPoses(poses, idx) : null
        return unet(s, xw, idx.length, t, textRows, rowsIdx.length, p, null)
      })
    }
    return run.denoise({
      component: 'unet',
      latents,
      dims: [1, 4, F, r.h, r.w],
      predict,
    })
  }
}
