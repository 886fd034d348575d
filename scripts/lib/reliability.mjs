// Adds up the reliability suite's counts (test/unit/reliability/tally.ts writes one file per
// test file into test-results/reliability/): tried, clear error, crash, lost, stuck.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export function reliabilityCounts(resultsDir) {
  const dir = join(resultsDir, 'reliability')
  const total = { tried: 0, clearError: 0, crash: 0, lost: 0, stuck: 0 }
  const skipped = []
  if (!existsSync(dir)) return null
  for (const f of readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()) {
    const r = JSON.parse(readFileSync(join(dir, f), 'utf8'))
    for (const k of Object.keys(total)) total[k] += r.counts[k] ?? 0
    if (r.skipped) skipped.push(`${r.name}: ${r.skipped}`)
  }
  return { total, skipped }
}

export function reliabilityLine(c) {
  return `reliability: tried ${c.tried}, clear error ${c.clearError}, crash ${c.crash}, lost ${c.lost}, stuck ${c.stuck}`
}
