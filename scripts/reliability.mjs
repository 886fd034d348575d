// `npm run test:reliability`: builds, runs the reliability suite (test/unit/reliability: the
// real web host and engine under malformed frames, a full disk, kill -9 at injected points,
// 100 queued jobs with cancels, restarts with jobs in flight, a stalled and a looping download
// server) and prints its counts. Crash, lost and stuck must be 0; the exit code says whether
// they were (and whether every test passed).
import { mkdirSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildAll, ensureInstalled, runBin } from './lib/install.mjs'
import { reliabilityCounts, reliabilityLine } from './lib/reliability.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const results = join(root, 'test-results')
ensureInstalled(root)
if (buildAll(root) !== 0) {
  console.error('build failed')
  process.exit(1) // 1: nothing could be tried
}
rmSync(join(results, 'reliability'), { recursive: true, force: true })
mkdirSync(results, { recursive: true })
const code = runBin(root, 'vitest', ['run', 'test/unit/reliability'])
const r = reliabilityCounts(results)
if (!r) {
  console.error('reliability: no counts were written')
  process.exit(1) // 1: the suite did not run
}
for (const s of r.skipped) console.log(`  skipped: ${s}`)
console.log(reliabilityLine(r.total))
// 0 only when every test passed and nothing crashed, was lost or got stuck
process.exit(code === 0 && r.total.crash + r.total.lost + r.total.stuck === 0 ? 0 : 1)
