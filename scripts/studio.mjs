// `npm run studio`: installs what is missing, builds, and opens the studio. The desktop
// window when Electron's binary is installed and a display exists; otherwise the same
// studio served to the browser on 127.0.0.1 (the URL, with its token, is printed).
// Flags: --web (always the browser), --no-install, --port N, --json (the browser studio's URL,
// port and token as one JSON line), --help.
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { join } from 'node:path'
import { electronBinaryPath, hasDisplay } from './lib/electron-binary.mjs'
import { buildAll, ensureInstalled } from './lib/install.mjs'

const USAGE = `usage: npm run studio [-- --web] [-- --port N] [-- --json] [-- --no-install]
  --web         serve the studio to your browser even where the desktop window could open
  --port N      the browser studio's port on 127.0.0.1 (default 47800, or DOLLY_PORT; 0 picks one)
  --json        print the browser studio's URL, port and token as one JSON line
  --no-install  skip the dependency check and install (npm run start and npm run serve)`

/** The flags, or exit 2 naming the one that is wrong (an unknown flag was silently ignored). */
function parseFlags(argv) {
  const o = { web: false, install: true, port: undefined, json: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--help' || a === '-h') {
      console.log(USAGE)
      process.exit(0) // the usage asked for, and nothing installed, built or started
    } else if (a === '--web') o.web = true
    else if (a === '--no-install') o.install = false
    else if (a === '--json') o.json = true
    else if (a === '--port') {
      const v = argv[++i]
      if (v === undefined || !/^\d{1,5}$/.test(v) || Number(v) > 65535) {
        console.error(`studio: --port takes a port number from 0 to 65535, got ${v ?? 'nothing'}`)
        process.exit(2) // a usage error, as the CLI's: before any install or build
      }
      o.port = v
    } else {
      console.error(`studio: unknown option ${a}\n${USAGE}`)
      process.exit(2) // a typo must not start the studio with the flag silently dropped
    }
  }
  return o
}

const root = fileURLToPath(new URL('..', import.meta.url))
const flags = parseFlags(process.argv.slice(2))
const web = flags.web
const port = flags.port

if (flags.install) ensureInstalled(root)
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
    [
      join(root, 'out/main/serve.js'),
      ...(port !== undefined ? ['--port', port] : []),
      ...(flags.json ? ['--json'] : []),
    ],
    {
      cwd: root,
      stdio: 'inherit',
    },
  )
}
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig))
child.on('exit', (code) => process.exit(code ?? 0))
