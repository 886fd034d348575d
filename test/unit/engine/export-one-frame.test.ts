// A one-frame clip (the studio's frame count starts at 1) exported with in-betweens: there is
// nothing between to make, so a straight clip stays one frame and a loop shows its frame k
// times. minterpolate made nothing of a single frame, and the export failed saying what ffmpeg
// wrote could not be read back and "the disk may be full".
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { encodeClip, encodeFromFrames } from '../../../src/main/engine/media/ffmpeg'
import { ffprobeStream } from '../../fixtures/ffprobe'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-one-frame-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const W = 32
const probe = (file: string) => {
  const s = ffprobeStream(file, ['r_frame_rate', 'nb_read_frames'])
  return `${s['r_frame_rate']},${s['nb_read_frames']}`
}

describe('a one-frame clip exported with in-betweens', () => {
  it('straight: the one frame at k x the rate; a loop: the frame k times', async () => {
    const frames = join(tmp, 'frames')
    await encodeClip(new Uint8Array(W * W * 3).fill(90), 1, {
      out: frames,
      format: 'png',
      width: W,
      height: W,
      fps: 8,
    })
    for (const loop of [false, true])
      for (const factor of [2, 4]) {
        const want = loop ? factor : 1
        const mp4 = join(tmp, `one-${loop}-${factor}.mp4`)
        await encodeFromFrames(frames, 1, { out: mp4, fps: 8, interpolate: { factor, loop } })
        expect(probe(mp4)).toBe(`${8 * factor}/1,${want}`)
        const gif = join(tmp, `one-${loop}-${factor}.gif`)
        await encodeFromFrames(frames, 1, { out: gif, fps: 8, interpolate: { factor, loop } })
        expect(probe(gif)).toMatch(new RegExp(`,${want}$`))
        const pngs = join(tmp, `one-${loop}-${factor}`)
        await encodeFromFrames(frames, 1, {
          out: pngs,
          format: 'png',
          fps: 8,
          interpolate: { factor, loop },
        })
        expect(readdirSync(pngs)).toHaveLength(want)
      }
  })
})
