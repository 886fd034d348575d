// ffmpeg: progress parsing on real captured output, and encoding through the pipe to every
// format, checked with ffprobe; cancel and a killed ffmpeg leave nothing at the target.
import { execFileSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  encodeClip,
  encodeFromFrames,
  findFfmpeg,
  interpolatedFrames,
  openClipEncoder,
  outputArgs,
  parseStatsLine,
  ProgressParser,
} from '../../../src/main/engine'

import { ffprobeStream } from '../../fixtures/ffprobe'

const fixtures = resolve(__dirname, '../../fixtures/ffmpeg')
const tmp = mkdtempSync(join(tmpdir(), 'dolly-media-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function ffprobeAvailable(): boolean {
  try {
    execFileSync('ffprobe', ['-version'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}
const noProbe = !ffprobeAvailable()

const probe = (file: string) => ffprobeStream(file)

describe('ffmpeg progress parsing (real captured output)', () => {
  it('reads the -progress blocks of Debian ffmpeg 5.1 (x264)', () => {
    const blocks: {
      frame: number | null
      outTimeS: number | null
      speed: number | null
      done: boolean
    }[] = []
    const p = new ProgressParser((b) => blocks.push(b))
    const text = readFileSync(join(fixtures, 'progress-debian-5.1-x264.txt'), 'utf8')
    // fed in awkward chunks, as pipes deliver it
    for (let i = 0; i < text.length; i += 7) p.push(text.slice(i, i + 7))
    expect(blocks.length).toBe(2)
    expect(blocks[0]).toMatchObject({ frame: 1, outTimeS: 0, done: false })
    expect(blocks[1]!.frame).toBe(40)
    expect(blocks[1]!.done).toBe(true)
    expect(blocks[1]!.outTimeS).toBeCloseTo(4.625061, 6) // out_time_us=4625061 in the capture
    expect(blocks[1]!.speed).toBeGreaterThan(0)
  })

  it('reads the -progress block of the 2018 static ffmpeg (@ffmpeg-installer)', () => {
    const blocks: { frame: number | null; outTimeS: number | null; done: boolean }[] = []
    new ProgressParser((b) => blocks.push(b)).push(
      readFileSync(join(fixtures, 'progress-static-2018-gif.txt'), 'utf8'),
    )
    expect(blocks).toHaveLength(1)
    expect(blocks[0]).toMatchObject({ frame: 40, outTimeS: 4.89, done: true })
  })

  it('reads stderr stats lines (carriage-return separated)', () => {
    const lines = readFileSync(join(fixtures, 'stderr-debian-5.1-vp9.txt'), 'utf8').split(/\r|\n/)
    const stats = lines.map(parseStatsLine).filter((s) => s !== null)
    expect(stats.length).toBeGreaterThanOrEqual(2)
    expect(stats[stats.length - 1]).toMatchObject({
      frame: 40,
      outTimeS: 4.87,
      speed: 11.3,
      done: true,
    })
    expect(parseStatsLine('Input #0, rawvideo, from pipe:')).toBeNull()
  })
})

function gradientFrames(F: number, w: number, h: number): Uint8Array {
  const a = new Uint8Array(F * w * h * 3)
  for (let f = 0; f < F; f++)
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) {
        const i = ((f * h + y) * w + x) * 3
        a[i] = (x * 255) / w
        a[i + 1] = (y * 255) / h
        a[i + 2] = (f * 255) / F
      }
  return a
}

describe.skipIf(noProbe)('encoding through the pipe', () => {
  const F = 16
  const w = 48
  const h = 34
  const frames = gradientFrames(F, w, h)

  it('finds an ffmpeg and says where it came from', () => {
    const ff = findFfmpeg()
    expect(existsSync(ff.path)).toBe(true)
    expect(['FFMPEG_PATH', 'ffmpeg-static', 'PATH', '@ffmpeg-installer/ffmpeg']).toContain(
      ff.source,
    )
  })

  // GIF stores frame delays in 1/100 s, so its fps must divide 100 to be exact
  for (const [ext, fps] of [
    ['mp4', 12],
    ['webm', 12],
    ['gif', 10],
  ] as const) {
    it(`writes ${ext} with ${F} frames at ${fps} fps`, async () => {
      const out = join(tmp, `clip.${ext}`)
      const seen: number[] = []
      await encodeClip(frames, F, {
        out,
        width: w,
        height: h,
        fps,
        onProgress: (p) => seen.push(p.frames),
      })
      const s = probe(out)
      expect(Number(s['nb_read_frames'])).toBe(F)
      expect(s['r_frame_rate']).toBe(`${fps}/1`)
      if (ext === 'gif') expect([s['width'], s['height']]).toEqual([w, h])
      else expect([s['width'], s['height']]).toEqual([w, h]) // 48x34 is already even
      if (ext === 'mp4') {
        expect(s['codec_name']).toBe('h264')
        expect(s['pix_fmt']).toBe('yuv420p')
        // faststart: the moov atom comes before mdat
        const bytes = readFileSync(out)
        expect(bytes.indexOf('moov')).toBeLessThan(bytes.indexOf('mdat'))
      }
      if (ext === 'webm') expect(s['codec_name']).toBe('vp9')
      expect(seen.at(-1)).toBe(F)
      expect(readdirSync(tmp).filter((f) => f.includes('.dolly-'))).toEqual([])
    })
  }

  it('pads odd sizes to even for H.264', async () => {
    const out = join(tmp, 'odd.mp4')
    await encodeClip(gradientFrames(3, 33, 21), 3, { out, width: 33, height: 21, fps: 8 })
    const s = probe(out)
    expect([s['width'], s['height']]).toEqual([34, 22])
  })

  it('writes a PNG sequence into a new folder', async () => {
    const out = join(tmp, 'pngs')
    await encodeClip(frames, F, { out, width: w, height: h, fps: 8, format: 'png' })
    expect(readdirSync(out).sort()).toEqual(
      Array.from({ length: F }, (_, i) => `frame_${String(i).padStart(4, '0')}.png`),
    )
  })

  it("re-encodes a PNG folder at 2x size (the export dialog's size) for mp4, gif and png", async () => {
    const pngs = join(tmp, 'for-scale')
    await encodeClip(frames, F, { out: pngs, width: w, height: h, fps: 8, format: 'png' })
    for (const ext of ['mp4', 'gif'] as const) {
      const out = join(tmp, `scaled.${ext}`)
      await encodeFromFrames(pngs, F, { out, fps: 8, scale: 2 })
      const s = probe(out)
      expect([s['width'], s['height']]).toEqual([2 * w, 2 * h])
      expect(Number(s['nb_read_frames'])).toBe(F)
    }
    const outPngs = join(tmp, 'scaled-pngs')
    await encodeFromFrames(pngs, F, { out: outPngs, fps: 8, format: 'png', scale: 4 })
    const s = probe(join(outPngs, 'frame_0000.png'))
    expect([s['width'], s['height']]).toEqual([4 * w, 4 * h])
    expect(() => outputArgs('mp4', { fps: 8, loop: 0, quality: 30, scale: 1.5 })).toThrow(
      /export scale 1.5: expected a whole number from 1 to 8/,
    )
  })

  it('a GIF over 50 fps (the frame rate times its in-betweens) is refused: players would show it several times slower', async () => {
    // 25 fps x 4 in-betweens = 100 fps: every delay 1/100 s, which players show as 1/10 s
    expect(() =>
      outputArgs('gif', { fps: 25, loop: 0, quality: 30, interpolate: { factor: 4, frames: 9 } }),
    ).toThrow(/GIF at 100 fps: a GIF plays at most 50 frames a second/)
    expect(() => outputArgs('gif', { fps: 60, loop: 0, quality: 30 })).toThrow(/GIF at 60 fps/)
    expect(
      outputArgs('gif', { fps: 25, loop: 0, quality: 30, interpolate: { factor: 2, frames: 9 } }),
    ).toContain('gif')
    // other formats keep their rates (MP4 at 60 x 4 is a real 240 fps file)
    expect(
      outputArgs('mp4', { fps: 60, loop: 0, quality: 30, interpolate: { factor: 4, frames: 9 } }),
    ).toContain('mp4')
    // and what a GIF at 50 fps holds: every delay 2/100 s, so it plays at the rate asked
    const out = join(tmp, 'fifty.gif')
    await encodeClip(gradientFrames(10, 16, 16), 10, { out, width: 16, height: 16, fps: 50 })
    const s = probe(out)
    expect(s['r_frame_rate']).toBe('50/1')
  })

  it('refuses to put PNGs into a folder that has files', async () => {
    const out = join(tmp, 'busy')
    mkdirSync(out)
    writeFileSync(join(out, 'keep.txt'), 'mine')
    await expect(
      encodeClip(frames, F, { out, width: w, height: h, fps: 8, format: 'png' }),
    ).rejects.toThrow(/not an empty folder/)
    expect(readFileSync(join(out, 'keep.txt'), 'utf8')).toBe('mine')
  })

  it('a cancel leaves no file and no temp file', async () => {
    const big = gradientFrames(120, 256, 256)
    const out = join(tmp, 'cancelled.mp4')
    const ac = new AbortController()
    const p = encodeClip(big, 120, {
      out,
      width: 256,
      height: 256,
      fps: 24,
      signal: ac.signal,
      onProgress: () => ac.abort(),
    })
    setTimeout(() => ac.abort(), 50)
    await expect(p).rejects.toThrow(/cancelled/)
    expect(existsSync(out)).toBe(false)
    expect(readdirSync(tmp).filter((f) => f.includes('.dolly-'))).toEqual([])
  })

  it('a killed ffmpeg leaves nothing at the target path', async () => {
    const big = gradientFrames(120, 256, 256)
    const out = join(tmp, 'killed.webm')
    const p = encodeClip(big, 120, {
      out,
      width: 256,
      height: 256,
      fps: 24,
      onSpawn: (pid) => setTimeout(() => process.kill(pid, 'SIGKILL'), 30),
    })
    await expect(p).rejects.toThrow(/ffmpeg was killed \(SIGKILL\)|ffmpeg failed/)
    expect(existsSync(out)).toBe(false)
    expect(readdirSync(tmp).filter((f) => f.includes('.dolly-'))).toEqual([])
  })
})

describe.skipIf(noProbe)('frames streamed into the encoder, and interpolation', () => {
  const w = 48
  const h = 34
  const per = w * h * 3

  it('encodes frames as they arrive; the file exists only once finished', async () => {
    const frames = gradientFrames(12, w, h)
    const out = join(tmp, 'streamed.mp4')
    const enc = openClipEncoder(12, { out, width: w, height: h, fps: 8 })
    for (let f = 0; f < 12; f += 3) {
      await enc.write(frames.subarray(f * per, (f + 3) * per))
      await new Promise((r) => setTimeout(r, 20)) // frames come in over time
      expect(existsSync(out)).toBe(false)
    }
    expect(await enc.finish()).toBe(out)
    expect(Number(probe(out)['nb_read_frames'])).toBe(12)
    expect(readdirSync(tmp).filter((f) => f.includes('.dolly-'))).toEqual([])
  })

  it('refuses a clip that got fewer or more frames than it was opened for, leaving nothing', async () => {
    const frames = gradientFrames(4, w, h)
    const out = join(tmp, 'short.mp4')
    const enc = openClipEncoder(5, { out, width: w, height: h, fps: 8 })
    await enc.write(frames)
    await expect(enc.finish()).rejects.toThrow(/got 4 of its 5 frames/)
    const over = openClipEncoder(3, { out, width: w, height: h, fps: 8 })
    await expect(over.write(frames)).rejects.toThrow(/more than the 3 frames/)
    over.abort()
    expect(existsSync(out)).toBe(false)
    expect(readdirSync(tmp).filter((f) => f.includes('.dolly-'))).toEqual([])
  })

  it('interpolates 2x and 4x with minterpolate: (n - 1) * k + 1 frames at k x fps; a loop n * k', async () => {
    expect(interpolatedFrames(16, { factor: 2 })).toBe(31)
    expect(interpolatedFrames(16, { factor: 4, loop: true })).toBe(64)
    const frames = gradientFrames(9, w, h)
    for (const [k, loop, ext] of [
      [2, false, 'mp4'],
      [4, false, 'webm'],
      [2, true, 'gif'],
    ] as const) {
      const out = join(tmp, `interp-${k}-${loop}.${ext}`)
      await encodeClip(frames, 9, {
        out,
        width: w,
        height: h,
        fps: 10,
        interpolate: { factor: k, loop },
      })
      const s = probe(out)
      expect(Number(s['nb_read_frames']), `${k}x ${ext}`).toBe(loop ? 9 * k : 8 * k + 1)
      expect(s['r_frame_rate']).toBe(`${10 * k}/1`)
    }
  })

  it("frames under 32 pixels: minterpolate's refusal is said in words, and nothing is written", async () => {
    // ffmpeg's minterpolate refuses a frame under 32x32 ("Height or width < 32") before its
    // last three lines of stderr, which were all the message kept: "Error reinitializing filters!"
    const out = join(tmp, 'interp-tiny.mp4')
    const p = encodeClip(gradientFrames(4, 16, 16), 4, {
      out,
      width: 16,
      height: 16,
      fps: 8,
      interpolate: { factor: 2 },
    })
    await expect(p).rejects.toThrow(/16x16.*at least 32 pixels/)
    expect(existsSync(out)).toBe(false)
    expect(readdirSync(tmp).filter((f) => f.includes('interp-tiny'))).toEqual([])
    // the dialog's export reads cached PNG frames, whose size it does not know: ffmpeg's
    // refusal is recognised instead
    const pngs = join(tmp, 'tiny-pngs')
    await encodeClip(gradientFrames(4, 16, 16), 4, {
      out: pngs,
      width: 16,
      height: 16,
      fps: 8,
      format: 'png',
    })
    const again = encodeFromFrames(pngs, 4, { out, fps: 8, interpolate: { factor: 2 } })
    await expect(again).rejects.toThrow(/at least 32 pixels wide and high/)
    expect(existsSync(out)).toBe(false)
  })

  it('interpolates a PNG folder on export, straight and as a loop (the first frame read again at the end)', async () => {
    const pngs = join(tmp, 'for-interp')
    await encodeClip(gradientFrames(9, w, h), 9, {
      out: pngs,
      width: w,
      height: h,
      fps: 8,
      format: 'png',
    })
    for (const loop of [false, true]) {
      const out = join(tmp, `interp-export-${loop}.mp4`)
      await encodeFromFrames(pngs, 9, { out, fps: 8, interpolate: { factor: 2, loop } })
      const s = probe(out)
      expect(Number(s['nb_read_frames'])).toBe(loop ? 18 : 17)
      expect(s['r_frame_rate']).toBe('16/1')
    }
    // with an upscale and as PNG frames too
    const outPngs = join(tmp, 'interp-pngs')
    await encodeFromFrames(pngs, 9, {
      out: outPngs,
      fps: 8,
      format: 'png',
      scale: 2,
      interpolate: { factor: 4, loop: true },
    })
    expect(readdirSync(outPngs)).toHaveLength(36)
    expect(probe(join(outPngs, 'frame_0035.png'))['width']).toBe(2 * w)
  })
})
