// Builds resources/demo-model (not committed: it is generated from code at build time).
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildDemoModel, DEMO_VERSION } from './build'

const dir = fileURLToPath(new URL('../../resources/demo-model', import.meta.url))
const stamp = join(dir, 'DEMO_VERSION')
if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === String(DEMO_VERSION)) {
  process.exit(0) // already built from this DEMO_VERSION: nothing to do, not an error
}
buildDemoModel(dir)
console.log(`built the demo model (random weights) in ${dir}`)
