// `npm run serve`: the studio in a browser. Starts the engine (child_process.fork), the same
// handlers as the desktop app, and the web host on 127.0.0.1, then prints the URL with the
// token. Usage: node out/main/serve.js [--port N] [--json]
import { homedir } from 'node:os'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { EventName, EventPayload } from '../../shared/contract'
import { readPackageVersion } from '../services/app-info'
import { composeStudio, hostFolders } from '../services/compose'
import { forkSpawner } from '../services/engine-spawn'
import { startWebHost } from './server'

const here = dirname(fileURLToPath(import.meta.url))

function parseArgs(argv: string[]): { port: number; json: boolean } {
  const fromEnv = process.env.DOLLY_PORT
  let port = Number(fromEnv ?? 47800)
  let source = fromEnv !== undefined ? `DOLLY_PORT (${JSON.stringify(fromEnv)})` : ''
  let json = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--port') {
      const v = argv[++i]
      port = v !== undefined && /^\d+$/.test(v) ? Number(v) : NaN
      source = `--port (${v === undefined ? 'nothing' : JSON.stringify(v)})`
    } else if (a === '--json') json = true
    else if (a === '--help') {
      console.log('usage: serve [--port N] [--json]   (port 0 picks a free one)')
      process.exit(0)
    } else {
      console.error(`serve: unknown option ${a}`)
      process.exit(2)
    }
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`serve: ${source} must be a port number from 0 to 65535`)
    process.exit(2)
  }
  return { port, json }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  // events reach pages once the host is up; nothing is sent before that
  let broadcast: <E extends EventName>(name: E, payload: EventPayload<E>) => void = () => undefined
  const folders = hostFolders(process.env, {
    stateDir: join(homedir(), '.local', 'state', 'dolly-studio'),
    cacheDir: join(homedir(), '.cache', 'dolly-studio', 'renders'),
    projectsDir: join(homedir(), 'Dolly Projects'),
    modelsDir: join(homedir(), 'Dolly Models'),
    demoModel: resolve(here, '../../resources/demo-model'),
  })
  const { cacheDir } = folders
  const { engine, dispatch, inputs, projects } = composeStudio({
    host: 'web',
    version: readPackageVersion(resolve(here, '../../package.json')),
    spawn: forkSpawner(join(here, 'worker.js')),
    ...folders,
    exporterScript: resolve(here, '../../tools/export/export_model.py'),
    mediaUrl: (jobId, file) => `/media/${jobId}/${file}`,
    emit: (name, payload) => broadcast(name, payload),
  })
  const rendererDir = resolve(here, '../renderer')

  let host
  try {
    host = await startWebHost({ rendererDir, dispatch, port: args.port, cacheDir, inputs })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && args.port !== 0) {
      host = await startWebHost({ rendererDir, dispatch, port: 0, cacheDir, inputs })
    } else throw err
  }
  broadcast = (name, payload) => host.broadcast(name, payload)
  projects.livePage = (page) => host.isLivePage(page)

  if (args.json)
    console.log(
      JSON.stringify({ url: host.url, port: host.port, token: host.token, pid: process.pid }),
    )
  else console.log(`Dolly Studio is running at ${host.url}`)

  let closing = false
  const shutdown = async () => {
    if (closing) return
    closing = true
    await engine.stop()
    await host.close()
    process.exit(0)
  }
  process.on('SIGINT', shutdown)
  process.on('SIGTERM', shutdown)

  engine
    .start()
    .catch((err: Error) => console.error(`engine: ${err.message} (it will be restarted)`))
}

main().catch((err) => {
  console.error(`serve: ${err instanceof Error ? err.message : err}`)
  process.exit(1)
})
