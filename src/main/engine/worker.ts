// The engine process. Plain Node: started by main as an Electron utilityProcess, or with
// child_process.fork by the web host, the CLI and tests. It never imports Electron.
import { engineMethods, ToEngine, type FromEngine } from './protocol'
import { onnxruntimeVersion, probeProviders } from './runtime/providers'
import type { ExecutionProvider } from '../../shared/contract'

type Port = { send(msg: FromEngine): void; onMessage(fn: (msg: unknown) => void): void }

/** utilityProcess gives us `process.parentPort`; a forked child has `process.send`. */
function openPort(): Port {
  type ParentPort = {
    postMessage(m: unknown): void
    on(e: 'message', fn: (e: { data: unknown }) => void): void
  }
  const parentPort = (process as unknown as { parentPort?: ParentPort }).parentPort
  if (parentPort) {
    return {
      send: (msg) => parentPort.postMessage(msg),
      onMessage: (fn) => parentPort.on('message', (e) => fn(e.data)),
    }
  }
  if (process.send) {
    const send = process.send.bind(process)
    // The engine has no purpose without its parent: leave when the channel closes.
    process.on('disconnect', () => process.exit(0))
    return { send: (msg) => void send(msg), onMessage: (fn) => process.on('message', fn) }
  }
  throw new Error('the engine must be started by the studio (no parent port or IPC channel)')
}

async function main(): Promise<void> {
  const port = openPort()
  let providers: ExecutionProvider[] = []
  try {
    providers = await probeProviders()
  } catch (err) {
    port.send({
      type: 'fatal',
      message: `onnxruntime failed to load: ${err instanceof Error ? err.message : err}`,
    })
    process.exit(1)
  }

  const impl: { [M in keyof typeof engineMethods]: (params: unknown) => Promise<unknown> } = {
    describe: async () => ({
      pid: process.pid,
      onnxruntimeVersion: onnxruntimeVersion(),
      providers,
    }),
    ping: async () => ({ pid: process.pid }),
  }

  port.onMessage(async (raw) => {
    const parsed = ToEngine.safeParse(raw)
    if (!parsed.success) return // main never sends malformed messages; ignore anything else
    const msg = parsed.data
    if (msg.type === 'shutdown') process.exit(0)
    if (msg.type !== 'request') return
    const method = msg.method as keyof typeof engineMethods
    if (!Object.prototype.hasOwnProperty.call(engineMethods, method)) {
      port.send({
        type: 'response',
        id: msg.id,
        ok: false,
        error: `unknown engine method "${msg.method}"`,
      })
      return
    }
    try {
      const params = engineMethods[method].params.parse(msg.params ?? {})
      const result = await impl[method](params)
      port.send({ type: 'response', id: msg.id, ok: true, result })
    } catch (err) {
      port.send({
        type: 'response',
        id: msg.id,
        ok: false,
        error: err instanceof Error ? err.message : String(err),
      })
    }
  })

  port.send({ type: 'hello', pid: process.pid })
}

void main()
