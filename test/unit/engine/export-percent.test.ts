// A PNG folder (or a render cache) whose path holds "%": ffmpeg's image2 reads "%" as the start
// of a frame-number pattern, so "50% off" failed with "Cannot write more than one file with the
// same name" and "take %d" with "Could not open file". A "%" in the path is a "%" in the name.
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { encodeClip, encodeFromFrames } from '../../../src/main/engine/media/ffmpeg'
import { imageProblem, loadImage } from '../../../src/main/engine/media/image'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-percent-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const W = 64
const N = 3
const frames = new Uint8Array(W * W * 3 * N).fill(70)

describe('paths with "%" in them', () => {
  for (const name of ['50% off', 'take %d', 'a%03d'])
    it(`PNG frames into "${name}", and re-exported from there`, async () => {
      const dir = join(tmp, name)
      mkdirSync(dir)
      const pngs = join(dir, 'frames')
      await encodeClip(frames, N, { out: pngs, format: 'png', width: W, height: W, fps: 8 })
      expect(readdirSync(pngs)).toEqual(['frame_0000.png', 'frame_0001.png', 'frame_0002.png'])
      // the studio's export reads a render's frames by pattern; a loop also reads the first alone
      const again = join(dir, 'again')
      await encodeFromFrames(pngs, N, {
        out: again,
        format: 'png',
        fps: 8,
        interpolate: { factor: 2, loop: true },
      })
      expect(readdirSync(again)).toHaveLength(2 * N)
    })
})

describe('input images with "%" in their path', () => {
  for (const name of ['in 50% off', 'in take %d', 'in a%03d'])
    it(`an image in "${name}" is read (the CLI's --image, a render's frames for the model export)`, async () => {
      const dir = join(tmp, name)
      mkdirSync(dir)
      const pngs = join(dir, 'frames')
      await encodeClip(frames, N, { out: pngs, format: 'png', width: W, height: W, fps: 8 })
      const img = await loadImage(join(pngs, 'frame_0000.png'))
      expect([img.width, img.height]).toEqual([W, W])
      expect(await imageProblem(join(pngs, 'frame_0001.png'))).toBeNull()
    })
})
