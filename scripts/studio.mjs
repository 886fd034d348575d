// `npm run studio`: installs what is missing, builds, and opens the studio. The desktop
// window when Electron's binary is installed and a display exists; otherwise the same
// studio served to the browser on 127.0.0.1 (the URL, with its token, is printed).
// Flags: --web (always the browser), --no-install, --port N.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { electronBinaryPath, hasDisplay } from './lib/electron-binary.mjs'
import { buildAll, ensureInstalled } from './lib/install.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
const args = process.argv.slice(2)
const web = args.includes('--web')
const portAt = args.indexOf('--port')
const port = portAt >= 0 ? args[portAt + 1] : undefined

if (!args.includes('--no-install')) ensureInstalled(root)
const built = buildAll(root)
if (built !== 0) process.exit(built)

const electron = electronBinaryPath(root)
let child
if (!web && electron && hasDisplay()) {
  child = spawn(electron, [join(root, 'out/main/index.js')], { cwd: root, stdio: 'inherit' })
} else {
  if (!web) {
    console.log(
      electron
        ? 'No display for the desktop window: serving the studio to your browser instead.'
        : "Electron's binary is not installed (it could not be downloaded): serving the studio to your browser instead.",
    )
  }
  child = spawn(
    process.execPath,
    [join(root, 'out/main/serve.js'), ...(port ? ['--port', port] : [])],
    {
      cwd: root,
      stdio: 'inherit',
    },
  )
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
child.on('exit', (code) => process.exit(code ?? 0))
