// Memory per model and plan at its native size, before and after fused attention, from the
// rules real-size exports (random weights, tools/export/random_models.py) wrote to dolly.json,
// and the check of those rules: one call per component measured on the CPU at a reduced size
// (tools/export/bench_memory.py writes src/shared/memory-realsize.json, which the catalog reads too). The estimates are
// computed here, by the engine's own planNeeds (shared/vram.ts); the measurements are read.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { MEMORY_PLANS, PIPELINES, type MemoryPlan, type PipelineKind } from '../src/shared/render'
import {
  planNeeds,
  smallestGpuGiB,
  type ActivationRule,
  type MemoryModel,
} from '../src/shared/vram'

const DATA = join(
  fileURLToPath(new URL('.', import.meta.url)),
  '..',
  'src',
  'shared',
  'memory-realsize.json',
)
const MiB = 1024 * 1024

type Component = {
  weightsBytes: number
  precision: 'fp32' | 'fp16'
  activations?: ActivationRule
  activationsUnfused?: ActivationRule
  attention?: { fused: number; softmaxBefore: number; softmax: number; multiHeadAttention: number }
}
type Measured = {
  component: string
  graph: 'fused' | 'unfused'
  precision: string
  call: { batch: number; frames: number; width: number; height: number }
  ruleBytes: number | null
  graphBytes: number
  cpuEstimateBytes: number
  peakBytes?: number
  /** The call's inputs, there before the measurement starts (the estimate holds them). */
  inputBytes?: number
  seconds?: number
  skipped?: string
  error?: string
}
type Entry = {
  pipeline: PipelineKind
  label: string
  memory: Record<string, Component>
  publishedWeightBytes: Record<string, number>
  textEncoderLayers: number | null
  denoiserLayers?: number | null
  decodeChunk: number | 'all' | null
  vaeScale: number
  native: { width: number; height: number; frames: number }
  measured: Measured[]
}

const gib = (bytes: number) => Number((bytes / 1024 ** 3).toFixed(2))
const mib = (bytes: number) => Math.round(bytes / MiB)
/** Per-call scratch the graph does not show (thread buffers, kernel workspaces): a call is
 *  within the estimate when it is within 20% of it or within this much. */
const SLACK_MIB = 16

function model(e: Entry, unfused: boolean): MemoryModel {
  return {
    pipeline: e.pipeline,
    decodeChunk: e.decodeChunk,
    vaeScale: e.vaeScale,
    components: Object.fromEntries(
      Object.entries(e.memory).map(([k, c]) => [
        k,
        {
          // the published weights (full depth), in the export's precision
          bytes: e.publishedWeightBytes[k] ?? c.weightsBytes,
          activations: (unfused ? c.activationsUnfused : c.activations) ?? null,
        },
      ]),
    ),
  }
}

export function memoryPlans(): Record<string, unknown> {
  if (!existsSync(DATA))
    return { error: `${DATA} is missing: run tools/export/bench_memory.py on real-size exports` }
  const data = JSON.parse(readFileSync(DATA, 'utf8')) as {
    method: string
    machine: unknown
    models: Record<string, Entry>
  }
  const models: Record<string, unknown> = {}
  for (const [name, e] of Object.entries(data.models)) {
    const call = {
      width: e.native.width,
      height: e.native.height,
      frames: e.native.frames,
      guidance: PIPELINES[e.pipeline].guidance,
    }
    const fused = planNeeds(model(e, false), call)
    const unfused = planNeeds(model(e, true), call)
    const plans = Object.fromEntries(
      MEMORY_PLANS.map((p: MemoryPlan) => [
        p,
        {
          vramGiB: { unfused: gib(unfused[p].needMiB * MiB), fused: gib(fused[p].needMiB * MiB) },
          peakActivationGiB: {
            unfused: gib(unfused[p].largest.activationMiB * MiB),
            fused: gib(fused[p].largest.activationMiB * MiB),
          },
          decidedBy: `${fused[p].largest.component} (batch ${fused[p].largest.batch})`,
        },
      ]),
    )
    const checks = e.measured.map((m) => {
      // the measurement starts with the inputs allocated; the estimate counts them
      const measured = m.peakBytes !== undefined ? m.peakBytes + (m.inputBytes ?? 0) : undefined
      const ratio = measured !== undefined ? measured / Math.max(1, m.cpuEstimateBytes) : null
      const off = measured !== undefined ? Math.abs(measured - m.cpuEstimateBytes) : null
      return {
        component: m.component,
        graph: m.graph,
        precision: m.precision,
        call: `${m.call.width}x${m.call.height}${m.call.frames > 1 ? `x${m.call.frames}` : ''}, batch ${m.call.batch}`,
        estimateMiB: mib(m.cpuEstimateBytes),
        ruleMiB: m.ruleBytes === null ? null : mib(m.ruleBytes),
        measuredMiB: measured !== undefined ? mib(measured) : null,
        measuredOverEstimate: ratio === null ? null : Number(ratio.toFixed(3)),
        within20: off === null ? null : off <= Math.max(0.2 * m.cpuEstimateBytes, SLACK_MIB * MiB),
        ...(m.skipped ? { skipped: m.skipped } : {}),
        ...(m.error ? { error: m.error } : {}),
        ...(m.seconds !== undefined ? { runSeconds: m.seconds } : {}),
      }
    })
    models[name] = {
      label: e.label,
      native: `${e.native.width}x${e.native.height}x${e.native.frames}`,
      weightsGiB: Object.fromEntries(
        Object.entries(e.publishedWeightBytes).map(([k, b]) => [
          k,
          `${gib(b)} ${e.memory[k]?.precision ?? ''}`.trim(),
        ]),
      ),
      attention: Object.fromEntries(
        Object.entries(e.memory)
          .filter(([, c]) => c.attention)
          .map(([k, c]) => [
            k,
            `Softmax ${c.attention!.softmaxBefore} -> ${c.attention!.softmax}, MultiHeadAttention ${c.attention!.multiHeadAttention}`,
          ]),
      ),
      plans,
      smallestGpuGiB: {
        fused: smallestGpuGiB(fused.minimal.needMiB),
        unfused: smallestGpuGiB(unfused.minimal.needMiB),
      },
      ...(e.textEncoderLayers || e.denoiserLayers
        ? {
            note: `${[
              e.textEncoderLayers ? `text encoder with ${e.textEncoderLayers}` : '',
              e.denoiserLayers ? `transformer with ${e.denoiserLayers}` : '',
            ]
              .filter(Boolean)
              .join(
                ', ',
              )} of its blocks (weights counted at full depth; activations do not depend on depth)`,
          }
        : {}),
      checkOnCpu: checks,
    }
  }
  return {
    rule: 'need = weights + activations x 1.25 + 768 MiB (shared/vram.ts); a card fits when the need is within its VRAM less 0.5 GiB; unmeasured on a GPU',
    check:
      'checkOnCpu: one call measured on the CPU at a reduced size (peak resident set during the run less before it, plus the inputs, which were there before) against the graph peak computed at that call (float16 graphs: float16 counted as float32, as the CPU provider computes them); "as float32" rows are the float16 graph converted to float32; ruleMiB is what the plans use (float16 where the graph is); within20: within 20% or 16 MiB',
    measuredOn: data.machine,
    method: data.method,
    models,
  }
}
