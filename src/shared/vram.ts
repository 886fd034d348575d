// How much GPU memory a model needs under each memory plan, from its files' sizes. A session
// holds about its weights plus workspace (x1.2); the largest stage adds its activations.
// The same figures choose the plan at render time (runtime/memory.ts).

import type { MemoryPlan } from './render'

export const WEIGHT_OVERHEAD = 1.2
export const ACTIVATION_MIB = 512
const MiB = 1024 * 1024

export type VramEstimate = { residentMiB: number; offloadMiB: number; minimalMiB: number }

export function vramEstimate(componentBytes: Record<string, number>): VramEstimate {
  const sizes = Object.values(componentBytes).map((b) => (b / MiB) * WEIGHT_OVERHEAD)
  const all = sizes.reduce((a, b) => a + b, 0)
  const biggest = Math.max(0, ...sizes)
  return {
    residentMiB: Math.ceil(all + ACTIVATION_MIB),
    offloadMiB: Math.ceil(biggest + ACTIVATION_MIB),
    // minimal: VAE slices/tiles and batch-1 CFG roughly halve the activations
    minimalMiB: Math.ceil(biggest + ACTIVATION_MIB / 2),
  }
}

/** The fastest plan that fits `freeMiB`, or null when none does. */
export function planThatFits(e: VramEstimate, freeMiB: number): MemoryPlan | null {
  if (e.residentMiB <= freeMiB) return 'resident'
  if (e.offloadMiB <= freeMiB) return 'offload'
  if (e.minimalMiB <= freeMiB) return 'minimal'
  return null
}
