// The web host killed with -9 at injected points: in the middle of saving a project (at each
// step of the atomic write, injected with DOLLY_CRASH_AT) and in the middle of a render. A new
// host on the same folders must open the project (the old or the new version, whole), list
// it, still have the finished renders, hold no job "running", and no engine may be left over.
import { readdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { JobView } from '../../../src/shared/contract'
import { project } from './fixtures'
import { engineReady, hostMissing, removeDirs, root, startHost, type Host } from './host'
import { Tally, type Outcome } from './tally'

const tally = new Tally('host-kill')
const hosts: Host[] = []
afterAll(async () => {
  tally.report(hostMissing)
  for (const h of hosts) await h.stop()
  if (hosts[0]) removeDirs(hosts[0])
})

async function host(dirs?: Host['dirs'], env?: NodeJS.ProcessEnv): Promise<Host> {
  const h = await startHost({ dirs, env })
  hosts.push(h)
  return h
}
const exited = (h: Host) =>
  new Promise<string | null>((ok) => {
    if (!h.alive()) return ok(h.proc.signalCode)
    h.proc.once('exit', (_c, sig) => ok(sig))
  })
const prompt = (v: unknown) =>
  (v as { doc: { shots: { settings: { prompt: string } }[] } }).doc.shots[0]!.settings.prompt

describe.skipIf(hostMissing)('kill -9 of the host while it saves a project', () => {
  for (const [point, expected] of [
    ['atomic-write:temp-written', 'version 1'],
    ['atomic-write:backup-made', 'version 1'],
    ['atomic-write:renamed', 'version 2'],
  ] as const) {
    it(`after ${point.split(':')[1]}: a new host opens the ${expected === 'version 1' ? 'old' : 'new'} project, whole`, async () => {
      const first = await host()
      const v1 = project(3)
      v1.shots[0]!.settings.prompt = 'version 1'
      expect((await first.call('project.save', { name: 'Lighthouse', doc: v1 })).ok).toBe(true)
      await first.stop()
      const dying = await host(first.dirs, { DOLLY_CRASH_AT: point })
      const v2 = project(3)
      v2.shots[0]!.settings.prompt = 'version 2'
      void dying.call('project.save', { name: 'Lighthouse', doc: v2 }, 5000).catch(() => null)
      const signal = await exited(dying)
      const next = await host(first.dirs)
      const opened = await next.call('project.open', { name: 'Lighthouse' })
      const listed = await next.call('project.list')
      const names = listed.ok
        ? (listed.value as { projects: { name: string }[] }).projects.map((p) => p.name)
        : []
      const outcome: Outcome =
        signal !== 'SIGKILL'
          ? 'ok' // the injection did not fire: nothing was tested (fails below)
          : !opened.ok || !names.includes('Lighthouse')
            ? 'lost'
            : prompt(opened.value) === expected
              ? 'ok'
              : 'lost'
      tally.record(
        `host killed after ${point}`,
        outcome,
        opened.ok ? prompt(opened.value) : opened.error?.message,
      )
      expect(signal).toBe('SIGKILL')
      expect(outcome).toBe('ok')
      await next.stop()
    })
  }
})

describe.skipIf(hostMissing)('kill -9 of the host during a render', () => {
  it('a new host has the finished render, no job left running, and no engine left over', async () => {
    const demo = resolve(root, 'resources/demo-model')
    const req = (steps: number) => ({
      modelId: demo,
      prompt: 'a lighthouse',
      negativePrompt: '',
      frames: 16,
      steps,
      guidance: 7.5,
      seed: 1,
      fps: 8,
      motion: 0.5,
      camera: null,
      plan: 'auto',
    })
    const h = await host()
    await engineReady(h)
    const done = (await h.call('jobs.submit', req(2))).value as JobView
    const wait = async (id: string, state: string) => {
      for (let t = 0; t < 300; t++) {
        const l = (await h.call('jobs.list')).value as JobView[]
        if (l.find((j) => j.id === id)?.state === state) return true
        await new Promise((r) => setTimeout(r, 100))
      }
      return false
    }
    expect(await wait(done.id, 'done')).toBe(true)
    const running = (await h.call('jobs.submit', req(500))).value as JobView
    expect(await wait(running.id, 'running')).toBe(true)
    const enginePid = ((await h.call('engine.status')).value as { pid: number }).pid
    h.proc.kill('SIGKILL')
    await exited(h)
    // the engine leaves with its parent
    let orphan = true
    for (let t = 0; t < 50 && orphan; t++) {
      try {
        process.kill(enginePid, 0)
        await new Promise((r) => setTimeout(r, 100))
      } catch {
        orphan = false
      }
    }
    const next = await host(h.dirs)
    const list = (await next.call('jobs.list')).value as JobView[]
    const restored = list.find((j) => j.id === done.id)
    const stale = list.filter((j) => j.state === 'running' || j.state === 'queued')
    await engineReady(next)
    const exported = await next.call('clip.export', { jobIds: [done.id], format: 'gif' }, 60_000)
    const outcome: Outcome = orphan
      ? 'stuck'
      : stale.length
        ? 'stuck'
        : restored?.state !== 'done' || !exported.ok
          ? 'lost'
          : 'ok'
    tally.record(
      'host killed mid-render',
      outcome,
      JSON.stringify({ orphan, stale: stale.length, restored: restored?.state, exported }),
    )
    expect(outcome).toBe('ok')
    // the killed render's folder holds no clip that could pass for a finished one
    expect(readdirSync(resolve(h.dirs.cache, running.id))).not.toContain('clip.mp4')
  })
})
