// The render vocabulary, declared once: pipeline kinds, memory plans, schedulers, clip
// formats, job states and stages, the settings a shot and a render request share, and one
// table of per-pipeline facts that the generation panel, main, the model manager and the
// engine all read. Adding a pipeline kind means one row in PIPELINES (plus the engine's
// registry row and its pipeline file).
import { z } from 'zod'
import { ContextSettings, PromptKey } from './longtake'

// --- names ---------------------------------------------------------------------------------

export const PIPELINE_KINDS = [
  'animatediff',
  'svd',
  'cogvideox',
  'cogvideox-i2v',
  'wan',
  'wan-i2v',
  'wan-fun-camera',
] as const
export const PipelineKind = z.enum(PIPELINE_KINDS)
export type PipelineKind = z.infer<typeof PipelineKind>

/** How sessions live on the GPU (see docs/ARCHITECTURE.md, "Memory plans"). */
export const MEMORY_PLANS = ['resident', 'offload', 'minimal'] as const
export const MemoryPlan = z.enum(MEMORY_PLANS)
export type MemoryPlan = z.infer<typeof MemoryPlan>
/** What a person picks: a plan, or 'auto' (chosen from free memory). */
export const PlanSetting = z.enum(['auto', ...MEMORY_PLANS])
export type PlanSetting = z.infer<typeof PlanSetting>
/** A few words on each plan, for pickers. */
export const PLAN_HINTS: Record<PlanSetting, string> = {
  auto: 'from free memory',
  resident: 'fastest',
  offload: 'one stage at a time',
  minimal: 'smallest GPUs',
}

/** Every scheduler the engine implements, under diffusers' class names. */
export const SCHEDULER_NAMES = [
  'DDIMScheduler',
  'EulerDiscreteScheduler',
  'EulerAncestralDiscreteScheduler',
  'DPMSolverMultistepScheduler',
  'LCMScheduler',
  'CogVideoXDDIMScheduler',
  'CogVideoXDPMScheduler',
  'UniPCMultistepScheduler',
  'FlowMatchEulerDiscreteScheduler',
] as const
export const SchedulerName = z.enum(SCHEDULER_NAMES)
export type SchedulerName = z.infer<typeof SchedulerName>
/** A shot's scheduler: '' means the model's own (its scheduler_config.json). */
export const SchedulerSetting = z.union([z.literal(''), SchedulerName])

export const CLIP_FORMATS = ['mp4', 'gif', 'webm', 'png'] as const
export const ClipFormat = z.enum(CLIP_FORMATS)
export type ClipFormat = z.infer<typeof ClipFormat>
/** The formats written as one file (PNG frames are a folder), whose extension is the format's. */
export const CLIP_FILE_FORMATS = CLIP_FORMATS.filter((f) => f !== 'png')
/** The extensions of an export's files, without the dot: a clip file's, or the PNG frames' ZIP. */
export const EXPORT_FILE_EXTENSIONS = [...CLIP_FILE_FORMATS, 'zip'] as const

/** An export's quality on the engine's scale: 0 best .. 100 smallest file, and its default. */
export const EXPORT_QUALITY = { min: 0, max: 100, default: 30 } as const
/** A GIF's plays as ffmpeg's -loop takes them: 0 loops forever (the default), -1 plays once, N plays N+1 times. */
export const GIF_LOOP = { min: -1, max: 65535, default: 0 } as const

/**
 * Frames after `factor` x interpolation of a clip of `n` frames: (n - 1) * factor + 1 (its first
 * and last frames stay), or n * factor for a loop (the last in-betweens lead back into the first).
 */
export function interpolatedCount(n: number, factor: number, loop = false): number {
  return factor === 1 ? n : loop ? n * factor : (n - 1) * factor + 1
}

/**
 * A GIF's frame delays are whole 1/100 s, and players show a delay under 2/100 s as 1/10 s: a
 * GIF at more than 50 frames a second plays several times slower than asked (100 fps: ten).
 */
export const GIF_MAX_FPS = 50

/** Why a GIF cannot play `fps` (the output rate: the frame rate times any in-betweens), or null. */
export function gifRateProblem(fps: number): string | null {
  if (fps <= GIF_MAX_FPS) return null
  return `a GIF plays at most ${GIF_MAX_FPS} frames a second (its delays are whole 1/100 s, and players show one under 2/100 s as 1/10 s, so ${fps} fps would play several times slower); export it at ${GIF_MAX_FPS} fps or less, or as MP4/WebM`
}

export const JOB_STATES = ['queued', 'running', 'done', 'failed', 'cancelled'] as const
export const JobState = z.enum(JOB_STATES)
export type JobState = z.infer<typeof JobState>

export const STAGES = ['load', 'encode', 'denoise', 'decode', 'export'] as const
export const Stage = z.enum(STAGES)
export type Stage = z.infer<typeof Stage>

/** How a model takes the camera path: MotionCtrl's RT [B,F,12], CameraCtrl's Plücker rays, or not. */
export const CAMERA_CONDITIONINGS = ['motionctrl-rt', 'cameractrl-plucker', 'none'] as const
export const CameraConditioning = z.enum(CAMERA_CONDITIONINGS)
export type CameraConditioning = z.infer<typeof CameraConditioning>

/** The model input the motion slider drives (besides the camera scale). */
export const MotionInput = z.enum(['motion_bucket_id', 'motion_scale', 'none'])
export type MotionInput = z.infer<typeof MotionInput>

/** How an input image meets the clip's aspect: diffusers stretches; crop and pad keep proportions. */
export const ImageFit = z.enum(['crop', 'pad', 'stretch'])
export type ImageFit = z.infer<typeof ImageFit>

// --- progress --------------------------------------------------------------------------------

/** What a pipeline reports: where it is in which stage. */
export const StageProgress = z
  .object({
    stage: Stage,
    step: z.number().int().nonnegative(),
    steps: z.number().int().nonnegative(),
  })
  .strict()
export type StageProgress = z.infer<typeof StageProgress>

/** What a job reports (engine -> main -> page, one shape): the stage plus speed and ETA. */
export const JobProgress = StageProgress.extend({
  /** Denoising speed (steps per second) once measurable. */
  itPerSec: z.number().nonnegative().nullable(),
  /** Seconds left in this stage (denoise, decode), estimated from its own pace so far. */
  etaS: z.number().nonnegative().nullable(),
}).strict()
export type JobProgress = z.infer<typeof JobProgress>

// --- per-pipeline facts -----------------------------------------------------------------------

export type PipelineFacts = {
  /** What the UI calls the family. */
  label: string
  /** diffusers pipeline classes (and Optimum's ORT-prefixed ones) that name this kind in model_index.json. */
  classNames: readonly string[]
  /** What a creator gives: a prompt (text-to-video) or an image (image-to-video). */
  input: 'text' | 'image'
  /** The model reads a text prompt (image-to-video models may too). */
  prompt: boolean
  /** The tokenizer and its padded length (the pipeline's max_sequence_length), null without a prompt. */
  tokenizer: { kind: 'clip' | 't5'; maxTokens: number } | null
  /** Native clip: frames, size, frames per second. */
  frames: number
  width: number
  height: number
  fps: number
  /** Most frames one window can take, when the model fixes it (a model's config may say less). */
  maxFrames: number | null
  /**
   * Frame counts the model decodes exactly: any, or 4k+1 (a VAE with 4x temporal compression),
   * and how diffusers' pipeline turns another count into one: Wan rounds num_frames // 4 * 4 + 1
   * (80 -> 81), CogVideoX keeps (num_frames - 1) // 4 + 1 latent frames (80 -> 77).
   */
  frameRule: 'any' | '4k+1 (num_frames // 4 * 4 + 1)' | '4k+1 ((num_frames - 1) // 4 * 4 + 1)'
  /** Output sizes must be multiples of this (VAE factor times any patch size). */
  sizeMultiple: number
  /** diffusers' __call__ defaults (AnimateDiff: the steps its docs use). */
  steps: number
  guidance: number
  /** 'cfg': one scale; 'frame-ramp': per-frame guidance from minGuidance up to the scale (SVD). */
  guidanceKind: 'cfg' | 'frame-ramp'
  minGuidance: number | null
  /** The model is conditioned on fps (SVD: added_time_ids get fps - 1). */
  fpsConditioning: boolean
  /** The scheduler a folder normally ships, and those that work with this family's models. */
  scheduler: SchedulerName
  schedulers: readonly SchedulerName[]
  /** The motion input the family has by default (a folder may add motion_scale). */
  motion: MotionInput
  /** Camera conditionings this pipeline can feed (a folder declares the one it takes). */
  camera: readonly Exclude<CameraConditioning, 'none'>[]
  /**
   * Clips longer than the motion window run as overlapping windows over the latent frames
   * (src/shared/longtake.ts): the denoiser's frames axis is symbolic and everything it takes
   * per frame (latents, prompt embeddings, camera poses) can be cut to a window.
   */
  contextWindows?: boolean
  /** Frames per VAE decode call: null decodes each frame alone (the VAE is per-frame anyway) or,
   *  for a 3D VAE, as decodeCall says. A temporal decoder mixes frames within one call. */
  decodeChunk: { default: 'all' | number; minimal: number; temporal: boolean } | null
  /**
   * How a 3D VAE (decodeChunk null) is called: 'clip', the whole clip in one call (CogVideoX; in
   * spatial tiles under `minimal`); 'latent-frame', one latent frame per call whatever the clip's
   * length, the causal convolutions' feature cache carried from call to call (Wan: 1 frame out
   * first, then 4); under `minimal` in spatial tiles of `vaeTile` (each tile the whole clip with
   * its own cache, as diffusers' tiled_decode).
   */
  decodeCall?: 'clip' | 'latent-frame'
  /**
   * Latent frames per decoder call inside the VAE's own decode, where it batches them
   * (CogVideoX: 2, the first call taking an odd one left over; diffusers'
   * AutoencoderKLCogVideoX._decode). Each call's temporal upsampling keeps a lone or odd first
   * frame and doubles the rest, so the clip's length depends on it (clipFrameCount).
   */
  vaeLatentBatch?: number
  /** The VAE's spatial tiles under `minimal`, in pixels, where they differ from 512 (Wan: 256). */
  vaeTile?: { sample: number; stride: number }
  /** The negative prompt the family samples with by default (diffusers' docs), when it has one. */
  negativePrompt?: string
}

/** diffusers' Wan negative prompt (pipelines/wan/pipeline_wan.py, the example's English one). */
export const WAN_NEGATIVE_PROMPT =
  'Bright tones, overexposed, static, blurred details, subtitles, style, works, paintings, images, static, overall gray, worst quality, low quality, JPEG compression residue, ugly, incomplete, extra fingers, poorly drawn hands, poorly drawn faces, deformed, disfigured, misshapen limbs, fused fingers, still picture, messy background, three legs, many people in the background, walking backwards'

/** diffusers' AutoencoderKLWan.enable_tiling defaults: 256-pixel tiles every 192 pixels. */
export const WAN_VAE_TILE = { sample: 256, stride: 192 } as const

/** What every Wan family shares (diffusers' WanPipeline __call__ defaults; Wan2.1 at 480p). */
const WAN_COMMON = {
  prompt: true,
  tokenizer: { kind: 't5', maxTokens: 512 },
  frames: 81,
  width: 832,
  height: 480,
  fps: 16,
  maxFrames: null,
  // the VAE compresses 4 frames into one latent frame after the first
  frameRule: '4k+1 (num_frames // 4 * 4 + 1)',
  // VAE factor 8 times the transformer's patch size 2 (Wan2.2 TI2V-5B: 16 x 2, from its folder)
  sizeMultiple: 16,
  steps: 50,
  guidance: 5,
  guidanceKind: 'cfg',
  minGuidance: null,
  fpsConditioning: false,
  scheduler: 'UniPCMultistepScheduler',
  schedulers: ['UniPCMultistepScheduler', 'FlowMatchEulerDiscreteScheduler'],
  motion: 'none',
  // the causal 3D VAE decodes one latent frame per call with its feature cache
  decodeChunk: null,
  decodeCall: 'latent-frame',
  vaeTile: WAN_VAE_TILE,
  negativePrompt: WAN_NEGATIVE_PROMPT,
} as const satisfies Partial<PipelineFacts>

const COGVIDEOX: PipelineFacts = {
  label: 'CogVideoX',
  classNames: ['CogVideoXPipeline', 'ORTCogVideoXPipeline'],
  input: 'text',
  prompt: true,
  tokenizer: { kind: 't5', maxTokens: 226 },
  frames: 49,
  width: 720,
  height: 480,
  fps: 8,
  maxFrames: 49,
  frameRule: '4k+1 ((num_frames - 1) // 4 * 4 + 1)',
  // VAE factor 8 times the transformer's patch size 2
  sizeMultiple: 16,
  steps: 50,
  guidance: 6,
  guidanceKind: 'cfg',
  minGuidance: null,
  fpsConditioning: false,
  scheduler: 'CogVideoXDDIMScheduler',
  schedulers: ['CogVideoXDDIMScheduler', 'CogVideoXDPMScheduler'],
  motion: 'none',
  camera: [],
  decodeChunk: null,
  decodeCall: 'clip',
  vaeLatentBatch: 2,
}

export const PIPELINES: Record<PipelineKind, PipelineFacts> = {
  animatediff: {
    label: 'AnimateDiff',
    classNames: ['AnimateDiffPipeline', 'ORTAnimateDiffPipeline'],
    input: 'text',
    prompt: true,
    tokenizer: { kind: 'clip', maxTokens: 77 },
    frames: 16,
    width: 512,
    height: 512,
    fps: 8,
    // the motion module's positional table (diffusers' MotionAdapter motion_max_seq_length)
    maxFrames: 32,
    frameRule: 'any',
    sizeMultiple: 8,
    steps: 25,
    guidance: 7.5,
    guidanceKind: 'cfg',
    minGuidance: null,
    fpsConditioning: false,
    scheduler: 'DDIMScheduler',
    schedulers: [
      'DDIMScheduler',
      'EulerDiscreteScheduler',
      'EulerAncestralDiscreteScheduler',
      'DPMSolverMultistepScheduler',
      'LCMScheduler',
    ],
    motion: 'none',
    camera: ['motionctrl-rt'],
    contextWindows: true,
    decodeChunk: { default: 16, minimal: 1, temporal: false },
  },
  svd: {
    label: 'Stable Video Diffusion',
    classNames: ['StableVideoDiffusionPipeline', 'ORTStableVideoDiffusionPipeline'],
    input: 'image',
    prompt: false,
    tokenizer: null,
    frames: 14,
    width: 1024,
    height: 576,
    // diffusers' default fps=7 (conditioning fps - 1 = 6)
    fps: 7,
    maxFrames: null,
    frameRule: 'any',
    sizeMultiple: 8,
    steps: 25,
    guidance: 3,
    guidanceKind: 'frame-ramp',
    minGuidance: 1,
    fpsConditioning: true,
    scheduler: 'EulerDiscreteScheduler',
    schedulers: ['EulerDiscreteScheduler'],
    motion: 'motion_bucket_id',
    camera: ['motionctrl-rt'],
    // diffusers decodes all frames in one call by default; the temporal decoder mixes frames
    decodeChunk: { default: 'all', minimal: 2, temporal: true },
  },
  cogvideox: COGVIDEOX,
  // the same family with an image: latents and the image's on the channel axis
  'cogvideox-i2v': {
    ...COGVIDEOX,
    label: 'CogVideoX image-to-video',
    classNames: ['CogVideoXImageToVideoPipeline', 'ORTCogVideoXImageToVideoPipeline'],
    input: 'image',
  },
  wan: {
    ...WAN_COMMON,
    label: 'Wan',
    classNames: ['WanPipeline'],
    input: 'text',
    camera: [],
  },
  'wan-i2v': {
    ...WAN_COMMON,
    label: 'Wan image-to-video',
    classNames: ['WanImageToVideoPipeline'],
    input: 'image',
    camera: [],
  },
  'wan-fun-camera': {
    ...WAN_COMMON,
    label: 'Wan-Fun Control-Camera',
    // VideoX-Fun's pipeline class for its Fun control models (this kind: the camera variant)
    classNames: ['WanFunControlPipeline'],
    input: 'image',
    // VideoX-Fun's Control-Camera example: guidance 6, its "Flow" sampler (FlowMatchEuler, shift 5)
    guidance: 6,
    scheduler: 'FlowMatchEulerDiscreteScheduler',
    // its folder holds a FlowMatchEuler config; UniPC built from it would not be a flow sampler
    schedulers: ['FlowMatchEulerDiscreteScheduler'],
    camera: ['cameractrl-plucker'],
    // VideoX-Fun rounds down (predict_v2v_control_camera.py: (video_length - 1) // 4 * 4 + 1),
    // not up as diffusers' WanPipeline does: 80 frames are 77, with 77 pose rows
    frameRule: '4k+1 ((num_frames - 1) // 4 * 4 + 1)',
  },
}

/** The pipeline kind a diffusers class name stands for, or null. */
export function pipelineForClass(className: string): PipelineKind | null {
  for (const kind of PIPELINE_KINDS) if (PIPELINES[kind].classNames.includes(className)) return kind
  return null
}

// --- settings ---------------------------------------------------------------------------------

/** The image types main stores for image-to-video (told by their first bytes), as id extensions. */
export const INPUT_IMAGE_TYPES = ['png', 'jpg', 'webp', 'bmp', 'tif'] as const
export type InputImageType = (typeof INPUT_IMAGE_TYPES)[number]
/** A stored input image's id: the SHA-256 of its bytes and its type. */
export const INPUT_IMAGE_ID = new RegExp(`^[0-9a-f]{64}\\.(${INPUT_IMAGE_TYPES.join('|')})$`)

/** A dropped input image (image-to-video): main's id for the stored bytes, and how it fits. */
export const InputImage = z
  .object({
    id: z.string().regex(INPUT_IMAGE_ID),
    name: z.string().max(255),
    fit: ImageFit,
  })
  .strict()
export type InputImage = z.infer<typeof InputImage>

/** The bounds of the numeric settings: the request schema and the panel's fields share them. */
export const SETTING_LIMITS = {
  steps: { min: 1, max: 500 },
  guidance: { min: 0, max: 50 },
  frames: { min: 1, max: 256 },
  fps: { min: 1, max: 60 },
  seed: { min: 0, max: 2 ** 32 - 1 },
} as const
const L = SETTING_LIMITS
const Seed = z.number().int().min(L.seed.min).max(L.seed.max)

/**
 * What one render is made of, besides its camera: the shot's settings and a render request
 * both derive from this (the shot adds `seedLocked`, the request adds `camera`).
 */
export const RenderSettings = z
  .object({
    modelId: z.string().max(1024),
    prompt: z.string().max(4000),
    negativePrompt: z.string().max(4000),
    seed: Seed,
    steps: z.number().int().min(L.steps.min).max(L.steps.max),
    /** The guidance scale; for a per-frame ramp (SVD) the last frame's (max) scale. */
    guidance: z.number().min(L.guidance.min).max(L.guidance.max),
    frames: z.number().int().min(L.frames.min).max(L.frames.max),
    fps: z.number().int().min(L.fps.min).max(L.fps.max),
    scheduler: SchedulerSetting,
    plan: PlanSetting,
    /** The motion-strength slider, 0..1, mapped per model (see shared/motion.ts). */
    motion: z.number().min(0).max(1),
    /** Output size; absent means the model's own. */
    width: z.number().int().min(8).max(4096).optional(),
    height: z.number().int().min(8).max(4096).optional(),
    /** Frames per VAE decode call (temporal decoders); absent means the model's default. */
    decodeChunk: z.number().int().min(1).max(256).optional(),
    /** Image-to-video input; absent for text-to-video. */
    image: InputImage.optional(),
    /** Prompts that take over at later frames (prompt travel; frame 0 is `prompt`). */
    promptKeys: z.array(PromptKey).max(64).optional(),
    /** A seamless loop: the camera path closed and cyclic context windows. */
    loop: z.boolean().optional(),
    /** Long takes: context window size, overlap, weighting, initial noise, colour anchoring. */
    context: ContextSettings.optional(),
  })
  .strict()
export type RenderSettings = z.infer<typeof RenderSettings>

/** The defaults a model brings (its family's facts, its folder's config and dolly.json). */
export const ModelDefaults = z
  .object({
    frames: z.number().int().positive(),
    steps: z.number().int().positive(),
    guidance: z.number().nonnegative(),
    fps: z.number().int().positive(),
    width: z.number().int().positive(),
    height: z.number().int().positive(),
    /** null: the model has no decode-chunk choice; 'all' decodes the clip in one call. */
    decodeChunk: z.union([z.number().int().positive(), z.literal('all')]).nullable(),
    /** The negative prompt the model samples with by default (Wan: diffusers' docs'), if any. */
    negativePrompt: z.string().max(4000).optional(),
  })
  .strict()
export type ModelDefaults = z.infer<typeof ModelDefaults>

/** The studio's negative prompt for a model without one of its own (a fresh shot starts with it). */
export const STUDIO_NEGATIVE_PROMPT = 'blurry, low quality'

/** Negative prompts that are some family's or the studio's default, not a creator's words. */
const DEFAULT_NEGATIVE_PROMPTS: ReadonlySet<string> = new Set([
  STUDIO_NEGATIVE_PROMPT,
  ...PIPELINE_KINDS.map((k) => PIPELINES[k].negativePrompt).filter((p): p is string => !!p),
])

/**
 * A shot's settings after a model change: everything the model decides comes from the new
 * model (frames, steps, guidance, fps, scheduler, size, decode chunk, motion at its middle,
 * the context window's size), what the creator wrote stays (prompts and prompt keys, seed,
 * image, plan, loop, how windows blend). A negative prompt that is empty or some model's
 * default becomes the new model's default (Wan's), so switching to Wan brings its negative
 * prompt and switching away does not leave it behind.
 */
export function settingsForModel<S extends RenderSettings>(
  s: S,
  model: { id: string; defaults: ModelDefaults },
): S {
  const d = model.defaults
  const negativeIsDefault =
    s.negativePrompt === '' || DEFAULT_NEGATIVE_PROMPTS.has(s.negativePrompt)
  const { window: _window, ...context } = s.context ?? {}
  return {
    ...s,
    // a default becomes the new model's own (Wan's), else the studio's; an emptied one stays empty
    ...(negativeIsDefault
      ? {
          negativePrompt:
            d.negativePrompt ?? (s.negativePrompt === '' ? '' : STUDIO_NEGATIVE_PROMPT),
        }
      : {}),
    ...(s.context ? { context: Object.keys(context).length ? context : undefined } : {}),
    modelId: model.id,
    frames: d.frames,
    steps: d.steps,
    guidance: d.guidance,
    fps: d.fps,
    scheduler: '',
    motion: 0.5,
    width: undefined,
    height: undefined,
    decodeChunk: undefined,
  }
}

/**
 * The frames a model's pipeline makes for a request, as diffusers does (the facts' frameRule;
 * `temporal`, the VAE's temporal compression, where a model folder says it is not 4).
 */
export function validFrameCount(
  rule: PipelineFacts['frameRule'],
  frames: number,
  temporal = 4,
): number {
  if (rule === 'any' || frames % temporal === 1) return frames
  if (rule === '4k+1 (num_frames // 4 * 4 + 1)')
    return Math.max(1, Math.floor(frames / temporal) * temporal + 1)
  return Math.max(1, Math.floor((frames - 1) / temporal) * temporal + 1)
}

/**
 * The frames of the clip a request makes: the frame rule's count, or, for a VAE that decodes
 * its latent frames in batches (vaeLatentBatch), what those calls return: each call's temporal
 * upsampling (log2 of the compression, times) keeps a lone or odd first frame and doubles the
 * rest. CogVideoX: an odd latent count gives 4k+1 frames, an even one 4 per latent (5 -> 8).
 */
/**
 * What the generate panel says when a request's clip will not have the frames asked for, or
 * null: the count it will have, and why.
 */
export function framesNotice(
  facts: Pick<PipelineFacts, 'label' | 'frameRule' | 'vaeLatentBatch'>,
  frames: number,
): string | null {
  const made = clipFrameCount(facts, frames)
  if (made === frames) return null
  const why = facts.vaeLatentBatch
    ? `decodes ${4 * facts.vaeLatentBatch}k+1 frames exactly (its VAE decodes latent frames in pairs)`
    : 'decodes 4k+1 frames'
  return `${facts.label} ${why}: ${frames} renders as ${made}`
}

export function clipFrameCount(
  facts: Pick<PipelineFacts, 'frameRule' | 'vaeLatentBatch'>,
  frames: number,
  temporal = 4,
): number {
  const kept = validFrameCount(facts.frameRule, frames, temporal)
  const batch = facts.vaeLatentBatch
  if (!batch || temporal <= 1) return kept
  const upsampled = (n: number) => {
    for (let t = temporal; t > 1; t /= 2) n = n <= 1 ? n : n % 2 ? 2 * n - 1 : 2 * n
    return n
  }
  const latents = (kept - 1) / temporal + 1
  const calls = Math.max(Math.floor(latents / batch), 1)
  return upsampled(latents - (calls - 1) * batch) + (calls - 1) * upsampled(batch)
}
