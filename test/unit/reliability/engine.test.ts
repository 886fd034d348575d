// The engine under the real web host: restart and kill -9 with jobs in flight, 100 queued jobs
// with cancels, and ffmpeg killed mid-export. Every job must end (done, cancelled or failed
// with the reason), the engine must come back, and a retry must render.
import { execFileSync } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { JobView, RenderRequest } from '../../../src/shared/contract'
import { engineReady, hostMissing, removeDirs, root, startHost, type Host } from './host'
import { Tally, type Outcome } from './tally'

const tally = new Tally('engine')
const demo = resolve(root, 'resources/demo-model')
let host: Host
beforeAll(async () => {
  if (hostMissing) return
  host = await startHost()
  await engineReady(host)
})
afterAll(async () => {
  tally.report(hostMissing)
  if (host) {
    await host.stop()
    removeDirs(host)
  }
})

const req = (steps: number, frames = 16): RenderRequest => ({
  modelId: demo,
  prompt: 'a lighthouse',
  negativePrompt: '',
  frames,
  steps,
  guidance: 7.5,
  seed: 1,
  fps: 8,
  motion: 0.5,
  camera: { preset: 'orbit-left', speed: 1 },
  plan: 'auto',
})

async function submit(r: RenderRequest): Promise<JobView> {
  const a = await host.call('jobs.submit', r)
  if (!a.ok) throw new Error(a.error!.message)
  return a.value as JobView
}
async function jobs(): Promise<Map<string, JobView>> {
  const r = await host.call('jobs.list')
  if (!r.ok) throw new Error(r.error!.message)
  return new Map((r.value as JobView[]).map((j) => [j.id, j]))
}
/** Polls until `done` holds; false when it never did within the time (stuck). */
async function until(done: () => Promise<boolean>, ms: number): Promise<boolean> {
  const t0 = Date.now()
  while (Date.now() - t0 < ms) {
    if (await done()) return true
    await new Promise((r) => setTimeout(r, 100))
  }
  return false
}
const ended = (j: JobView | undefined) => !!j && j.state !== 'queued' && j.state !== 'running'

/** A retry of a short render finishes. */
async function retryRenders(): Promise<boolean> {
  await engineReady(host)
  const j = await submit(req(2))
  return until(async () => (await jobs()).get(j.id)?.state === 'done', 30_000)
}

describe.skipIf(hostMissing)('jobs in flight when the engine goes', () => {
  for (const how of ['restart', 'kill -9'] as const) {
    it(`${how} during a render: both jobs fail with the reason, and a retry renders`, async () => {
      const a = await submit(req(500))
      const b = await submit(req(500))
      expect(await until(async () => (await jobs()).get(a.id)?.state === 'running', 20_000)).toBe(
        true,
      )
      if (how === 'restart') {
        const r = await host.call('engine.restart', {}, 60_000)
        expect(r.ok).toBe(true)
      } else {
        const pid = ((await host.call('engine.status')).value as { pid: number }).pid
        process.kill(pid, 'SIGKILL')
      }
      const allEnded = await until(async () => {
        const l = await jobs()
        return ended(l.get(a.id)) && ended(l.get(b.id))
      }, 10_000)
      const l = await jobs()
      const [ja, jb] = [l.get(a.id)!, l.get(b.id)!]
      const why = how === 'restart' ? /restarted/ : /SIGKILL/
      const clear =
        ja.state === 'failed' &&
        jb.state === 'failed' &&
        why.test(ja.error!.message) &&
        why.test(jb.error!.message)
      const cancel = await host.call('jobs.cancel', { id: a.id })
      const retried = allEnded && (await retryRenders())
      const outcome: Outcome = !host.alive()
        ? 'crash'
        : !allEnded || !retried
          ? 'stuck'
          : clear
            ? 'clear-error'
            : 'ok'
      tally.record(
        `${how} with a running and a queued job`,
        outcome,
        `${ja.state}: ${ja.error?.message}`,
      )
      expect(outcome).toBe('clear-error')
      expect(cancel).toMatchObject({ ok: true, value: { cancelled: false } })
    })
  }
})

describe.skipIf(hostMissing)('100 queued jobs with cancels', () => {
  it('every job ends: the cancelled ones cancelled, the others done', async () => {
    await engineReady(host)
    const list: JobView[] = []
    for (let i = 0; i < 100; i++) list.push(await submit(req(1, 2)))
    // keep every tenth; cancel the rest, the running one included, newest first
    const cancelled = list.filter((_, i) => i % 10 !== 0).reverse()
    const answers = await Promise.all(cancelled.map((j) => host.call('jobs.cancel', { id: j.id })))
    const allEnded = await until(async () => {
      const l = await jobs()
      return list.every((j) => ended(l.get(j.id)))
    }, 90_000)
    const l = await jobs()
    for (const [i, j] of list.entries()) {
      const now = l.get(j.id)
      const wanted = i % 10 === 0 ? ['done'] : ['cancelled', 'done'] // one may finish first
      const outcome: Outcome = !host.alive()
        ? 'crash'
        : !ended(now)
          ? 'stuck'
          : wanted.includes(now!.state)
            ? 'ok'
            : 'lost'
      tally.record(`queued job ${i}`, outcome, now?.state)
    }
    expect(allEnded).toBe(true)
    expect(answers.every((a) => a.ok)).toBe(true)
    expect(list.filter((_, i) => i % 10 === 0).every((j) => l.get(j.id)?.state === 'done')).toBe(
      true,
    )
    expect(list.filter((j) => l.get(j.id)?.state === 'cancelled').length).toBeGreaterThan(80)
  })
})

describe.skipIf(hostMissing)('ffmpeg killed mid-export', () => {
  it('the export fails with the reason, leaves no file, and the engine carries on', async () => {
    await engineReady(host)
    const j = await submit(req(2))
    expect(await until(async () => (await jobs()).get(j.id)?.state === 'done', 30_000)).toBe(true)
    const enginePid = ((await host.call('engine.status')).value as { pid: number }).pid
    const exporting = host.call(
      'clip.export',
      { jobIds: [j.id], format: 'webm', scale: 4, quality: 0 },
      120_000,
    )
    let killed = false
    await until(async () => {
      let pids: number[] = []
      try {
        pids = execFileSync('pgrep', ['-P', String(enginePid), 'ffmpeg'], { encoding: 'utf8' })
          .trim()
          .split('\n')
          .map(Number)
      } catch {
        return false
      }
      for (const p of pids) process.kill(p, 'SIGKILL')
      killed = pids.length > 0
      return killed
    }, 20_000)
    const r = await exporting
    const dir = join(host.dirs.cache, j.id)
    const leftovers = existsSync(dir) ? readdirSync(dir).filter((f) => /export|tmp/.test(f)) : []
    const outcome: Outcome = !host.alive()
      ? 'crash'
      : !r.ok && /ffmpeg was killed/.test(r.error!.message) && leftovers.length === 0
        ? 'clear-error'
        : leftovers.length
          ? 'lost'
          : 'ok'
    tally.record('ffmpeg killed mid-export', outcome, r.error?.message ?? leftovers.join(','))
    expect(killed).toBe(true)
    expect(outcome).toBe('clear-error')
    expect(await retryRenders()).toBe(true)
  })
})

describe.skipIf(hostMissing)('the engine killed mid-export', () => {
  it('the export fails with the reason, leaves no temp file, and the engine comes back', async () => {
    await engineReady(host)
    const j = await submit(req(2))
    expect(await until(async () => (await jobs()).get(j.id)?.state === 'done', 30_000)).toBe(true)
    const enginePid = ((await host.call('engine.status')).value as { pid: number }).pid
    const exporting = host.call(
      'clip.export',
      { jobIds: [j.id], format: 'webm', scale: 4, quality: 0 },
      120_000,
    )
    // wait until ffmpeg runs (the export is under way), then kill the engine
    const midExport = await until(async () => {
      try {
        execFileSync('pgrep', ['-P', String(enginePid), 'ffmpeg'])
        return true
      } catch {
        return false
      }
    }, 20_000)
    process.kill(enginePid, 'SIGKILL')
    const r = await exporting
    const dir = join(host.dirs.cache, j.id)
    const leftovers = readdirSync(dir).filter((f) => /export|tmp/.test(f))
    // the export's ffmpeg ends with the engine instead of running on, orphaned
    const orphaned = !(await until(async () => {
      try {
        execFileSync('pgrep', ['-f', `${j.id}/frames/frame_`])
        return false
      } catch {
        return true
      }
    }, 5000))
    const outcome: Outcome = !host.alive()
      ? 'crash'
      : orphaned
        ? 'stuck'
        : leftovers.length
          ? 'lost'
          : !r.ok && /the engine exited \(signal SIGKILL\)/.test(r.error!.message)
            ? 'clear-error'
            : 'ok'
    tally.record('engine killed mid-export', outcome, r.error?.message ?? leftovers.join(','))
    expect(midExport).toBe(true)
    expect(outcome).toBe('clear-error')
    expect(await retryRenders()).toBe(true)
  })
})
