// `npm run bench`: runs the benchmarks (TypeScript, through tsx) and prints their JSON.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench/index.ts')], {
  cwd: root,
  stdio: 'inherit',
})
process.exit(r.status ?? 1)
