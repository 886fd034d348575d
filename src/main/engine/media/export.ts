// Exports of a finished render (its PNG frames) into another clip: re-encoded by ffmpeg, with
// in-between frames from ffmpeg's minterpolate or from the frame-interpolation model slot
// (media/interpolation-model.ts) run through the engine's runtime.
import { join } from 'node:path'
import type { Runtime } from '../runtime/session'
import { encodeFromFrames, interpolatedFrames, openClipEncoder, type EncodeOptions } from './ffmpeg'
import { loadImage } from './image'
import { FrameInterpolator, interpolateClip, openInterpolationModel } from './interpolation-model'

export type ExportInterpolation = {
  factor: number
  /** The clip loops: in-betweens also from the last frame back into the first. */
  loop: boolean
  /** A frame-interpolation model folder; null: ffmpeg's minterpolate. */
  model: string | null
}

export async function exportFrames(
  framesDir: string,
  numFrames: number,
  o: Omit<EncodeOptions, 'width' | 'height' | 'interpolate'> & {
    interpolate?: ExportInterpolation | undefined
  },
  runtime: Runtime,
): Promise<string> {
  const { interpolate, ...enc } = o
  if (!interpolate || interpolate.factor === 1) return encodeFromFrames(framesDir, numFrames, enc)
  if (!interpolate.model)
    return encodeFromFrames(framesDir, numFrames, {
      ...enc,
      interpolate: { factor: interpolate.factor, loop: interpolate.loop },
    })
  const model = openInterpolationModel(interpolate.model)
  const frame = async (i: number) =>
    (await loadImage(join(framesDir, `frame_${String(i).padStart(4, '0')}.png`))).rgb
  const first = await loadImage(join(framesDir, 'frame_0000.png'))
  const interp = await FrameInterpolator.load(runtime, model)
  try {
    // the encoder can refuse at once (a GIF too fast, a PNG folder in use): the model is
    // released all the same
    const total = interpolatedFrames(numFrames, interpolate)
    const out = openClipEncoder(total, {
      ...enc,
      width: first.width,
      height: first.height,
      fps: enc.fps * interpolate.factor,
    })
    try {
      await interpolateClip(
        interp,
        frame,
        numFrames,
        {
          width: first.width,
          height: first.height,
          factor: interpolate.factor,
          loop: interpolate.loop,
          ...(enc.signal ? { signal: enc.signal } : {}),
        },
        (rgb) => out.write(rgb),
      )
      return await out.finish()
    } catch (err) {
      out.abort()
      throw err
    }
  } finally {
    await interp.release()
  }
}
