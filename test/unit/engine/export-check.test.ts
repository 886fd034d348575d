// What ffmpeg wrote is checked before it replaces anything: on a full disk Debian's ffmpeg 5.1
// can exit 0 after writing an empty GIF/WebM, and the export used to rename that empty file
// over the person's clip. Here a stand-in ffmpeg does exactly that (and worse: a cut file).
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, describe, expect, it } from 'vitest'
import { encodeClip, encodeFromFrames, findFfmpeg } from '../../../src/main/engine'
import { outputProblem } from '../../../src/main/engine/media/ffmpeg'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-export-check-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const saved = { ffmpeg: process.env['FFMPEG_PATH'], path: process.env['PATH'] }
afterEach(() => {
  if (saved.ffmpeg === undefined) delete process.env['FFMPEG_PATH']
  else process.env['FFMPEG_PATH'] = saved.ffmpeg
  process.env['PATH'] = saved.path
  findFfmpeg(true)
})

/** A stand-in ffmpeg: answers -version, reads its input, writes `body` to the output, exits 0. */
function fakeFfmpeg(name: string, body: Buffer): string {
  const dir = join(tmp, name)
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'body'), body)
  const bin = join(dir, 'ffmpeg')
  writeFileSync(
    bin,
    `#!/bin/sh
for a; do [ "$a" = "-version" ] && { echo "ffmpeg version 5.1-standin"; exit 0; }; done
for last; do :; done
cat > /dev/null
cat "${join(dir, 'body')}" > "$last"
exit 0
`,
  )
  chmodSync(bin, 0o755)
  process.env['FFMPEG_PATH'] = bin
  findFfmpeg(true)
  return bin
}

const W = 16
const H = 16
const frames = new Uint8Array(W * H * 3 * 4).fill(128)

function existing(name: string): { out: string; before: Buffer } {
  const out = join(tmp, name)
  const before = Buffer.from(`the person's earlier clip: ${name}`)
  writeFileSync(out, before)
  return { out, before }
}
const leftovers = () => readdirSync(tmp).filter((f) => f.includes('.dolly-') && f.includes('.tmp'))

describe('an export that ffmpeg says succeeded but is not whole keeps the old file', () => {
  for (const format of ['gif', 'webm', 'mp4'] as const) {
    it(`an empty ${format} (exit 0, 0 bytes)`, async () => {
      fakeFfmpeg(`empty-${format}`, Buffer.alloc(0))
      const { out, before } = existing(`clip-empty.${format}`)
      await expect(encodeClip(frames, 4, { out, width: W, height: H, fps: 8 })).rejects.toThrow(
        /ffmpeg reported success but wrote an empty file \(0 bytes; the disk may be full\); .* was left as it was/,
      )
      expect(readFileSync(out)).toEqual(before)
      expect(leftovers()).toEqual([])
    })
  }

  it('a GIF cut short (the first 40 bytes of a real one)', async () => {
    // a real 4-frame GIF from the real ffmpeg, then cut
    const real = join(tmp, 'real.gif')
    await encodeClip(frames, 4, { out: real, width: W, height: H, fps: 8 })
    expect(await outputProblem(real, 'gif', 4, findFfmpeg().path)).toBeNull()
    fakeFfmpeg('cut', readFileSync(real).subarray(0, 40))
    const { out, before } = existing('clip-cut.gif')
    await expect(encodeClip(frames, 4, { out, width: W, height: H, fps: 8 })).rejects.toThrow(
      /ffmpeg reported success but what it wrote \(40 bytes\) cannot be read back as a video|holds \d of 4 frames/,
    )
    expect(readFileSync(out)).toEqual(before)
  })

  it('fewer frames than asked (a whole 4-frame clip where 8 were sent)', async () => {
    const real = join(tmp, 'real4.webm')
    await encodeClip(frames, 4, { out: real, width: W, height: H, fps: 8 })
    fakeFfmpeg('short', readFileSync(real))
    const { out, before } = existing('clip-short.webm')
    const eight = new Uint8Array(W * H * 3 * 8)
    await expect(encodeClip(eight, 8, { out, width: W, height: H, fps: 8 })).rejects.toThrow(
      /holds 4 of 8 frames \(the disk may be full\)/,
    )
    expect(readFileSync(out)).toEqual(before)
  })

  it("the re-export from PNG frames (the studio's Export) is checked the same way", async () => {
    const pngs = join(tmp, 'pngs')
    await encodeClip(frames, 4, { out: pngs, format: 'png', width: W, height: H, fps: 8 })
    fakeFfmpeg('empty-from-frames', Buffer.alloc(0))
    const { out, before } = existing('export-1.gif')
    await expect(encodeFromFrames(pngs, 4, { out, fps: 8 })).rejects.toThrow(/0 bytes/)
    expect(readFileSync(out)).toEqual(before)
    expect(leftovers()).toEqual([])
  })

  it('without ffprobe the count comes from ffmpeg itself', async () => {
    // only ffmpeg on PATH and beside it: no ffprobe anywhere
    const dir = join(tmp, 'no-ffprobe')
    mkdirSync(dir)
    symlinkSync(
      saved
        .path!.split(':')
        .map((d) => join(d, 'ffmpeg'))
        .find((p) => {
          try {
            return readFileSync(p).length > 0
          } catch {
            return false
          }
        })!,
      join(dir, 'ffmpeg'),
    )
    process.env['FFMPEG_PATH'] = join(dir, 'ffmpeg')
    process.env['PATH'] = dir
    findFfmpeg(true)
    const real = join(tmp, 'real-noprobe.mp4')
    await encodeClip(frames, 4, { out: real, width: W, height: H, fps: 8 })
    expect(await outputProblem(real, 'mp4', 4, join(dir, 'ffmpeg'))).toBeNull()
    expect(await outputProblem(real, 'mp4', 5, join(dir, 'ffmpeg'))).toMatch(/holds 4 of 5 frames/)
  })
})
