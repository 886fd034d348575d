// Export all joins the shots' frames into one clip at one frame rate: shots rendered at other
// rates would play at the wrong speed. The dialog said so, but main took such a request from
// any page and joined them; main refuses it, naming the shots, as it does shots of two sizes.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import type { EngineHost } from '../../src/main/services/engine-host'
import { ModelRegistry } from '../../src/main/services/model-registry'
import { StudioService } from '../../src/main/services/studio'
import { writeDoneJob } from '../fixtures/jobs'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-export-rates-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('Export all across shots', () => {
  it('refuses shots rendered at different frame rates, naming them, before the engine works', async () => {
    const cache = join(tmp, 'cache')
    const ids = ['00000001-0000-4000-8000-000000000000', '00000002-0000-4000-8000-000000000000']
    ids.forEach((id, i) => {
      mkdirSync(join(cache, id, 'frames'), { recursive: true })
      for (let f = 0; f < 4; f++)
        writeFileSync(join(cache, id, 'frames', `frame_${String(f).padStart(4, '0')}.png`), 'png')
      writeDoneJob(cache, id, { frames: 4, fps: i === 0 ? 8 : 16, createdAt: i + 1 })
    })
    const request = vi.fn(async () => ({ out: '' }))
    const engine = {
      onEngineEvent: () => () => undefined,
      onState: () => () => undefined,
      request,
    }
    const studio = new StudioService({
      engine: engine as unknown as EngineHost,
      cacheDir: cache,
      registry: new ModelRegistry(join(tmp, 'state'), [], () => null),
      mediaUrl: (j, f) => `/media/${j}/${f}`,
    })
    const r = studio.exportClip({ jobIds: ids, format: 'mp4', quality: 30, loop: 0, scale: 1 })
    await expect(r).rejects.toThrow(
      /shot 2 \(job 00000002-[^)]*\) plays at 16 fps but shot 1 \(job 00000001-[^)]*\) at 8 fps/,
    )
    expect(request).not.toHaveBeenCalled()
  })
})
