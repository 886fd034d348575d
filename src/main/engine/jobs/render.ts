// One render, end to end: open the model, pick the memory plan, build the camera input,
// run the pipeline with progress and a live preview, and export the clip. Used by the job
// queue (studio) and by `dolly render`.
import { randomInt } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { extname } from 'node:path'
import {
  importMotionCtrlJson,
  importRealEstate10K,
  motionCtrlRT,
  parsePresetExpression,
  presetPoses,
  presetSequence,
  sampleTrajectory,
  type CameraPose,
  type Trajectory,
} from '../../../shared/camera'
import { encodeClip, formatFromPath, type ClipFormat } from '../media/ffmpeg'
import { openModelFolder, type ModelFolder } from '../models/model-folder'
import { AnimateDiffPipeline, type PipelineOutput } from '../pipelines/animatediff'
import { StableVideoDiffusionPipeline } from '../pipelines/svd'
import { CogVideoXPipeline } from '../pipelines/cogvideox'
import { loadImage } from '../media/image'
import {
  framesToUint8,
  PipelineError,
  throwIfCancelled,
  type PipelineHooks,
} from '../pipelines/common'
import {
  choosePlan,
  ModelSessions,
  type MemoryPlan,
  type PlanChoice,
  type PlanEvent,
} from '../runtime/memory'
import type { Runtime } from '../runtime/session'
import { latentToRgbDecoder, latentToRgbLinear, type PreviewImage } from './preview'

export type CameraSpec =
  { preset: string; speed?: number } | { file: string } | { trajectory: Trajectory }

export type RenderSpec = {
  /** The memory figure for 'auto' (main knows the GPU); overrides the context's. */
  budgetMiB?: number
  budgetSource?: string
  model: string
  prompt: string
  negativePrompt?: string
  width?: number
  height?: number
  frames?: number
  steps?: number
  guidance?: number
  seed?: number
  scheduler?: string
  decodeChunkSize?: number
  camera?: CameraSpec
  motionScale?: number
  fps?: number
  out: string
  format?: ClipFormat
  quality?: number
  loop?: number
  plan?: MemoryPlan | 'auto'
  /** Image-to-video (SVD): the input image and how it meets the clip's aspect. */
  image?: string
  fit?: 'stretch' | 'crop' | 'pad'
  motionBucketId?: number
  noiseAugStrength?: number
  minGuidance?: number
  maxGuidance?: number
  /** CogVideoX: guidance that grows over the steps (diffusers' use_dynamic_cfg). */
  dynamicCfg?: boolean
  /** Multiplies the model's camera translation scale (the motion slider on MotionCtrl models). */
  cameraScale?: number
  /** Also write the frames as PNGs into this (new) folder. */
  framesOut?: string
}

export type Stage = 'load' | 'encode' | 'denoise' | 'decode' | 'export'

export type JobProgress = {
  stage: Stage
  step: number
  steps: number
  /** Denoising speed (steps per second) once measurable. */
  itPerSec: number | null
  /** Seconds left for the whole render, estimated. */
  etaS: number | null
}

export type RenderHooks = {
  signal?: AbortSignal
  onProgress?: (p: JobProgress) => void
  onPreview?: (img: PreviewImage & { step: number }) => void
  onLog?: (line: string) => void
  onPlanEvent?: (e: PlanEvent) => void
}

export type RenderResult = {
  out: string
  format: ClipFormat
  frames: number
  width: number
  height: number
  fps: number
  seed: number
  model: { dir: string; label: string; pipeline: string; demo: boolean }
  settings: Record<string, unknown>
  plan: { chosen: MemoryPlan; final: MemoryPlan; reason: string; events: PlanEvent[] }
  provider: { name: string; fallbackReason: string | null }
  timingsMs: Record<string, number>
  warnings: string[]
}

/** Poses for the camera spec, or null when none was given. */
export function cameraPoses(
  spec: CameraSpec | undefined,
  frames: number,
): { poses: CameraPose[] | null; warnings: string[] } {
  if (!spec) return { poses: null, warnings: [] }
  if ('trajectory' in spec)
    return { poses: sampleTrajectory(spec.trajectory, frames), warnings: [] }
  if ('preset' in spec) {
    const seq = parsePresetExpression(spec.preset, spec.speed ?? 1)
    const poses =
      seq.length === 1 ? presetPoses(seq[0]!, { frames }) : presetSequence(seq, { frames })
    return { poses, warnings: [] }
  }
  const text = readFileSync(spec.file, 'utf8')
  try {
    const r =
      extname(spec.file).toLowerCase() === '.json'
        ? importMotionCtrlJson(text, frames)
        : importRealEstate10K(text, frames)
    return r
  } catch (err) {
    throw new PipelineError(`${spec.file}: ${err instanceof Error ? err.message : err}`)
  }
}

function sessionsFor(
  model: ModelFolder,
  runtime: Runtime,
  plan: MemoryPlan,
  onEvent?: (e: PlanEvent) => void,
): ModelSessions {
  const paths = Object.fromEntries(Object.entries(model.components).map(([k, c]) => [k, c.path]))
  return new ModelSessions(runtime, paths, plan, onEvent)
}

export type RenderContext = {
  runtime: Runtime
  /** Free memory for the plan: free VRAM on CUDA (nvidia-smi), else free system memory. */
  budgetMiB?: number
  budgetSource?: string
  /** Reused sessions per model folder (resident plan keeps them between jobs). */
  cache?: Map<string, ModelSessions>
}

export async function renderClip(
  spec: RenderSpec,
  ctx: RenderContext,
  hooks: RenderHooks = {},
): Promise<RenderResult> {
  const t0 = performance.now()
  const { signal } = hooks
  const warnings: string[] = []
  const timings: Record<string, number> = {}
  const fps = spec.fps ?? 8
  const format = spec.format ?? formatFromPath(spec.out)
  if (format === 'gif' && 100 % fps !== 0 && !Number.isInteger(100 / fps)) {
    warnings.push(
      `GIF frame delays are in 1/100 s, so ${fps} fps plays at about ${(100 / Math.round(100 / fps)).toFixed(2)} fps`,
    )
  }

  hooks.onProgress?.({ stage: 'load', step: 0, steps: 1, itPerSec: null, etaS: null })
  const model = openModelFolder(spec.model)
  if (model.pipeline === 'svd' && !spec.image) {
    throw new PipelineError(`${model.label} animates an image: give one (--image FILE)`)
  }
  if (model.pipeline !== 'svd' && !spec.prompt)
    throw new PipelineError(`${model.label} needs a prompt`)
  const frames =
    spec.frames ??
    model.nativeFrames ??
    ({ svd: 14, cogvideox: 49, animatediff: 16 } as const)[model.pipeline]
  const steps = spec.steps ?? 25
  const seed = spec.seed ?? randomInt(0, 2 ** 31)

  // memory plan
  let choice: PlanChoice
  if (spec.plan && spec.plan !== 'auto') choice = { plan: spec.plan, reason: `chosen by the user` }
  else if (ctx.budgetMiB !== undefined) {
    choice = choosePlan({
      budgetMiB: ctx.budgetMiB,
      componentBytes: Object.fromEntries(
        Object.entries(model.components).map(([k, c]) => [k, c.bytes]),
      ),
      source: ctx.budgetSource,
    })
  } else
    choice = { plan: 'offload', reason: 'no memory figure available: loading one stage at a time' }

  const planEvents: PlanEvent[] = []
  let sessions = ctx.cache?.get(model.dir)
  if (!sessions || sessions.plan !== choice.plan) {
    await sessions?.releaseAll()
    sessions = sessionsFor(model, ctx.runtime, choice.plan, (e) => {
      planEvents.push(e)
      hooks.onPlanEvent?.(e)
      hooks.onLog?.(e.reason)
    })
    ctx.cache?.set(model.dir, sessions)
  }

  // camera
  const cam = cameraPoses(spec.camera, frames)
  warnings.push(...cam.warnings)
  let poses: Float32Array | undefined
  if (cam.poses) {
    if (model.camera === 'motionctrl-rt') {
      const base = model.dolly.cameraTranslationScale ?? 1
      const k = spec.cameraScale ?? 1
      poses = motionCtrlRT(
        cam.poses,
        typeof base === 'number' ? base * k : (base.map((v) => v * k) as [number, number, number]),
      )
    } else warnings.push(`${model.label} has no camera input; the camera path is ignored`)
  }

  // preview: a decoder when the model has one, else SD1.5's linear factors
  const previewPath = model.dolly.previewDecoder
    ? `${model.dir}/${model.dolly.previewDecoder}`
    : null
  const previewSession = previewPath
    ? await ctx.runtime.load(previewPath, 'preview decoder').catch(() => null)
    : null
  const image = model.pipeline === 'svd' ? await loadImage(spec.image!) : null
  try {
    return await runAndExport()
  } catch (err) {
    // a cancel or failure anywhere (even after the pipeline, during export) frees every session
    await sessions.releaseAll()
    ctx.cache?.delete(model.dir)
    throw err
  } finally {
    await previewSession?.release()
  }

  async function runAndExport(): Promise<RenderResult> {
    let denoiseStart = 0
    let lastPreview = Promise.resolve()
    const pipelineHooks: PipelineHooks = {
      signal,
      onProgress: (p) => {
        if (p.stage === 'denoise' && !denoiseStart) denoiseStart = performance.now()
        let itPerSec: number | null = null
        let etaS: number | null = null
        if (p.stage === 'denoise' && p.step > 0) {
          const el = (performance.now() - denoiseStart) / 1000
          itPerSec = p.step / Math.max(el, 1e-6)
          etaS = (p.steps - p.step) / itPerSec
        }
        hooks.onProgress?.({ stage: p.stage, step: p.step, steps: p.steps, itPerSec, etaS })
      },
      onStepLatents: hooks.onPreview
        ? (lat, dims, step) => {
            // preview the middle frame: AnimateDiff latents are [1, 4, F, h, w], SVD's [1, F, 4, h, w]
            // (CogVideoX's are [1, F, C, h, w] too; only 4-channel SD latents have known RGB factors)
            const svd = model.pipeline !== 'animatediff'
            const [C, F] = svd ? [dims[2]!, dims[1]!] : [dims[1]!, dims[2]!]
            if (C !== 4 && !previewSession) return
            const h = dims[3]!
            const w = dims[4]!
            const f = Math.floor(F / 2)
            const one = new Float32Array(C * h * w)
            for (let c = 0; c < C; c++) {
              const from = svd ? (f * C + c) * h * w : (c * F + f) * h * w
              one.set(lat.subarray(from, from + h * w), c * h * w)
            }
            lastPreview = lastPreview.then(async () => {
              const img = previewSession
                ? await latentToRgbDecoder(previewSession, one, h, w, 0.18215, 256)
                : latentToRgbLinear(one, h, w)
              hooks.onPreview?.({ ...img, step })
            })
          }
        : undefined,
    }
    const output: PipelineOutput = await sessions!.job(() =>
      model.pipeline === 'svd'
        ? new StableVideoDiffusionPipeline(model, sessions!).call(
            {
              image: image!,
              fit: spec.fit,
              width: spec.width,
              height: spec.height,
              numFrames: frames,
              numInferenceSteps: steps,
              fps,
              motionBucketId: spec.motionBucketId,
              noiseAugStrength: spec.noiseAugStrength,
              minGuidanceScale: spec.minGuidance,
              maxGuidanceScale: spec.maxGuidance,
              decodeChunkSize: spec.decodeChunkSize,
              seed,
              scheduler: spec.scheduler,
              cameraPoses: poses,
            },
            pipelineHooks,
          )
        : model.pipeline === 'cogvideox'
          ? new CogVideoXPipeline(model, sessions!).call(
              {
                prompt: spec.prompt,
                negativePrompt: spec.negativePrompt,
                width: spec.width,
                height: spec.height,
                numFrames: frames,
                numInferenceSteps: steps,
                guidanceScale: spec.guidance,
                useDynamicCfg: spec.dynamicCfg,
                seed,
                scheduler: spec.scheduler,
              },
              pipelineHooks,
            )
          : new AnimateDiffPipeline(model, sessions!).call(
              {
                prompt: spec.prompt,
                negativePrompt: spec.negativePrompt,
                width: spec.width,
                height: spec.height,
                numFrames: frames,
                numInferenceSteps: steps,
                guidanceScale: spec.guidance,
                seed,
                scheduler: spec.scheduler,
                decodeChunkSize: spec.decodeChunkSize,
                cameraPoses: poses,
                motionScale: spec.motionScale,
              },
              pipelineHooks,
            ),
    )
    await lastPreview
    warnings.push(...output.warnings)
    Object.assign(timings, output.timingsMs)
    throwIfCancelled(signal)

    // export
    const tExport = performance.now()
    hooks.onProgress?.({
      stage: 'export',
      step: 0,
      steps: output.numFrames,
      itPerSec: null,
      etaS: null,
    })
    await encodeClip(framesToUint8(output.frames), output.numFrames, {
      out: spec.out,
      format,
      width: output.width,
      height: output.height,
      fps,
      quality: spec.quality,
      loop: spec.loop,
      signal,
      onProgress: (p) =>
        hooks.onProgress?.({
          stage: 'export',
          step: p.frames,
          steps: p.totalFrames,
          itPerSec: null,
          etaS: null,
        }),
    })
    if (spec.framesOut) {
      // the frames as PNGs too, so the studio can show thumbnails and export other formats
      await encodeClip(framesToUint8(output.frames), output.numFrames, {
        out: spec.framesOut,
        format: 'png',
        width: output.width,
        height: output.height,
        fps,
        signal,
      })
    }
    timings['export'] = performance.now() - tExport
    timings['total'] = performance.now() - t0
    return {
      out: spec.out,
      format,
      frames: output.numFrames,
      width: output.width,
      height: output.height,
      fps,
      seed,
      model: { dir: model.dir, label: model.label, pipeline: model.pipeline, demo: model.demo },
      settings: {
        prompt: spec.prompt,
        negativePrompt: spec.negativePrompt ?? '',
        steps,
        guidance: spec.guidance ?? 7.5,
        scheduler: output.scheduler,
        camera: spec.camera ?? null,
        motionScale: spec.motionScale ?? null,
        decodeChunkSize: spec.decodeChunkSize ?? 16,
      },
      plan: { chosen: choice.plan, final: output.plan, reason: choice.reason, events: planEvents },
      provider: {
        name: ctx.runtime.lastProvider ?? 'cpu',
        fallbackReason: ctx.runtime.providerFallbackReason,
      },
      timingsMs: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])),
      warnings,
    }
  }
}
