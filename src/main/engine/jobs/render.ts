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
} from '../../../shared/camera'
import {
  PIPELINES,
  type ClipFormat,
  type JobProgress,
  type MemoryPlan,
  type StageProgress,
} from '../../../shared/render'
import { encodeClip, formatFromPath } from '../media/ffmpeg'
import { loadImage } from '../media/image'
import { memoryModel, openModelFolder, type ModelFolder } from '../models/model-folder'
import { framesToUint8, PipelineError, throwIfCancelled } from '../pipelines/common'
import { PIPELINE_REGISTRY } from '../pipelines/registry'
import type { PipelineCall, PipelineHooks, ResolvedSettings } from '../pipelines/types'
import type { CameraSpec, RenderSpec } from '../protocol'
import { choosePlan, ModelSessions, type PlanChoice, type PlanEvent } from '../runtime/memory'
import type { Runtime } from '../runtime/session'
import { latentToRgbDecoder, latentToRgbLinear, type PreviewImage } from './preview'

export type { RenderSpec, CameraSpec } from '../protocol'
export type { JobProgress } from '../../../shared/render'

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
  /** What the run really used (resolved from the spec and the model's defaults). */
  settings: ResolvedSettings & {
    prompt: string
    negativePrompt: string
    camera: CameraSpec | null
  }
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

export type RenderContext = {
  runtime: Runtime
  /** Free memory for the plan: free VRAM on CUDA (nvidia-smi), else free system memory. */
  budgetMiB?: number
  budgetSource?: string
  /**
   * Sessions kept between jobs, by model folder (the resident plan). Only the model being
   * rendered keeps its sessions: switching models releases the others.
   */
  cache?: Map<string, ModelSessions>
}

/**
 * The memory plan: the user's, or auto's choice from the budget and what this render needs
 * (the model's weights and, for this size, frames and guidance, its activations).
 */
export function planFor(spec: RenderSpec, model: ModelFolder, ctx: RenderContext): PlanChoice {
  if (spec.plan && spec.plan !== 'auto') return { plan: spec.plan, reason: 'chosen by the user' }
  if (ctx.budgetMiB === undefined)
    return { plan: 'offload', reason: 'no memory figure available: loading one stage at a time' }
  return choosePlan({
    budgetMiB: ctx.budgetMiB,
    model: memoryModel(model),
    call: {
      width: spec.width ?? model.defaults.width,
      height: spec.height ?? model.defaults.height,
      frames: spec.frames ?? model.defaults.frames,
      guidance: spec.guidance ?? model.defaults.guidance,
      decodeChunk: spec.decodeChunkSize,
    },
    source: ctx.budgetSource,
  })
}

/** Releases every cached model's sessions except `keep`'s. */
async function releaseOtherModels(ctx: RenderContext, keep: string): Promise<void> {
  for (const [dir, other] of ctx.cache ?? []) {
    if (dir === keep) continue
    await other.releaseAll()
    ctx.cache!.delete(dir)
  }
}

/** The model's sessions under `plan`, reusing kept ones; every other model's are released. */
async function sessionsFor(
  model: ModelFolder,
  ctx: RenderContext,
  plan: MemoryPlan,
  onEvent: (e: PlanEvent) => void,
): Promise<ModelSessions> {
  await releaseOtherModels(ctx, model.dir)
  let sessions = ctx.cache?.get(model.dir)
  if (sessions && sessions.plan === plan) return sessions
  await sessions?.releaseAll()
  const paths = Object.fromEntries(Object.entries(model.components).map(([k, c]) => [k, c.path]))
  sessions = new ModelSessions(ctx.runtime, paths, plan, onEvent)
  ctx.cache?.set(model.dir, sessions)
  return sessions
}

/** The model's camera input for these poses (null when there is none, with a warning). */
function cameraInput(
  model: ModelFolder,
  poses: CameraPose[] | null,
  spec: RenderSpec,
  warnings: string[],
): Float32Array | undefined {
  if (!poses) return undefined
  if (model.camera === 'motionctrl-rt') {
    const fovs = poses.map((p) => p.fov)
    if (Math.max(...fovs) - Math.min(...fovs) >= 0.5)
      warnings.push(
        `the path changes the field of view (${Math.min(...fovs).toFixed(0)}° to ${Math.max(...fovs).toFixed(0)}°); ${model.label} takes only the camera's position and rotation, so the zoom is not rendered`,
      )
    const base = model.dolly.cameraTranslationScale ?? 1
    const k = spec.cameraScale ?? 1
    return motionCtrlRT(
      poses,
      typeof base === 'number' ? base * k : (base.map((v) => v * k) as [number, number, number]),
    )
  }
  warnings.push(`${model.label} has no camera input; the camera path is ignored`)
  return undefined
}

/** Progress with speed and ETA, from the pipeline's stage progress. */
function progressReporter(onProgress?: (p: JobProgress) => void): (p: StageProgress) => void {
  let denoiseStart = 0
  return (p) => {
    if (p.stage === 'denoise' && !denoiseStart) denoiseStart = performance.now()
    let itPerSec: number | null = null
    let etaS: number | null = null
    if (p.stage === 'denoise' && p.step > 0) {
      const el = (performance.now() - denoiseStart) / 1000
      itPerSec = p.step / Math.max(el, 1e-6)
      etaS = (p.steps - p.step) / itPerSec
    }
    onProgress?.({ ...p, itPerSec, etaS })
  }
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
  const format = spec.format ?? formatFromPath(spec.out)

  hooks.onProgress?.({ stage: 'load', step: 0, steps: 1, itPerSec: null, etaS: null })
  const model = openModelFolder(spec.model)
  const facts = PIPELINES[model.pipeline]
  const row = PIPELINE_REGISTRY[model.pipeline]
  if (facts.input === 'image' && !spec.image)
    throw new PipelineError(`${model.label} animates an image: give one (--image FILE)`)
  if (facts.input === 'text' && !spec.prompt)
    throw new PipelineError(`${model.label} needs a prompt`)
  const fps = spec.fps ?? model.defaults.fps
  if (format === 'gif' && !Number.isInteger(100 / fps)) {
    warnings.push(
      `GIF frame delays are in 1/100 s, so ${fps} fps plays at about ${(100 / Math.round(100 / fps)).toFixed(2)} fps`,
    )
  }
  const frames = spec.frames ?? model.defaults.frames
  const seed = spec.seed ?? randomInt(0, 2 ** 31)

  const choice = planFor(spec, model, ctx)
  const planEvents: PlanEvent[] = []
  const sessions = await sessionsFor(model, ctx, choice.plan, (e) => {
    planEvents.push(e)
    hooks.onPlanEvent?.(e)
    hooks.onLog?.(e.reason)
  })

  const cam = cameraPoses(spec.camera, frames)
  warnings.push(...cam.warnings)
  const camera = cameraInput(model, cam.poses, spec, warnings)

  // preview: a decoder when the model has one, else SD1.5's linear factors
  const previewPath = model.dolly.previewDecoder
    ? `${model.dir}/${model.dolly.previewDecoder}`
    : null
  let previewSession = previewPath
    ? await ctx.runtime.load(previewPath, 'preview decoder').catch(() => null)
    : null
  // after an out-of-memory error ModelSessions releases every session of this model (the failed
  // plan's); then other models' cached sessions and the preview decoder go too (previews fall
  // back to the linear RGB factors)
  sessions.releaseOthers = async () => {
    await releaseOtherModels(ctx, model.dir)
    const p = previewSession
    previewSession = null
    await lastPreviewSettled()
    await p?.release()
  }
  let lastPreview = Promise.resolve()
  const lastPreviewSettled = () => lastPreview.catch(() => undefined)
  const image = spec.image ? await loadImage(spec.image) : undefined
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
    const channelsFirst = row.latentLayout === 'BCFHW'
    const pipelineHooks: PipelineHooks = {
      signal,
      onProgress: progressReporter(hooks.onProgress),
      onStepLatents: hooks.onPreview
        ? (lat, dims, step) => {
            // the middle frame; only 4-channel SD latents have known RGB factors
            const [C, F] = channelsFirst ? [dims[1]!, dims[2]!] : [dims[2]!, dims[1]!]
            const decoder = previewSession
            if (C !== 4 && !decoder) return
            const h = dims[3]!
            const w = dims[4]!
            const f = Math.floor(F / 2)
            const one = new Float32Array(C * h * w)
            for (let c = 0; c < C; c++) {
              const from = channelsFirst ? (c * F + f) * h * w : (f * C + c) * h * w
              one.set(lat.subarray(from, from + h * w), c * h * w)
            }
            lastPreview = lastPreview.then(async () => {
              // (the decoder is released after an out-of-memory error: SD's linear factors then)
              const live = decoder && !decoder.isReleased ? decoder : null
              if (!live && C !== 4) return
              const img = live
                ? await latentToRgbDecoder(live, one, h, w, 0.18215, 256)
                : latentToRgbLinear(one, h, w)
              hooks.onPreview?.({ ...img, step })
            })
          }
        : undefined,
    }
    const call: PipelineCall = {
      ...row.options(spec),
      prompt: spec.prompt,
      negativePrompt: spec.negativePrompt ?? '',
      ...(image ? { image, fit: spec.fit ?? 'stretch' } : {}),
      width: spec.width,
      height: spec.height,
      numFrames: frames,
      numInferenceSteps: spec.steps,
      guidanceScale: spec.guidance,
      seed,
      scheduler: spec.scheduler,
      fps,
      decodeChunkSize: spec.decodeChunkSize,
      cameraPoses: camera,
    }
    const Pipeline = await row.load()
    const output = await sessions.job(() => new Pipeline(model, sessions).call(call, pipelineHooks))
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
    const rgb = framesToUint8(output.frames)
    await encodeClip(rgb, output.numFrames, {
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
      await encodeClip(rgb, output.numFrames, {
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
        ...output.settings,
        prompt: spec.prompt,
        negativePrompt: spec.negativePrompt ?? '',
        camera: spec.camera ?? null,
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
