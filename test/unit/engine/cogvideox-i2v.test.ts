// CogVideoX 1.5 and image-to-video in the engine: RoPE tables against diffusers' own pipeline
// code (test/data/cogvideox/rope.json, tools/reference/cogvideox_rope.py), and the
// image-to-video pipeline on a tiny 1.5 I2V folder: latent padding to patch_size_t, the image
// latents on the channel axis in both guidance halves, `ofs`, and the clear refusals. (The
// round trip against diffusers' CogVideoXImageToVideoPipeline is in tools/export's tests.)
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import * as ort from 'onnxruntime-node'
import { afterAll, describe, expect, it } from 'vitest'
import { loadImage } from '../../../src/main/engine/media/image'
import { openModelFolder } from '../../../src/main/engine/models/model-folder'
import {
  CogVideoXPipeline,
  resizeCropRegionForGrid,
  rotaryEmbeddings3d,
  rotaryEmbeddings3dSlice,
} from '../../../src/main/engine/pipelines/cogvideox'
import { ModelSessions } from '../../../src/main/engine/runtime/memory'
import { Runtime } from '../../../src/main/engine/runtime/session'
import { writeCogVideoXI2VFolder } from '../../fixtures/model-folders'
import { missing, sharedPath } from './reference'

type RopeCase = {
  name: string
  head_dim: number
  height: number
  width: number
  latent_frames: number
  patch_size: number
  patch_size_t: number | null
  sample_width: number
  sample_height: number
  grid: [number, number]
  temporal: number
  shape: [number, number]
  rows: number[]
  cos: number[][]
  sin: number[][]
}

describe("CogVideoX rotary tables vs diffusers' _prepare_rotary_positional_embeddings", () => {
  const cases = JSON.parse(
    readFileSync(resolve(__dirname, '../../data/cogvideox/rope.json'), 'utf8'),
  ) as RopeCase[]
  for (const c of cases) {
    it(`${c.name}: ${c.patch_size_t ? '1.5 slice grid' : '1.0 crop grid'} [${c.shape}]`, () => {
      const grid: [number, number] = [
        Math.floor(c.height / (8 * c.patch_size)),
        Math.floor(c.width / (8 * c.patch_size)),
      ]
      expect(grid).toEqual(c.grid)
      const rope = c.patch_size_t
        ? rotaryEmbeddings3dSlice(
            c.head_dim,
            grid,
            Math.floor((c.latent_frames + c.patch_size_t - 1) / c.patch_size_t),
          )
        : rotaryEmbeddings3d(
            c.head_dim,
            resizeCropRegionForGrid(
              grid,
              Math.floor(c.sample_width / c.patch_size),
              Math.floor(c.sample_height / c.patch_size),
            ),
            grid,
            c.latent_frames,
          )
      expect(rope.dims).toEqual(c.shape)
      let err = 0
      c.rows.forEach((r, i) => {
        for (let k = 0; k < c.head_dim; k++) {
          err = Math.max(err, Math.abs(rope.cos[r * c.head_dim + k]! - c.cos[i]![k]!))
          err = Math.max(err, Math.abs(rope.sin[r * c.head_dim + k]! - c.sin[i]![k]!))
        }
      })
      expect(err).toBeLessThan(2e-6)
    })
  }
})

const t5 = sharedPath('fixtures/tokenizers/t5')
const imagePath = sharedPath('fixtures/images/chelsea.png')
const skip = missing(t5, imagePath)
const tmp = mkdtempSync(join(tmpdir(), 'dolly-cog-i2v-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe.skipIf(skip)('CogVideoX 1.5 image-to-video on a tiny folder', () => {
  const dir = writeCogVideoXI2VFolder(join(tmp, 'i2v'), { tokenizerFrom: t5 })

  /** Runs the pipeline, recording each call's inputs by component. */
  async function render(image: string, frames = 9) {
    const model = openModelFolder(dir)
    const calls: { component: string; feeds: Record<string, ort.Tensor> }[] = []
    const runtime = new Runtime({
      preferCuda: false,
      createSession: async (path, options) => {
        const s = await ort.InferenceSession.create(path, options)
        const run = s.run.bind(s)
        const component = path.split(/[\\/]/).at(-2)!
        ;(s as { run: typeof s.run }).run = ((
          feeds: Record<string, ort.Tensor>,
          ...rest: never[]
        ) => {
          calls.push({ component, feeds })
          return run(feeds, ...rest)
        }) as typeof s.run
        return s
      },
    })
    const sessions = new ModelSessions(
      runtime,
      Object.fromEntries(Object.entries(model.components).map(([k, c]) => [k, c.path])),
      'offload',
    )
    const rgb = await loadImage(image)
    const out = await sessions.job(() =>
      new CogVideoXPipeline(model, sessions).call({
        prompt: 'a cat looks around',
        image: rgb,
        numFrames: frames,
        numInferenceSteps: 2,
        guidanceScale: 5,
        seed: 3,
      }),
    )
    return { model, out, calls }
  }

  it('is an image-to-video model with the family defaults and its config', () => {
    const m = openModelFolder(dir)
    expect(m.pipeline).toBe('cogvideox-i2v')
    expect(m.vae).toMatchObject({
      scalingFactor: 0.7,
      invertScaleLatents: true,
      temporalCompression: 4,
    })
    expect(m.defaults).toMatchObject({ steps: 50, guidance: 6, width: 16, height: 16 })
  })

  it('pads 3 latent frames to 4, feeds the image in both halves, and decodes the 3', async () => {
    const { out, calls } = await render(imagePath)
    const enc = calls.filter((c) => c.component === 'vae_encoder')
    expect(enc).toHaveLength(1)
    expect(enc[0]!.feeds['sample']!.dims).toEqual([1, 3, 1, 16, 16])
    const tr = calls.filter((c) => c.component === 'transformer')
    expect(tr).toHaveLength(2)
    for (const c of tr) {
      expect(c.feeds['hidden_states']!.dims).toEqual([2, 4, 8, 2, 2])
      expect(Array.from(c.feeds['ofs']!.data as Float32Array)).toEqual([2])
      expect(c.feeds['image_rotary_emb_cos']!.dims).toEqual([2, 16])
      // channels 4..7 are the image latents: the same in both halves; frame 0 only
      const x = c.feeds['hidden_states']!.data as Float32Array
      const plane = 4 // 2x2
      const at = (b: number, f: number, ch: number, p: number) =>
        x[((b * 4 + f) * 8 + ch) * plane + p]!
      let frame0 = 0
      for (let ch = 4; ch < 8; ch++)
        for (let p = 0; p < plane; p++) {
          expect(at(0, 0, ch, p)).toBe(at(1, 0, ch, p))
          frame0 += Math.abs(at(0, 0, ch, p))
          for (let f = 1; f < 4; f++) expect(at(0, f, ch, p)).toBe(0)
        }
      expect(frame0).toBeGreaterThan(0)
    }
    const dec = calls.filter((c) => c.component === 'vae_decoder')
    expect(dec.map((c) => c.feeds['latent_sample']!.dims)).toEqual([[1, 4, 3, 2, 2]])
    expect(out.numFrames).toBe(9)
    expect(out.settings).toMatchObject({ numFrames: 9, guidanceScale: 5, decodeChunkSize: null })
  })

  it("another image gives other image latents in the transformer's input", async () => {
    // (the tiny transformer barely mixes frames, so its clips differ little; the round trip
    // against diffusers in tools/export's tests shows the image reaches real frames)
    const first = async (image: string) => {
      const { calls } = await render(image)
      const x = calls.find((c) => c.component === 'transformer')!.feeds['hidden_states']!
      return Array.from((x.data as Float32Array).subarray(4 * 4, 8 * 4)) // frame 0, channels 4..7
    }
    const a = await first(imagePath)
    const b = await first(sharedPath('fixtures/images/coffee.png'))
    expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBeGreaterThan(0.05)
  })

  it('refuses to run without an image, saying what it needs', async () => {
    const model = openModelFolder(dir)
    const runtime = new Runtime({ preferCuda: false })
    const sessions = new ModelSessions(runtime, {}, 'offload')
    await expect(
      new CogVideoXPipeline(model, sessions).call({ prompt: 'x', numFrames: 9 }),
    ).rejects.toThrow(/animates an image: give one/)
  })

  it('a frame count the padded export cannot take names frames it can (it said "a clip of 13 frames", which is refused too)', async () => {
    const model = openModelFolder(dir)
    const runtime = new Runtime({ preferCuda: false })
    const sessions = new ModelSessions(runtime, {}, 'offload')
    const rgb = await loadImage(imagePath)
    const err = await new CogVideoXPipeline(model, sessions)
      .call({ prompt: 'x', image: rgb, numFrames: 5, numInferenceSteps: 1 })
      .then(
        () => null,
        (e: Error) => e.message,
      )
    // 1.5 pads 3 latent frames to the 4 the transformer was exported for: 9 to 12 frames
    expect(err).toMatch(/exported for 4 latent frames \(a clip of 9 frames/)
    expect(err).not.toMatch(/13 frames/)
    expect(model.maxFrames).toBe(12)
  })
})
