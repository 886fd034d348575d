// The engine's public surface: everything pipelines, the CLI and outside checks import.
export { TorchGenerator, numel } from './random/torch-generator'
export { DDIMScheduler } from './schedulers/ddim'
export type { Scheduler, StepOptions, StepResult } from './schedulers/common'
export { Tensor, floatTensor } from './runtime/tensor'
export type { FloatTensor, FloatTensorLike } from './runtime/tensor'
export { EulerDiscreteScheduler, EulerAncestralDiscreteScheduler } from './schedulers/euler'
export { DPMSolverMultistepScheduler } from './schedulers/dpmsolver-multistep'
export { LCMScheduler } from './schedulers/lcm'
export { CogVideoXDDIMScheduler, CogVideoXDPMScheduler } from './schedulers/cogvideox'
export { FlowMatchEulerDiscreteScheduler } from './schedulers/flow-match-euler'
export { UniPCMultistepScheduler } from './schedulers/unipc'
export { SchedulerConfigError } from './schedulers/common'
export { PromptTokenizer, TokenizerError } from './tokenizers'
export type { Tokenized, TokenizerKind } from './tokenizers'
export { promptClean } from './tokenizers/prompt-clean'
export { float16ToFloat32, float32ToFloat16, fromHalfBits, toHalfBits } from './runtime/fp16'
export { concat, chunk, permute, repeatInterleave, split } from './runtime/tensor'
export { openModelFolder, ModelFolderError, readPythonJson, DollyJson } from './models/model-folder'
export type { ModelFolder, ComponentInfo, PipelineKind } from './models/model-folder'
export { readOnnxSignature, OnnxReadError } from './models/onnx-signature'
export { Runtime, ModelSession, SessionError, isOutOfMemoryError } from './runtime/session'
export { ModelSessions, choosePlan, nextPlan, PLANS } from './runtime/memory'
export type { MemoryPlan, PlanChoice, PlanEvent } from './runtime/memory'
export { AnimateDiffPipeline } from './pipelines/animatediff'
export type { AnimateDiffOptions } from './pipelines/animatediff'
export {
  schedulerFromConfig,
  framesToUint8,
  CancelledError,
  PipelineError,
  SettingsError,
  SCHEDULERS,
} from './pipelines/common'
export type { PipelineCall, PipelineHooks, PipelineOutput, VideoPipeline } from './pipelines/types'
export { PIPELINE_REGISTRY } from './pipelines/registry'
export {
  encodeClip,
  encodeFromFrames,
  interpolatedFrames,
  openClipEncoder,
  findFfmpeg,
  formatFromPath,
  MediaError,
  outputArgs,
} from './media/ffmpeg'
export type { ClipFormat, EncodeOptions } from './media/ffmpeg'
export { ProgressParser, parseStatsLine, parseClock } from './media/ffmpeg-progress'
export { JobQueue, adviceFor } from './jobs/queue'
export type { JobInfo, JobState } from './jobs/queue'
export { renderClip, cameraPoses } from './jobs/render'
export type { RenderSpec, RenderResult, JobProgress, RenderContext } from './jobs/render'
export { StableVideoDiffusionPipeline } from './pipelines/svd'
export type { SvdOptions } from './pipelines/svd'
export {
  loadImage,
  resizeLanczosPil,
  fitAspect,
  exifOrientation,
  applyOrientation,
  MAX_PIXELS,
} from './media/image'
export type { RgbImage } from './media/image'
export {
  CogVideoXPipeline,
  dynamicGuidance,
  rotaryEmbeddings3d,
  resizeCropRegionForGrid,
} from './pipelines/cogvideox'
export type { CogVideoXOptions } from './pipelines/cogvideox'
export { downloadModel, listRepoFiles, DownloadError } from './models/download'
export type { DownloadProgress, HubFile } from './models/download'
