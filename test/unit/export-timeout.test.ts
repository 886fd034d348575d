// An export that runs past the studio's limit is stopped in the engine, not only given up on in
// main: main used to report "the engine did not answer clip.export within 600000 ms" while the
// engine's ffmpeg ran on and later put the file at the target the person was told had failed
// (and an Export all's joined frames were removed from under it).
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { EngineHost } from '../../src/main/services/engine-host'
import { ffmpegReading, slowExportSetup } from '../fixtures/slow-export'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-export-timeout-'))
let engine: EngineHost | null = null
afterAll(async () => {
  await engine?.stop()
  rmSync(tmp, { recursive: true, force: true })
})

describe('an export past the time limit', () => {
  it('is stopped in the engine: no ffmpeg runs on, nothing lands at the target', async () => {
    const setup = await slowExportSetup(tmp)
    engine = setup.engine
    const out = join(tmp, 'out.webm')
    const studio = setup.studio({ exportTarget: async () => out, exportTimeoutMs: 1500 })
    // 4x in-betweens and 8x the size in VP9 at its best quality: far longer than 1.5 s
    await expect(studio.exportClip(setup.slowRequest)).rejects.toThrow(
      /took longer than .* and was stopped; nothing was written/,
    )
    const { framesDir } = setup
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
