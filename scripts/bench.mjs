// `npm run bench`: runs the benchmarks (TypeScript, through tsx) and prints their JSON.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench/index.ts')], {
  cwd: root,
  stdio: 'inherit',
  // onnxruntime's telemetry off, as in the studio's engine (engineEnv)
  env: { ORT_DISABLE_TELEMETRY: '1', ...process.env },
})
// the benchmark's own exit code; a run killed by a signal has no status and counts as failed
process.exit(r.status ?? 1)
