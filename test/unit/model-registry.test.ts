// The model manager: lists the demo and added/downloaded models, refuses a corrupt folder
// with the engine's message, and estimates VRAM per plan from the models' file sizes.
import { existsSync, mkdtempSync, rmSync, statSync, unlinkSync, readdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ModelRegistry } from '../../src/main/services/model-registry'
import { planThatFits, vramEstimate } from '../../src/shared/vram'
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
    const tiny = writeAnimateDiffFolder(join(tmp, 'models', 'tiny'), { tokenizerFrom: clipTok, cameraPoses: true })
    const added = r.add(tiny)
    expect(added).toMatchObject({ label: 'tiny', pipeline: 'animatediff', camera: 'motionctrl-rt', precision: 'fp32', error: null, removable: true })
    const list = new ModelRegistry(state, [demo], () => null).list()
    expect(list.map((m) => m.label)).toEqual(['Demo (random weights)', 'tiny'])
    expect(list[0]).toMatchObject({ demo: true, removable: false })
    // sizes come from the export: both have static latent grids (32x32 and 16x16), so each
    // offers only that size times its VAE's factor as its config.json gives it (the demo's
    // VAE: 8; the tiny one's: 2, so 32x32 pixels, not the 128x128 an assumed 8 gave)
    expect(list.map((m) => m.sizes.map((z) => [z.width, z.height]))).toEqual([[[256, 256]], [[32, 32]]])
    expect(r.setDefault(resolve(tiny))).toEqual({ defaultId: resolve(tiny) })
    expect(new ModelRegistry(state, [demo], () => null).list()[1]!.isDefault).toBe(true)
    expect(r.remove(resolve(tiny))).toEqual({ removed: true })
    expect(existsSync(tiny)).toBe(true) // removing from the list never deletes the user's files
  })

  it("refuses a corrupt folder with the engine's message", () => {
    const r = new ModelRegistry(join(tmp, 's2'), [demo], () => null)
    const broken = writeAnimateDiffFolder(join(tmp, 'models', 'broken'), { tokenizerFrom: clipTok })
    unlinkSync(join(broken, 'unet', 'model.onnx'))
    expect(() => r.add(broken)).toThrow(/broken\/unet\/model\.onnx: missing; a unet is required for this pipeline/)
    expect(() => r.add(join(tmp, 'nowhere'))).toThrow(/no such folder/)
    expect(r.list()).toHaveLength(1)
  })

  it('estimates VRAM per plan from the tiny models’ sizes and says which plan fits', () => {
    const MiB = 1024 * 1024
    for (const dir of [demo, writeSvdFolder(join(tmp, 'models', 'svd'))]) {
      const bytes = componentBytes(dir)
      const e = vramEstimate(bytes)
      const sizes = Object.values(bytes).map((b) => (b / MiB) * 1.2)
      expect(e.residentMiB).toBe(Math.ceil(sizes.reduce((a, b) => a + b, 0) + 512))
      expect(e.offloadMiB).toBe(Math.ceil(Math.max(...sizes) + 512))
      expect(e.minimalMiB).toBe(Math.ceil(Math.max(...sizes) + 256))
      expect(e.residentMiB).toBeGreaterThanOrEqual(e.offloadMiB)
      // (tiny weights: resident and offload round to the same figure; minimal is lower)
      expect(new ModelRegistry(join(tmp, 's3'), [dir], () => e.minimalMiB).list()[0]).toMatchObject({ vram: e, fits: 'minimal' })
      expect(new ModelRegistry(join(tmp, 's3'), [dir], () => e.residentMiB).list()[0]!.fits).toBe('resident')
      expect(new ModelRegistry(join(tmp, 's3'), [dir], () => e.minimalMiB - 1).list()[0]!.fits).toBeNull()
      expect(new ModelRegistry(join(tmp, 's4'), [dir], () => null).list()[0]!.fits).toBeNull()
    }
    // a 1.7 GB UNet, a 0.25 GB text encoder and a 0.1 GB VAE: minimal needs ~2.2 GiB, offload ~2.4, resident ~2.8
    const sd = { unet: 1.7e9, text_encoder: 0.25e9, vae_decoder: 0.1e9 }
    expect(planThatFits(vramEstimate(sd), 2300)).toBe('minimal')
    expect(planThatFits(vramEstimate(sd), 2500)).toBe('offload')
    expect(planThatFits(vramEstimate(sd), 1024)).toBeNull()
    expect(planThatFits(vramEstimate(sd), 8192)).toBe('resident')
  })
})
