// What the pipelines share: the scheduler named by a model's scheduler_config.json (or one
// the user picked, built from the same config as diffusers' from_config does), CFG, and
// turning decoded frames into [0, 1] RGB. The pipeline steps themselves are in steps.ts.
import { CogVideoXDDIMScheduler, CogVideoXDPMScheduler } from '../schedulers/cogvideox'
import type { Scheduler } from '../schedulers/common'
import { DDIMScheduler } from '../schedulers/ddim'
import { DPMSolverMultistepScheduler } from '../schedulers/dpmsolver-multistep'
import { EulerAncestralDiscreteScheduler, EulerDiscreteScheduler } from '../schedulers/euler'
import { FlowMatchEulerDiscreteScheduler } from '../schedulers/flow-match-euler'
import { LCMScheduler } from '../schedulers/lcm'
import { UniPCMultistepScheduler } from '../schedulers/unipc'
import { SchedulerName } from '../../../shared/render'

type SchedulerClass = {
  fromConfig(config: Record<string, unknown>): Scheduler & { constructor: { name: string } }
}

/** The class of every scheduler name the studio offers (shared/render.ts lists the names). */
export const SCHEDULERS: Record<SchedulerName, SchedulerClass> = {
  DDIMScheduler,
  EulerDiscreteScheduler,
  EulerAncestralDiscreteScheduler,
  DPMSolverMultistepScheduler,
  LCMScheduler,
  CogVideoXDDIMScheduler,
  CogVideoXDPMScheduler,
  UniPCMultistepScheduler,
  FlowMatchEulerDiscreteScheduler,
}

export class PipelineError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PipelineError'
  }
}

/**
 * A setting of the request this model cannot take (a size off its grid, more frames than its
 * window, a scheduler of another family, a missing prompt or image, a malformed pose file): the
 * person changes it. The CLI exits with its usage code for it.
 */
export class SettingsError extends PipelineError {
  constructor(message: string) {
    super(message)
    this.name = 'SettingsError'
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
  const known = SchedulerName.safeParse(name)
  if (!known.success) {
    const names = SchedulerName.options.join(', ')
    throw new PipelineError(
      override
        ? `scheduler "${override}" is not one of ${names}`
        : `scheduler_config.json names "${name}", which the engine does not implement (${names})`,
    )
  }
  return SCHEDULERS[known.data].fromConfig(config)
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
