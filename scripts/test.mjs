// `npm test`: install if needed, build (app + demo model), typecheck and lint, run the unit
// tests (vitest), the end-to-end tests (Playwright, Debian's Chromium) and the export tool's
// Python tests, then print one summary line with the counts.
import { spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { electronBinaryPath, hasDisplay } from './lib/electron-binary.mjs'
import { buildAll, ensureInstalled, runBin } from './lib/install.mjs'
import { reliabilityCounts, reliabilityLine } from './lib/reliability.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
// onnxruntime's telemetry off in every test process, as in the studio's engine (engineEnv)
process.env.ORT_DISABLE_TELEMETRY ??= '1'
const results = join(root, 'test-results')
ensureInstalled(root)

if (buildAll(root) !== 0) {
  console.error('build failed')
  // the run still ends with its one counts line: nothing ran, the build counts as a failure
  console.log('0 passed, 1 failed, 0 skipped')
  process.exit(1)
}

// Types and lint first: a red check fails the run (counted as a failure).
const checks = [
  ['typecheck (node)', 'tsc', ['-p', 'tsconfig.node.json', '--noEmit']],
  ['typecheck (web)', 'tsc', ['-p', 'tsconfig.web.json', '--noEmit']],
  ['lint', 'eslint', ['.']],
]
const failedChecks = checks
  .filter(([, bin, args]) => runBin(root, bin, args) !== 0)
  .map(([name]) => name)
for (const name of failedChecks) console.error(`${name} failed`)

rmSync(results, { recursive: true, force: true })
mkdirSync(results, { recursive: true })

const unitCode = runBin(root, 'vitest', [
  'run',
  '--reporter=default',
  '--reporter=json',
  `--outputFile.json=${join(results, 'unit.json')}`,
])

// The Electron test needs a display; use Xvfb when the binary is there and no display is.
let e2eCode
const playwright = join(root, 'node_modules', '.bin', 'playwright')
const xvfb = ['/usr/bin/xvfb-run'].find((p) => existsSync(p))
if (electronBinaryPath(root) && !hasDisplay() && xvfb) {
  e2eCode = spawnSync(xvfb, ['-a', playwright, 'test'], { cwd: root, stdio: 'inherit' }).status ?? 1
} else {
  e2eCode = runBin(root, 'playwright', ['test'])
}

// The Python export tool's tests skip (and say why) where torch/diffusers are absent.
let exportCounts = { passed: 0, failed: 0, skipped: 0 }
// DOLLY_EXPORT_PYTHON picks the interpreter (a venv with torch and diffusers); python3 otherwise
const python = process.env['DOLLY_EXPORT_PYTHON'] || 'python3'
const py = spawnSync(python, [join(root, 'tools/export/test_export.py')], {
  cwd: root,
  encoding: 'utf8',
})
if (py.error) {
  console.log(`export tool tests: ${python} not found (skipped)`)
  exportCounts.skipped = 1
} else {
  process.stdout.write(py.stdout)
  process.stderr.write(py.stderr)
  // the export tool reports `export tool: passed N, failed N, skipped N` (one closing line of
  // the plain `N passed, N failed, N skipped` form is reserved for the whole suite, below)
  const m = /export tool: passed (\d+), failed (\d+), skipped (\d+)\s*$/.exec(py.stdout)
  exportCounts = m
    ? { passed: +m[1], failed: +m[2], skipped: +m[3] }
    : { passed: 0, failed: 1, skipped: 0 }
}

function read(file) {
  try {
    return JSON.parse(readFileSync(join(results, file), 'utf8'))
  } catch {
    return null
  }
}
const unit = read('unit.json')
const e2e = read('e2e.json')
const counts = {
  unit: unit
    ? {
        passed: unit.numPassedTests,
        failed: unit.numFailedTests,
        skipped: unit.numPendingTests + unit.numTodoTests,
      }
    : { passed: 0, failed: 1, skipped: 0 },
  e2e: e2e
    ? {
        passed: e2e.stats.expected + e2e.stats.flaky,
        failed: e2e.stats.unexpected,
        skipped: e2e.stats.skipped,
      }
    : { passed: 0, failed: 1, skipped: 0 },
}
// Per-suite counts read `passed N, failed N, skipped N`; only the last line of the run has the
// `N passed, N failed, N skipped` form, for the whole suite (what CI and the landing read).
const part = (c) => `passed ${c.passed}, failed ${c.failed}, skipped ${c.skipped}`
// the reliability suite runs inside vitest (test/unit/reliability); its own counts, with
// crash, lost and stuck required to be 0 (a non-zero one fails the run even if its tests passed)
const reliability = reliabilityCounts(results)
const unreliable = reliability
  ? reliability.total.crash + reliability.total.lost + reliability.total.stuck
  : 1
const total = {
  passed: counts.unit.passed + counts.e2e.passed + exportCounts.passed,
  failed:
    failedChecks.length +
    (unreliable > 0 ? 1 : 0) +
    counts.unit.failed +
    counts.e2e.failed +
    exportCounts.failed +
    (unitCode !== 0 && !counts.unit.failed ? 1 : 0) +
    (e2eCode !== 0 && !counts.e2e.failed ? 1 : 0),
  skipped: counts.unit.skipped + counts.e2e.skipped + exportCounts.skipped,
}
console.log('')
if (failedChecks.length) console.log(`checks failed: ${failedChecks.join(', ')}`)
console.log(`unit (vitest): ${part(counts.unit)}`)
console.log(`e2e (playwright): ${part(counts.e2e)}`)
console.log(`export tool (python): ${part(exportCounts)}`)
console.log(
  reliability ? reliabilityLine(reliability.total) : 'reliability: no counts were written',
)
for (const s of reliability?.skipped ?? []) console.log(`  skipped: reliability ${s}`)
for (const s of e2e?.suites ?? []) {
  for (const spec of s.specs ?? []) {
    for (const t of spec.tests ?? []) {
      const skip = (t.annotations ?? []).find((a) => a.type === 'skip')
      if (t.status === 'skipped' && skip)
        console.log(`  skipped: ${spec.title}: ${skip.description}`)
    }
  }
}
if (exportCounts.skipped && !py.error)
  console.log(
    '  skipped: export tool tests: torch, diffusers, transformers, onnx and onnxruntime are not installed here',
  )
console.log(`${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`)
process.exit(total.failed > 0 ? 1 : 0)
