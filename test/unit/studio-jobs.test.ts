// Main's job list against a stand-in engine: every job the engine held ends when its process
// goes (crash, restart, stop), and an engine report over the contract's sizes is cut, not
// dropped (a dropped update left the job "running" for good).
import { EventEmitter } from 'node:events'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { JobView, type EngineStatus, type RenderRequest } from '../../src/shared/contract'
import type { EngineHost } from '../../src/main/services/engine-host'
import { EngineEvent } from '../../src/main/engine/protocol'
import { ModelRegistry } from '../../src/main/services/model-registry'
import { MAX_WAITING, StudioService } from '../../src/main/services/studio'

const demo = resolve(__dirname, '../../resources/demo-model')
const notBuilt = existsSync(join(demo, 'model_index.json')) ? null : 'the demo model is not built'
const tmp = mkdtempSync(join(tmpdir(), 'dolly-studio-jobs-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** The parts of EngineHost the studio uses, driven by the test. */
class FakeEngine extends EventEmitter {
  state: EngineStatus['state'] = 'ready'
  submitted: string[] = []
  status(): EngineStatus {
    return {
      state: this.state,
      pid: 1,
      providers: [{ name: 'cpu', available: true, reason: null }],
      onnxruntimeVersion: '1.0.0',
      gpu: null,
      gpuReason: 'test',
      restarts: 0,
      lastError:
        this.state === 'crashed' ? 'the engine process exited unexpectedly (signal SIGKILL)' : null,
    }
  }
  onState(fn: (s: EngineStatus) => void) {
    this.on('state', fn)
    return () => this.off('state', fn)
  }
  onEngineEvent(fn: (e: EngineEvent) => void) {
    this.on('engine-event', fn)
    return () => this.off('engine-event', fn)
  }
  async request(method: string, params: { id?: string }) {
    if (method === 'jobs.submit') this.submitted.push(params.id!)
    if (method === 'jobs.cancel') return { cancelled: true }
    return { queued: true }
  }
  setState(state: EngineStatus['state']) {
    this.state = state
    this.emit('state', this.status())
  }
  /** A job update as it reaches main: checked against the engine protocol (as EngineHost does). */
  jobUpdate(data: unknown) {
    const e = EngineEvent.parse({ name: 'job.update', data })
    this.emit('engine-event', e)
  }
}

const request: RenderRequest = {
  modelId: demo,
  prompt: 'a lighthouse',
  negativePrompt: '',
  steps: 2,
  guidance: 7.5,
  seed: 1,
  fps: 8,
  motion: 0.5,
  camera: null,
  plan: 'auto',
}

function studio(name: string) {
  const engine = new FakeEngine()
  const registry = new ModelRegistry(join(tmp, name, 'state'), [demo], () => null)
  const s = new StudioService({
    engine: engine as unknown as EngineHost,
    cacheDir: join(tmp, name, 'cache'),
    registry,
    mediaUrl: (id, f) => `/media/${id}/${f}`,
  })
  const sent: JobView[] = []
  s.on((n, d) => n === 'job.update' && sent.push(d as JobView))
  return { engine, s, sent }
}

describe.skipIf(notBuilt)('jobs the engine held', () => {
  for (const [state, reason] of [
    ['restarting', /the engine was restarted during the render/],
    [
      'crashed',
      /the engine stopped during the render: the engine process exited unexpectedly \(signal SIGKILL\)/,
    ],
  ] as const) {
    it(`all end failed with the reason when the engine is ${state}`, async () => {
      const { engine, s } = studio(state)
      const a = await s.submit(request)
      const b = await s.submit(request)
      engine.jobUpdate({ id: a.id, state: 'running', progress: null, error: null, result: null })
      engine.setState(state)
      const [ja, jb] = [a.id, b.id].map((id) => s.list().find((j) => j.id === id)!)
      expect(ja!.state).toBe('failed')
      expect(ja!.error!.message).toMatch(reason)
      expect(jb!.state).toBe('failed')
      expect(jb!.error!.message).toMatch(/before this job started/)
      expect(ja!.error!.advice).toMatch(/Retry/)
      // nothing is left to cancel, and a retry is a new job that the new engine gets
      expect(await s.cancel(a.id)).toEqual({ cancelled: false })
      engine.setState('ready')
      const retry = await s.submit(ja!.request)
      expect(retry.state).toBe('queued')
      expect(engine.submitted).toContain(retry.id)
    })
  }

  it('cuts an engine error over the contract size instead of dropping the update', async () => {
    const { engine, s, sent } = studio('long-error')
    const a = await s.submit(request)
    engine.jobUpdate({
      id: a.id,
      state: 'running',
      progress: { stage: 'denoise', step: 1, steps: 2, itPerSec: null, etaS: null },
      error: null,
      result: null,
    })
    engine.jobUpdate({
      id: a.id,
      state: 'failed',
      progress: null,
      error: { message: `onnxruntime: ${'x'.repeat(10_000)}`, advice: 'y'.repeat(5000) },
      result: null,
    })
    const job = s.list().find((j) => j.id === a.id)!
    expect(job.state).toBe('failed')
    expect(job.error!.message).toHaveLength(4096)
    expect(job.error!.message.startsWith('onnxruntime: xxx')).toBe(true)
    expect(job.error!.message.endsWith('…')).toBe(true)
    // what reaches the window passes the contract (the host drops events that do not)
    expect(JobView.safeParse(sent.at(-1)).success).toBe(true)
    expect(sent.at(-1)!.state).toBe('failed')
  })

  it('cuts long warnings of a finished job and keeps a bad progress report from dropping it', async () => {
    const { engine, s, sent } = studio('long-warning')
    const a = await s.submit(request)
    engine.jobUpdate({
      id: a.id,
      state: 'done',
      progress: { stage: 'nonsense' },
      error: null,
      result: {
        out: '/x/clip.mp4',
        frames: 2,
        width: 8,
        height: 8,
        fps: 8,
        seed: 1,
        plan: 'resident',
        warnings: ['w'.repeat(9000)],
      },
    })
    const job = s.list().find((j) => j.id === a.id)!
    expect(job.state).toBe('done')
    expect(job.result!.warnings[0]).toHaveLength(4096)
    expect(JobView.safeParse(sent.at(-1)).success).toBe(true)
  })
})

describe.skipIf(notBuilt)('the queue is bounded', () => {
  it(`refuses a render once ${MAX_WAITING} wait, saying so; a cancel makes room`, async () => {
    const { engine, s } = studio('bounded')
    const first = await s.submit(request)
    for (let i = 1; i < MAX_WAITING; i++) await s.submit(request)
    await expect(s.submit(request)).rejects.toThrow(
      new RegExp(`${MAX_WAITING} renders are waiting already \\(at most ${MAX_WAITING}\\)`),
    )
    expect(await s.cancel(first.id)).toEqual({ cancelled: true })
    // the engine reports the cancel
    engine.jobUpdate({
      id: first.id,
      state: 'cancelled',
      progress: null,
      error: null,
      result: null,
    })
    await expect(s.submit(request)).resolves.toMatchObject({ state: 'queued' })
  })
})
