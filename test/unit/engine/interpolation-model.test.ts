// The frame-interpolation model slot (engine/media/interpolation-model.ts): what a folder must
// hold, refused clearly otherwise, and the in-betweens run through the engine's runtime. The
// models here are stand-ins with RIFE exports' signatures (a cross-fade); no real RIFE export
// was available to test with.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { blendInterpolator } from '../../../src/demo-model/tiny-models'
import { encodeClip } from '../../../src/main/engine/media/ffmpeg'
import { exportFrames } from '../../../src/main/engine/media/export'
import {
  FrameInterpolator,
  interpolateClip,
  openInterpolationModel,
} from '../../../src/main/engine/media/interpolation-model'
import { Runtime } from '../../../src/main/engine/runtime/session'
import { clipTextEncoder } from '../../../src/demo-model/tiny-models'
import { ffprobeStream } from '../../fixtures/ffprobe'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-interp-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function folder(name: string, files: Record<string, Uint8Array | string>): string {
  const dir = join(tmp, name)
  mkdirSync(dir, { recursive: true })
  for (const [f, data] of Object.entries(files)) writeFileSync(join(dir, f), data)
  return dir
}

const W = 20
const H = 12
function frame(v: number): Uint8Array {
  const f = new Uint8Array(W * H * 3)
  for (let i = 0; i < W * H; i++) {
    f[i * 3] = v
    f[i * 3 + 1] = (i % W) * 10
    f[i * 3 + 2] = 255 - v
  }
  return f
}

describe('the frame-interpolation model slot', () => {
  it('accepts the two RIFE layouts and reads dolly.json', () => {
    const split = openInterpolationModel(folder('split', { 'model.onnx': blendInterpolator() }))
    expect(split).toMatchObject({ layout: 'split', timestep: 'plane', multiple: 32 })
    const scalar = openInterpolationModel(
      folder('scalar', {
        'model.onnx': blendInterpolator({ timestep: 'scalar' }),
        'dolly.json': JSON.stringify({
          kind: 'frame-interpolation',
          label: 'RIFE 4.6',
          multiple: 8,
        }),
      }),
    )
    expect(scalar).toMatchObject({
      layout: 'split',
      timestep: 'scalar',
      multiple: 8,
      label: 'RIFE 4.6',
    })
    expect(
      openInterpolationModel(
        folder('stacked', { 'model.onnx': blendInterpolator({ layout: 'stacked' }) }),
      ),
    ).toMatchObject({ layout: 'stacked' })
  })

  it('refuses a folder that does not hold one, saying what it found', () => {
    expect(() => openInterpolationModel(join(tmp, 'nowhere'))).toThrow(/no such folder/)
    expect(() => openInterpolationModel(folder('empty', {}))).toThrow(/no model\.onnx/)
    // a text encoder is an ONNX model, but not a frame interpolator
    expect(() =>
      openInterpolationModel(folder('wrong', { 'model.onnx': clipTextEncoder() })),
    ).toThrow(/input_ids int64 \[batch_size, 77\] is not float/)
    expect(() =>
      openInterpolationModel(
        folder('kind', { 'model.onnx': blendInterpolator(), 'dolly.json': '{"kind": "unet"}' }),
      ),
    ).toThrow(/"kind" is "unet"/)
    expect(() =>
      openInterpolationModel(folder('garbage', { 'model.onnx': 'not a model' })),
    ).toThrow(/model\.onnx/)
  })

  for (const [layout, timestep] of [
    ['split', 'plane'],
    ['split', 'scalar'],
    ['stacked', 'plane'],
  ] as const) {
    it(`runs ${layout} (${timestep} timestep) through the runtime: padded to its multiple, cropped back`, async () => {
      const dir = folder(`run-${layout}-${timestep}`, {
        'model.onnx': blendInterpolator({ layout, timestep }),
      })
      const runtime = new Runtime({ preferCuda: false })
      const interp = await FrameInterpolator.load(runtime, openInterpolationModel(dir))
      const frames = [frame(0), frame(100), frame(200)]
      const out: Uint8Array[] = []
      await interpolateClip(
        interp,
        async (i) => frames[i]!,
        3,
        { width: W, height: H, factor: 4, loop: true },
        async (f) => void out.push(f),
      )
      await interp.release()
      expect(runtime.liveSessions).toBe(0)
      // a loop of 3 at 4x: 12 frames, the originals every 4th, the cross-fade between
      expect(out).toHaveLength(12)
      expect(out[0]).toEqual(frames[0])
      expect(out[4]).toEqual(frames[1])
      expect(out[1]![0]).toBe(25) // a quarter of the way from 0 to 100
      expect(out[6]![0]).toBe(150)
      expect(out[11]![0]).toBe(50) // three quarters from 200 back to 0
      expect(out[1]![4]).toBe(10) // pixel 1 green: the gradient survives the padding
    })
  }

  it('exports a PNG folder through the model: (n - 1) * k + 1 frames at k x fps', async () => {
    const pngs = join(tmp, 'frames')
    const n = 5
    const data = new Uint8Array(n * W * H * 3)
    for (let i = 0; i < n; i++) data.set(frame(i * 50), i * W * H * 3)
    await encodeClip(data, n, { out: pngs, width: W, height: H, fps: 8, format: 'png' })
    const dir = folder('export-model', { 'model.onnx': blendInterpolator() })
    const runtime = new Runtime({ preferCuda: false })
    const out = join(tmp, 'model-2x.mp4')
    await exportFrames(
      pngs,
      n,
      { out, fps: 8, interpolate: { factor: 2, loop: false, model: dir } },
      runtime,
    )
    const s = ffprobeStream(out, ['r_frame_rate', 'nb_read_frames'])
    const probe = `${s['r_frame_rate']},${s['nb_read_frames']}`
    expect(probe).toBe('16/1,9')
    expect(runtime.liveSessions).toBe(0)
  })

  it('releases the model when the encoder refuses the export (a GIF too fast, a folder in use)', async () => {
    const pngs = join(tmp, 'frames-refused')
    const n = 3
    const data = new Uint8Array(n * W * H * 3)
    for (let i = 0; i < n; i++) data.set(frame(i * 80), i * W * H * 3)
    await encodeClip(data, n, { out: pngs, width: W, height: H, fps: 8, format: 'png' })
    const dir = folder('export-refused', { 'model.onnx': blendInterpolator() })
    const runtime = new Runtime({ preferCuda: false })
    // 30 fps x 4 = 120 fps: more than a GIF plays; the encoder refuses before ffmpeg starts
    await expect(
      exportFrames(
        pngs,
        n,
        { out: join(tmp, 'fast.gif'), fps: 30, interpolate: { factor: 4, loop: true, model: dir } },
        runtime,
      ),
    ).rejects.toThrow(/GIF at 120 fps/)
    // a non-empty PNG folder is refused the same way
    await expect(
      exportFrames(
        pngs,
        n,
        { out: pngs, format: 'png', fps: 8, interpolate: { factor: 2, loop: false, model: dir } },
        runtime,
      ),
    ).rejects.toThrow(/not an empty folder/)
    // each refused export used to keep its interpolation session (GPU memory, on a GPU) for good
    expect(runtime.liveSessions).toBe(0)
  })
})
