// Exports cancelled through StudioService.cancelExport: the engine stops its ffmpeg, nothing is
// at the target, and the export answers as a cancelled save dialog does.
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { EngineHost } from '../../src/main/services/engine-host'
import { ffmpegReading, slowExportSetup } from '../fixtures/slow-export'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-export-cancel-'))
let engine: EngineHost | null = null
afterAll(async () => {
  await engine?.stop()
  rmSync(tmp, { recursive: true, force: true })
})

describe('a cancelled export', () => {
  it('stops the engine ffmpeg and answers as cancelled', async () => {
    const setup = await slowExportSetup(tmp)
    engine = setup.engine
    const { id, framesDir } = setup
    // a short export of the same render
    const quick = { jobIds: [id], format: 'webm' as const, quality: 30, loop: 0, scale: 1 }
    const out = join(tmp, 'out.webm')
    const studio = setup.studio({ exportTarget: async () => out })
    const p = studio.exportClip({ ...setup.slowRequest, exportId: 'e-1' })
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
    const later = setup.studio({
      exportTarget: () => new Promise<string>((r) => (choose = r)),
    })
    const q = later.exportClip({ ...quick, exportId: 'e-2' })
    await new Promise((r) => setTimeout(r, 50))
    expect(await later.cancelExport('e-2')).toEqual({ cancelled: true })
    choose(out)
    expect(await q).toEqual({ url: null, path: null })
    expect(existsSync(out)).toBe(false)
    // a second export by a running export's id is refused
    const r1 = studio.exportClip({ ...quick, exportId: 'e-3' })
    await expect(studio.exportClip({ ...quick, exportId: 'e-3' })).rejects.toThrow(
      /running already/,
    )
    await r1
    rmSync(out, { force: true })
  }, 60_000)
})
