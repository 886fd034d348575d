// The one contract between the renderer and main (and, over the web host, a browser and the
// host). Every command and event is declared here once, with runtime schemas; both sides take
// their types from these declarations. Main validates every incoming payload against the
// request schema and every outgoing value against the response/event schema.
import { z } from 'zod'
import { LongTakeSummary } from './longtake'
import {
  MAX_FOV,
  MAX_HANDLE_Y,
  MAX_POSITION,
  MAX_KEYFRAME_FRAME,
  MAX_TRAJECTORY_FRAMES,
  MIN_FOV,
  PRESET_SPEED,
  quaternionProblem,
} from './camera/limits'
import {
  EXPORT_QUALITY,
  GIF_LOOP,
  SETTING_LIMITS,
  CameraConditioning,
  ClipFormat,
  JobProgress,
  JobState,
  MemoryPlan,
  ModelDefaults,
  PipelineKind,
  PlanSetting,
  RenderSettings,
  SchedulerSetting,
} from './render'

export { InputImage, SCHEDULER_NAMES } from './render'

/** Longest string any payload field may carry unless its schema says less. */
export const MAX_STRING = 4096

/** Payloads that take no arguments still get a strict empty object: extra keys are refused. */
const Empty = z.object({}).strict()

export const EngineStateName = z.enum(['starting', 'ready', 'crashed', 'restarting', 'stopped'])
export type EngineStateName = z.infer<typeof EngineStateName>

export const ExecutionProvider = z
  .object({
    /** In the order the engine tries them (GPU providers of this platform first, the CPU last). */
    name: z.enum(['cuda', 'dml', 'coreml', 'cpu']),
    available: z.boolean(),
    /** Why a provider is unavailable, in words a person can act on. */
    reason: z.string().max(MAX_STRING).nullable(),
  })
  .strict()
export type ExecutionProvider = z.infer<typeof ExecutionProvider>

export const GpuInfo = z
  .object({
    name: z.string().max(256),
    vramTotalMiB: z.number().int().nonnegative(),
    vramFreeMiB: z.number().int().nonnegative(),
    driverVersion: z.string().max(64).nullable(),
  })
  .strict()
export type GpuInfo = z.infer<typeof GpuInfo>

export const EngineStatus = z
  .object({
    state: EngineStateName,
    /** OS pid of the engine process while one is running. */
    pid: z.number().int().positive().nullable(),
    providers: z.array(ExecutionProvider).max(8),
    onnxruntimeVersion: z.string().max(64).nullable(),
    gpu: GpuInfo.nullable(),
    /** Why `gpu` is null (no nvidia-smi, no device, query failed). */
    gpuReason: z.string().max(MAX_STRING).nullable(),
    /** Unexpected exits since the host started. */
    restarts: z.number().int().nonnegative(),
    /** The last crash or start failure, for the status bar's tooltip. */
    lastError: z.string().max(MAX_STRING).nullable(),
  })
  .strict()
export type EngineStatus = z.infer<typeof EngineStatus>

export const AppInfo = z
  .object({
    name: z.string().max(256),
    version: z.string().max(64),
    /** 'electron' inside the desktop app, 'web' behind the web host. */
    host: z.enum(['electron', 'web']),
    platform: z.string().max(64),
    arch: z.string().max(64),
    versions: z.record(z.string().max(64), z.string().max(128)),
  })
  .strict()
export type AppInfo = z.infer<typeof AppInfo>

// --- models, renders and camera paths ----------------------------------------------------

// Camera values are bounded to what the math can carry (shared/camera/limits.ts): positions
// of ±1e308 passed and rendered an all-black clip marked done.
const coordinate = z
  .number()
  .finite()
  .min(-MAX_POSITION, `positions must be within ±${MAX_POSITION}`)
  .max(MAX_POSITION, `positions must be within ±${MAX_POSITION}`)
const Vec3 = z.tuple([coordinate, coordinate, coordinate])
const Quat = z
  .tuple([z.number().finite(), z.number().finite(), z.number().finite(), z.number().finite()])
  .superRefine((q, ctx) => {
    const problem = quaternionProblem(q)
    if (problem) ctx.addIssue({ code: 'custom', message: problem })
  })
const handleX = z.number().finite().min(0).max(1)
const handleY = z.number().finite().min(-MAX_HANDLE_Y).max(MAX_HANDLE_Y)

export const Easing = z.discriminatedUnion('type', [
  z.object({ type: z.literal('linear') }).strict(),
  z.object({ type: z.literal('hold') }).strict(),
  z
    .object({
      type: z.literal('bezier'),
      handles: z.tuple([handleX, handleY, handleX, handleY]),
    })
    .strict(),
])

export const KeyframeSchema = z
  .object({
    id: z.string().max(64),
    frame: z.number().finite().min(0).max(MAX_KEYFRAME_FRAME),
    position: Vec3,
    rotation: Quat,
    fov: z.number().finite().min(MIN_FOV).max(MAX_FOV),
    easing: Easing,
  })
  .strict()

export const TrajectorySchema = z
  .object({
    version: z.literal(1),
    frames: z.number().int().min(1).max(MAX_TRAJECTORY_FRAMES),
    keyframes: z.array(KeyframeSchema).min(1).max(256),
    aim: z.enum(['free', 'look-at', 'follow-path']),
    target: Vec3,
    constantSpeed: z.boolean(),
  })
  .strict()

export const MotionControl = z
  .object({
    /** What the motion-strength slider drives for this model. */
    kind: z.enum(['motion_bucket_id', 'motion_scale', 'camera_scale', 'none']),
    label: z.string().max(200),
    /** Why the slider is disabled, when kind is none. */
    reason: z.string().max(500).nullable(),
  })
  .strict()

export const ModelSummary = z
  .object({
    id: z.string().max(512),
    label: z.string().max(256),
    pipeline: PipelineKind,
    /** What a creator gives this model: a prompt, or an image to animate. */
    input: z.enum(['text', 'image']),
    demo: z.boolean(),
    camera: CameraConditioning,
    /** How the model takes the camera path, in words (null: it has no camera input). */
    cameraConvention: z.string().max(500).nullable(),
    motion: MotionControl,
    frames: z.number().int().positive(),
    /** Most frames one render may have (the motion module's window), null without a limit. */
    maxFrames: z.number().int().positive().nullable(),
    /** What a shot takes from this model when it is picked. */
    defaults: ModelDefaults,
    width: z.number().int().positive().nullable(),
    height: z.number().int().positive().nullable(),
    /**
     * Plücker camera models (Wan-Fun Control-Camera): the vertical field of view (degrees) the
     * model was trained with. Its rays depend on the field of view and the clip's aspect, so the
     * camera editor shows both; null for models whose camera input has no lens (MotionCtrl RT).
     */
    cameraFov: z.number().gt(0).lt(180).nullable().optional(),
    /** Output sizes the model can render, its own first (see shared/sizes.ts). */
    sizes: z
      .array(
        z
          .object({
            width: z.number().int().positive(),
            height: z.number().int().positive(),
            label: z.string().max(128),
          })
          .strict(),
      )
      .max(16),
    error: z.string().max(MAX_STRING).nullable(),
    sizeBytes: z.number().nonnegative(),
    precision: z.enum(['fp32', 'fp16', 'mixed']),
    /** MiB of GPU memory needed per memory plan (null when the folder was refused). */
    vram: z
      .object({ residentMiB: z.number(), offloadMiB: z.number(), minimalMiB: z.number() })
      .strict()
      .nullable(),
    /** The fastest plan that fits this GPU's free memory; null without a GPU or when none fits. */
    fits: MemoryPlan.nullable(),
    isDefault: z.boolean(),
    removable: z.boolean(),
  })
  .strict()
export type ModelSummary = z.infer<typeof ModelSummary>

/** One shot: its settings, its camera path and (once rendered) the job holding its clip. */
export const Shot = z
  .object({
    id: z.string().min(1).max(64),
    settings: RenderSettings.extend({
      /** The seed stays after a render (otherwise a new one is drawn). */
      seedLocked: z.boolean(),
    }).strict(),
    camera: TrajectorySchema,
    preset: z
      .object({
        name: z.string().max(200),
        speed: z.number().min(PRESET_SPEED.min).max(PRESET_SPEED.max),
      })
      .strict()
      .nullable(),
    /**
     * The render of this shot, by job id (jobs live in main's cache), and the finished render
     * before it, shown again if the newest fails or is cancelled; `made`/`previousMade`: the
     * fingerprint of the settings each was rendered from (renderFingerprint), so a shot edited
     * since says so.
     */
    clip: z
      .object({
        jobId: z.string().min(1).max(64),
        previous: z.string().min(1).max(64).optional(),
        made: z.string().max(32).optional(),
        previousMade: z.string().max(32).optional(),
      })
      .strict()
      .nullable(),
  })
  .strict()
export type Shot = z.infer<typeof Shot>

/** A project: shots in timeline order, and the one being edited. */
export const ProjectDoc = z
  .object({
    shots: z.array(Shot).min(1).max(500),
    active: z.number().int().min(0),
  })
  .strict()
  .refine((d) => d.active < d.shots.length, {
    message: 'active must name one of the shots',
    path: ['active'],
  })
  // the studio finds shots, keyframes and prompt keys by id: with twins, a render recorded for
  // one shot lands on both, and deleting or moving a keyframe or prompt key takes its twin along
  .superRefine((d, ctx) => {
    const unique = (ids: string[], what: string, path: (string | number)[], key: string) => {
      const seen = new Map<string, number>()
      for (const [i, id] of ids.entries()) {
        const first = seen.get(id)
        if (first === undefined) seen.set(id, i)
        else
          ctx.addIssue({
            code: 'custom',
            message: `the ${what} id ${JSON.stringify(id)} is also used at ${key}.${first}`,
            path: [...path, key, i, 'id'],
          })
      }
    }
    unique(
      d.shots.map((s) => s.id),
      'shot',
      [],
      'shots',
    )
    for (const [i, s] of d.shots.entries()) {
      unique(
        s.camera.keyframes.map((k) => k.id),
        'keyframe',
        ['shots', i, 'camera'],
        'keyframes',
      )
      unique(
        (s.settings.promptKeys ?? []).map((k) => k.id),
        'prompt key',
        ['shots', i, 'settings'],
        'promptKeys',
      )
    }
  })
export type ProjectDoc = z.infer<typeof ProjectDoc>

/**
 * The largest project document main saves (its JSON, in UTF-8 bytes). It sits well below the
 * web host's WebSocket frame limit, so an oversized project gets this message, not a dropped
 * connection.
 */
export const MAX_PROJECT_BYTES = 8 * 1024 * 1024

/** jobs.list carries at most this many jobs (the newest); older ones are reached by id. */
export const MAX_LISTED_JOBS = 1000
/** project.list returns at most this many projects (newest first); older ones still open by name. */
export const MAX_LISTED_PROJECTS = 10_000

function utf8Length(text: string): number {
  let n = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c < 0x80) n += 1
    else if (c < 0x800) n += 2
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < text.length) {
      n += 4
      i++
    } else n += 3
  }
  return n
}

/** Why a project is too large to save (its size and the limit), or null when it fits. */
export function projectSizeProblem(doc: unknown): string | null {
  const bytes = utf8Length(JSON.stringify(doc) ?? '')
  if (bytes <= MAX_PROJECT_BYTES) return null
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`
  return `the project is ${mib(bytes)}; projects up to ${mib(MAX_PROJECT_BYTES)} can be saved: remove shots or keyframes, or shorten prompts, then save again`
}

/** A Hugging Face repository id: owner/name (the hub's own character set). */
export const HUB_REPO = /^[A-Za-z0-9][A-Za-z0-9._-]{0,95}\/[A-Za-z0-9][A-Za-z0-9._-]{0,95}$/

/** A project's name as typed: main says what a file name cannot hold (projects.ts); the bound
 *  here only keeps the payload small. */
const ProjectName = z.string().min(1).max(1000)

/**
 * The page's name for itself, made at page load: main keeps each page's autosave apart, so a
 * reload (a new page) is offered what the page before it autosaved. Optional for callers that
 * are one session per process (tests, tools).
 */
const PageSession = z
  .string()
  .regex(/^[A-Za-z0-9-]{8,64}$/, 'expected 8-64 letters, digits or dashes')
  .optional()

/** A project document as save and autosave take it: the schema, then the size bound. */
const SavableProjectDoc = ProjectDoc.superRefine((d, ctx) => {
  const problem = projectSizeProblem(d)
  if (problem) ctx.addIssue({ code: 'custom', message: problem })
})

/** A render: the shot's settings (frames and scheduler optional) and its camera. */
export const RenderRequest = RenderSettings.extend({
  modelId: z.string().min(1).max(MAX_STRING),
  negativePrompt: z.string().max(4000).default(''),
  frames: z.number().int().min(SETTING_LIMITS.frames.min).max(SETTING_LIMITS.frames.max).optional(),
  scheduler: SchedulerSetting.optional(),
  plan: PlanSetting.default('auto'),
  camera: z.union([
    z
      .object({
        preset: z.string().max(200),
        speed: z.number().min(PRESET_SPEED.min).max(PRESET_SPEED.max),
      })
      .strict(),
    z.object({ trajectory: TrajectorySchema }).strict(),
    z.null(),
  ]),
}).strict()
export type RenderRequest = z.infer<typeof RenderRequest>

export const JobView = z
  .object({
    id: z.string().max(64),
    state: JobState,
    request: RenderRequest,
    progress: JobProgress.nullable(),
    error: z
      .object({ message: z.string().max(MAX_STRING), advice: z.string().max(MAX_STRING) })
      .strict()
      .nullable(),
    result: z
      .object({
        clipUrl: z.string().max(2048),
        frames: z.number().int(),
        width: z.number().int(),
        height: z.number().int(),
        fps: z.number(),
        seed: z.number().int(),
        plan: MemoryPlan,
        /** Why that plan: auto's reasoning from free memory, and any out-of-memory step down. */
        planReason: z.string().max(2000).default(''),
        warnings: z.array(z.string().max(MAX_STRING)).max(32),
        /** Last-to-first frame difference over the mean frame-to-frame one (about 1: no seam). */
        loopScore: z.number().nonnegative().nullable().optional(),
        /** The context windows a long take ran with, and its colour drift. */
        longTake: LongTakeSummary.nullable().optional(),
      })
      .strict()
      .nullable(),
    createdAt: z.number(),
  })
  .strict()
export type JobView = z.infer<typeof JobView>

export const JobPreview = z
  .object({
    id: z.string().max(64),
    step: z.number().int(),
    width: z.number().int().positive().max(1024),
    height: z.number().int().positive().max(1024),
    /** RGB bytes, base64. */
    rgb: z.string().max(4 * 1024 * 1024),
  })
  .strict()
export type JobPreview = z.infer<typeof JobPreview>

export const ExportRequest = z
  .object({
    /** One finished job, or the project's shots in order (joined into one clip). */
    jobIds: z.array(z.string().min(1).max(64)).min(1).max(500),
    format: ClipFormat,
    fps: z.number().int().min(SETTING_LIMITS.fps.min).max(SETTING_LIMITS.fps.max).optional(),
    quality: z
      .number()
      .int()
      .min(EXPORT_QUALITY.min)
      .max(EXPORT_QUALITY.max)
      .default(EXPORT_QUALITY.default),
    /** GIF: 0 = loop forever, -1 = play once, N = play N+1 times (ffmpeg's -loop). */
    loop: z.number().int().min(GIF_LOOP.min).max(GIF_LOOP.max).default(GIF_LOOP.default),
    /** Output size as a multiple of the rendered size (Lanczos upscale). */
    scale: z.union([z.literal(1), z.literal(2), z.literal(4)]).default(1),
    /**
     * Smoother motion: in-between frames at `factor` x the frame rate, made by ffmpeg's
     * motion-compensated minterpolate or by the frame-interpolation model folder (RIFE).
     */
    interpolate: z
      .object({
        factor: z.union([z.literal(2), z.literal(4)]),
        method: z.enum(['minterpolate', 'model']),
      })
      .strict()
      .optional(),
    /** The page's name for this export, so clip.cancelExport can stop it. */
    exportId: z
      .string()
      .regex(/^[A-Za-z0-9-]{1,64}$/)
      .optional(),
  })
  .strict()

/** The export's frame-interpolation choices and whether each can run here. */
export const InterpolationView = z
  .object({
    minterpolate: z
      .object({ available: z.boolean(), reason: z.string().max(MAX_STRING).nullable() })
      .strict(),
    /** The model slot: a RIFE-style ONNX folder the person added (see the export dialog). */
    model: z
      .object({
        path: z.string().max(4096).nullable(),
        label: z.string().max(256).nullable(),
        ok: z.boolean(),
        /** Why the folder cannot be used, or why there is none. */
        reason: z.string().max(MAX_STRING).nullable(),
      })
      .strict(),
  })
  .strict()
export type InterpolationView = z.infer<typeof InterpolationView>

/** One public checkpoint the studio can convert, with what the cache holds of it. */
export const CatalogItem = z
  .object({
    id: z.string().max(128),
    title: z.string().max(200),
    pipeline: PipelineKind,
    description: z.string().max(1000),
    license: z.string().max(300),
    /** The exported folder's estimated size. */
    sizeBytes: z.number().nonnegative(),
    vram: z
      .object({ residentMiB: z.number(), offloadMiB: z.number(), minimalMiB: z.number() })
      .strict(),
    fits: MemoryPlan.nullable(),
    /** The exact commands that make the folder (download of single files, then the exporter). */
    command: z.string().max(MAX_STRING),
    sources: z
      .array(
        z
          .object({
            repo: z.string().max(200),
            file: z.string().max(300).nullable(),
            role: z.enum(['base', 'motion-adapter', 'motionctrl', 'fun-camera']),
            /** Where the Hugging Face cache already holds it (nothing to download). */
            cachedPath: z.string().max(MAX_STRING).nullable(),
          })
          .strict(),
      )
      .max(8),
    /** Its folder is in the model list already. */
    installed: z.boolean(),
    exporting: z.boolean(),
  })
  .strict()
export type CatalogItem = z.infer<typeof CatalogItem>

export const ModelCatalogView = z
  .object({
    entries: z.array(CatalogItem).max(64),
    /** Whether the studio can run the exporter itself (a Python with its requirements). */
    python: z
      .object({
        ready: z.boolean(),
        python: z.string().max(MAX_STRING).nullable(),
        reason: z.string().max(MAX_STRING).nullable(),
      })
      .strict(),
    /** What the Hugging Face cache holds: ONNX folders to add, diffusers checkpoints to export. */
    cache: z
      .object({
        dir: z.string().max(MAX_STRING),
        models: z
          .array(
            z
              .object({
                repo: z.string().max(200),
                path: z.string().max(MAX_STRING),
                kind: z.enum(['onnx', 'diffusers', 'files']),
                className: z.string().max(200).nullable(),
                pipeline: PipelineKind.nullable(),
                sizeBytes: z.number().nonnegative(),
                listed: z.boolean(),
              })
              .strict(),
          )
          .max(1000),
        warnings: z.array(z.string().max(MAX_STRING)).max(20),
      })
      .strict(),
  })
  .strict()
export type ModelCatalogView = z.infer<typeof ModelCatalogView>

/**
 * Commands: `name -> { request, response }`. Names are `area.verb`; the preload turns each
 * into `window.dolly.area.verb(payload)`.
 */
export const commands = {
  'app.info': { request: Empty, response: AppInfo },
  /**
   * A folder picked in the host's native dialog (the desktop app): a model folder or the
   * interpolation model's. Its path, or null when the person cancelled; the path then goes
   * through models.add or clip.setInterpolationModel like a typed one. The web host has no
   * dialog (a browser cannot hand over a folder's path) and says to type the path.
   */
  'app.pickFolder': {
    request: z.object({ purpose: z.enum(['model', 'interpolation-model']) }).strict(),
    response: z.object({ path: z.string().max(4096).nullable() }).strict(),
  },
  'engine.status': { request: Empty, response: EngineStatus },
  'engine.restart': { request: Empty, response: EngineStatus },
  'models.list': { request: Empty, response: z.array(ModelSummary).max(256) },
  'models.add': {
    request: z.object({ path: z.string().min(1).max(4096) }).strict(),
    /** `added`: false when the folder was in the list already (nothing was added). */
    response: ModelSummary.extend({ added: z.boolean() }),
  },
  'models.remove': {
    request: z.object({ id: z.string().min(1).max(4096) }).strict(),
    response: z.object({ removed: z.boolean() }).strict(),
  },
  'models.setDefault': {
    request: z.object({ id: z.string().min(1).max(4096) }).strict(),
    response: z.object({ defaultId: z.string() }).strict(),
  },
  'models.download': {
    request: z
      .object({
        repo: z.string().regex(HUB_REPO, 'expected a Hugging Face repository id, owner/name'),
        revision: z.string().max(200).default('main'),
      })
      .strict(),
    response: z.object({ started: z.boolean() }).strict(),
  },
  'models.cancelDownload': {
    request: z.object({ repo: z.string().min(3).max(200) }).strict(),
    response: z.object({ cancelled: z.boolean() }).strict(),
  },
  'models.catalog': { request: Empty, response: ModelCatalogView },
  /** Runs the exporter for a catalog entry, or for a diffusers checkpoint found in the cache. */
  'models.export': {
    request: z.union([
      z.object({ catalog: z.string().min(1).max(128) }).strict(),
      z.object({ cached: z.string().min(3).max(200) }).strict(),
    ]),
    response: z.object({ started: z.boolean() }).strict(),
  },
  'models.cancelExport': {
    request: z.object({ id: z.string().min(1).max(200) }).strict(),
    response: z.object({ cancelled: z.boolean() }).strict(),
  },
  'jobs.submit': { request: RenderRequest, response: JobView },
  'jobs.cancel': {
    request: z.object({ id: z.string().min(1).max(64) }).strict(),
    response: z.object({ cancelled: z.boolean() }).strict(),
  },
  'jobs.list': { request: Empty, response: z.array(JobView).max(MAX_LISTED_JOBS) },
  /** Jobs by id, for the renders a project names that are older than jobs.list's newest 1000. */
  'jobs.get': {
    request: z.object({ ids: z.array(z.string().min(1).max(64)).max(1000) }).strict(),
    response: z.array(JobView).max(1000),
  },
  'clip.export': {
    request: ExportRequest,
    /** A URL the page can download (web host) or the path written (desktop, after a save dialog). */
    response: z
      .object({ url: z.string().max(2048).nullable(), path: z.string().max(4096).nullable() })
      .strict(),
  },
  /**
   * Stops an export under way (by the exportId it was started with): its clip.export answers
   * with no url and no path, as when the save dialog is cancelled, and nothing is written.
   */
  'clip.cancelExport': {
    request: z
      .object({
        exportId: z.string().regex(/^[A-Za-z0-9-]{1,64}$/),
      })
      .strict(),
    response: z.object({ cancelled: z.boolean() }).strict(),
  },
  /** What the export can interpolate with: ffmpeg's minterpolate, the model slot. */
  'clip.interpolation': { request: Empty, response: InterpolationView },
  /** Sets the frame-interpolation model folder (checked first; null empties the slot). */
  'clip.setInterpolationModel': {
    request: z.object({ path: z.string().min(1).max(4096).nullable() }).strict(),
    response: InterpolationView,
  },
  'project.list': {
    request: Empty,
    response: z
      .object({
        projects: z
          .array(z.object({ name: z.string().max(256), modifiedAt: z.number() }).strict())
          .max(MAX_LISTED_PROJECTS),
        /** Entries skipped (a dangling link) or restored after an interrupted save, in words. */
        problems: z.array(z.string().max(MAX_STRING)).max(100).optional(),
        recent: z.array(z.string().max(256)).max(10),
      })
      .strict(),
  },
  'project.save': {
    request: z
      .object({
        name: ProjectName,
        doc: SavableProjectDoc,
        page: PageSession,
        /**
         * The file's revision this page last read or wrote (project.open / project.save): a file
         * that changed since (another tab saved it) is refused with 'conflict'. Absent: no check
         * (Save As to a name the person chose, or a replace they confirmed).
         */
        base: z.string().max(64).nullable().optional(),
      })
      .strict(),
    response: z
      .object({ name: z.string().max(256), savedAt: z.number(), revision: z.string().max(64) })
      .strict(),
  },
  'project.open': {
    request: z.object({ name: ProjectName }).strict(),
    response: z
      .object({
        doc: ProjectDoc,
        migratedFrom: z.number().int().nullable(),
        /** Set when an interrupted save had left the file missing and it was restored. */
        recovered: z.string().max(MAX_STRING).optional(),
        /** The file's revision, for project.save's `base`. */
        revision: z.string().max(64),
      })
      .strict(),
  },
  'project.autosave': {
    request: z
      .object({
        doc: SavableProjectDoc,
        name: z.string().max(256).nullable(),
        page: PageSession,
        /**
         * The revision of the file `name` this document was edited from (as project.save's
         * `base`; null: it knew no file): kept with the autosave, so a Save of the recovered
         * document is checked against it like any other Save.
         */
        base: z.string().max(64).nullable().optional(),
      })
      .strict(),
    response: z.object({ savedAt: z.number() }).strict(),
  },
  'project.recovery': {
    /** The asking page's own autosave is not offered back to it. */
    request: z.object({ page: PageSession }).strict(),
    response: z
      .object({
        doc: ProjectDoc,
        name: z.string().max(256).nullable(),
        savedAt: z.number(),
        /** Earlier sessions' autosaves still on offer after this one. */
        more: z.number().int().nonnegative().default(0),
        /**
         * The revision the autosaved document was edited from (project.autosave's `base`);
         * absent: not known (an older studio's autosave).
         */
        base: z.string().max(64).nullable().optional(),
      })
      .strict()
      .nullable(),
  },
  'project.discardRecovery': {
    /** `savedAt` names the autosave on offer; without it, the newest earlier one goes. */
    request: z.object({ savedAt: z.number().optional(), page: PageSession }).strict(),
    response: z.object({ discarded: z.boolean() }).strict(),
  },
  'project.clearAutosave': {
    /** The page's own autosave goes: its edits were discarded for another project or a new one. */
    request: z.object({ page: PageSession }).strict(),
    response: z.object({ cleared: z.literal(true) }).strict(),
  },
} as const

/** Where a long task of the model manager stands (an export, a download). */
export const TaskState = z.enum(['running', 'done', 'failed', 'cancelled'])

/** A checkpoint export's progress, pushed as it runs. */
export const ModelExportEvent = z
  .object({
    id: z.string().max(200),
    state: TaskState,
    /** Components written so far, of those the export makes. */
    step: z.number().int().nonnegative(),
    steps: z.number().int().nonnegative(),
    /** The exporter's last line. */
    line: z.string().max(MAX_STRING).nullable(),
    message: z.string().max(MAX_STRING).nullable(),
    /** The model folder, once done. */
    out: z.string().max(MAX_STRING).nullable(),
  })
  .strict()
export type ModelExportEvent = z.infer<typeof ModelExportEvent>

/** A model download's progress, pushed as it runs. */
export const ModelDownloadEvent = z
  .object({
    repo: z.string().max(200),
    state: TaskState,
    bytes: z.number(),
    totalBytes: z.number(),
    etaS: z.number().nullable(),
    file: z.string().max(1024).nullable(),
    message: z.string().max(MAX_STRING).nullable(),
  })
  .strict()
export type ModelDownloadEvent = z.infer<typeof ModelDownloadEvent>

/** Events pushed from main to every window: `name -> payload schema`. */
export const events = {
  'engine.state': EngineStatus,
  'job.update': JobView,
  'job.preview': JobPreview,
  'model.export': ModelExportEvent,
  'model.download': ModelDownloadEvent,
} as const

export type CommandName = keyof typeof commands
export type EventName = keyof typeof events
export type CommandRequest<C extends CommandName> = z.input<(typeof commands)[C]['request']>
export type CommandResponse<C extends CommandName> = z.output<(typeof commands)[C]['response']>
export type EventPayload<E extends EventName> = z.output<(typeof events)[E]>

export const commandNames = Object.keys(commands) as CommandName[]
export const eventNames = Object.keys(events) as EventName[]

export function isCommandName(name: unknown): name is CommandName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(commands, name)
}

export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(events, name)
}

// ---------------------------------------------------------------------------------------------
// Errors: nothing is ever thrown across IPC. Every command answers with a Result.

export const ErrorCode = z.enum([
  /** The payload did not match the command's request schema. */
  'invalid-payload',
  /** No such command. */
  'unknown-command',
  /** The caller is not a frame of ours, or the web client has no valid token. */
  'forbidden',
  /** The engine process is not running or did not answer. */
  'engine-unavailable',
  /** The handler failed; the message says why. */
  'internal',
  /** A file changed since the caller read it (a project saved from another tab); nothing written. */
  'conflict',
])
export type ErrorCode = z.infer<typeof ErrorCode>

export const DollyErrorShape = z
  .object({
    code: ErrorCode,
    message: z.string().max(MAX_STRING),
    /** Where in the payload validation failed, e.g. `["prompt"]`. */
    path: z
      .array(z.union([z.string().max(256), z.number()]))
      .max(32)
      .optional(),
  })
  .strict()
export type DollyErrorShape = z.infer<typeof DollyErrorShape>

export type Result<T> = { ok: true; value: T } | { ok: false; error: DollyErrorShape }

/** Thrown on the renderer side when a Result is an error, so UI code can use try/catch. */
export class DollyError extends Error {
  readonly code: ErrorCode
  readonly path: (string | number)[] | undefined
  constructor(shape: DollyErrorShape) {
    super(shape.message)
    this.name = 'DollyError'
    this.code = shape.code
    this.path = shape.path
  }
}

// ---------------------------------------------------------------------------------------------
// The API object the renderer sees, derived from `commands` and `events`.

type Split<S extends string> = S extends `${infer A}.${infer B}` ? [A, B] : never
type Area = Split<CommandName>[0]
type VerbsOf<A extends string> = {
  [C in CommandName as Split<C>[0] extends A ? Split<C>[1] : never]: (
    payload?: CommandRequest<C>,
  ) => Promise<Result<CommandResponse<C>>>
}

/** `window.dolly`: one async function per command, grouped by area, plus event subscription. */
export type DollyBridge = { [A in Area]: VerbsOf<A> } & {
  /** Subscribe to an event; returns the function that unsubscribes. */
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void
}

/** Splits `area.verb` for the preload and the web client, which build the same shape. */
export function splitCommandName(name: CommandName): [string, string] {
  const dot = name.indexOf('.')
  return [name.slice(0, dot), name.slice(dot + 1)]
}

/** IPC channel names, fixed here so the preload and main cannot drift apart. */
export const ipcChannel = {
  command: (name: CommandName) => `dolly:cmd:${name}`,
  event: (name: EventName) => `dolly:evt:${name}`,
}
