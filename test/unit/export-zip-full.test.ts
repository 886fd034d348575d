// The web host's PNG export goes to the browser as one ZIP. When the ZIP cannot be written (a
// full disk) the export used to fail with Node's bare "ENOSPC: no space left on device, write"
// and leave the whole folder of exported frames in the render cache for an hour.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import type { EngineHost } from '../../src/main/services/engine-host'
import { ModelRegistry } from '../../src/main/services/model-registry'
import { StudioService } from '../../src/main/services/studio'
import { writeDoneJob } from '../fixtures/jobs'

vi.mock('../../src/main/services/zip', () => ({
  writeStoredZip: () => {
    throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' })
  },
}))

const tmp = mkdtempSync(join(tmpdir(), 'dolly-export-zip-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('a PNG export whose ZIP cannot be written', () => {
  it('says the disk is full and removes the exported frames', async () => {
    const cache = join(tmp, 'cache')
    const id = '00000001-0000-4000-8000-000000000000'
    mkdirSync(join(cache, id, 'frames'), { recursive: true })
    for (let f = 0; f < 4; f++)
      writeFileSync(join(cache, id, 'frames', `frame_${String(f).padStart(4, '0')}.png`), 'png')
    writeDoneJob(cache, id, { frames: 4, createdAt: 1 })
    const engine = {
      onEngineEvent: () => () => undefined,
      onState: () => () => undefined,
      // the engine's export: the frames folder at `out`
      request: async (_m: string, p: { out: string }) => {
        mkdirSync(p.out)
        for (let f = 0; f < 4; f++)
          writeFileSync(join(p.out, `frame_${String(f).padStart(4, '0')}.png`), 'png')
        return { out: p.out }
      },
    }
    const studio = new StudioService({
      engine: engine as unknown as EngineHost,
      cacheDir: cache,
      registry: new ModelRegistry(join(tmp, 'state'), [], () => null),
      mediaUrl: (j, f) => `/media/${j}/${f}`,
    })
    const r = studio.exportClip({ jobIds: [id], format: 'png', quality: 30, loop: 0, scale: 1 })
    await expect(r).rejects.toThrow(/disk is full/)
    expect(readdirSync(join(cache, id)).filter((f) => /export/.test(f))).toEqual([])
  })
})
