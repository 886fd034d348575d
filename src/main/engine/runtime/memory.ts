// Memory plans. onnxruntime-node's CUDA provider returns VRAM only on session.release(), so
// VRAM is managed by which sessions are alive and by how big each call is:
//   resident  every session loaded once and kept between jobs (fastest)
//   offload   load a stage's session, run the stage, release it before the next stage loads
//             (diffusers' enable_model_cpu_offload)
//   minimal   offload + VAE slicing and tiling + batch-1 CFG (two UNet calls, not one batch of 2)
// An out-of-memory error drops to the next plan and retries that stage once.
import type { ModelSession, Runtime } from './session'
import { isOutOfMemoryError } from './session'

import { MEMORY_PLANS, type MemoryPlan } from '../../../shared/render'

export type { MemoryPlan }
export const PLANS: readonly MemoryPlan[] = MEMORY_PLANS

export function nextPlan(plan: MemoryPlan): MemoryPlan | null {
  const i = PLANS.indexOf(plan)
  return PLANS[i + 1] ?? null
}

export type PlanChoice = { plan: MemoryPlan; reason: string }

const MiB = 1024 * 1024

/**
 * Picks a plan from the memory budget and the model's component sizes. A session needs
 * about its weights plus workspace; `activationMiB` is the largest stage's activations.
 */
export function choosePlan(opts: {
  budgetMiB: number
  componentBytes: Record<string, number>
  activationMiB?: number
  /** Where the budget came from, for the reason shown to the user. */
  source?: string
}): PlanChoice {
  const overhead = 1.2
  const act = opts.activationMiB ?? 512
  const sizes = Object.values(opts.componentBytes).map((b) => (b / MiB) * overhead)
  const all = sizes.reduce((a, b) => a + b, 0) + act
  const biggestName =
    Object.entries(opts.componentBytes).sort((a, b) => b[1] - a[1])[0]?.[0] ?? 'model'
  const biggest = Math.max(0, ...sizes) + act
  const src = opts.source ? ` (${opts.source})` : ''
  const gib = (m: number) => `${(m / 1024).toFixed(1)} GiB`
  if (all <= opts.budgetMiB) {
    return {
      plan: 'resident',
      reason: `all components (~${gib(all)}) fit in ${gib(opts.budgetMiB)}${src}: keeping them loaded`,
    }
  }
  if (biggest <= opts.budgetMiB) {
    return {
      plan: 'offload',
      reason: `all components need ~${gib(all)} but ${gib(opts.budgetMiB)} is free${src}: loading one stage at a time (largest, ${biggestName}, ~${gib(biggest)})`,
    }
  }
  return {
    plan: 'minimal',
    reason: `even ${biggestName} alone (~${gib(biggest)}) exceeds ${gib(opts.budgetMiB)}${src}: one stage at a time, VAE in slices and tiles, CFG in two calls`,
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
      pending = this.runtime.load(path, component)
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
   * Runs one stage; on an out-of-memory error releases everything, drops to the next plan
   * and runs the stage once more. `restore` resets state the stage consumed (the generator).
   */
  async stage<T>(name: string, fn: () => Promise<T>, restore?: () => void): Promise<T> {
    try {
      return await fn()
    } catch (err) {
      const to = nextPlan(this.plan)
      if (!isOutOfMemoryError(err) || !to) throw err
      const from = this.plan
      await this.releaseAll()
      this.plan = to
      const e: PlanEvent = {
        type: 'plan-downgrade',
        from,
        to,
        stage: name,
        reason: `out of memory in ${name} under the ${from} plan; retrying with ${to}`,
      }
      this.events.push(e)
      this.onEvent?.(e)
      restore?.()
      return await fn()
    }
  }
}
