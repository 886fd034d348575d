// The model manager: lists the demo and added/downloaded models, refuses a corrupt folder
// with the engine's message, and estimates VRAM per plan from the models' file sizes and the
// activation rules their exports wrote.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  statSync,
  unlinkSync,
  readdirSync,
} from 'node:fs'
import { tmpdir, homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { memoryModel, openModelFolder } from '../../src/main/engine/models/model-folder'
import { ModelRegistry } from '../../src/main/services/model-registry'
import { planNeeds, RUNTIME_MIB, vramEstimate } from '../../src/shared/vram'
import { writeAnimateDiffFolder, writeSvdFolder } from '../fixtures/model-folders'
import { missing, sharedPath } from './engine/reference'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-registry-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const demo = resolve(__dirname, '../../resources/demo-model')
const clipTok = sharedPath('fixtures/tokenizers/clip')

function componentBytes(dir: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const c of readdirSync(dir)) {
    const f = join(dir, c, 'model.onnx')
    if (existsSync(f)) out[c] = statSync(f).size
  }
  return out
}

describe.skipIf(!existsSync(demo) || missing(clipTok))('model registry', () => {
  it('lists the demo first and a downloaded tiny model; remembers paths only', () => {
    const state = join(tmp, 's1')
    const r = new ModelRegistry(state, [demo], () => null)
    const tiny = writeAnimateDiffFolder(join(tmp, 'models', 'tiny'), {
      tokenizerFrom: clipTok,
      cameraPoses: true,
    })
    const added = r.add(tiny)
    expect(added).toMatchObject({
      label: 'tiny',
      pipeline: 'animatediff',
      camera: 'motionctrl-rt',
      precision: 'fp32',
      error: null,
      removable: true,
      added: true,
    })
    // a folder already listed (the user's, or built in) is not added again, and says so
    expect(r.add(tiny).added).toBe(false)
    expect(r.add(demo).added).toBe(false)
    const list = new ModelRegistry(state, [demo], () => null).list()
    expect(list.map((m) => m.label)).toEqual(['Demo (random weights)', 'tiny'])
    expect(list[0]).toMatchObject({ demo: true, removable: false })
    // sizes come from the export: both have static latent grids (32x32 and 16x16), so each
    // offers only that size times its VAE's factor as its config.json gives it (the demo's
    // VAE: 8; the tiny one's: 2, so 32x32 pixels, not the 128x128 an assumed 8 gave)
    expect(list.map((m) => m.sizes.map((z) => [z.width, z.height]))).toEqual([
      [[256, 256]],
      [[32, 32]],
    ])
    expect(r.setDefault(resolve(tiny))).toEqual({ defaultId: resolve(tiny) })
    expect(new ModelRegistry(state, [demo], () => null).list()[1]!.isDefault).toBe(true)
    expect(r.remove(resolve(tiny))).toEqual({ removed: true })
    expect(existsSync(tiny)).toBe(true) // removing from the list never deletes the user's files
  })

  it('a change whose list cannot be written is refused and not kept: the list is still what is on disk', () => {
    const state = join(tmp, 's1b')
    const r = new ModelRegistry(state, [demo], () => null)
    const tiny = writeAnimateDiffFolder(join(tmp, 'models', 'unwritable'), {
      tokenizerFrom: clipTok,
    })
    r.add(tiny)
    // models.json cannot be replaced (a folder in its place)
    rmSync(join(state, 'models.json'))
    mkdirSync(join(state, 'models.json'))
    const other = writeAnimateDiffFolder(join(tmp, 'models', 'unwritable-2'), {
      tokenizerFrom: clipTok,
    })
    expect(() => r.remove(resolve(tiny))).toThrow()
    expect(() => r.setDefault(resolve(tiny))).toThrow()
    expect(() => r.add(other)).toThrow()
    expect(r.list().map((m) => [m.id, m.isDefault])).toEqual([
      [demo, false],
      [resolve(tiny), false],
    ])
  })

  it("refuses a corrupt folder with the engine's message", () => {
    const r = new ModelRegistry(join(tmp, 's2'), [demo], () => null)
    const broken = writeAnimateDiffFolder(join(tmp, 'models', 'broken'), { tokenizerFrom: clipTok })
    unlinkSync(join(broken, 'unet', 'model.onnx'))
    expect(() => r.add(broken)).toThrow(
      /broken\/unet\/model\.onnx: missing; a unet is required for this pipeline/,
    )
    expect(() => r.add(join(tmp, 'nowhere'))).toThrow(/no such folder/)
    expect(r.list()).toHaveLength(1)
  })

  it('takes a path as typed: spaces around it dropped, ~ for home; a relative one is refused', () => {
    const r = new ModelRegistry(join(tmp, 's3'), [demo], () => null)
    const tiny = writeAnimateDiffFolder(join(tmp, 'models', 'typed'), { tokenizerFrom: clipTok })
    expect(r.add(`  ${tiny} `).id).toBe(resolve(tiny))
    expect(() => r.add('models/typed')).toThrow(
      /"models\/typed": give the folder's full path \(or one starting with ~\)/,
    )
    expect(() => r.add('~/no-such-dolly-model-folder')).toThrow(
      new RegExp(`${homedir()}/no-such-dolly-model-folder.*no such folder`),
    )
  })

  it('estimates VRAM per plan from the tiny models’ sizes and says which plan fits', () => {
    const MiB = 1024 * 1024
    for (const dir of [demo, writeSvdFolder(join(tmp, 'models', 'svd'))]) {
      const bytes = componentBytes(dir)
      const m = openModelFolder(dir)
      const e = vramEstimate(memoryModel(m), {
        width: m.defaults.width,
        height: m.defaults.height,
        frames: m.defaults.frames,
        guidance: m.defaults.guidance,
      })
      // these folders' dolly.json has no memory rule: a flat 512 MiB of activations per stage
      const sizes = Object.values(bytes).map((b) => b / MiB)
      expect(e.residentMiB).toBe(Math.ceil(sizes.reduce((a, b) => a + b, 0) + 512 + RUNTIME_MIB))
      expect(e.offloadMiB).toBe(Math.ceil(Math.max(...sizes) + 512 + RUNTIME_MIB))
      expect(e.minimalMiB).toBe(e.offloadMiB)
      // (tiny weights: the three plans need the same)
      expect(new ModelRegistry(join(tmp, 's3'), [dir], () => e.minimalMiB).list()[0]).toMatchObject(
        { vram: e, fits: 'resident' },
      )
      expect(new ModelRegistry(join(tmp, 's3'), [dir], () => e.residentMiB).list()[0]!.fits).toBe(
        'resident',
      )
      expect(
        new ModelRegistry(join(tmp, 's3'), [dir], () => e.minimalMiB - 1).list()[0]!.fits,
      ).toBeNull()
      expect(new ModelRegistry(join(tmp, 's4'), [dir], () => null).list()[0]!.fits).toBeNull()
    }
  })

  it('reads the activation rules an export wrote to dolly.json: the fit follows the model’s size', () => {
    const GiB = 1024 ** 3
    // 1 GiB per batch item at 512x512x16, linear in frames x pixels (a fused UNet); a VAE at 0.5 GiB per frame
    const rule = (F0: number, a: number, perItem: number) => ({
      F0,
      P0: 512 * 512,
      constant: 0,
      terms: [[a, 1, perItem]] as [number, number, number][],
    })
    const dir = writeAnimateDiffFolder(join(tmp, 'models', 'ruled'), {
      tokenizerFrom: clipTok,
      dolly: {
        memory: {
          unet: { activations: rule(16, 1, GiB) },
          vae_decoder: { activations: rule(1, 0, 0.5 * GiB) },
        },
      },
    })
    const m = openModelFolder(dir)
    const call = { width: 512, height: 512, frames: 16, guidance: 7.5 }
    const needs = planNeeds(memoryModel(m), call)
    const w = (c: string) => m.components[c]!.bytes / 1024 ** 2
    // resident: every weight + the largest stage's activations (the VAE: 16 frames per call x 0.5 GiB)
    expect(needs.resident.largest.component).toBe('vae_decoder')
    expect(needs.resident.needMiB).toBe(
      Math.ceil(w('text_encoder') + w('unet') + w('vae_decoder') + 16 * 512 * 1.25 + RUNTIME_MIB),
    )
    // minimal: batch-1 guidance (1 GiB) and one 512x512 frame per VAE call (0.5 GiB)
    expect(needs.minimal.largest.component).toBe('unet')
    expect(needs.minimal.largest.batch).toBe(1)
    expect(needs.minimal.needMiB).toBe(Math.ceil(w('unet') + 1024 * 1.25 + RUNTIME_MIB))
    // twice the frames: twice the UNet's activations
    const longer = planNeeds(memoryModel(m), { ...call, frames: 32 })
    expect(longer.minimal.largest.activationMiB).toBeCloseTo(
      2 * needs.minimal.largest.activationMiB,
      6,
    )
    // the models dialog: each plan's need at the model's own size, frames and guidance
    const d = m.defaults
    const own = planNeeds(memoryModel(m), {
      width: d.width,
      height: d.height,
      frames: d.frames,
      guidance: d.guidance,
    })
    const vram = {
      residentMiB: own.resident.needMiB,
      offloadMiB: own.offload.needMiB,
      minimalMiB: own.minimal.needMiB,
    }
    expect(
      new ModelRegistry(join(tmp, 's5'), [dir], () => own.minimal.needMiB).list()[0],
    ).toMatchObject({ vram })
    expect(
      new ModelRegistry(join(tmp, 's5'), [dir], () => own.minimal.needMiB - 1).list()[0]!.fits,
    ).toBeNull()
  })
})
