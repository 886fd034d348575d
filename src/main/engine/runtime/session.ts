// Sessions by path, on the first provider of this platform's order that works (providers.ts:
// CUDA, DirectML or CoreML, then the CPU). When a GPU provider is asked for but cannot be used,
// the session falls back to the next one and the reason is kept for the UI. Inputs are adapted
// from `session.inputMetadata` (timestep dtype and rank, float16 tensors), outputs read back as
// float32. Every session is counted while alive, so tests and the UI can see leaks.
import * as ort from 'onnxruntime-node'
import { float16ToFloat32, float32ToFloat16 } from './fp16'
import {
  defaultProbeEnv,
  providerOrder,
  providerSessionOptions,
  providerUnavailableReason,
  type ProviderName,
} from './providers'

export type { ProviderName }

export type CreateSession = (
  path: string,
  options: ort.InferenceSession.SessionOptions,
) => Promise<ort.InferenceSession>

export type RuntimeOptions = {
  /** Try this platform's GPU providers first (default: true); false runs on the CPU only. */
  preferCuda?: boolean
  /** The providers to try, in order (default: providerOrder(process.platform)). */
  providers?: ProviderName[]
  deviceId?: number
  /** Injected in tests (e.g. to simulate out-of-memory). */
  createSession?: CreateSession
  /** Called around every run(), for fault injection and timing in tests. */
  beforeRun?: (session: ModelSession) => void
  afterRun?: (session: ModelSession) => void
  /** Extra session options (tests turn the CPU arena off to measure memory per call). */
  sessionOptions?: ort.InferenceSession.SessionOptions
}

export class SessionError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, { cause })
    this.name = 'SessionError'
  }
}

/** ORT's messages for allocation failures on CUDA (BFC arena, cudaMalloc), DirectML, CoreML and the CPU. */
export function isOutOfMemoryError(err: unknown): boolean {
  const text = err instanceof Error ? err.message : String(err)
  // case matters for OOM, and only as a word: a path such as "Living Room/clip.mp4" in an
  // ffmpeg error is not one
  return (
    /out of memory|Failed to allocate memory|BFCArena|cudaErrorMemoryAllocation|CUDNN_STATUS_ALLOC_FAILED|bad_alloc|E_OUTOFMEMORY|0x8007000E|DXGI_ERROR_DEVICE_REMOVED|insufficient memory/i.test(
      text,
    ) || /\bOOM\b/.test(text)
  )
}

const LABEL: Record<ProviderName, string> = {
  cuda: 'CUDA',
  dml: 'DirectML',
  coreml: 'CoreML',
  cpu: 'CPU',
}

export class Runtime {
  private live = new Set<ModelSession>()
  /** Providers that failed, with why; they are not tried again. */
  private broken = new Map<ProviderName, string>()
  /** The provider the last session was created on. */
  lastProvider: ProviderName | null = null
  readonly opts: RuntimeOptions

  constructor(opts: RuntimeOptions = {}) {
    this.opts = opts
  }

  /** The providers sessions are tried on, in order (the CPU always last). */
  get providers(): ProviderName[] {
    if (this.opts.preferCuda === false) return ['cpu']
    const order = this.opts.providers ?? providerOrder()
    return [...order.filter((p) => p !== 'cpu'), 'cpu']
  }

  /** Sessions created and not yet released. */
  get liveSessions(): number {
    return this.live.size
  }

  get liveLabels(): string[] {
    return [...this.live].map((s) => s.label)
  }

  /** Why the last session runs on a later provider than the first one asked for (null when the first worked or only the CPU was asked for). */
  get providerFallbackReason(): string | null {
    const skipped = this.providers.filter((p) => p !== this.lastProvider && this.broken.has(p))
    if (!skipped.length) return null
    const on =
      !this.lastProvider || this.lastProvider === 'cpu' ? 'the CPU' : LABEL[this.lastProvider]
    return skipped
      .map((p) => `${LABEL[p]} unavailable, running on ${on}: ${this.broken.get(p)}`)
      .join('; ')
  }

  /** A session on the first provider that works; with `cpuOnly`, on the CPU whatever the order. */
  async load(path: string, label: string, opts: { cpuOnly?: boolean } = {}): Promise<ModelSession> {
    const create: CreateSession =
      this.opts.createSession ?? ((p, o) => ort.InferenceSession.create(p, o))
    const base: ort.InferenceSession.SessionOptions = {
      graphOptimizationLevel: 'all',
      ...this.opts.sessionOptions,
    }
    for (const provider of opts.cpuOnly ? (['cpu'] as const) : this.providers) {
      if (this.broken.has(provider)) continue
      if (provider !== 'cpu' && !this.opts.createSession) {
        const missing = providerUnavailableReason(provider, defaultProbeEnv())
        if (missing) {
          this.broken.set(provider, missing)
          continue
        }
      }
      const o = providerSessionOptions(provider, this.opts.deviceId ?? 0)
      let session: ort.InferenceSession
      try {
        session = await create(path, {
          ...base,
          ...o,
          extra: { ...(base.extra ?? {}), ...(o.extra ?? {}) },
        })
      } catch (err) {
        if (isOutOfMemoryError(err))
          throw new SessionError(
            `${label}: out of memory loading ${path} on ${LABEL[provider]}`,
            err,
          )
        if (provider === 'cpu')
          throw new SessionError(`${label}: ${path} could not be loaded: ${firstLine(err)}`, err)
        this.broken.set(provider, firstLine(err))
        continue
      }
      const s = new ModelSession(this, session, path, label, provider)
      // a session put on the CPU on purpose (minimal's text encoder) says nothing of the provider
      if (!opts.cpuOnly) this.lastProvider = provider
      this.live.add(s)
      return s
    }
    throw new SessionError(`${label}: no execution provider could load ${path}`)
  }

  /** @internal */
  forget(s: ModelSession): void {
    this.live.delete(s)
  }

  async releaseAll(): Promise<void> {
    await Promise.all([...this.live].map((s) => s.release()))
  }
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.split('\n')[0]!.slice(0, 500)
}

type Meta = { name: string; type: ort.Tensor.Type; shape: readonly (number | string)[] }

export class ModelSession {
  private released = false
  readonly inputs: Map<string, Meta>
  readonly outputNames: readonly string[]

  constructor(
    private readonly runtime: Runtime,
    private readonly session: ort.InferenceSession,
    readonly path: string,
    readonly label: string,
    readonly provider: ProviderName,
  ) {
    this.inputs = new Map()
    for (const m of session.inputMetadata) {
      if (m.isTensor) this.inputs.set(m.name, { name: m.name, type: m.type, shape: m.shape })
    }
    this.outputNames = session.outputNames
  }

  get isReleased(): boolean {
    return this.released
  }

  meta(name: string): Meta {
    const m = this.inputs.get(name)
    if (!m)
      throw new SessionError(
        `${this.label}: ${this.path} has no input "${name}" (it has ${[...this.inputs.keys()].join(', ')})`,
      )
    return m
  }

  has(name: string): boolean {
    return this.inputs.has(name)
  }

  /** Whether `timestep` takes whole numbers only, so a fractional `t` would be rounded. */
  roundsTimestep(name: string, t: number): boolean {
    const type = this.meta(name).type
    return (type === 'int64' || type === 'int32') && !Number.isInteger(t)
  }

  /** A float input in the dtype the model declares (float16 inputs are converted). */
  floatInput(name: string, data: Float32Array, dims: readonly number[]): ort.Tensor {
    const m = this.meta(name)
    if (m.type === 'float16') return new ort.Tensor('float16', float32ToFloat16(data), dims)
    if (m.type === 'float32') return new ort.Tensor('float32', data, dims)
    throw new SessionError(`${this.label}: input "${name}" is ${m.type}, not a float input`)
  }

  /** Integer ids in the dtype the model declares (int64 or int32). */
  intInput(name: string, values: ArrayLike<number>, dims: readonly number[]): ort.Tensor {
    const m = this.meta(name)
    if (m.type === 'int64')
      return new ort.Tensor(
        'int64',
        BigInt64Array.from(Array.from(values), (v) => BigInt(v)),
        dims,
      )
    if (m.type === 'int32')
      return new ort.Tensor('int32', Int32Array.from(Array.from(values)), dims)
    if (m.type === 'float32' || m.type === 'float16')
      return this.floatInput(name, Float32Array.from(Array.from(values)), dims)
    throw new SessionError(`${this.label}: input "${name}" is ${m.type}; expected an integer input`)
  }

  /**
   * The timestep as the model declares it: dtype int64/int32/float32/float16 and rank
   * scalar, [1], or [batch] (one copy per batch item).
   */
  timestep(name: string, t: number, batch: number): ort.Tensor {
    const m = this.meta(name)
    let dims: number[]
    if (m.shape.length === 0) dims = []
    else if (m.shape[0] === 1) dims = [1]
    else dims = [batch]
    const n = dims.length ? dims[0]! : 1
    const vals = new Array<number>(n).fill(t)
    switch (m.type) {
      case 'int64':
        return new ort.Tensor(
          'int64',
          BigInt64Array.from(vals, (v) => BigInt(Math.round(v))),
          dims,
        )
      case 'int32':
        return new ort.Tensor(
          'int32',
          Int32Array.from(vals, (v) => Math.round(v)),
          dims,
        )
      case 'float32':
        return new ort.Tensor('float32', Float32Array.from(vals), dims)
      case 'float16':
        return new ort.Tensor('float16', float32ToFloat16(vals), dims)
      default:
        throw new SessionError(
          `${this.label}: timestep input "${name}" is ${m.type}; expected int64, int32, float32 or float16`,
        )
    }
  }

  async run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>> {
    if (this.released) throw new SessionError(`${this.label}: session used after release`)
    this.runtime.opts.beforeRun?.(this)
    try {
      return await this.session.run(feeds)
    } catch (err) {
      throw new SessionError(`${this.label}: ${firstLine(err)}`, err)
    } finally {
      this.runtime.opts.afterRun?.(this)
    }
  }

  /** Runs and returns the first output as float32 (float16 outputs are converted). */
  async runFirst(
    feeds: Record<string, ort.Tensor>,
  ): Promise<{ data: Float32Array; dims: number[] }> {
    const out = await this.run(feeds)
    const t = out[this.outputNames[0]!]!
    return { data: toFloat32(t, this.label), dims: [...t.dims] }
  }

  async release(): Promise<void> {
    if (this.released) return
    this.released = true
    this.runtime.forget(this)
    await this.session.release()
  }
}

export function toFloat32(t: ort.Tensor, what: string): Float32Array {
  if (t.type === 'float32') return t.data as Float32Array
  if (t.type === 'float16') {
    const d = t.data as unknown
    // onnxruntime-node 1.30 returns float16 as Uint16Array (Float16Array where the runtime has it)
    if (d instanceof Uint16Array) return float16ToFloat32(d)
    return Float32Array.from(d as ArrayLike<number>)
  }
  throw new SessionError(`${what}: output is ${t.type}; expected float32 or float16`)
}
