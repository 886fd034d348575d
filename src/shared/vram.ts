// How much device memory a model needs under each memory plan, for one render's size. The same
// figures choose the plan at render time (engine/runtime/memory.ts) and fill the models
// dialog's "fits" (services/model-registry.ts).
//
// The rule, per plan:
//   resident  all weights + the largest stage's activations
//   offload   the largest of (a stage's weights + its activations)
//   minimal   as offload, with batch-1 guidance and the VAE decoding small chunks of frames in
//             spatial tiles (the calls steps.ts makes under minimal); a VAE that decodes one
//             latent frame per call (Wan, PIPELINES decodeCall) makes the same call for any clip
//             length, at full size, or under minimal one 256-pixel tile. On a discrete GPU the
//             text encoder runs on the CPU (HOST_UNDER_MINIMAL): its weights (T5-XXL, UMT5-XXL:
//             18-21 GiB in float32) then take system memory, not VRAM
// then  need = weights x WEIGHT_OVERHEAD + activations x ACTIVATION_OVERHEAD + RUNTIME_MIB.
// Activations come from the rule the exporter fitted on each graph (dolly.json "memory",
// tools/export/activation_memory.py: the graph's peak of live tensors, fused attention
// included); a folder without one gets the flat ACTIVATION_MIB per stage, as before. The
// overheads are allowances, not measurements: weights are placed at their size (initializers
// use the device allocator), activations go through the provider's arena (rounding, growth),
// and the runtime itself (CUDA context, cuBLAS/cuDNN handles and workspaces) takes memory no
// file shows. None of this has been measured on a GPU here.

import { PIPELINES, type MemoryPlan, type PipelineKind } from './render'

export const WEIGHT_OVERHEAD = 1.0
export const ACTIVATION_OVERHEAD = 1.25
export const RUNTIME_MIB = 768
/** Activations per stage when the folder has no rule (exports from before dolly.json "memory"). */
export const ACTIVATION_MIB = 512
/**
 * Components that run on the CPU under `minimal` when the rest runs on a discrete GPU (the Wan
 * repository's --t5_cpu): a text encoder runs once per render, so it costs seconds, and its
 * weights never take VRAM. On the CPU provider, or with memory the GPU shares (Apple silicon),
 * it is one pool: the need counts them as before (`device: 'shared'`).
 */
export const HOST_UNDER_MINIMAL: ReadonlySet<string> = new Set(['text_encoder'])

/** A GPU with its own memory (CUDA, DirectML), or one pool for everything (CPU, CoreML). */
export type DeviceKind = 'discrete' | 'shared'

export function deviceKind(provider: string): DeviceKind {
  return provider === 'cuda' || provider === 'dml' ? 'discrete' : 'shared'
}

/** The VAE tile under `minimal`, in latent pixels (steps.ts decodeFrames/decodeVolume). */
export const VAE_TILE_LATENT = 64
const MiB = 1024 * 1024

type Polynomial = { constant: number; terms: [number, number, number][] }

/**
 * dolly.json memory.<component>.activations: the largest of polynomials
 * bytes = constant + batch * sum k (frames/F0)^a (pixels/P0)^b, one per graph node that holds the
 * peak somewhere on the exporter's grid (the first, then `more`).
 */
export type ActivationRule = Polynomial & {
  F0: number
  P0: number
  more?: Polynomial[]
  fitError?: number
  peakAt?: string
}

export function activationBytes(
  rule: ActivationRule,
  c: { batch: number; frames: number; width: number; height: number },
): number {
  const f = c.frames / rule.F0
  const p = (c.width * c.height) / rule.P0
  const value = (q: Polynomial) =>
    q.constant + c.batch * q.terms.reduce((s, [a, b, k]) => s + k * f ** a * p ** b, 0)
  return Math.max(value(rule), ...(rule.more ?? []).map(value))
}

export type ComponentMemory = { bytes: number; activations: ActivationRule | null }

/** What the plans need to know of a model folder. */
export type MemoryModel = {
  pipeline: PipelineKind
  components: Record<string, ComponentMemory>
  /** The folder's decode chunk default (frames per VAE call), or null for a 3D VAE. */
  decodeChunk: number | 'all' | null
  /** Pixels per latent pixel. */
  vaeScale: number
}

/** A render's size: what the activations depend on. */
export type CallSize = {
  width: number
  height: number
  frames: number
  guidance: number
  decodeChunk?: number | undefined
}

export type StageCall = {
  component: string
  batch: number
  frames: number
  width: number
  height: number
  /** Runs on the CPU while the rest is on the GPU (HOST_UNDER_MINIMAL): not device memory. */
  onHost?: boolean
}

// transformer_2: Wan2.2 A14B's low-noise expert, called as the first one is
const DENOISERS = new Set(['unet', 'transformer', 'transformer_2'])

/** The calls each component gets in one render under `plan` (as the pipelines make them). */
export function stageCalls(
  m: MemoryModel,
  plan: MemoryPlan,
  c: CallSize,
  device: DeviceKind = 'discrete',
): StageCall[] {
  const facts = PIPELINES[m.pipeline]
  const minimal = plan === 'minimal'
  const tile = VAE_TILE_LATENT * m.vaeScale
  const out: StageCall[] = []
  for (const name of Object.keys(m.components)) {
    const one = { component: name, batch: 1, frames: 1, width: c.width, height: c.height }
    if (minimal && device === 'discrete' && HOST_UNDER_MINIMAL.has(name)) {
      out.push({ ...one, onHost: true })
    } else if (DENOISERS.has(name)) {
      out.push({ ...one, batch: c.guidance > 1 && !minimal ? 2 : 1, frames: c.frames })
    } else if (name === 'vae_decoder' && facts.decodeCall === 'latent-frame') {
      // one latent frame per call (its rule's one frame), any clip; under minimal one tile
      const t = facts.vaeTile?.sample ?? tile
      out.push(
        minimal ? { ...one, width: Math.min(c.width, t), height: Math.min(c.height, t) } : one,
      )
    } else if (name === 'vae_decoder') {
      const size = minimal
        ? { width: Math.min(c.width, tile), height: Math.min(c.height, tile) }
        : { width: c.width, height: c.height }
      if (facts.decodeChunk) {
        const d = m.decodeChunk
        const wanted = c.decodeChunk ?? (d === 'all' || d === null ? c.frames : d)
        const chunk = Math.min(wanted, minimal ? facts.decodeChunk.minimal : wanted, c.frames)
        out.push({ ...one, ...size, batch: Math.max(1, chunk) })
      } else {
        out.push({ ...one, ...size, frames: c.frames })
      }
    } else {
      out.push(one)
    }
  }
  return out
}

export type StageNeed = StageCall & {
  weightsMiB: number
  activationMiB: number
  /** Whether the activations come from the folder's rule (else the flat allowance). */
  fromRule: boolean
}

export type PlanNeed = {
  plan: MemoryPlan
  needMiB: number
  largest: StageNeed
  /** The largest stage run on the CPU instead (minimal on a discrete GPU): system memory, MiB. */
  host?: StageNeed & { needMiB: number }
}

function stageNeed(m: MemoryModel, s: StageCall): StageNeed {
  const comp = m.components[s.component]!
  const rule = comp.activations
  return {
    ...s,
    weightsMiB: (comp.bytes / MiB) * WEIGHT_OVERHEAD,
    activationMiB: rule ? (activationBytes(rule, s) / MiB) * ACTIVATION_OVERHEAD : ACTIVATION_MIB,
    fromRule: rule !== null,
  }
}

/**
 * Device memory each plan needs for a render of this size (MiB), and the stage that decides it;
 * `device` says whether the text encoder can leave the GPU under minimal (HOST_UNDER_MINIMAL).
 */
export function planNeeds(
  m: MemoryModel,
  c: CallSize,
  device: DeviceKind = 'discrete',
): Record<MemoryPlan, PlanNeed> {
  const allWeights =
    Object.values(m.components).reduce((a, x) => a + x.bytes / MiB, 0) * WEIGHT_OVERHEAD
  const total = (s: StageNeed) => s.weightsMiB + s.activationMiB
  const largestOf = (stages: StageNeed[]) => stages.reduce((a, b) => (total(b) > total(a) ? b : a))
  const need = (plan: MemoryPlan): PlanNeed => {
    const all = stageCalls(m, plan, c, device).map((s) => stageNeed(m, s))
    if (!all.length) throw new Error('a model without components has no memory need')
    if (plan === 'resident') {
      const largest = all.reduce((a, b) => (b.activationMiB > a.activationMiB ? b : a))
      return { plan, needMiB: Math.ceil(allWeights + largest.activationMiB + RUNTIME_MIB), largest }
    }
    const onDevice = all.filter((s) => !s.onHost)
    const onHost = all.filter((s) => s.onHost)
    const largest = largestOf(onDevice.length ? onDevice : all)
    const host = onHost.length ? largestOf(onHost) : null
    return {
      plan,
      needMiB: Math.ceil(total(largest) + RUNTIME_MIB),
      largest,
      ...(host ? { host: { ...host, needMiB: Math.ceil(total(host)) } } : {}),
    }
  }
  return { resident: need('resident'), offload: need('offload'), minimal: need('minimal') }
}

export type VramEstimate = { residentMiB: number; offloadMiB: number; minimalMiB: number }

/** The models dialog's figures: each plan's need at the model's own size and defaults (VRAM). */
export function vramEstimate(m: MemoryModel, c: CallSize): VramEstimate {
  const n = planNeeds(m, c, 'discrete')
  return {
    residentMiB: n.resident.needMiB,
    offloadMiB: n.offload.needMiB,
    minimalMiB: n.minimal.needMiB,
  }
}

/** Frames per VAE call below the model's default, halving down to 1, where the pipeline decodes
 *  frames in chunks and the render did not set a chunk itself. */
export function smallerChunks(m: MemoryModel, c: CallSize): number[] {
  if (!PIPELINES[m.pipeline].decodeChunk || c.decodeChunk !== undefined) return []
  const d = m.decodeChunk
  let chunk = Math.min(d === 'all' || d === null ? c.frames : d, c.frames)
  const out: number[] = []
  while (chunk > 1) {
    chunk = Math.ceil(chunk / 2)
    out.push(chunk)
  }
  return out
}

export type FittingPlan = { plan: MemoryPlan; need: PlanNeed; decodeChunk?: number }

/**
 * The fastest plan whose need fits `budgetMiB`, or null when none does: resident, then resident
 * and offload with fewer frames per VAE call (where the render left the chunk to the plan),
 * then offload and minimal. What `auto` picks and what the models dialog calls "fits".
 */
export function fittingPlan(
  m: MemoryModel,
  c: CallSize,
  budgetMiB: number,
  device: DeviceKind = 'discrete',
): FittingPlan | null {
  const needs = planNeeds(m, c, device)
  if (needs.resident.needMiB <= budgetMiB) return { plan: 'resident', need: needs.resident }
  for (const plan of ['resident', 'offload'] as const)
    for (const chunk of smallerChunks(m, c)) {
      const need = planNeeds(m, { ...c, decodeChunk: chunk }, device)[plan]
      if (need.needMiB <= budgetMiB) return { plan, need, decodeChunk: chunk }
    }
  for (const plan of ['offload', 'minimal'] as const)
    if (needs[plan].needMiB <= budgetMiB) return { plan, need: needs[plan] }
  return null
}

/** Graphics memory sizes cards are sold with, GiB (4 GB laptop parts to 141 GB H200). */
export const GPU_SIZES_GIB = [4, 6, 8, 10, 12, 16, 20, 24, 32, 40, 48, 80, 96, 141] as const
/** What the display, the driver and other programs keep of a card. */
export const GPU_RESERVED_MIB = 512

/** The smallest card size whose memory, less what others keep, holds `needMiB` (null: none). */
export function smallestGpuGiB(needMiB: number): number | null {
  return GPU_SIZES_GIB.find((g) => needMiB <= g * 1024 - GPU_RESERVED_MIB) ?? null
}
