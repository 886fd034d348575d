// An export that runs past the studio's limit is stopped in the engine, not only given up on in
// main: main used to report "the engine did not answer clip.export within 600000 ms" while the
// engine's ffmpeg ran on and later put the file at the target the person was told had failed
// (and an Export all's joined frames were removed from under it).
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

const tmp = mkdtempSync(join(tmpdir(), 'dolly-export-timeout-'))
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

describe('an export past the time limit', () => {
  it('is stopped in the engine: no ffmpeg runs on, nothing lands at the target', async () => {
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
      exportTimeoutMs: 1500,
    })
    // 4x in-betweens and 8x the size in VP9 at its best quality: far longer than 1.5 s
    await expect(
      studio.exportClip({
        jobIds: [id],
        format: 'webm',
        quality: 0,
        loop: 0,
        scale: 8,
        interpolate: { factor: 4, method: 'minterpolate' },
      }),
    ).rejects.toThrow(/took longer than .* and was stopped; nothing was written/)
    const framesDir = join(cache, id, 'frames')
    // the engine's ffmpeg ends with the export (it used to run on to the end)
    const t0 = Date.now()
    while (ffmpegReading(framesDir) && Date.now() - t0 < 5000)
      await new Promise((r) => setTimeout(r, 100))
    expect(ffmpegReading(framesDir)).toBe(false)
    await new Promise((r) => setTimeout(r, 500))
    expect(existsSync(out)).toBe(false)
    expect(readdirSync(tmp).filter((f) => /out\.webm/.test(f))).toEqual([])
  }, 60_000)
})
