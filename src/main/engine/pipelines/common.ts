// What the pipelines share: the scheduler named by a model's scheduler_config.json (or one
// the user picked, built from the same config as diffusers' from_config does), CFG, the
// VAE's factors, and turning decoded frames into [0, 1] RGB.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { CogVideoXDDIMScheduler, CogVideoXDPMScheduler } from '../schedulers/cogvideox'
import type { TorchGenerator } from '../random/torch-generator'
import { floatTensor } from '../runtime/tensor'
import type { Scheduler } from '../schedulers/common'
import { DDIMScheduler } from '../schedulers/ddim'
import { DPMSolverMultistepScheduler } from '../schedulers/dpmsolver-multistep'
import { EulerAncestralDiscreteScheduler, EulerDiscreteScheduler } from '../schedulers/euler'
import { LCMScheduler } from '../schedulers/lcm'
import { readPythonJson } from '../models/model-folder'

export const SCHEDULERS = {
  DDIMScheduler,
  EulerDiscreteScheduler,
  EulerAncestralDiscreteScheduler,
  DPMSolverMultistepScheduler,
  LCMScheduler,
  CogVideoXDDIMScheduler,
  CogVideoXDPMScheduler,
} as const
export type SchedulerName = keyof typeof SCHEDULERS

export class PipelineError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PipelineError'
  }
}

export class CancelledError extends Error {
  constructor() {
    super('cancelled')
    this.name = 'CancelledError'
  }
}

export function throwIfCancelled(signal?: AbortSignal): void {
  if (signal?.aborted) throw new CancelledError()
}

/** The model's scheduler, or `override` built from the same config (like diffusers' from_config). */
export function schedulerFromConfig(
  config: Record<string, unknown>,
  override?: string,
): Scheduler & { constructor: { name: string } } {
  const name =
    override ?? (typeof config['_class_name'] === 'string' ? (config['_class_name'] as string) : '')
  if (!Object.prototype.hasOwnProperty.call(SCHEDULERS, name)) {
    const known = Object.keys(SCHEDULERS).join(', ')
    throw new PipelineError(
      override
        ? `scheduler "${override}" is not one of ${known}`
        : `scheduler_config.json names "${name}", which the engine does not implement (${known})`,
    )
  }
  return SCHEDULERS[name as SchedulerName].fromConfig(config)
}

/** noise = uncond + g * (cond - uncond), over the two halves of a batch-2 output, in float32. */
export function classifierFreeGuidance(
  out: Float32Array,
  g: number | ((i: number) => number),
): Float32Array {
  const n = out.length / 2
  const res = new Float32Array(n)
  const f = Math.fround
  if (typeof g === 'number') {
    const g32 = f(g)
    for (let i = 0; i < n; i++) res[i] = f(out[i]! + f(g32 * f(out[n + i]! - out[i]!)))
  } else {
    for (let i = 0; i < n; i++) res[i] = f(out[i]! + f(g(i) * f(out[n + i]! - out[i]!)))
  }
  return res
}

export type VaeFactors = { scaleFactor: number; scalingFactor: number }

/** vae_scale_factor = 2^(len(block_out_channels)-1) and scaling_factor from the VAE's config.json. */
export function vaeFactors(
  modelDir: string,
  component = 'vae_decoder',
  fallbackScaling = 0.18215,
): VaeFactors {
  const path = join(modelDir, component, 'config.json')
  let scaleFactor = 8
  let scalingFactor = fallbackScaling
  if (existsSync(path)) {
    const cfg = readPythonJson(path) as Record<string, unknown>
    const blocks = cfg['block_out_channels']
    if (Array.isArray(blocks) && blocks.length > 0) scaleFactor = 2 ** (blocks.length - 1)
    if (typeof cfg['scaling_factor'] === 'number') scalingFactor = cfg['scaling_factor'] as number
  }
  return { scaleFactor, scalingFactor }
}

/**
 * Decoded frames [F, 3, H, W] in [-1, 1] -> [F, H, W, 3] in [0, 1]: diffusers'
 * `(x / 2 + 0.5).clamp(0, 1)` then channels last.
 */
export function toFramesHWC(
  decoded: Float32Array,
  frames: number,
  height: number,
  width: number,
): Float32Array {
  const out = new Float32Array(frames * height * width * 3)
  const plane = height * width
  const f = Math.fround
  for (let fr = 0; fr < frames; fr++) {
    const src = fr * 3 * plane
    const dst = fr * plane * 3
    for (let p = 0; p < plane; p++) {
      for (let c = 0; c < 3; c++) {
        const v = f(f(decoded[src + c * plane + p]! / 2) + 0.5)
        out[dst + p * 3 + c] = v < 0 ? 0 : v > 1 ? 1 : v
      }
    }
  }
  return out
}

/** 8-bit RGB as diffusers' numpy_to_pil: round(x * 255) (half to even, like numpy). */
export function framesToUint8(frames: Float32Array): Uint8Array {
  const out = new Uint8Array(frames.length)
  for (let i = 0; i < frames.length; i++) {
    const v = Math.fround(frames[i]! * 255)
    let r = Math.round(v)
    if (Math.abs(v % 1) === 0.5 && r % 2 !== 0) r -= 1
    out[i] = r
  }
  return out
}

export type Progress = { stage: 'encode' | 'denoise' | 'decode'; step: number; steps: number }

/** Hooks every pipeline offers: progress, a per-step look at the latents, and a trace for tests. */
export type PipelineHooks = {
  signal?: AbortSignal
  onProgress?: (p: Progress) => void
  /** Called after each denoising step with the current latents (for the live preview). */
  onStepLatents?: (latents: Float32Array, dims: number[], step: number) => void
  /** Intermediate tensors by name, as diffusers' reference/trace names them. */
  onTrace?: (name: string, data: Float32Array | number[], dims: number[]) => void
}

/**
 * One scheduler step at the end of a denoising iteration, reported the same way by every
 * pipeline: the latents traced as `step{i}_latents_after`, handed to the live preview, and
 * progress counted against the schedule.
 */
export function stepAndReport(
  scheduler: Scheduler,
  noisePred: Float32Array,
  t: number,
  x: Float32Array,
  latentDims: number[],
  i: number,
  generator: TorchGenerator,
  hooks: PipelineHooks,
): Float32Array {
  const next = scheduler.step(floatTensor(noisePred, latentDims), t, floatTensor(x, latentDims), {
    generator,
  }).prevSample.data
  hooks.onTrace?.(`step${i}_latents_after`, next, latentDims)
  hooks.onStepLatents?.(next, latentDims, i)
  hooks.onProgress?.({ stage: 'denoise', step: i + 1, steps: scheduler.timesteps.length })
  return next
}
