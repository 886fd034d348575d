// One render, end to end: open the model, pick the memory plan, build the camera input,
// run the pipeline with progress and a live preview, and export the clip. Used by the job
// queue (studio) and by `dolly render`.
import { randomInt } from 'node:crypto'
import { freemem } from 'node:os'
import { extname } from 'node:path'
import {
  importMotionCtrlJson,
  importRealEstate10K,
  motionCtrlPresetOf,
  motionCtrlPresetPoses,
  motionCtrlRT,
  poseRowsFromPath,
  readPoseRows,
  scaleTravel,
  videoxFunControlCamera,
  withTravel,
  parsePresetExpression,
  presetPoses,
  presetSequence,
  sampleLoop,
  sampleTrajectory,
  trajectoryFromPoses,
  type CameraPose,
} from '../../../shared/camera'
import {
  LoopScore,
  resolveContext,
  type ContextSettings,
  type LongTakeSummary,
} from '../../../shared/longtake'
import {
  PIPELINES,
  PIPELINE_KINDS,
  gifRateProblem,
  validFrameCount,
  type ClipFormat,
  type JobProgress,
  type MemoryPlan,
  type StageProgress,
} from '../../../shared/render'
import { encodeClip, formatFromPath, openClipEncoder, type ClipEncoder } from '../media/ffmpeg'
import { loadImage } from '../media/image'
import { memoryModel, openModelFolder, type ModelFolder } from '../models/model-folder'
import { framesToUint8, PipelineError, SettingsError, throwIfCancelled } from '../pipelines/common'
import {
  FAMILY_SETTINGS,
  familyTakes,
  kindsTaking,
  PIPELINE_REGISTRY,
  type FamilySetting,
} from '../pipelines/registry'
import type { PipelineCall, PipelineHooks, ResolvedSettings } from '../pipelines/types'
import type { CameraSpec, RenderSpec } from '../protocol'
import {
  choosePlan,
  hostWarning,
  ModelSessions,
  type PlanChoice,
  type PlanEvent,
} from '../runtime/memory'
import type { Runtime } from '../runtime/session'
import { planNeeds, type DeviceKind } from '../../../shared/vram'
import {
  latentToRgbDecoder,
  latentToRgbFactors,
  latentToRgbLinear,
  type PreviewImage,
} from './preview'
import { isRegularFile, readTextFile } from '../files'

export type { RenderSpec, CameraSpec } from '../protocol'
export type { JobProgress } from '../../../shared/render'

export type RenderHooks = {
  signal?: AbortSignal
  onProgress?: (p: JobProgress) => void
  onPreview?: (img: PreviewImage & { step: number }) => void
  onLog?: (line: string) => void
  onPlanEvent?: (e: PlanEvent) => void
  /** How warnings name a setting the model does not take (the CLI: its option); default SETTING_NAMES. */
  settingName?: (setting: SettingKey) => string
}

/** The render spec's settings that a model may not take, as warnings name them. */
export type SettingKey =
  | FamilySetting
  | 'prompt'
  | 'negativePrompt'
  | 'fit'
  | 'decodeChunkSize'
  | 'quality'
  | 'loop'
  | `context.${keyof ContextSettings}`

/** What a warning calls each setting by default (the studio's words). */
export const SETTING_NAMES: Record<SettingKey, string> = {
  minGuidance: 'the minimum guidance',
  motionBucketId: 'the motion bucket',
  noiseAugStrength: 'the noise augmentation',
  motionScale: 'the motion scale',
  dynamicCfg: 'dynamic guidance',
  guidance2: 'guidance 2',
  prompt: 'the prompt',
  negativePrompt: 'the negative prompt',
  fit: 'the image fit',
  decodeChunkSize: 'the decode chunk',
  quality: 'the quality',
  loop: 'the loop count',
  'context.window': 'the context window size',
  'context.overlap': 'the window overlap',
  'context.weighting': 'the window weighting',
  'context.noise': 'the window noise',
  'context.colourAnchor': 'colour anchoring',
}

/** What a model without the family setting lacks, for the warning. */
const FAMILY_LACKS: Record<FamilySetting, string> = {
  minGuidance: 'no per-frame guidance ramp',
  motionBucketId: 'no motion bucket',
  noiseAugStrength: 'no noise augmentation of an input image',
  motionScale: 'no motion scale input',
  dynamicCfg: 'no dynamic guidance',
  guidance2: 'no second, low-noise expert',
}

const listed = (xs: readonly string[]) =>
  xs.length < 2 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs.at(-1)}`

/**
 * Warnings for the settings this render was given that the model does not take, each naming the
 * setting and why: they were dropped without a word (an SVD option on AnimateDiff, a decode chunk
 * on a 3D VAE, context windows on a clip that fits one window or on a family without them).
 */
export function unusedSettings(
  spec: RenderSpec,
  model: ModelFolder,
  name: (setting: SettingKey) => string = (k) => SETTING_NAMES[k],
): string[] {
  const facts = PIPELINES[model.pipeline]
  const label = model.label
  const out: string[] = []
  const noEffect = (keys: SettingKey[], why: string) =>
    out.push(`${listed(keys.map(name))} ${keys.length > 1 ? 'have' : 'has'} no effect: ${why}`)
  for (const k of FAMILY_SETTINGS) {
    if (spec[k] === undefined || spec[k] === false) continue
    if (!familyTakes(model.pipeline, k)) {
      // Wan2.2 A14B is one model of the Wan kinds, not a kind: its name says it
      const who =
        k === 'guidance2'
          ? 'Wan2.2 A14B has one'
          : `${listed(kindsTaking(k).map((x) => PIPELINES[x].label))} ${kindsTaking(k).length > 1 ? 'have' : 'has'} one`
      noEffect([k], `${label} has ${FAMILY_LACKS[k]} (${who})`)
    } else if (k === 'motionScale' && model.motion !== 'motion_scale')
      noEffect([k], `${label}'s denoiser has no motion_scale input`)
    else if (k === 'guidance2' && !model.components['transformer_2'])
      noEffect([k], `${label} has one transformer: ${FAMILY_LACKS[k]} (Wan2.2 A14B has one)`)
    // SVD's ramp runs only under guidance, which is off at a scale <= 1 (the ramp's last value)
    else if (k === 'minGuidance' && (spec.guidance ?? model.defaults.guidance) <= 1)
      noEffect(
        [k],
        'guidance is off at a guidance scale of 1 or less (diffusers runs no unconditional half then)',
      )
  }
  // SVD reads no text: a prompt given to it was dropped without a word (--prompt-at says so)
  if (!facts.prompt) {
    const text: SettingKey[] = []
    if (spec.prompt) text.push('prompt')
    if (spec.negativePrompt) text.push('negativePrompt')
    if (text.length) noEffect(text, `${label} reads no text (it animates the image alone)`)
  }
  if (spec.fit !== undefined && !spec.image) noEffect(['fit'], 'there is no image to fit')
  // the export's own settings: quality sets MP4/WebM compression, the loop count is a GIF's
  if (spec.quality !== undefined || spec.loop !== undefined) {
    let format: ClipFormat | null = null
    try {
      format = spec.format ?? formatFromPath(spec.out)
    } catch {
      // an unknown extension is refused at the export, saying so
    }
    const what = format === 'png' ? 'PNG frames' : format === 'gif' ? 'a GIF' : 'an MP4'
    if (spec.quality !== undefined && (format === 'gif' || format === 'png'))
      noEffect(
        ['quality'],
        `${format === 'png' ? 'PNG frames are lossless' : 'a GIF is not compressed by quality'} (it sets MP4 and WebM compression)`,
      )
    if (spec.loop !== undefined && format !== null && format !== 'gif')
      noEffect(
        ['loop'],
        `only a GIF carries a loop count (${format === 'png' ? 'PNG frames have none' : `${format === 'webm' ? 'a WebM' : what} player decides whether to repeat`})`,
      )
  }
  if (spec.decodeChunkSize !== undefined && facts.decodeChunk === null)
    noEffect(
      ['decodeChunkSize'],
      `${label} ${facts.decodeCall === 'latent-frame' ? 'decodes one latent frame per call' : 'decodes the whole clip in one call'}`,
    )
  const c = spec.context ?? {}
  const given = (Object.keys(c) as (keyof ContextSettings)[])
    .filter((k) => c[k] !== undefined)
    .map((k): SettingKey => `context.${k}`)
  if (!given.length) return out
  if (!facts.contextWindows) {
    const withWindows = PIPELINE_KINDS.filter((k) => PIPELINES[k].contextWindows)
    noEffect(
      given,
      `${label} renders the clip in one window (context windows are ${listed(withWindows.map((k) => PIPELINES[k].label))}'s)`,
    )
    return out
  }
  const frames = spec.frames ?? model.defaults.frames
  let resolved: ReturnType<typeof resolveContext>
  try {
    resolved = resolveContext(frames, model.maxFrames, c, spec.closedLoop ?? false)
  } catch {
    return out // the pipeline refuses it, saying why
  }
  if (!resolved) {
    const window = c.window ?? model.maxFrames ?? frames
    noEffect(
      given,
      `the clip's ${frames} frames fit one window of ${window}, so no context windows run (they do for a longer clip or a loop)`,
    )
    return out
  }
  if (c.window !== undefined && resolved.window !== c.window)
    out.push(
      `${name('context.window')} ${c.window} is more than the loop's ${frames} frames: windows of ${resolved.window} are used`,
    )
  if (c.overlap !== undefined && resolved.overlap !== c.overlap)
    out.push(
      `${name('context.overlap')} ${c.overlap} is ${c.overlap > resolved.overlap ? `more than windows of ${resolved.window} can share` : 'less than the one frame windows share at least'}: ${resolved.overlap} is used`,
    )
  return out
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
  /** Last-to-first frame difference over the mean step (shared/longtake.ts LoopScore). */
  loopScore: number | null
  /** The context windows a long take ran with (null: one call took every frame). */
  longTake: LongTakeSummary | null
}

/**
 * Poses for the camera spec, or null when none was given. A loop samples the path closed
 * (shared/camera/loop.ts): one lap, the frame after the last being the first.
 */
export function cameraPoses(
  spec: CameraSpec | undefined,
  frames: number,
  loop = false,
): { poses: CameraPose[] | null; warnings: string[] } {
  if (!spec) return { poses: null, warnings: [] }
  if (loop) {
    if ('trajectory' in spec) return { poses: sampleLoop(spec.trajectory, frames), warnings: [] }
    const open = cameraPoses(spec, frames, false)
    if (!open.poses) return open
    return {
      poses: sampleLoop(trajectoryFromPoses(open.poses, frames), frames),
      warnings: open.warnings,
    }
  }
  if ('trajectory' in spec)
    return { poses: sampleTrajectory(spec.trajectory, frames), warnings: [] }
  if ('preset' in spec) {
    const mc = motionCtrlPresetOf(spec.preset)
    if (mc) return { poses: motionCtrlPresetPoses(mc, frames, 45, spec.speed ?? 1), warnings: [] }
    const seq = parsePresetExpression(spec.preset, spec.speed ?? 1)
    const poses =
      seq.length === 1 ? presetPoses(seq[0]!, { frames }) : presetSequence(seq, { frames })
    return { poses, warnings: [] }
  }
  let text: string
  try {
    text = readTextFile(spec.file, 'the pose file', 64 * 1024 * 1024)
  } catch (err) {
    throw new PipelineError((err as Error).message)
  }
  try {
    const r =
      extname(spec.file).toLowerCase() === '.json'
        ? importMotionCtrlJson(text, frames)
        : importRealEstate10K(text, frames)
    return r
  } catch (err) {
    throw new SettingsError(`${spec.file}: ${err instanceof Error ? err.message : err}`)
  }
}

export type RenderContext = {
  runtime: Runtime
  /** Free memory for the plan: free VRAM on CUDA (nvidia-smi), else free system memory. */
  budgetMiB?: number
  budgetSource?: string
  /** What the budget is of (shared/vram.ts DeviceKind); discrete when not said. */
  budgetDevice?: DeviceKind
  /** Free system memory in MiB, for minimal's CPU text encoder (default: the OS's figure). */
  hostFreeMiB?: () => number
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
  const call = {
    width: spec.width ?? model.defaults.width,
    height: spec.height ?? model.defaults.height,
    frames: spec.frames ?? model.defaults.frames,
    guidance: spec.guidance ?? model.defaults.guidance,
    decodeChunk: spec.decodeChunkSize,
  }
  const device = ctx.budgetDevice ?? 'discrete'
  const hostFreeMiB = () => ctx.hostFreeMiB?.() ?? Math.floor(freemem() / 2 ** 20)
  if (spec.plan === 'minimal') {
    const warn = hostWarning(planNeeds(memoryModel(model), call, device).minimal, hostFreeMiB())
    return { plan: 'minimal', reason: `chosen by the user${warn}` }
  }
  if (spec.plan && spec.plan !== 'auto') return { plan: spec.plan, reason: 'chosen by the user' }
  if (ctx.budgetMiB === undefined)
    return { plan: 'offload', reason: 'no memory figure available: loading one stage at a time' }
  return choosePlan({
    budgetMiB: ctx.budgetMiB,
    model: memoryModel(model),
    call,
    source: ctx.budgetSource,
    device,
    hostFreeMiB: hostFreeMiB(),
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

/**
 * VideoX-Fun's camera input (Wan-Fun Control-Camera) for the clip: a RealEstate10K pose file's
 * rows as written (its first `frames`, as VideoX-Fun takes them), else the path's poses as rows;
 * the motion slider scales the travel; then Plücker rays grouped 4 frames per latent frame.
 */
function pluckerInput(
  model: ModelFolder,
  poses: CameraPose[],
  spec: RenderSpec,
  frames: number,
  warnings: string[],
): Float32Array {
  let rows = poseRowsFromPath(poses)
  const file = spec.camera && 'file' in spec.camera ? spec.camera.file : null
  if (file && extname(file).toLowerCase() === '.txt') {
    const fileRows = readPoseRows(readTextFile(file, 'the pose file', 64 * 1024 * 1024))
    if (fileRows.length >= frames) {
      if (fileRows.length > frames)
        warnings.push(
          `the pose file has ${fileRows.length} frames; ${model.label} takes its first ${frames}, as VideoX-Fun does`,
        )
      rows = fileRows.slice(0, frames)
    }
  }
  const width = spec.width ?? model.defaults.width
  const height = spec.height ?? model.defaults.height
  return videoxFunControlCamera(scaleTravel(rows, spec.cameraScale ?? 1), width, height)
}

/** The model's camera input for these poses (null when there is none, with a warning). */
export function cameraInput(
  model: ModelFolder,
  poses: CameraPose[] | null,
  spec: RenderSpec,
  warnings: string[],
  frames: number,
): Float32Array | undefined {
  if (!poses) return undefined
  if (model.camera === 'cameractrl-plucker')
    return pluckerInput(model, poses, spec, frames, warnings)
  if (model.camera === 'motionctrl-rt') {
    const fovs = poses.map((p) => p.fov)
    if (Math.max(...fovs) - Math.min(...fovs) >= 0.5)
      warnings.push(
        `the path changes the field of view (${Math.min(...fovs).toFixed(0)}° to ${Math.max(...fovs).toFixed(0)}°); ${model.label} takes only the camera's position and rotation, so the zoom is not rendered`,
      )
    // the travel scales the path about its first camera (the dashed path the editor draws),
    // then the model's own translation scale goes on as MotionCtrl applies it; multiplying
    // that scale by the travel instead is the same only for an isotropic scale or a path that
    // starts at the origin (MotionCtrl-SVD's is [3, 1, 4])
    return motionCtrlRT(
      withTravel(poses, spec.cameraScale ?? 1),
      model.dolly.cameraTranslationScale ?? 1,
    )
  }
  warnings.push(`${model.label} has no camera input; the camera path is ignored`)
  return undefined
}

/** Progress with speed and ETA, from the pipeline's stage progress. */
function progressReporter(onProgress?: (p: JobProgress) => void): (p: StageProgress) => void {
  let stage: StageProgress['stage'] | null = null
  let stageStart = 0
  let firstStep = 0
  return (p) => {
    // a stage's clock starts at its first report, and again at its step 0 (which comes before
    // the first step runs, and again after an out-of-memory retry); a decoder's first report
    // already has a chunk done, so the pace counts the steps after the clock started
    if (p.stage !== stage || p.step === 0 || p.step < firstStep) {
      stage = p.stage
      stageStart = performance.now()
      firstStep = p.step
    }
    let itPerSec: number | null = null
    let etaS: number | null = null
    // the two long stages say how long they have left at their own pace: denoising (steps) and
    // decoding (frames or tiles, which on a real VAE can take minutes of their own)
    if (
      (p.stage === 'denoise' || p.stage === 'decode') &&
      p.step > firstStep &&
      p.step <= p.steps
    ) {
      const rate = (p.step - firstStep) / Math.max((performance.now() - stageStart) / 1000, 1e-6)
      if (p.stage === 'denoise') itPerSec = rate
      etaS = (p.steps - p.step) / rate
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
    throw new SettingsError(`${model.label} animates an image: give one (--image FILE)`)
  if (facts.input === 'text' && !spec.prompt)
    throw new SettingsError(`${model.label} needs a prompt`)
  if (facts.input === 'text' && spec.image)
    warnings.push(`${model.label} makes a clip from text; the image is not used`)
  warnings.push(...unusedSettings(spec, model, hooks.settingName))
  const fps = spec.fps ?? model.defaults.fps
  // said before the render, not after it at the encoder
  const gifRate = format === 'gif' ? gifRateProblem(fps) : null
  if (gifRate) throw new SettingsError(`${spec.out}: ${fps} fps: ${gifRate}`)
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

  // Plücker rays are per frame of the clip the pipeline makes (Wan: diffusers' frames // 4 * 4 + 1)
  const camFrames =
    model.camera === 'cameractrl-plucker' ? validFrameCount(facts.frameRule, frames) : frames
  // a loop closes the path only where cyclic windows make the clip loop (else the engine says the
  // clip is not made to loop, and the camera must not turn back for nothing)
  const cam = cameraPoses(
    spec.camera,
    camFrames,
    (spec.closedLoop ?? false) && facts.contextWindows === true,
  )
  warnings.push(...cam.warnings)
  const camera = cameraInput(model, cam.poses, spec, warnings, camFrames)

  // preview: a decoder when the model has one, else SD1.5's linear factors
  const previewPath = model.dolly.previewDecoder
    ? `${model.dir}/${model.dolly.previewDecoder}`
    : null
  // a preview decoder that is missing or not a regular file (a FIFO would block the load) is
  // skipped: previews fall back to the linear factors
  let previewSession =
    previewPath && isRegularFile(previewPath)
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
  // a text model's image is not read (the warning above says it is not used): a file that is
  // not an image must not fail a render that never looks at it
  const image = spec.image && facts.input === 'image' ? await loadImage(spec.image) : undefined
  if (image?.transparentPixels) {
    // said, as the image reaches the model differently from diffusers (docs/DECISIONS.md)
    const share = (100 * image.transparentPixels) / (image.width * image.height)
    warnings.push(
      `the image has transparency (${share < 1 ? '<1' : Math.round(share)}% of its pixels); it was flattened onto white, where diffusers' load_image drops the alpha and keeps the colours hidden under it, so the same file can start a different clip there. Flatten it yourself onto the background you want`,
    )
  }
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
    // frames go into the encoders as they are decoded (the clip, and the PNG frames when asked
    // for), so the file is complete moments after the last decode rather than a whole export
    // later; the loop-closure score is read on the way
    const loop = new LoopScore()
    const encoders: ClipEncoder[] = []
    let lastFrameAt = 0
    const encodeOptions = { fps, signal, streaming: true }
    const onFrames: PipelineHooks['onFrames'] = async (hwc, at) => {
      if (!encoders.length) {
        const size = { width: at.width, height: at.height }
        encoders.push(
          openClipEncoder(at.total, {
            ...encodeOptions,
            ...size,
            out: spec.out,
            format,
            quality: spec.quality,
            loop: spec.loop,
          }),
        )
        if (spec.framesOut)
          encoders.push(
            openClipEncoder(at.total, {
              ...encodeOptions,
              ...size,
              out: spec.framesOut,
              format: 'png',
            }),
          )
      }
      const rgb = framesToUint8(hwc)
      const per = at.width * at.height * 3
      for (let f = 0; f < at.count; f++) loop.push(rgb.subarray(f * per, (f + 1) * per))
      await Promise.all(encoders.map((e) => e.write(rgb)))
      if (at.first + at.count === at.total) lastFrameAt = performance.now()
    }
    const channelsFirst = row.latentLayout === 'BCFHW'
    const pipelineHooks: PipelineHooks = {
      signal,
      onFrames,
      streamOnly: true,
      onProgress: progressReporter(hooks.onProgress),
      onStepLatents: hooks.onPreview
        ? (lat, dims, step) => {
            // the middle frame; SD's 4-channel latents and the families' own factors (row.previewRgb) have known RGB factors
            const [C, F] = channelsFirst ? [dims[1]!, dims[2]!] : [dims[2]!, dims[1]!]
            const factors = row.previewRgb?.factors.length === C ? row.previewRgb : null
            const decoder = previewSession
            if (C !== 4 && !decoder && !factors) return
            const h = dims[3]!
            const w = dims[4]!
            const f = Math.floor(F / 2)
            const one = new Float32Array(C * h * w)
            for (let c = 0; c < C; c++) {
              const from = channelsFirst ? (c * F + f) * h * w : (f * C + c) * h * w
              one.set(lat.subarray(from, from + h * w), c * h * w)
            }
            lastPreview = lastPreview.then(async () => {
              // (the decoder is released after an out-of-memory error: the factors then)
              const live = decoder && !decoder.isReleased ? decoder : null
              if (!live && C !== 4 && !factors) return
              const img = live
                ? await latentToRgbDecoder(live, one, h, w, model.vae.scalingFactor, 256)
                : factors
                  ? latentToRgbFactors(one, h, w, factors)
                  : latentToRgbLinear(one, h, w)
              hooks.onPreview?.({ ...img, step })
            })
          }
        : undefined,
    }
    // none given (the CLI without --negative): the model's own default, as the studio fills in
    const negativePrompt = spec.negativePrompt ?? model.defaults.negativePrompt ?? ''
    // a setting the model does not take is warned of above and not passed on (guidance 2 on a
    // Wan with one transformer: the pipeline would refuse it, as diffusers does)
    const taken: RenderSpec = model.components['transformer_2']
      ? spec
      : { ...spec, guidance2: undefined }
    const call: PipelineCall = {
      ...row.options(taken),
      prompt: spec.prompt,
      negativePrompt,
      ...(image ? { image, fit: spec.fit ?? 'stretch' } : {}),
      width: spec.width,
      height: spec.height,
      numFrames: frames,
      numInferenceSteps: spec.steps,
      guidanceScale: spec.guidance,
      seed,
      scheduler: spec.scheduler,
      fps,
      // the user's chunk, else auto's where it lowered the model's default to fit the plan
      decodeChunkSize: spec.decodeChunkSize ?? choice.decodeChunk,
      cameraPoses: camera,
      ...(spec.promptKeys?.length ? { promptKeys: spec.promptKeys } : {}),
      ...(spec.context ? { context: spec.context } : {}),
      ...(spec.closedLoop ? { closedLoop: true } : {}),
    }
    const Pipeline = await row.load()
    let output: Awaited<ReturnType<InstanceType<typeof Pipeline>['call']>>
    try {
      output = await sessions.job(() => new Pipeline(model, sessions).call(call, pipelineHooks))
      await lastPreview
      throwIfCancelled(signal)
    } catch (err) {
      for (const e of encoders) e.abort()
      throw err
    }
    warnings.push(...output.warnings)
    Object.assign(timings, output.timingsMs)

    // export
    const tExport = performance.now()
    if (output.streamed) {
      // ffmpeg has every frame (step 1 of 2): what is left is its last frames and the index
      hooks.onProgress?.({ stage: 'export', step: 1, steps: 2, itPerSec: null, etaS: null })
      try {
        throwIfCancelled(signal)
        for (const e of encoders) await e.finish()
      } catch (err) {
        for (const e of encoders) e.abort()
        throw err
      }
      timings['lastFrameToFile'] = performance.now() - lastFrameAt
      hooks.onProgress?.({ stage: 'export', step: 2, steps: 2, itPerSec: null, etaS: null })
    } else await exportAfter(output)
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
        negativePrompt,
        camera: spec.camera ?? null,
      },
      plan: { chosen: choice.plan, final: output.plan, reason: choice.reason, events: planEvents },
      provider: {
        name: ctx.runtime.lastProvider ?? 'cpu',
        fallbackReason: ctx.runtime.providerFallbackReason,
      },
      timingsMs: Object.fromEntries(Object.entries(timings).map(([k, v]) => [k, Math.round(v)])),
      warnings,
      loopScore: loop.score()?.score ?? null,
      longTake: longTakeSummary(output.settings.context),
    }

    /** A pipeline that decodes the clip in one call (a 3D VAE): encoded after it returns. */
    async function exportAfter(output: {
      frames: Float32Array
      numFrames: number
      width: number
      height: number
    }) {
      hooks.onProgress?.({
        stage: 'export',
        step: 0,
        steps: output.numFrames,
        itPerSec: null,
        etaS: null,
      })
      const rgb = framesToUint8(output.frames)
      const frameBytes = output.width * output.height * 3
      for (let f = 0; f < output.numFrames; f++)
        loop.push(rgb.subarray(f * frameBytes, (f + 1) * frameBytes))
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
    }
  }
}

/** The job result's view of a long take (null when one call took every frame). */
function longTakeSummary(c: ResolvedSettings['context']): LongTakeSummary | null {
  if (!c) return null
  return {
    windows: c.windows,
    window: c.window,
    overlap: c.overlap,
    loop: c.loop,
    colourDrift: c.drift ? c.drift.after : null,
    anchored: c.drift?.anchored ?? false,
  }
}
