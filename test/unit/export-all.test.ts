// "Export all" with a frame missing from the cache: it used to leak its joined-frames folder
// and show a raw ENOENT. Now it names the shot and the frame, and leaves nothing behind.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { execFileSync } from 'node:child_process'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { EngineHost } from '../../src/main/services/engine-host'
import { ModelRegistry } from '../../src/main/services/model-registry'
import { writeDoneJob } from '../fixtures/jobs'
import { EXPORT_KEEP_MS, StudioService } from '../../src/main/services/studio'
import { exportFrames } from '../../src/main/engine/media/export'
import { findFfmpeg } from '../../src/main/engine/media/ffmpeg'
import { loadImage } from '../../src/main/engine/media/image'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-export-all-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function setup(name: string) {
  const cache = join(tmp, name)
  const ids = [1, 2].map((i) => `0000000${i}-0000-4000-8000-000000000000`)
  for (const [i, id] of ids.entries()) {
    mkdirSync(join(cache, id, 'frames'), { recursive: true })
    for (let f = 0; f < 16; f++)
      writeFileSync(join(cache, id, 'frames', `frame_${String(f).padStart(4, '0')}.png`), 'png')
    writeDoneJob(cache, id, { frames: 16, createdAt: 1000 + i })
  }
  const requests: string[] = []
  const engine = {
    onEngineEvent: () => () => undefined,
    onState: () => () => undefined,
    request: async (m: string) => {
      requests.push(m)
      return { out: 'x' }
    },
  }
  const studio = new StudioService({
    engine: engine as unknown as EngineHost,
    cacheDir: cache,
    registry: new ModelRegistry(join(tmp, `${name}-state`), [], () => null),
    mediaUrl: (id, f) => `/media/${id}/${f}`,
  })
  const exportAll = () =>
    studio.exportClip({ jobIds: ids, format: 'mp4', quality: 30, loop: 0, scale: 1 })
  return { cache, ids, requests, exportAll }
}

describe('Export all with a frame missing', () => {
  it('names the shot and the frame, and leaves no joined folder', async () => {
    const { cache, ids, requests, exportAll } = setup('missing')
    rmSync(join(cache, ids[1]!, 'frames', 'frame_0007.png'))
    await expect(exportAll()).rejects.toThrow(
      /^shot 2 \(job 00000002-.*\): frame 7 \(frame_0007\.png\) is missing from the cache; render that shot again, then export$/,
    )
    expect(readdirSync(join(cache, ids[0]!)).filter((f) => f.startsWith('joined-'))).toEqual([])
    expect(requests).toEqual([])
  })

  it('a frame that cannot be gathered also leaves no joined folder', async () => {
    const { cache, ids, requests, exportAll } = setup('unreadable')
    const f = join(cache, ids[1]!, 'frames', 'frame_0003.png')
    rmSync(f)
    mkdirSync(f) // in the list by name, but not a file: neither linked nor copied
    await expect(exportAll()).rejects.toThrow(
      /^shot 2 \(job .*\): frame 3 could not be gathered for the export \(E[A-Z]+\)$/,
    )
    expect(readdirSync(join(cache, ids[0]!)).filter((n) => n.startsWith('joined-'))).toEqual([])
    expect(requests).toEqual([])
  })

  it('with every frame there, the engine gets one joined sequence', async () => {
    const { cache, ids, requests, exportAll } = setup('whole')
    await exportAll()
    expect(requests).toEqual(['clip.export'])
    expect(readdirSync(join(cache, ids[0]!)).filter((n) => n.startsWith('joined-'))).toEqual([])
  })
})

describe("the web host's exports in the render cache", () => {
  it('a new export removes those older than an hour, and nothing else', async () => {
    const { cache, ids, requests, exportAll } = setup('sweep')
    const old = join(cache, ids[0]!, 'export-7.mp4')
    const recent = join(cache, ids[1]!, 'export-8.gif')
    // a PNG export's zip (the largest kind) and a joined sequence a crash left behind
    const oldZip = join(cache, ids[0]!, 'export-5.zip')
    const oldJoined = join(cache, ids[1]!, 'joined-6')
    writeFileSync(old, 'x')
    writeFileSync(recent, 'x')
    writeFileSync(oldZip, 'x')
    mkdirSync(oldJoined)
    writeFileSync(join(oldJoined, 'frame_0000.png'), 'x')
    const hourAndMinuteAgo = (Date.now() - EXPORT_KEEP_MS - 60_000) / 1000
    for (const p of [old, oldZip, oldJoined]) utimesSync(p, hourAndMinuteAgo, hourAndMinuteAgo)
    await exportAll()
    expect(requests).toContain('clip.export')
    expect(existsSync(old)).toBe(false)
    expect(existsSync(oldZip)).toBe(false)
    expect(existsSync(oldJoined)).toBe(false)
    expect(existsSync(recent)).toBe(true)
    // the render itself and its frames stay
    expect(existsSync(join(cache, ids[0]!, 'clip.mp4'))).toBe(true)
    expect(readdirSync(join(cache, ids[0]!, 'frames'))).toHaveLength(16)
  })
})

describe('Export all with in-betweens (a cut is a cut)', () => {
  it('interpolates each shot on its own: no frame blends the last of one shot into the first of the next', async () => {
    const cache = join(tmp, 'cut')
    const ffmpeg = findFfmpeg().path
    const ids = [1, 2].map((i) => `0000000${i}-0000-4000-8000-0000000000cc`)
    const colours = ['red', 'blue']
    for (const [i, id] of ids.entries()) {
      const frames = join(cache, id, 'frames')
      mkdirSync(frames, { recursive: true })
      // 4 frames of one solid colour per shot
      execFileSync(ffmpeg, [
        ...['-v', 'error', '-f', 'lavfi', '-i', `color=c=${colours[i]}:s=64x48:r=1`],
        ...['-frames:v', '4', '-start_number', '0', join(frames, 'frame_%04d.png')],
      ])
      writeDoneJob(cache, id, { frames: 4, width: 64, height: 48, createdAt: 1000 + i })
    }
    // the engine's own export (ffmpeg's minterpolate), as its worker runs it
    const engine = {
      onEngineEvent: () => () => undefined,
      onState: () => () => undefined,
      request: async (
        _m: string,
        p: { framesDir: string; numFrames: number; [k: string]: unknown },
      ) => {
        const { framesDir, numFrames, ...o } = p
        return { out: await exportFrames(framesDir, numFrames, o as never, {} as never) }
      },
    }
    const studio = new StudioService({
      engine: engine as unknown as EngineHost,
      cacheDir: cache,
      registry: new ModelRegistry(join(tmp, 'cut-state'), [], () => null),
      mediaUrl: (id, f) => `/media/${id}/${f}`,
      exportTarget: async () => join(tmp, 'cut-out'),
    })
    await studio.exportClip({
      jobIds: ids,
      format: 'png',
      quality: 30,
      loop: 0,
      scale: 1,
      interpolate: { factor: 2, method: 'minterpolate' },
    })
    const out = readdirSync(join(tmp, 'cut-out')).sort()
    // (4 - 1) x 2 + 1 = 7 frames per shot, not (8 - 1) x 2 + 1 = 15 across the cut
    expect(out).toHaveLength(14)
    const kinds: string[] = []
    for (const name of out) {
      const { rgb } = await loadImage(join(tmp, 'cut-out', name))
      const [r, , b] = [rgb[0]!, rgb[1]!, rgb[2]!]
      kinds.push(r > 200 && b < 60 ? 'red' : b > 200 && r < 60 ? 'blue' : `blend(${r},${b})`)
    }
    expect(kinds).toEqual([...Array(7).fill('red'), ...Array(7).fill('blue')])
  })
})
