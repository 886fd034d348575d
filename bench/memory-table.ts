// The README's memory table: every catalog model, its need per plan at its own clip size and
// guidance, and the smallest card it runs on, computed by the engine's own planNeeds
// (shared/vram.ts) from the catalog (shared/catalog.ts) and the activation rules of the
// architectures built at full size (shared/realsize.ts). `node --import tsx bench/memory-table.ts`
// prints it; test/unit/readme-memory-table.test.ts keeps README.md equal to it.
import { pathToFileURL } from 'node:url'
import { CATALOG, catalogMemory } from '../src/shared/catalog'
import { planNeeds, smallestGpuGiB } from '../src/shared/vram'

export const TABLE_START = '<!-- memory-table: node --import tsx bench/memory-table.ts -->'
export const TABLE_END = '<!-- /memory-table -->'

const gib = (mib: number) => (mib / 1024).toFixed(1)

export function memoryTable(): string {
  const rows = CATALOG.map((e) => {
    const { model, call } = catalogMemory(e)
    const need = planNeeds(model, call)
    const weights = Object.values(model.components).reduce((a, c) => a + c.bytes, 0) / 2 ** 30
    const smallest = smallestGpuGiB(need.minimal.needMiB)
    const ruled = Object.values(model.components).some((c) => c.activations)
    return [
      e.title,
      `${call.width}×${call.height}×${call.frames}`,
      weights.toFixed(1),
      gib(need.resident.needMiB),
      gib(need.offload.needMiB),
      gib(need.minimal.needMiB),
      smallest === null ? 'none listed' : `${smallest} GB`,
      ruled ? `fitted on ${e.architecture}` : 'none yet: flat 0.5 GiB per stage',
    ]
  })
  const head = [
    'Model',
    'Clip',
    'Weights GiB',
    '`resident` GiB',
    '`offload` GiB',
    '`minimal` GiB',
    'Smallest GPU',
    'Activation rule',
  ]
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n')
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  console.log(`${TABLE_START}\n${memoryTable()}\n${TABLE_END}`)
}
