// The engine process. Plain Node: started by main as an Electron utilityProcess, or with
// child_process.fork by the web host, the CLI and tests. It never imports Electron.
import {
  engineMethods,
  engineParams,
  ToEngine,
  type EngineImpl,
  type EngineMethod,
  type EngineResult,
  type FromEngine,
} from './protocol'
import { JobQueue } from './jobs/queue'
import { exportFrames } from './media/export'
import { Runtime } from './runtime/session'
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

  /** Exports under way that main may cancel, by their token. */
  const exporting = new Map<string, AbortController>()
  const impl: EngineImpl = {
    describe: async () => ({
      pid: process.pid,
      onnxruntimeVersion: onnxruntimeVersion(),
      providers,
    }),
    ping: async () => ({ pid: process.pid }),
    'jobs.submit': async ({ id, spec }) => {
      queue.submit(spec, id)
      return { queued: true }
    },
    'jobs.cancel': async ({ id }) => ({ cancelled: queue.cancel(id) }),
    'clip.cancel': async ({ token }) => {
      const ac = exporting.get(token)
      ac?.abort()
      return { cancelled: !!ac }
    },
    'clip.export': async ({ framesDir, numFrames, timeoutMs, token, ...o }) => {
      // main hears of the ffmpeg this runs, so it can end it should this process die: it reads
      // PNGs from disk and would otherwise run on, orphaned, to the end of the export
      let pid: number | null = null
      const child = (running: boolean) =>
        pid !== null &&
        port.send({ type: 'event', event: { name: 'engine.child', data: { pid, running } } })
      const cancel = new AbortController()
      if (token) exporting.set(token, cancel)
      const signal = timeoutMs
        ? AbortSignal.any([cancel.signal, AbortSignal.timeout(timeoutMs)])
        : cancel.signal
      try {
        return {
          out: await exportFrames(
            framesDir,
            numFrames,
            {
              ...o,
              signal,
              onSpawn: (p) => {
                pid = p
                child(true)
              },
            },
            runtime,
          ),
        }
      } catch (err) {
        if (cancel.signal.aborted) throw new Error('export cancelled; nothing was written')
        if (signal.aborted)
          throw new Error(
            `the export took longer than ${Math.round(timeoutMs! / 60_000) || '<1'} min and was stopped; nothing was written to ${o.out}`,
          )
        throw err
      } finally {
        if (token) exporting.delete(token)
        child(false)
      }
    },
  }
  /** Parses a request's params with its method's schema and runs it. */
  const handle = <M extends EngineMethod>(method: M, raw: unknown): Promise<EngineResult<M>> =>
    impl[method](engineParams[method].parse(raw))

  // Renders: one at a time, reported to main as events (main keeps the job list).
  const runtime = new Runtime({ preferCuda: true })
  const queue = new JobQueue({ runtime, cache: new Map() })
  queue.on('update', (job) => {
    const r = job.result
    port.send({
      type: 'event',
      event: {
        name: 'job.update',
        data: {
          id: job.id,
          state: job.state,
          progress: job.progress,
          error: job.error,
          result: r
            ? {
                out: r.out,
                frames: r.frames,
                width: r.width,
                height: r.height,
                fps: r.fps,
                seed: r.seed,
                plan: r.plan.final,
                // why auto chose it, then any out-of-memory step down
                planReason: [r.plan.reason, ...r.plan.events.map((e) => e.reason)].join('; '),
                warnings: r.warnings,
                loopScore: r.loopScore,
                longTake: r.longTake,
              }
            : null,
        },
      },
    })
  })
  queue.on('preview', ({ id, image }) => {
    port.send({
      type: 'event',
      event: {
        name: 'job.preview',
        data: { id, step: image.step, width: image.width, height: image.height, rgb: image.rgb },
      },
    })
  })

  port.onMessage(async (raw) => {
    const parsed = ToEngine.safeParse(raw)
    if (!parsed.success) return // main never sends malformed messages; ignore anything else
    const msg = parsed.data
    if (msg.type === 'shutdown') process.exit(0)
    if (msg.type !== 'request') return
    const method = msg.method
    if (!isEngineMethod(method)) {
      port.send({
        type: 'response',
        id: msg.id,
        ok: false,
        error: `unknown engine method "${msg.method}"`,
      })
      return
    }
    try {
      const result = await handle(method, msg.params ?? {})
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

function isEngineMethod(name: string): name is EngineMethod {
  return Object.prototype.hasOwnProperty.call(engineMethods, name)
}

void main()
