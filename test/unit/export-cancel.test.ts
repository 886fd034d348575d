// Exports cancelled through StudioService.cancelExport: the engine stops its ffmpeg, nothing is
// at the target, and the export answers as a cancelled save dialog does.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { encodeClip } from '../../src/main/engine/media/ffmpeg'
import { EngineHost } from '../../src/main/services/engine-host'
import { forkSpawner } from '../../src/main/services/engine-spawn'
import { ModelRegistry } from '../../src/main/services/model-registry'
import { StudioService } from '../../src/main/services/studio'
import { writeDoneJob } from '../fixtures/jobs'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-export-cancel-'))
const workerSource = resolve(__dirname, '../../src/main/engine/worker.ts')
let engine: EngineHost | null = null
afterAll(async () => {
  await engine?.stop()
  rmSync(tmp, { recursive: true, force: true })
})

function ffmpegReading(dir: string): boolean {
  try {
    execFileSync('pgrep', ['-f', `${dir}/frame_`])
    return true
  } catch {
    return false
  }
}

describe('a cancelled export', () => {
  it('stops the engine ffmpeg and answers as cancelled', async () => {
    const cache = join(tmp, 'cache')
    const id = '00000001-0000-4000-8000-000000000000'
    const n = 40
    const W = 128
    const frames = new Uint8Array(n * W * W * 3)
    for (let i = 0; i < frames.length; i++) frames[i] = (i * 2654435761) >>> 24
    mkdirSync(join(cache, id), { recursive: true })
    await encodeClip(frames, n, {
      out: join(cache, id, 'frames'),
      format: 'png',
      width: W,
      height: W,
      fps: 8,
    })
    writeDoneJob(cache, id, { frames: n, width: W, height: W, createdAt: 1 })
    engine = new EngineHost({
      spawn: forkSpawner(workerSource, { execArgv: ['--import', 'tsx'] }),
      queryGpu: async () => ({ gpu: null, reason: 'test: no GPU' }),
    })
    await engine.start()
    const out = join(tmp, 'out.webm')
    const studio = new StudioService({
      engine,
      cacheDir: cache,
      registry: new ModelRegistry(join(tmp, 'state'), [], () => null),
      mediaUrl: (j, f) => `/media/${j}/${f}`,
      exportTarget: async () => out,
    })
    const framesDir = join(cache, id, 'frames')
    const p = studio.exportClip({
      jobIds: [id],
      format: 'webm',
      quality: 0,
      loop: 0,
      scale: 8,
      interpolate: { factor: 4, method: 'minterpolate' },
      exportId: 'e-1',
    })
    const t0 = Date.now()
    while (!ffmpegReading(framesDir) && Date.now() - t0 < 20000)
      await new Promise((r) => setTimeout(r, 50))
    expect(ffmpegReading(framesDir)).toBe(true)
    const t1 = Date.now()
    expect(await studio.cancelExport('e-1')).toEqual({ cancelled: true })
    expect(await p).toEqual({ url: null, path: null })
    expect(Date.now() - t1).toBeLessThan(5000)
    while (ffmpegReading(framesDir) && Date.now() - t1 < 5000)
      await new Promise((r) => setTimeout(r, 100))
    expect(ffmpegReading(framesDir)).toBe(false)
    expect(existsSync(out)).toBe(false)
    expect(readdirSync(tmp).filter((f) => /out\.webm/.test(f))).toEqual([])
    // the entry is gone: the same id may run again, and a cancel of it finds nothing
    expect(await studio.cancelExport('e-1')).toEqual({ cancelled: false })

    // cancelled while the save dialog is open: nothing starts in the engine once it closes
    let choose: (p: string) => void = () => undefined
    const later = new StudioService({
      engine,
      cacheDir: cache,
      registry: new ModelRegistry(join(tmp, 'state'), [], () => null),
      mediaUrl: (j, f) => `/media/${j}/${f}`,
      exportTarget: () => new Promise<string>((r) => (choose = r)),
    })
    const q = later.exportClip({
      jobIds: [id],
      format: 'webm',
      quality: 30,
      loop: 0,
      scale: 1,
      exportId: 'e-2',
    })
    await new Promise((r) => setTimeout(r, 50))
    expect(await later.cancelExport('e-2')).toEqual({ cancelled: true })
    choose(out)
    expect(await q).toEqual({ url: null, path: null })
    expect(existsSync(out)).toBe(false)
    // a second export by a running export's id is refused
    const r1 = studio.exportClip({
      jobIds: [id],
      format: 'webm',
      quality: 30,
      loop: 0,
      scale: 1,
      exportId: 'e-3',
    })
    await expect(
      studio.exportClip({
        jobIds: [id],
        format: 'webm',
        quality: 30,
        loop: 0,
        scale: 1,
        exportId: 'e-3',
      }),
    ).rejects.toThrow(/running already/)
    await r1
    rmSync(out, { force: true })
  }, 60_000)
})
