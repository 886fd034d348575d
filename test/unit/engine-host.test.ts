// The engine supervisor against the real engine process (forked from source with tsx), and
// its backoff against a fake process that dies at once.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { resolve } from 'node:path'
import { EngineHost, type EngineProcess } from '../../src/main/services/engine-host'
import { forkSpawner } from '../../src/main/services/engine-spawn'
import type { EngineStateName } from '../../src/shared/contract'

const workerSource = resolve(__dirname, '../../src/main/engine/worker.ts')
const spawnReal = () => forkSpawner(workerSource, { execArgv: ['--import', 'tsx'] })

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch {
    return false
  }
}

let host: EngineHost | null = null
afterEach(async () => {
  await host?.stop()
  host = null
})

describe('EngineHost with the real engine process', () => {
  it('starts, reports the CPU provider and onnxruntime version, and stops', async () => {
    host = new EngineHost({
      spawn: spawnReal(),
      queryGpu: async () => ({ gpu: null, reason: 'test: no GPU' }),
    })
    await host.start()
    const s = host.status()
    expect(s.state).toBe('ready')
    expect(s.onnxruntimeVersion).toMatch(/^1\.\d+\.\d+/)
    expect(s.providers.find((p) => p.name === 'cpu')).toEqual({
      name: 'cpu',
      available: true,
      reason: null,
    })
    const cuda = s.providers.find((p) => p.name === 'cuda')
    expect(cuda?.available).toBe(false)
    expect(cuda?.reason).toMatch(/CUDA|cuda/)
    expect(s.gpuReason).toBe('test: no GPU')
    const pid = s.pid!
    expect(alive(pid)).toBe(true)
    expect((await host.request('ping', {})).pid).toBe(pid)
    await host.stop()
    expect(host.status().state).toBe('stopped')
    expect(alive(pid)).toBe(false)
  })

  it('restarts the engine after it is killed and says so in its states', async () => {
    host = new EngineHost({ spawn: spawnReal(), initialBackoffMs: 50 })
    const seen: EngineStateName[] = []
    host.onState((s) => seen.push(s.state))
    await host.start()
    const firstPid = host.status().pid!
    process.kill(firstPid, 'SIGKILL')
    await host.waitFor('crashed', 10_000)
    await host.waitFor('ready', 60_000)
    const s = host.status()
    expect(s.pid).not.toBe(firstPid)
    expect(s.restarts).toBe(1)
    expect(s.lastError).toMatch(/exited unexpectedly \(signal SIGKILL\)/)
    expect(seen).toEqual(['starting', 'ready', 'crashed', 'restarting', 'ready'])
  })

  it('restart() replaces the process without counting a crash', async () => {
    host = new EngineHost({ spawn: spawnReal() })
    await host.start()
    const firstPid = host.status().pid!
    const after = await host.restart()
    expect(after.state).toBe('ready')
    expect(after.pid).not.toBe(firstPid)
    expect(after.restarts).toBe(0)
    await vi.waitFor(() => expect(alive(firstPid)).toBe(false))
  })

  it('refuses requests with engine-unavailable when it is not running', async () => {
    host = new EngineHost({ spawn: spawnReal() })
    await expect(host.request('ping', {})).rejects.toMatchObject({ code: 'engine-unavailable' })
  })
})

class DyingProcess implements EngineProcess {
  static spawned = 0
  readonly pid = 100000 + DyingProcess.spawned
  private exitFns: ((c: number | null, s: string | null) => void)[] = []
  constructor() {
    DyingProcess.spawned++
    setTimeout(() => this.exitFns.forEach((f) => f(1, null)), 0)
  }
  postMessage() {}
  onMessage() {}
  onExit(fn: (c: number | null, s: string | null) => void) {
    this.exitFns.push(fn)
  }
  kill() {}
}

describe('EngineHost backoff', () => {
  it('doubles the delay between restarts of a process that keeps dying, up to the cap', async () => {
    vi.useFakeTimers()
    try {
      DyingProcess.spawned = 0
      host = new EngineHost({
        spawn: () => new DyingProcess(),
        initialBackoffMs: 100,
        maxBackoffMs: 400,
      })
      void host.start().catch(() => undefined)
      await vi.advanceTimersByTimeAsync(1) // first process dies
      expect(DyingProcess.spawned).toBe(1)
      const spawnTimes: number[] = []
      for (let t = 1; t <= 2000; t++) {
        const before = DyingProcess.spawned
        await vi.advanceTimersByTimeAsync(1)
        if (DyingProcess.spawned > before) spawnTimes.push(t)
      }
      const gaps = spawnTimes.map((t, i) => t - (i ? spawnTimes[i - 1]! : 0))
      // 100, 200, 400, then capped at 400 (each gap also includes the 1 ms death).
      expect(gaps.slice(0, 5).map((g) => Math.round(g / 100) * 100)).toEqual([
        100, 200, 400, 400, 400,
      ])
      expect(host.status().restarts).toBeGreaterThanOrEqual(5)
      expect(host.status().state === 'crashed' || host.status().state === 'restarting').toBe(true)
    } finally {
      await host?.stop()
      host = null
      vi.useRealTimers()
    }
  })
})

class LongWindedProcess implements EngineProcess {
  readonly pid = 4242
  private msgFns: ((m: unknown) => void)[] = []
  private exitFns: ((c: number | null, s: string | null) => void)[] = []
  constructor() {
    // a CUDA load error can list every path it tried: far over the contract's 4096
    setTimeout(() => {
      this.msgFns.forEach((f) =>
        f({ type: 'fatal', message: `onnxruntime: ${'/lib/'.repeat(3000)}` }),
      )
    }, 0)
  }
  postMessage() {}
  onMessage(fn: (m: unknown) => void) {
    this.msgFns.push(fn)
  }
  onExit(fn: (c: number | null, s: string | null) => void) {
    this.exitFns.push(fn)
  }
  kill() {
    this.exitFns.forEach((f) => f(null, 'SIGTERM'))
  }
}

describe('EngineHost status', () => {
  it('cuts a long engine error to the contract size so the status still reaches the window', async () => {
    const { EngineStatus } = await import('../../src/shared/contract')
    host = new EngineHost({ spawn: () => new LongWindedProcess(), startTimeoutMs: 60_000 })
    const seen: unknown[] = []
    host.onState((st) => seen.push(st))
    void host.start().catch(() => undefined)
    await vi.waitFor(() => expect(host!.status().lastError).toMatch(/^onnxruntime/))
    const s = host.status()
    expect(s.lastError!.length).toBe(4096)
    expect(EngineStatus.safeParse(s).success).toBe(true)
  })
})
