// One bad entry must not break a list for good: a model folder at a 571-character path (saved
// by models.add) failed every models.list, across restarts, so it could not even be removed;
// over 1000 cached renders failed every jobs.list. (project.list: projects-recovery.test.ts.)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { commands } from '../../src/shared/contract'
import type { EngineHost } from '../../src/main/services/engine-host'
import { ModelRegistry } from '../../src/main/services/model-registry'
import { StudioService } from '../../src/main/services/studio'
import { writeDoneJob } from '../fixtures/jobs'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-lists-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('models.list with a folder at a 571-character path', () => {
  const longDir = join(tmp, ...Array.from({ length: 9 }, (_, i) => `${i}-${'m'.repeat(60)}`))
  function stored(): string {
    const state = join(tmp, 'state-long')
    mkdirSync(longDir, { recursive: true })
    mkdirSync(state, { recursive: true })
    // as an older studio saved it (models.add took paths up to 4096 characters)
    writeFileSync(join(state, 'models.json'), JSON.stringify({ paths: [longDir], defaultId: null }))
    return state
  }

  it('still lists, shows the entry with the reason, and lets it be removed', () => {
    expect(longDir.length).toBeGreaterThan(571)
    const state = stored()
    const registry = new ModelRegistry(state, [], () => null)
    const list = registry.list()
    expect(commands['models.list'].response.safeParse(list).success).toBe(true)
    expect(list).toHaveLength(1)
    const entry = list[0]!
    expect(entry.error).toMatch(
      new RegExp(
        `the folder's path is ${longDir.length} characters; the studio takes paths up to 512`,
      ),
    )
    expect(entry.removable).toBe(true)
    expect(entry.id.length).toBeLessThanOrEqual(512)
    // the id it shows is one models.remove takes, and the removal sticks across a restart
    expect(registry.remove(entry.id)).toEqual({ removed: true })
    expect(new ModelRegistry(state, [], () => null).list()).toEqual([])
  })

  it('models.add refuses such a path with the length and the limit', () => {
    const registry = new ModelRegistry(join(tmp, 'state-add'), [], () => null)
    expect(() => registry.add(longDir)).toThrow(
      /the folder's path is \d{3} characters; the studio takes model folders with paths up to 512/,
    )
  })
})

describe('jobs.list with over 1000 cached renders', () => {
  it('lists the newest 1000, valid for the contract; the older ones stay reachable', async () => {
    const cache = join(tmp, 'cache')
    const ids: string[] = []
    for (let i = 0; i < 1100; i++) {
      const id = `${String(i).padStart(8, '0')}-0000-4000-8000-000000000000`
      ids.push(id)
      writeDoneJob(cache, id, { frames: 2, createdAt: 1_000_000 + i })
    }
    const engine = { onEngineEvent: () => () => undefined, onState: () => () => undefined }
    const studio = new StudioService({
      engine: engine as unknown as EngineHost,
      cacheDir: cache,
      registry: new ModelRegistry(join(tmp, 'state-jobs'), [], () => null),
      mediaUrl: (id, f) => `/media/${id}/${f}`,
    })
    const list = studio.list()
    expect(commands['jobs.list'].response.safeParse(list).success).toBe(true)
    expect(list).toHaveLength(1000)
    expect(list[0]!.id).toBe(ids[100])
    expect(list.at(-1)!.id).toBe(ids[1099])
    // a project's shot can name an older render: jobs.get finds it by id (unknown ids left out)
    const got = studio.get([ids[0]!, ids[1099]!, 'no-such-job', ids[0]!])
    expect(got.map((j) => j.id)).toEqual([ids[0], ids[1099]])
    expect(commands['jobs.get'].response.safeParse(got).success).toBe(true)
    // an older render is still there for export (its frames are gone here, which it says)
    await expect(
      studio.exportClip({ jobIds: [ids[0]!], format: 'mp4', quality: 30, loop: 0, scale: 1 }),
    ).rejects.toThrow(/the frames of job 00000000-.* are no longer in the cache/)
  })
})
