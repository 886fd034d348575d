// The engine process. Plain Node: started by main as an Electron utilityProcess, or with
// child_process.fork by the web host, the CLI and tests. It never imports Electron.
import { engineMethods, ToEngine, type FromEngine } from './protocol'
import { JobQueue } from './jobs/queue'
import type { RenderSpec } from './jobs/render'
import { encodeFromFrames, type ClipFormat } from './media/ffmpeg'
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

  const impl: { [M in keyof typeof engineMethods]: (params: unknown) => Promise<unknown> } = {
    describe: async () => ({
      pid: process.pid,
      onnxruntimeVersion: onnxruntimeVersion(),
      providers,
    }),
    ping: async () => ({ pid: process.pid }),
    'jobs.submit': async (params) => {
      const { id, spec } = params as { id: string; spec: RenderSpec }
      queue.submit(spec, id)
      return { queued: true }
    },
    'jobs.cancel': async (params) => ({ cancelled: queue.cancel((params as { id: string }).id) }),
    'clip.export': async (params) => {
      const p = params as {
        framesDir: string
        numFrames: number
        out: string
        format: ClipFormat
        fps: number
        quality: number
        loop: number
        scale: number
      }
      // main hears of the ffmpeg this runs, so it can end it should this process die: it reads
      // PNGs from disk and would otherwise run on, orphaned, to the end of the export
      let pid: number | null = null
      try {
        return {
          out: await encodeFromFrames(p.framesDir, p.numFrames, {
            out: p.out,
            format: p.format,
            fps: p.fps,
            quality: p.quality,
            loop: p.loop,
            scale: p.scale,
            onSpawn: (child) => {
              pid = child
              port.send({ type: 'event', name: 'engine.child', data: { pid, running: true } })
            },
          }),
        }
      } finally {
        if (pid !== null)
          port.send({ type: 'event', name: 'engine.child', data: { pid, running: false } })
      }
    },
  }

  // Renders: one at a time, reported to main as events (main keeps the job list).
  const runtime = new Runtime({ preferCuda: true })
  const queue = new JobQueue({ runtime, cache: new Map() })
  queue.on('update', (job) => {
    const r = job.result
    port.send({
      type: 'event',
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
            }
          : null,
      },
    })
  })
  queue.on('preview', ({ id, image }) => {
    port.send({
      type: 'event',
      name: 'job.preview',
      data: { id, step: image.step, width: image.width, height: image.height, rgb: image.rgb },
    })
  })

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
