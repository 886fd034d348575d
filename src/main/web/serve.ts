// `npm run serve`: the studio in a browser. Starts the engine (child_process.fork), the same
// handlers as the desktop app, and the web host on 127.0.0.1, then prints the URL with the
// token. Usage: node out/main/serve.js [--port N] [--json]
import { homedir } from 'node:os'
import { delimiter, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { makeAppInfo, readPackageVersion } from '../app-info'
import { createDispatcher } from '../dispatch'
import { EngineHost } from '../engine-host'
import { forkSpawner } from '../engine-spawn'
import { queryGpu } from '../gpu'
import { createHandlers } from '../handlers'
import { startWebHost } from './server'
import { StudioService } from '../studio'
import { InputStore } from '../inputs'
import { ProjectStore } from '../projects'
import { ModelDownloads, ModelRegistry, type DownloadEvent } from '../model-registry'

const here = dirname(fileURLToPath(import.meta.url))

function parseArgs(argv: string[]): { port: number; json: boolean } {
  let port = Number(process.env.DOLLY_PORT ?? 47800)
  let json = false
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    if (a === '--port') port = Number(argv[++i])
    else if (a === '--json') json = true
    else if (a === '--help') {
      console.log('usage: serve [--port N] [--json]   (port 0 picks a free one)')
      process.exit(0)
    } else {
      console.error(`serve: unknown option ${a}`)
      process.exit(2)
    }
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error('serve: --port must be an integer from 0 to 65535')
    process.exit(2)
  }
  return { port, json }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2))
  const engine = new EngineHost({ spawn: forkSpawner(join(here, 'worker.js')), queryGpu: () => queryGpu() })
  const cacheDir = process.env['DOLLY_CACHE_DIR'] ?? join(homedir(), '.cache', 'dolly-studio', 'renders')
  const stateDir = process.env['DOLLY_STATE_DIR'] ?? join(homedir(), '.local', 'state', 'dolly-studio')
  const registry = new ModelRegistry(
    stateDir,
    [resolve(here, '../../resources/demo-model'), ...(process.env['DOLLY_MODEL_DIRS'] ?? '').split(delimiter).filter(Boolean)],
    () => engine.status().gpu?.vramFreeMiB ?? null,
  )
  const inputs = new InputStore(join(stateDir, 'inputs'))
  const studio = new StudioService({ engine, cacheDir, registry, inputs, mediaUrl: (jobId, file) => `/media/${jobId}/${file}` })
  const projects = new ProjectStore(process.env['DOLLY_PROJECTS_DIR'] ?? join(homedir(), 'Dolly Projects'), stateDir)
  let broadcast: (e: DownloadEvent) => void = () => undefined
  const downloads = new ModelDownloads(registry, process.env['DOLLY_MODELS_DIR'] ?? join(homedir(), 'Dolly Models'), (e) => broadcast(e))
  const version = readPackageVersion(resolve(here, '../../package.json'))
  const dispatch = createDispatcher(
    createHandlers({ engine, studio, projects, registry, downloads, appInfo: () => makeAppInfo('web', version, engine.status().onnxruntimeVersion) }),
  )
  const rendererDir = resolve(here, '../renderer')

  let host
  try {
    host = await startWebHost({ rendererDir, dispatch, port: args.port, cacheDir, inputs })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE' && args.port !== 0) {
      host = await startWebHost({ rendererDir, dispatch, port: 0, cacheDir, inputs })
    } else throw err
  }
  engine.onState((s) => host.broadcast('engine.state', s))
  broadcast = (e) => host.broadcast('model.download', e)
  studio.on((name, data) => host.broadcast(name, data as never))

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
