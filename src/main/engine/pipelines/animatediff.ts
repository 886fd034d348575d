// AnimateDiffPipeline, step for step after diffusers' pipelines/animatediff/pipeline_animatediff.py
// (text-to-video with a motion UNet), with MotionCtrl camera poses when the UNet takes them.
//   1. encode_prompt: CLIP (77 tokens), prompt and negative prompt each through the encoder;
//      cat([negative, positive]) repeated per frame (diffusers >= 0.31)
//   2. prepare_latents: [B, 4, F, h, w] = randn(generator) * init_noise_sigma
//   3. denoise: UNet on cat([x, x]) (scaled), CFG u + g (c - u), scheduler step
//   4. decode_latents: latents / scaling_factor -> [B*F, 4, h, w], VAE in chunks, (x/2 + 0.5).clamp(0, 1)
import type * as ort from 'onnxruntime-node'
import type { ModelFolder } from '../models/model-folder'
import type { ModelSessions } from '../runtime/memory'
import type { ModelSession } from '../runtime/session'
import { floatTensor, repeatInterleave } from '../runtime/tensor'
import { PromptTokenizer } from '../tokenizers'
import { classifierFreeGuidance } from './common'
import { guidanceBatch, PipelineRun, type Resolved } from './steps'
import type { PipelineCall, PipelineHooks, PipelineOutput, VideoPipeline } from './types'

export type AnimateDiffOptions = PipelineCall & { prompt: string }
export type { PipelineOutput } from './types'

/** The prompt embeddings as the UNet takes them: [B*F, L, D] per frame, or [B, L, D] per video. */
type TextConditioning = { data: Float32Array; rows: number; L: number; D: number }

export class AnimateDiffPipeline implements VideoPipeline {
  readonly tokenizer: PromptTokenizer

  constructor(
    readonly model: ModelFolder,
    readonly sessions: ModelSessions,
  ) {
    this.tokenizer = PromptTokenizer.fromFolder(model.tokenizerDir!, 'clip')
  }

  async call(o: PipelineCall, hooks: PipelineHooks = {}): Promise<PipelineOutput> {
    const run = new PipelineRun(this.model, this.sessions, hooks, o)
    const r = run.r
    const poses = run.cameraPosesFor(o.cameraPoses, r.numFrames)

    const text = await run.timed('encode', () =>
      this.encodePrompt(run, o.prompt ?? '', o.negativePrompt ?? '', r),
    )
    const dims = [1, 4, r.numFrames, r.h, r.w]
    const { latents } = run.prepareLatents(dims)
    run.trace('init_latents', latents, dims)
    const x = await run.timed('denoise', () =>
      this.denoise(run, latents, text, poses, o.motionScale),
    )
    const chunk = run.decodeChunkFor(o.decodeChunkSize, r.numFrames)
    const frames = await run.timed('decode', () =>
      run.decodeLatentFrames(x, 'BCFHW', r, 4, { chunk, tileSize: o.vaeTileSize }),
    )
    return run.output(frames, {
      decodeChunkSize: chunk,
      ...(o.motionScale !== undefined ? { motionScale: o.motionScale } : {}),
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
    return { data: ehs.data, rows: perFrame ? r.numFrames : 1, L, D }
  }

  private denoise(
    run: PipelineRun,
    latents: Float32Array,
    text: TextConditioning,
    poses: Float32Array | null,
    motionScale: number | undefined,
  ): Promise<Float32Array> {
    const { r, scheduler } = run
    const F = r.numFrames
    const n = latents.length
    const B = r.doCfg ? 2 : 1
    const names = this.model.components['unet']!.inputNames
    const camName = names['camera_poses']
    const motionName = names['motion_scale']
    const predict = async (s: ModelSession, x: Float32Array, t: number, i: number) => {
      const input = new Float32Array(n * B)
      input.set(x)
      if (r.doCfg) input.set(x, n)
      const scaled = scheduler.scaleModelInput(floatTensor(input, [B, 4, F, r.h, r.w]), t).data
      run.trace(`step${i}_unet_sample`, scaled, [B, 4, F, r.h, r.w])
      const call = async (b0: number, bn: number): Promise<Float32Array> => {
        const rowSize = text.rows * text.L * text.D
        const feeds: Record<string, ort.Tensor> = {
          [names['sample']!]: s.floatInput(
            names['sample']!,
            scaled.subarray(b0 * n, (b0 + bn) * n),
            [bn, 4, F, r.h, r.w],
          ),
          [names['timestep']!]: s.timestep(names['timestep']!, t, bn),
          [names['encoder_hidden_states']!]: s.floatInput(
            names['encoder_hidden_states']!,
            text.data.subarray(b0 * rowSize, (b0 + bn) * rowSize),
            [bn * text.rows, text.L, text.D],
          ),
        }
        if (camName) {
          // MotionCtrl (AnimateDiff branch): zeros for the unconditional half
          const p = new Float32Array(bn * F * 12)
          for (let b = 0; b < bn; b++) {
            const isCond = !r.doCfg || b0 + b === 1
            if (isCond && poses) p.set(poses, b * F * 12)
          }
          feeds[camName] = s.floatInput(camName, p, [bn, F, 12])
        }
        if (motionName)
          feeds[motionName] = s.floatInput(motionName, Float32Array.of(motionScale ?? 1), [1])
        return (await s.runFirst(feeds)).data
      }
      const out = await run.guidedCall(r.doCfg, call)
      run.trace(`step${i}_unet_out_sample`, out, [B, 4, F, r.h, r.w])
      return r.doCfg ? classifierFreeGuidance(out, r.guidance) : out
    }
    return run.denoise({
      component: 'unet',
      latents,
      dims: [1, 4, F, r.h, r.w],
      predict,
    })
  }
}
