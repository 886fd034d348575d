// Main's side of the engine: starts the engine process, talks to it, restarts it with backoff
// when it dies (a CUDA fault must not take the window or the project with it), and stops it
// on quit. How the process is spawned is injected: Electron's utilityProcess in the app,
// child_process.fork in the web host, the CLI and tests.
import { EventEmitter } from 'node:events'
import type { EngineStateName, EngineStatus, ExecutionProvider } from '../../shared/contract'
import { clampText, HandlerError } from './dispatch'
import {
  engineResults,
  type EngineEvent,
  FromEngine,
  type EngineMethod,
  type EngineParams,
  type EngineResult,
  type ToEngine,
} from '../engine/protocol'
import type { GpuQuery } from './gpu'

export interface EngineProcess {
  readonly pid: number | undefined
  postMessage(msg: ToEngine): void
  onMessage(fn: (msg: unknown) => void): void
  onExit(fn: (code: number | null, signal: string | null) => void): void
  kill(): void
}
export type SpawnEngine = () => EngineProcess

export type EngineHostOptions = {
  spawn: SpawnEngine
  queryGpu?: () => Promise<GpuQuery>
  /** First restart delay; doubles per consecutive crash up to `maxBackoffMs`. */
  initialBackoffMs?: number
  maxBackoffMs?: number
  /** How long a process may take from spawn to answering `describe`. */
  startTimeoutMs?: number
  /** A process that stayed up this long resets the backoff when it dies. */
  stableAfterMs?: number
}

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }

export class EngineHost {
  private readonly opts: Required<Omit<EngineHostOptions, 'queryGpu'>> &
    Pick<EngineHostOptions, 'queryGpu'>
  private readonly emitter = new EventEmitter()
  private proc: EngineProcess | null = null
  private state: EngineStateName = 'stopped'
  private providers: ExecutionProvider[] = []
  private ortVersion: string | null = null
  private pid: number | null = null
  private gpu: GpuQuery = { gpu: null, reason: 'not queried yet' }
  private restarts = 0
  private consecutiveCrashes = 0
  private lastError: string | null = null
  private readySince = 0
  private nextId = 1
  private pending = new Map<number, Pending>()
  private restartTimer: NodeJS.Timeout | null = null
  private stopping = false
  /** Resolves when the current launch reaches ready (or fails). */
  private launching: Promise<void> | null = null

  constructor(options: EngineHostOptions) {
    this.opts = {
      initialBackoffMs: 500,
      maxBackoffMs: 30_000,
      startTimeoutMs: 60_000,
      stableAfterMs: 30_000,
      ...options,
    }
  }

  /** Events the engine sends (job updates, previews), checked against the engine protocol. */
  onEngineEvent(fn: (event: EngineEvent) => void): () => void {
    this.emitter.on('engine-event', fn)
    return () => this.emitter.off('engine-event', fn)
  }

  onState(fn: (s: EngineStatus) => void): () => void {
    this.emitter.on('state', fn)
    return () => this.emitter.off('state', fn)
  }

  status(): EngineStatus {
    // cut to the contract's sizes: a status that broke it would be dropped, not shown
    const cut = (t: string | null) => (t === null ? null : clampText(t))
    return {
      state: this.state,
      pid: this.pid,
      providers: this.providers.map((p) => ({ ...p, reason: cut(p.reason) })),
      onnxruntimeVersion: this.ortVersion === null ? null : clampText(this.ortVersion, 64),
      gpu: this.gpu.gpu,
      gpuReason: cut(this.gpu.reason),
      restarts: this.restarts,
      lastError: cut(this.lastError),
    }
  }

  /** Status with fresh GPU figures (free VRAM changes as other programs run). */
  async refreshStatus(): Promise<EngineStatus> {
    await this.refreshGpu()
    return this.status()
  }

  /** Starts the engine; resolves when it is ready, rejects if this first launch fails. */
  async start(): Promise<void> {
    this.stopping = false
    await this.refreshGpu()
    await this.launch('starting')
  }

  /** User-requested restart: stop the running process (if any) and start a new one. */
  async restart(): Promise<EngineStatus> {
    this.stopping = false
    this.clearRestartTimer()
    this.consecutiveCrashes = 0
    const old = this.proc
    this.proc = null
    if (old) {
      this.failPending('the engine is restarting')
      old.kill()
    }
    await this.launch('restarting').catch(() => undefined)
    return this.status()
  }

  async stop(): Promise<void> {
    this.stopping = true
    this.clearRestartTimer()
    const proc = this.proc
    this.proc = null
    this.failPending('the engine is stopping')
    if (proc) {
      const exited = new Promise<void>((resolve) => proc.onExit(() => resolve()))
      try {
        proc.postMessage({ type: 'shutdown' })
      } catch {
        // the channel may already be closed
      }
      const timer = setTimeout(() => proc.kill(), 2000)
      await exited
      clearTimeout(timer)
    }
    this.pid = null
    this.setState('stopped')
  }

  async request<M extends EngineMethod>(
    method: M,
    params: EngineParams<M>,
    timeoutMs = 30_000,
  ): Promise<EngineResult<M>> {
    const proc = this.proc
    if (!proc || (this.state !== 'ready' && method !== 'describe')) {
      throw new HandlerError(
        'engine-unavailable',
        `the engine is ${this.state}; try again when it is ready`,
      )
    }
    const id = this.nextId++
    const raw = await new Promise<unknown>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id)
        reject(
          new HandlerError(
            'engine-unavailable',
            `the engine did not answer "${method}" within ${timeoutMs} ms`,
          ),
        )
      }, timeoutMs)
      this.pending.set(id, { resolve, reject, timer })
      proc.postMessage({ type: 'request', id, method, params })
    })
    return engineResults[method].parse(raw)
  }

  // ------------------------------------------------------------------------------------------

  private setState(state: EngineStateName): void {
    this.state = state
    this.emitter.emit('state', this.status())
  }

  private async refreshGpu(): Promise<void> {
    if (this.opts.queryGpu) this.gpu = await this.opts.queryGpu()
    else this.gpu = { gpu: null, reason: 'GPU query disabled' }
  }

  private clearRestartTimer(): void {
    if (this.restartTimer) clearTimeout(this.restartTimer)
    this.restartTimer = null
  }

  private failPending(reason: string): void {
    for (const [id, p] of this.pending) {
      clearTimeout(p.timer)
      p.reject(new HandlerError('engine-unavailable', reason))
      this.pending.delete(id)
    }
  }

  private launch(state: 'starting' | 'restarting'): Promise<void> {
    this.setState(state)
    const proc = this.opts.spawn()
    this.proc = proc
    this.pid = proc.pid ?? null
    this.providers = []

    /** Processes the engine started that would outlive it (their pids, while they run). */
    const children = new Set<number>()
    const launched = new Promise<void>((resolve, reject) => {
      let settled = false
      const settle = (err?: Error) => {
        if (settled) return
        settled = true
        clearTimeout(timer)
        if (err) reject(err)
        else resolve()
      }
      const timer = setTimeout(() => {
        settle(new Error(`the engine did not start within ${this.opts.startTimeoutMs} ms`))
        if (this.proc === proc) proc.kill()
      }, this.opts.startTimeoutMs)

      proc.onMessage((raw) => {
        const parsed = FromEngine.safeParse(raw)
        if (!parsed.success || this.proc !== proc) return
        const msg = parsed.data
        if (msg.type === 'hello') {
          this.pid = msg.pid
          this.request('describe', {}, this.opts.startTimeoutMs)
            .then((d) => {
              if (this.proc !== proc) return
              this.providers = d.providers
              this.ortVersion = d.onnxruntimeVersion
              this.readySince = Date.now()
              this.setState('ready')
              settle()
            })
            .catch((e: Error) => settle(e))
        } else if (msg.type === 'response') {
          const p = this.pending.get(msg.id)
          if (!p) return
          this.pending.delete(msg.id)
          clearTimeout(p.timer)
          if (msg.ok) p.resolve(msg.result)
          else p.reject(new Error(msg.error ?? 'engine error'))
        } else if (msg.type === 'fatal') {
          this.lastError = msg.message
        } else if (msg.type === 'event' && msg.event.name === 'engine.child') {
          const d = msg.event.data
          if (d.running) children.add(d.pid)
          else children.delete(d.pid)
        } else if (msg.type === 'event') {
          this.emitter.emit('engine-event', msg.event)
        }
      })

      proc.onExit((code, signal) => {
        // helpers the engine was running (an export's ffmpeg) end with it, however it ended
        for (const pid of children) {
          try {
            process.kill(pid, 'SIGKILL')
          } catch {
            // already gone
          }
        }
        children.clear()
        const why = signal ? `signal ${signal}` : `exit code ${code}`
        settle(new Error(this.lastError ?? `the engine exited (${why}) before it was ready`))
        if (this.proc !== proc) return // an old process we replaced on purpose
        this.proc = null
        this.pid = null
        this.failPending(`the engine exited (${why})`)
        if (this.stopping) return
        this.onCrash(`the engine process exited unexpectedly (${why})`)
      })
    })
    this.launching = launched
    return launched
  }

  private onCrash(reason: string): void {
    const wasStable = this.readySince > 0 && Date.now() - this.readySince >= this.opts.stableAfterMs
    this.readySince = 0
    if (wasStable) this.consecutiveCrashes = 0
    this.restarts++
    this.lastError = reason
    this.setState('crashed')
    const delay = Math.min(
      this.opts.initialBackoffMs * 2 ** this.consecutiveCrashes,
      this.opts.maxBackoffMs,
    )
    this.consecutiveCrashes++
    this.clearRestartTimer()
    this.restartTimer = setTimeout(() => {
      this.restartTimer = null
      if (this.stopping) return
      this.launch('restarting').catch(() => undefined) // a failed launch exits and lands here again
    }, delay)
  }

  /** For tests: waits until the engine is in `state`. */
  waitFor(state: EngineStateName, timeoutMs = 30_000): Promise<EngineStatus> {
    if (this.state === state) return Promise.resolve(this.status())
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off()
        reject(
          new Error(`engine did not reach "${state}" within ${timeoutMs} ms (now ${this.state})`),
        )
      }, timeoutMs)
      const off = this.onState((s) => {
        if (s.state === state) {
          clearTimeout(timer)
          off()
          resolve(s)
        }
      })
    })
  }
}
