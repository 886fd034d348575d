// The job queue with a stand-in render (timing is what is tested here; renderClip itself is
// tested end to end in cli.test.ts).
import { describe, expect, it } from 'vitest'
import {
  JobQueue,
  ModelFolderError,
  Runtime,
  type JobInfo,
  type RenderSpec,
} from '../../../src/main/engine'
import type { renderClip } from '../../../src/main/engine/jobs/render'

const spec = (name: string): RenderSpec => ({ model: name, prompt: name, out: `/tmp/${name}.mp4` })

function fakeRender(log: string[], opts: { failOn?: string } = {}): typeof renderClip {
  return async (s, _ctx, hooks = {}) => {
    log.push(`start ${s.model}`)
    for (let i = 1; i <= 5; i++) {
      await new Promise((r) => setTimeout(r, 5))
      if (hooks.signal?.aborted) {
        log.push(`cancelled ${s.model}`)
        throw new Error('cancelled')
      }
      if (opts.failOn === s.model && i === 2)
        throw new ModelFolderError(`${s.model}/unet/model.onnx: missing`)
      hooks.onProgress?.({
        stage: 'denoise',
        step: i,
        steps: 5,
        itPerSec: 100,
        etaS: (5 - i) / 100,
      })
    }
    log.push(`end ${s.model}`)
    return { out: s.out } as never
  }
}

describe('JobQueue', () => {
  it('runs one job at a time, in order', async () => {
    const log: string[] = []
    const q = new JobQueue({ runtime: new Runtime({ preferCuda: false }) }, fakeRender(log))
    q.submit(spec('a'))
    q.submit(spec('b'))
    q.submit(spec('c'))
    await q.idle()
    expect(log).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c'])
    expect(q.list().map((j) => j.state)).toEqual(['done', 'done', 'done'])
  })

  it('cancels a queued job before it starts and a running one mid-way', async () => {
    const log: string[] = []
    const q = new JobQueue({ runtime: new Runtime({ preferCuda: false }) }, fakeRender(log))
    const updates: JobInfo[] = []
    q.on('update', (j) => updates.push(j))
    const a = q.submit(spec('a'))
    const b = q.submit(spec('b'))
    q.on('update', (j) => {
      if (j.id === a.id && j.progress?.step === 2) q.cancel(a.id)
    })
    expect(q.cancel(b.id)).toBe(true)
    await q.idle()
    expect(log).toEqual(['start a', 'cancelled a'])
    expect(q.get(a.id)!.state).toBe('cancelled')
    expect(q.get(b.id)!.state).toBe('cancelled')
    expect(q.cancel(a.id)).toBe(false)
    expect(updates.some((u) => u.progress?.itPerSec === 100)).toBe(true)
  })

  it('reports a failure with its message and advice, then goes on', async () => {
    const log: string[] = []
    const q = new JobQueue(
      { runtime: new Runtime({ preferCuda: false }) },
      fakeRender(log, { failOn: 'a' }),
    )
    const a = q.submit(spec('a'))
    const b = q.submit(spec('b'))
    await q.idle()
    expect(q.get(a.id)!.state).toBe('failed')
    expect(q.get(a.id)!.error!.message).toMatch(/unet\/model\.onnx: missing/)
    expect(q.get(a.id)!.error!.advice).toMatch(/Check the model folder/)
    expect(q.get(b.id)!.state).toBe('done')
  })
})
