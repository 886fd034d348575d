// Memory plans. onnxruntime-node's providers return device memory only on session.release(),
// so memory is managed by which sessions are alive and by how big each call is:
//   resident  every session loaded once and kept between jobs (fastest)
//   offload   load a stage's session, run the stage, release it before the next stage loads
//             (diffusers' enable_model_cpu_offload)
//   minimal   offload + VAE slicing and tiling + batch-1 CFG (two UNet calls, not one batch of 2)
//             + the text encoder on the CPU (shared/vram.ts HOST_UNDER_MINIMAL)
// `auto` picks the fastest plan whose need (shared/vram.ts: weights, and the activations the
// exporter computed from each graph for this render's size) fits the budget, decoding fewer
// frames per VAE call first where that is what keeps a plan out. An out-of-memory
// error releases every session of the model (and, through `releaseOthers`, other models'
// cached sessions), steps down to the next plan and runs the stage again, down to minimal.
import type { ModelSession, Runtime } from './session'
import { isOutOfMemoryError, SessionError } from './session'

import { MEMORY_PLANS, PIPELINES, type MemoryPlan } from '../../../shared/render'
import {
  fittingPlan,
  HOST_UNDER_MINIMAL,
  planNeeds,
  type CallSize,
  type DeviceKind,
  type MemoryModel,
  type PlanNeed,
} from '../../../shared/vram'

export type { MemoryPlan }
export const PLANS: readonly MemoryPlan[] = MEMORY_PLANS

export function nextPlan(plan: MemoryPlan): MemoryPlan | null {
  const i = PLANS.indexOf(plan)
  return PLANS[i + 1] ?? null
}

export type PlanChoice = {
  plan: MemoryPlan
  reason: string
  needs?: Record<MemoryPlan, PlanNeed>
  /** Frames per VAE call auto chose below the model's default to fit the plan. */
  decodeChunk?: number
}

const gib = (m: number) => `${(m / 1024).toFixed(1)} GiB`

function describe(n: PlanNeed): string {
  const s = n.largest
  const act = s.fromRule
    ? `${gib(s.activationMiB)} of activations at ${s.width}x${s.height}${s.frames > 1 ? `x${s.frames}` : ''}, batch ${s.batch}`
    : `${gib(s.activationMiB)} allowed for activations (the folder has no memory rule)`
  return `${s.component}: ${gib(s.weightsMiB)} of weights + ${act}`
}

/**
 * Picks the fastest plan whose need fits the memory budget, for this render's size (width,
 * height, frames, guidance): shared/vram.ts planNeeds.
 */
export function choosePlan(opts: {
  budgetMiB: number
  model: MemoryModel
  call: CallSize
  /** Where the budget came from, for the reason shown to the user. */
  source?: string | undefined
  /** A discrete GPU (the text encoder leaves it under minimal) or one shared pool (default discrete). */
  device?: DeviceKind | undefined
  /** Free system memory (MiB): where minimal puts the text encoder on a discrete GPU. */
  hostFreeMiB?: number | undefined
}): PlanChoice {
  const choice = pickPlan(opts)
  const warn = choice.plan === 'minimal' ? hostWarning(choice.needs!.minimal, opts.hostFreeMiB) : ''
  return warn ? { ...choice, reason: `${choice.reason}${warn}` } : choice
}

/**
 * What minimal's CPU stage (the text encoder on a discrete GPU) says when free system memory
 * cannot hold it: the render is tried, but it may swap or be stopped for memory.
 */
export function hostWarning(minimal: PlanNeed, hostFreeMiB: number | undefined): string {
  const h = minimal.host
  if (!h || hostFreeMiB === undefined || h.needMiB <= hostFreeMiB) return ''
  return `; warning: ${h.component} on the CPU needs ~${gib(h.needMiB)} of system memory and ${gib(hostFreeMiB)} is free (close other programs, or it may swap or run out)`
}

function pickPlan(opts: Parameters<typeof choosePlan>[0]): PlanChoice {
  const device = opts.device ?? 'discrete'
  const needs = planNeeds(opts.model, opts.call, device)
  const src = opts.source ? ` (${opts.source})` : ''
  const budget = gib(opts.budgetMiB)
  const r = needs.resident
  const o = needs.offload
  const m = needs.minimal
  const fit = fittingPlan(opts.model, opts.call, opts.budgetMiB, device)
  const host = m.host
    ? `, ${m.host.component} on the CPU (~${gib(m.host.needMiB)} of system memory)`
    : ''
  if (fit?.decodeChunk !== undefined) {
    const chunk = fit.decodeChunk
    const temporal = PIPELINES[opts.model.pipeline].decodeChunk?.temporal
    return {
      plan: fit.plan,
      needs,
      decodeChunk: chunk,
      reason: `${fit.plan === 'resident' ? 'every component kept loaded' : 'one stage at a time'} needs ~${gib(fit.need.needMiB)} decoding ${chunk} frame${chunk > 1 ? 's' : ''} per VAE call, within ${budget}${src}${temporal ? ' (the temporal decoder mixes frames within a call: the clip differs slightly from one decoded whole)' : ''}`,
    }
  }
  if (fit?.plan === 'resident')
    return {
      plan: 'resident',
      needs,
      reason: `every component kept loaded needs ~${gib(r.needMiB)}, within ${budget}${src}`,
    }
  if (fit?.plan === 'offload')
    return {
      plan: 'offload',
      needs,
      reason: `all components need ~${gib(r.needMiB)} but ${budget} is free${src}: loading one stage at a time (largest ~${gib(o.needMiB)}, ${describe(o)})`,
    }
  return {
    plan: 'minimal',
    needs,
    reason: fit
      ? `one stage at a time needs ~${gib(o.needMiB)} (${describe(o)}), over ${budget}${src}: VAE in slices and tiles, CFG in two calls${host} (~${gib(m.needMiB)})`
      : `even the minimal plan needs ~${gib(m.needMiB)} (${describe(m)}${host}), over ${budget}${src}: trying it anyway; lower the size or frames if it runs out of memory`,
  }
}

export type PlanEvent = {
  type: 'plan-downgrade'
  from: MemoryPlan
  to: MemoryPlan
  stage: string
  reason: string
}

/**
 * The sessions of one model under a memory plan. `use(component)` gives a loaded session;
 * under offload/minimal, asking for another component releases the current one first.
 */
export class ModelSessions {
  private loaded = new Map<string, ModelSession>()
  private loading = new Map<string, Promise<ModelSession>>()
  plan: MemoryPlan
  readonly events: PlanEvent[] = []
  /**
   * After an out-of-memory error, once this model's sessions are released: frees what else
   * holds device memory (the render sets it: other models' cached sessions, the preview decoder).
   */
  releaseOthers?: () => Promise<void>

  constructor(
    private readonly runtime: Runtime,
    private readonly paths: Record<string, string>,
    plan: MemoryPlan,
    private readonly onEvent?: (e: PlanEvent) => void,
  ) {
    this.plan = plan
  }

  get liveComponents(): string[] {
    return [...this.loaded.keys()]
  }

  async get(component: string): Promise<ModelSession> {
    const have = this.loaded.get(component)
    if (have && !have.isReleased) return have
    const path = this.paths[component]
    if (!path) throw new Error(`this model has no ${component}`)
    if (this.plan !== 'resident') {
      // one stage's sessions at a time
      for (const [name, s] of this.loaded) {
        if (name !== component) {
          await s.release()
          this.loaded.delete(name)
        }
      }
    }
    let pending = this.loading.get(component)
    if (!pending) {
      // minimal keeps the text encoder off the GPU (run once per render; T5/UMT5-XXL are 18-21 GiB)
      const cpuOnly = this.plan === 'minimal' && HOST_UNDER_MINIMAL.has(component)
      pending = this.runtime.load(path, component, { cpuOnly })
      this.loading.set(component, pending)
    }
    try {
      const s = await pending
      this.loaded.set(component, s)
      return s
    } finally {
      this.loading.delete(component)
    }
  }

  /** Releases every session of this model. */
  async releaseAll(): Promise<void> {
    const all = [...this.loaded.values()]
    this.loaded.clear()
    await Promise.all(all.map((s) => s.release()))
  }

  /** Runs a job with these sessions; whatever happens (success, error, cancel) it ends cleanly. */
  async job<T>(fn: () => Promise<T>): Promise<T> {
    let ok = false
    try {
      const r = await fn()
      ok = true
      return r
    } finally {
      await this.endJob(ok)
    }
  }

  /** End of a job: resident keeps its sessions for the next job; the others hold none. */
  async endJob(ok: boolean): Promise<void> {
    if (!ok || this.plan !== 'resident') await this.releaseAll()
  }

  /**
   * Runs one stage. On an out-of-memory error: releases every session of this model and what
   * `releaseOthers` frees, drops to the next plan and runs the stage again, down to minimal;
   * out of memory under minimal fails with the plans it tried. `restore` resets state the stage
   * consumed (the generator).
   */
  async stage<T>(name: string, fn: () => Promise<T>, restore?: () => void): Promise<T> {
    const tried: MemoryPlan[] = []
    for (;;) {
      try {
        return await fn()
      } catch (err) {
        // the encoder's failure (ffmpeg, while frames stream into it) is not the plan's: a
        // smaller plan would not help, and its message may mention memory
        if (!isOutOfMemoryError(err) || (err as Error).name === 'MediaError') throw err
        tried.push(this.plan)
        await this.releaseAll()
        await this.releaseOthers?.()
        const to = nextPlan(this.plan)
        if (!to)
          throw new SessionError(
            `out of memory in ${name} under every memory plan (${tried.join(', ')}): lower the size, frames or decode chunk, or free device memory`,
            err,
          )
        const e: PlanEvent = {
          type: 'plan-downgrade',
          from: this.plan,
          to,
          stage: name,
          reason: `out of memory in ${name} under the ${this.plan} plan; released this model's sessions and retrying with ${to}`,
        }
        this.plan = to
        this.events.push(e)
        this.onEvent?.(e)
        restore?.()
      }
    }
  }
}
