// What every pipeline takes, reports and returns. Option names follow diffusers' __call__
// arguments; absent values take the model's defaults (ModelFolder.defaults).
import type { ContextSettings } from '../../../shared/longtake'
import type { ImageFit, MemoryPlan, StageProgress } from '../../../shared/render'
import type { RgbImage } from '../media/image'
import type { ModelFolder } from '../models/model-folder'
import type { ModelSessions } from '../runtime/memory'

export type PipelineCall = {
  prompt?: string
  negativePrompt?: string
  /** Image-to-video: the image, and how it meets the clip's aspect. */
  image?: RgbImage
  fit?: ImageFit
  width?: number
  height?: number
  numFrames?: number
  numInferenceSteps?: number
  /** The guidance scale; SVD reads it as the per-frame ramp's maximum. */
  guidanceScale?: number
  seed?: number | bigint
  /** A scheduler class name; default: the model's scheduler_config.json. */
  scheduler?: string
  fps?: number
  /** Frames per VAE decode call (the memory plan may lower it). */
  decodeChunkSize?: number
  /** The model's camera input for the clip, per frame (MotionCtrl RT: [numFrames * 12]). */
  cameraPoses?: Float32Array
  /** Latent tile size for VAE tiling under the minimal plan (diffusers' tile_latent_min_size). */
  vaeTileSize?: number
  // family-specific options (the registry row maps them from the render spec)
  /** SVD: the first frame's guidance; the ramp goes up to guidanceScale / maxGuidanceScale. */
  minGuidanceScale?: number
  maxGuidanceScale?: number
  motionBucketId?: number
  noiseAugStrength?: number
  /** A motion module's scale, for UNets with a motion_scale input. */
  motionScale?: number
  /** CogVideoX: guidance that grows over the steps. */
  useDynamicCfg?: boolean
  /** Wan2.2 A14B: the low-noise expert's guidance scale (diffusers' guidance_scale_2). */
  guidanceScale2?: number
  // long takes (pipelines whose facts say contextWindows; see shared/longtake.ts)
  /** Prompts that take over at later frames (frame 0 has `prompt`), interpolated between. */
  promptKeys?: { frame: number; prompt: string }[]
  /** Context windows: size, overlap, weighting, initial noise, colour anchoring. */
  context?: ContextSettings
  /** A seamless loop: cyclic windows, so the last frame flows into the first. */
  closedLoop?: boolean
}

/** The values a run really used (the render's metadata reports these, not the request's). */
export type ResolvedSettings = {
  width: number
  height: number
  numFrames: number
  numInferenceSteps: number
  guidanceScale: number
  minGuidanceScale?: number
  scheduler: string
  /** Frames per VAE call as run (null: the VAE decodes the clip in one call). */
  decodeChunkSize: number | null
  fps?: number
  motionBucketId?: number
  noiseAugStrength?: number
  motionScale?: number
  /** Wan: the low-noise expert's guidance and the step it took over (A14B), the flow shift. */
  guidanceScale2?: number
  expertSwitchStep?: number
  flowShift?: number
  /** The context windows a long take ran with (absent: one call took every frame). */
  context?: LongTakeReport
}

/** What a long take ran with, and how its windows' colours compared. */
export type LongTakeReport = {
  windows: number
  window: number
  overlap: number
  weighting: string
  noise: string
  loop: boolean
  /** Largest per-channel latent drift from the first window: before and after anchoring. */
  drift: { before: ColourDrift; after: ColourDrift; anchored: boolean } | null
}

/** Largest drift of any window from the first: mean in units of the first's std, std ratio. */
export type ColourDrift = { mean: number; std: number }

export type PipelineOutput = {
  /** [F, H, W, 3] in [0, 1] (empty when the frames were streamed under hooks.streamOnly). */
  frames: Float32Array
  /** The frames went to hooks.onFrames as they were decoded. */
  streamed: boolean
  numFrames: number
  width: number
  height: number
  seed: string
  scheduler: string
  plan: MemoryPlan
  settings: ResolvedSettings
  warnings: string[]
  timingsMs: Record<string, number>
}

/** Where a chunk of decoded frames sits in the clip. */
export type DecodedFrames = {
  first: number
  count: number
  total: number
  width: number
  height: number
}

/** Hooks every pipeline offers: progress, a per-step look at the latents, and a trace for tests. */
export type PipelineHooks = {
  signal?: AbortSignal
  onProgress?: (p: StageProgress) => void
  /** Called after each denoising step with the current latents (for the live preview). */
  onStepLatents?: (latents: Float32Array, dims: number[], step: number) => void
  /**
   * Decoded frames as each VAE call returns them: [k, H, W, 3] in [0, 1], frames first ..
   * first + k - 1 of total (the export streams them into the encoder). Awaited before the next
   * call, so a slow consumer holds the decode back rather than piling frames up.
   */
  onFrames?: (frames: Float32Array, at: DecodedFrames) => Promise<void>
  /** With onFrames: the output's `frames` stays empty (a long take never holds every frame). */
  streamOnly?: boolean
  /** Intermediate tensors by name, as diffusers' reference/trace names them. */
  onTrace?: (name: string, data: Float32Array | number[], dims: number[]) => void
}

export interface VideoPipeline {
  call(o: PipelineCall, hooks?: PipelineHooks): Promise<PipelineOutput>
}

export type PipelineClass = new (model: ModelFolder, sessions: ModelSessions) => VideoPipeline
