// Activation rules of the published architectures, before any checkpoint is downloaded: the
// exporter built each from its released config with random weights at full size
// (tools/export/random_models.py), fitted the rules on the graphs as it does for every export,
// and measured them on the CPU (tools/export/bench_memory.py writes memory-realsize.json; weights
// do not change activations). The catalog's fit estimates read them; an exported folder brings
// its own rules in dolly.json.
import data from './memory-realsize.json'
import type { PipelineKind } from './render'
import type { ActivationRule } from './vram'

export type ArchitectureMemory = {
  pipeline: PipelineKind
  /** Per component: its activation rule (fused attention) and the bytes of its published weights. */
  components: Record<string, { activations: ActivationRule | null; publishedBytes: number | null }>
}

type Stored = {
  pipeline: string
  memory: Record<string, { activations?: ActivationRule }>
  publishedWeightBytes: Record<string, number>
}

export const ARCHITECTURE_MEMORY: Record<string, ArchitectureMemory> = Object.fromEntries(
  Object.entries((data as unknown as { models: Record<string, Stored> }).models).map(
    ([name, m]) => [
      name,
      {
        pipeline: m.pipeline as PipelineKind,
        components: Object.fromEntries(
          Object.entries(m.memory).map(([k, c]) => [
            k,
            {
              activations: c.activations ?? null,
              publishedBytes: m.publishedWeightBytes[k] ?? null,
            },
          ]),
        ),
      },
    ],
  ),
)
