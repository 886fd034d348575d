// The engine protocol: what main and the engine process say to each other over the utility
// process's message port (or a forked child's IPC channel). Every message is declared here
// once, with a schema; both ends validate what they receive, so the render spec, the job
// updates and the previews cross the process boundary typed, with no casts on either side.
import { z } from 'zod'
import { PRESET_SPEED } from '../../shared/camera'
import { TrajectorySchema } from '../../shared/contract'
import { ExecutionProvider } from '../../shared/contract'
import { ContextSettings, LongTakeSummary } from '../../shared/longtake'
import { MAX_MOTION_BUCKET } from '../../shared/motion'
import {
  EXPORT_QUALITY,
  GIF_LOOP,
  ClipFormat,
  ImageFit,
  JobProgress,
  JobState,
  MemoryPlan,
  PlanSetting,
  SchedulerName,
} from '../../shared/render'

export const EngineDescription = z
  .object({
    pid: z.number().int().positive(),
    onnxruntimeVersion: z.string(),
    // no length cap here (a CUDA load error can be long): main cuts the reason for the window;
    // a cap would make the whole description fail and the engine never become ready
    providers: z.array(ExecutionProvider.extend({ reason: z.string().nullable() })),
  })
  .strict()
export type EngineDescription = z.infer<typeof EngineDescription>

/** The camera of a render: a preset expression, a pose file, or a keyframed trajectory. */
export const CameraSpec = z.union([
  z
    .object({
      preset: z.string().min(1).max(200),
      speed: z.number().min(PRESET_SPEED.min).max(PRESET_SPEED.max).optional(),
    })
    .strict(),
  z.object({ file: z.string().min(1) }).strict(),
  z.object({ trajectory: TrajectorySchema }).strict(),
])
export type CameraSpec = z.infer<typeof CameraSpec>

const positiveInt = z.number().int().positive()

/**
 * One render as the engine takes it: main (the studio) and the CLI build it from checked
 * settings and paths they chose; absent fields take the model's defaults (its family's facts
 * in shared/render.ts, its folder's config and dolly.json).
 */
export const RenderSpec = z
  .object({
    /** The memory figure the 'auto' plan decides by (main knows the GPU), and where it came from. */
    budgetMiB: z.number().nonnegative().optional(),
    budgetSource: z.string().optional(),
    /** What the budget is of: a discrete GPU's memory, or one pool shared with the CPU. */
    budgetDevice: z.enum(['discrete', 'shared']).optional(),
    /** The model folder. */
    model: z.string().min(1),
    prompt: z.string(),
    negativePrompt: z.string().optional(),
    width: positiveInt.optional(),
    height: positiveInt.optional(),
    frames: positiveInt.optional(),
    steps: positiveInt.optional(),
    /** The guidance scale (SVD: the per-frame ramp's last, largest value). */
    guidance: z.number().nonnegative().optional(),
    /** SVD: the first frame's guidance (the ramp's start). */
    minGuidance: z.number().nonnegative().optional(),
    /** CogVideoX: guidance that grows over the steps (diffusers' use_dynamic_cfg). */
    dynamicCfg: z.boolean().optional(),
    /** Wan2.2 A14B: the low-noise expert's guidance (diffusers' guidance_scale_2; default: guidance). */
    guidance2: z.number().nonnegative().optional(),
    seed: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
    scheduler: SchedulerName.optional(),
    /** Frames per VAE decode call. */
    decodeChunkSize: positiveInt.optional(),
    camera: CameraSpec.optional(),
    /** What the motion slider became for this model (shared/motion.ts), or the CLI's flags. */
    motionScale: z.number().nonnegative().optional(),
    motionBucketId: z.number().int().min(0).max(MAX_MOTION_BUCKET).optional(),
    /** Multiplies the model's camera translation scale (the motion slider on MotionCtrl models). */
    cameraScale: z.number().nonnegative().optional(),
    noiseAugStrength: z.number().nonnegative().optional(),
    fps: z.number().positive().optional(),
    plan: PlanSetting.optional(),
    /** Image-to-video: the input image and how it meets the clip's aspect. */
    image: z.string().min(1).optional(),
    fit: ImageFit.optional(),
    /** The clip, and how it is encoded. */
    out: z.string().min(1),
    format: ClipFormat.optional(),
    quality: z.number().int().min(EXPORT_QUALITY.min).max(EXPORT_QUALITY.max).optional(),
    loop: z.number().int().min(GIF_LOOP.min).max(GIF_LOOP.max).optional(),
    /** Also write the frames as PNGs into this (new) folder. */
    framesOut: z.string().min(1).optional(),
    /** Long takes (shared/longtake.ts): prompts from a frame on, windows, a seamless loop. */
    promptKeys: z
      .array(z.object({ frame: positiveInt, prompt: z.string() }).strict())
      .max(64)
      .optional(),
    context: ContextSettings.optional(),
    closedLoop: z.boolean().optional(),
  })
  .strict()
export type RenderSpec = z.infer<typeof RenderSpec>

/** A job's state as the engine reports it (main keeps the job list and adds URLs). */
export const EngineJobUpdate = z
  .object({
    id: z.string().min(1).max(64),
    state: JobState,
    // a progress report main cannot read (a NaN ETA, say) becomes none, never a lost update
    progress: JobProgress.nullable().catch(null),
    error: z.object({ message: z.string(), advice: z.string() }).strict().nullable(),
    result: z
      .object({
        out: z.string(),
        frames: z.number().int().positive(),
        width: z.number().int().positive(),
        height: z.number().int().positive(),
        fps: z.number().positive(),
        seed: z.number().int().nonnegative(),
        /** The plan the render finished on, and why (auto's reasoning, then any step down). */
        plan: MemoryPlan,
        planReason: z.string().default(''),
        warnings: z.array(z.string()),
        loopScore: z.number().nonnegative().nullable().optional(),
        longTake: LongTakeSummary.nullable().optional(),
      })
      .strict()
      .nullable(),
  })
  .strict()
export type EngineJobUpdate = z.infer<typeof EngineJobUpdate>

/** A live preview of a running job: small RGB bytes (typed arrays cross the port as they are). */
export const EnginePreview = z
  .object({
    id: z.string().min(1).max(64),
    step: z.number().int().nonnegative(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    rgb: z.custom<Uint8Array>((v) => v instanceof Uint8Array, 'expected RGB bytes (a Uint8Array)'),
  })
  .strict()
export type EnginePreview = z.infer<typeof EnginePreview>

/** Events the engine pushes to main. */
export const EngineEvent = z.discriminatedUnion('name', [
  z.object({ name: z.literal('job.update'), data: EngineJobUpdate }).strict(),
  z.object({ name: z.literal('job.preview'), data: EnginePreview }).strict(),
  /** A helper process the engine started (an export's ffmpeg): main ends it if the engine dies. */
  z
    .object({
      name: z.literal('engine.child'),
      data: z.object({ pid: z.number().int().min(2), running: z.boolean() }).strict(),
    })
    .strict(),
])
export type EngineEvent = z.infer<typeof EngineEvent>

/** Re-encodes a finished job's PNG frames into another clip format. */
export const ClipExportParams = z
  .object({
    framesDir: z.string(),
    numFrames: z.number().int().positive(),
    out: z.string(),
    format: ClipFormat,
    fps: z.number().positive(),
    quality: z.number().int().min(EXPORT_QUALITY.min).max(EXPORT_QUALITY.max),
    loop: z.number().int().min(GIF_LOOP.min).max(GIF_LOOP.max),
    scale: z.number().int().min(1).max(8).default(1),
    /**
     * The engine stops the export (its ffmpeg, its model runs) after this long, so one main
     * has given up on leaves nothing running and nothing at the target.
     */
    timeoutMs: z.number().int().positive().optional(),
    /** A name for this export, for 'clip.cancel'. */
    token: z.string().min(1).max(100).optional(),
    /** In-between frames: factor x the fps, by minterpolate or the model folder (null). */
    interpolate: z
      .object({
        factor: z.number().int().min(2).max(8),
        loop: z.boolean(),
        model: z.string().min(1).nullable(),
      })
      .strict()
      .optional(),
  })
  .strict()

/** Methods the engine answers: name -> { params, result }. */
export const engineMethods = {
  describe: { params: z.object({}).strict(), result: EngineDescription },
  ping: { params: z.object({}).strict(), result: z.object({ pid: z.number() }).strict() },
  /** Queue a render. */
  'jobs.submit': {
    params: z.object({ id: z.string().min(1).max(64), spec: RenderSpec }).strict(),
    result: z.object({ queued: z.boolean() }).strict(),
  },
  'jobs.cancel': {
    params: z.object({ id: z.string().min(1).max(64) }).strict(),
    result: z.object({ cancelled: z.boolean() }).strict(),
  },
  'clip.export': { params: ClipExportParams, result: z.object({ out: z.string() }).strict() },
  /** Stops the export started with this token (its ffmpeg, its model runs); nothing is written. */
  'clip.cancel': {
    params: z.object({ token: z.string().min(1).max(100) }).strict(),
    result: z.object({ cancelled: z.boolean() }).strict(),
  },
} as const
export type EngineMethod = keyof typeof engineMethods
export type EngineParams<M extends EngineMethod> = z.input<(typeof engineMethods)[M]['params']>
type ParsedParams = { [M in EngineMethod]: z.output<(typeof engineMethods)[M]['params']> }
type Results = { [M in EngineMethod]: z.output<(typeof engineMethods)[M]['result']> }
export type EngineParamsParsed<M extends EngineMethod> = ParsedParams[M]
export type EngineResult<M extends EngineMethod> = Results[M]

/** Each method's params schema, typed per method so a lookup by a generic name stays typed. */
export const engineParams: {
  [M in EngineMethod]: z.ZodType<ParsedParams[M], EngineParams<M>>
} = {
  describe: engineMethods.describe.params,
  ping: engineMethods.ping.params,
  'jobs.submit': engineMethods['jobs.submit'].params,
  'jobs.cancel': engineMethods['jobs.cancel'].params,
  'clip.export': engineMethods['clip.export'].params,
  'clip.cancel': engineMethods['clip.cancel'].params,
}

/** Each method's result schema, typed per method likewise (main parses every answer). */
export const engineResults: { [M in EngineMethod]: z.ZodType<Results[M]> } = {
  describe: engineMethods.describe.result,
  ping: engineMethods.ping.result,
  'jobs.submit': engineMethods['jobs.submit'].result,
  'jobs.cancel': engineMethods['jobs.cancel'].result,
  'clip.export': engineMethods['clip.export'].result,
  'clip.cancel': engineMethods['clip.cancel'].result,
}

/** What the engine implements: one typed function per method. */
export type EngineImpl = {
  [M in EngineMethod]: (params: ParsedParams[M]) => Promise<Results[M]>
}

export const ToEngine = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('request'),
      id: z.number().int(),
      method: z.string(),
      params: z.unknown(),
    })
    .strict(),
  z.object({ type: z.literal('shutdown') }).strict(),
])
export type ToEngine = z.infer<typeof ToEngine>

export const FromEngine = z.discriminatedUnion('type', [
  /** Sent once the process has loaded onnxruntime and is ready for requests. */
  z.object({ type: z.literal('hello'), pid: z.number().int().positive() }).strict(),
  z
    .object({
      type: z.literal('response'),
      id: z.number().int(),
      ok: z.boolean(),
      result: z.unknown().optional(),
      error: z.string().optional(),
    })
    .strict(),
  z.object({ type: z.literal('event'), event: EngineEvent }).strict(),
  /** The engine failed to start; `message` says why. */
  z.object({ type: z.literal('fatal'), message: z.string() }).strict(),
])
export type FromEngine = z.infer<typeof FromEngine>
