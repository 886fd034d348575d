// The frame-interpolation model slot: a folder with a RIFE-style ONNX model that makes the
// frames between two frames, run through the engine's runtime (the same sessions, providers
// and fp16 handling as the pipelines). What a folder must hold:
//   model.onnx   a float model taking two RGB frames in [0, 1] and a time t in (0, 1), giving
//                the frame at t, [1, 3, H, W], in either of the layouts RIFE exports use:
//                  - inputs img0 [1, 3, H, W], img1 [1, 3, H, W], timestep ([1, 1, H, W], [1, 1, 1, 1], [1] or scalar)
//                  - one input [1, 7, H, W]: img0, img1 and a plane filled with t, on the channel axis
//   dolly.json   optional: {"kind": "frame-interpolation", "label": "...", "multiple": 32}
//                (frames are padded to a multiple of `multiple` pixels, edge pixels repeated, and
//                cropped back; RIFE's flow pyramid needs 32, which is the default).
// Anything else is refused with what was found. Written against that contract and tested with
// stand-in models built in code; no real RIFE export was available to test with here.
import { existsSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { readOnnxSignature, type ValueSignature } from '../models/onnx-signature'
import type { ModelSession, Runtime } from '../runtime/session'
import { readTextFile } from '../files'

export class InterpolationModelError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InterpolationModelError'
  }
}

export type InterpolationModel = {
  dir: string
  path: string
  label: string
  /** 'split': img0, img1, timestep inputs; 'stacked': one [1, 7, H, W] input. */
  layout: 'split' | 'stacked'
  inputs: { img0: string; img1: string; timestep: string | null }
  /** How the timestep input is shaped: a plane like the frames, or a number. */
  timestep: 'plane' | 'scalar' | null
  multiple: number
}

const FLOATS = new Set(['float32', 'float16'])

function describe(v: ValueSignature): string {
  return `${v.name} ${v.type} [${v.shape.map((d) => d ?? '?').join(', ')}]`
}

/**
 * Checks a folder against the slot's contract (see the top of this file) without loading the
 * model; throws InterpolationModelError saying what is missing or wrong.
 */
export function openInterpolationModel(dir: string): InterpolationModel {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new InterpolationModelError(`${dir}: no such folder`)
  const path = join(dir, 'model.onnx')
  if (!existsSync(path))
    throw new InterpolationModelError(
      `${dir}: no model.onnx (a frame-interpolation folder holds a RIFE-style ONNX model as model.onnx)`,
    )
  let dolly: Record<string, unknown> = {}
  const dj = join(dir, 'dolly.json')
  if (existsSync(dj)) {
    try {
      dolly = JSON.parse(readTextFile(dj, 'dolly.json', 1024 * 1024)) as Record<string, unknown>
    } catch (err) {
      throw new InterpolationModelError(`${dj}: not valid JSON (${(err as Error).message})`)
    }
    if (dolly['kind'] !== undefined && dolly['kind'] !== 'frame-interpolation')
      throw new InterpolationModelError(
        `${dj}: "kind" is ${JSON.stringify(dolly['kind'])}; a frame-interpolation folder says "frame-interpolation"`,
      )
  }
  const multiple = dolly['multiple'] ?? 32
  if (typeof multiple !== 'number' || !Number.isInteger(multiple) || multiple < 1 || multiple > 256)
    throw new InterpolationModelError(`${dj}: "multiple" must be a whole number from 1 to 256`)
  let sig
  try {
    sig = readOnnxSignature(path)
  } catch (err) {
    throw new InterpolationModelError((err as Error).message)
  }
  const found = `it has inputs ${sig.inputs.map(describe).join(', ') || 'none'}`
  const bad = sig.inputs.find((i) => !FLOATS.has(i.type))
  if (bad)
    throw new InterpolationModelError(`${path}: input ${describe(bad)} is not float; ${found}`)
  if (sig.outputs.length < 1) throw new InterpolationModelError(`${path}: the model has no output`)
  const out = sig.outputs[0]!
  if (out.shape.length !== 4 || (typeof out.shape[1] === 'number' && out.shape[1] !== 3))
    throw new InterpolationModelError(
      `${path}: its first output ${describe(out)} is not a frame [1, 3, H, W]`,
    )
  const raw = dolly['label']
  if (raw !== undefined && (typeof raw !== 'string' || !raw.trim() || raw.length > 200))
    throw new InterpolationModelError(
      `${join(dir, 'dolly.json')}: "label" must be a name of 1-200 characters`,
    )
  const label = typeof raw === 'string' ? raw : (dir.split(/[\\/]/).pop() ?? dir).slice(0, 200)
  const by = (n: string) => sig.inputs.find((i) => i.name === n)
  const img0 = by('img0')
  const img1 = by('img1')
  if (img0 && img1) {
    for (const v of [img0, img1])
      if (v.shape.length !== 4 || (typeof v.shape[1] === 'number' && v.shape[1] !== 3))
        throw new InterpolationModelError(`${path}: ${describe(v)} is not a frame [1, 3, H, W]`)
    const t = by('timestep') ?? sig.inputs.find((i) => i !== img0 && i !== img1) ?? null
    if (sig.inputs.length > 3 || (sig.inputs.length === 3 && !t))
      throw new InterpolationModelError(`${path}: unexpected inputs; ${found}`)
    return {
      dir,
      path,
      label,
      layout: 'split',
      inputs: { img0: 'img0', img1: 'img1', timestep: t?.name ?? null },
      timestep: t ? (t.shape.length === 4 ? 'plane' : 'scalar') : null,
      multiple,
    }
  }
  if (sig.inputs.length === 1) {
    const x = sig.inputs[0]!
    if (x.shape.length === 4 && x.shape[1] === 7)
      return {
        dir,
        path,
        label,
        layout: 'stacked',
        inputs: { img0: x.name, img1: x.name, timestep: null },
        timestep: null,
        multiple,
      }
  }
  throw new InterpolationModelError(
    `${path}: not a layout the slot runs (img0, img1 [1, 3, H, W] and a timestep; or one [1, 7, H, W] input); ${found}`,
  )
}

/** RGB bytes [H, W, 3] -> [1, 3, Hp, Wp] in [0, 1], padded with the edge pixels. */
function toPlanes(rgb: Uint8Array, w: number, h: number, wp: number, hp: number): Float32Array {
  const out = new Float32Array(3 * hp * wp)
  for (let y = 0; y < hp; y++) {
    const sy = Math.min(y, h - 1)
    for (let x = 0; x < wp; x++) {
      const s = (sy * w + Math.min(x, w - 1)) * 3
      for (let c = 0; c < 3; c++) out[(c * hp + y) * wp + x] = rgb[s + c]! / 255
    }
  }
  return out
}

/** [1, 3, Hp, Wp] in [0, 1] -> RGB bytes [H, W, 3] (the padding cropped). */
function toRgb(p: Float32Array, w: number, h: number, wp: number, hp: number): Uint8Array {
  const out = new Uint8Array(w * h * 3)
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++)
      for (let c = 0; c < 3; c++) {
        const v = p[(c * hp + y) * wp + x]! * 255
        out[(y * w + x) * 3 + c] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v)
      }
  return out
}

/** A loaded interpolation model: the frame at `t` between two frames. */
export class FrameInterpolator {
  private constructor(
    readonly model: InterpolationModel,
    private readonly session: ModelSession,
  ) {}

  static async load(runtime: Runtime, model: InterpolationModel): Promise<FrameInterpolator> {
    return new FrameInterpolator(model, await runtime.load(model.path, 'frame interpolation'))
  }

  /** The frame at t (0 < t < 1) between a and b, both RGB bytes [h, w, 3]. */
  async between(
    a: Uint8Array,
    b: Uint8Array,
    w: number,
    h: number,
    t: number,
  ): Promise<Uint8Array> {
    const m = this.model
    const k = m.multiple
    const wp = Math.ceil(w / k) * k
    const hp = Math.ceil(h / k) * k
    const pa = toPlanes(a, w, h, wp, hp)
    const pb = toPlanes(b, w, h, wp, hp)
    const s = this.session
    let out: { data: Float32Array; dims: number[] }
    if (m.layout === 'stacked') {
      const x = new Float32Array(7 * hp * wp)
      x.set(pa)
      x.set(pb, 3 * hp * wp)
      x.fill(t, 6 * hp * wp)
      out = await s.runFirst({ [m.inputs.img0]: s.floatInput(m.inputs.img0, x, [1, 7, hp, wp]) })
    } else {
      const feeds = {
        [m.inputs.img0]: s.floatInput(m.inputs.img0, pa, [1, 3, hp, wp]),
        [m.inputs.img1]: s.floatInput(m.inputs.img1, pb, [1, 3, hp, wp]),
      }
      if (m.inputs.timestep) {
        const name = m.inputs.timestep
        const shape = s.meta(name).shape
        const dims =
          m.timestep === 'plane'
            ? shape[2] === 1
              ? [1, 1, 1, 1]
              : [1, 1, hp, wp]
            : shape.length === 0
              ? []
              : [1]
        const n = dims.reduce((p, d) => p * d, 1)
        feeds[name] = s.floatInput(name, new Float32Array(n).fill(t), dims)
      }
      out = await s.runFirst(feeds)
    }
    if (out.data.length !== 3 * hp * wp)
      throw new InterpolationModelError(
        `${m.path}: returned [${out.dims.join(', ')}]; expected [1, 3, ${hp}, ${wp}]`,
      )
    return toRgb(out.data, w, h, wp, hp)
  }

  async release(): Promise<void> {
    await this.session.release()
  }
}

/**
 * Interpolates a clip `factor` times: each frame, then factor - 1 frames between it and the
 * next (a loop also between the last and the first), handed to `emit` in order. The count is
 * interpolatedFrames' ((n - 1) * factor + 1, or n * factor for a loop).
 */
export async function interpolateClip(
  interp: FrameInterpolator,
  frame: (i: number) => Promise<Uint8Array>,
  n: number,
  o: { width: number; height: number; factor: number; loop: boolean; signal?: AbortSignal },
  emit: (rgb: Uint8Array) => Promise<void>,
): Promise<void> {
  let a = await frame(0)
  const first = a
  const pairs = o.loop ? n : n - 1
  for (let i = 0; i < pairs; i++) {
    const b = i + 1 < n ? await frame(i + 1) : first
    await emit(a)
    for (let j = 1; j < o.factor; j++) {
      if (o.signal?.aborted) throw new InterpolationModelError('cancelled')
      await emit(await interp.between(a, b, o.width, o.height, j / o.factor))
    }
    a = b
  }
  if (!o.loop) await emit(a)
}
