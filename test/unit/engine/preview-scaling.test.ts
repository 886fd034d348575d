// A preview decoder (dolly.json "previewDecoder") takes raw VAE latents: the live preview divides
// the denoiser's latents by the folder's own VAE scaling factor (vae_decoder/config.json, else
// the registry row's default), not by SD's 0.18215 typed into the render.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { missing, sharedPath } from './reference'

const seen: number[] = []
vi.mock('../../../src/main/engine/jobs/preview', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../../src/main/engine/jobs/preview')>()
  return {
    ...real,
    latentToRgbDecoder: (...args: Parameters<typeof real.latentToRgbDecoder>) => {
      seen.push(args[4])
      return real.latentToRgbDecoder(...args)
    },
  }
})

const demo = resolve(__dirname, '../../../resources/demo-model')
const previewOnnx = sharedPath('fixtures/onnx/vaelight/VAEpreview.onnx')
const skip = missing(join(demo, 'model_index.json'), previewOnnx)
const tmp = mkdtempSync(join(tmpdir(), 'dolly-preview-scaling-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe.skipIf(skip)(`the preview decoder's latent scale ${skip ?? ''}`, () => {
  it("is the model folder's VAE scaling factor", async () => {
    const { renderClip } = await import('../../../src/main/engine/jobs/render')
    const { Runtime } = await import('../../../src/main/engine')
    const dir = join(tmp, 'model')
    cpSync(demo, dir, { recursive: true })
    const vaeConfig = join(dir, 'vae_decoder', 'config.json')
    const config = JSON.parse(readFileSync(vaeConfig, 'utf8')) as Record<string, unknown>
    writeFileSync(vaeConfig, JSON.stringify({ ...config, scaling_factor: 0.5 }))
    cpSync(previewOnnx, join(dir, 'preview', 'model.onnx'))
    const dollyJson = join(dir, 'dolly.json')
    const dolly = JSON.parse(readFileSync(dollyJson, 'utf8')) as Record<string, unknown>
    writeFileSync(dollyJson, JSON.stringify({ ...dolly, previewDecoder: 'preview/model.onnx' }))
    const runtime = new Runtime({ preferCuda: false })
    const previews: number[] = []
    try {
      await renderClip(
        {
          model: dir,
          prompt: 'a lighthouse',
          seed: 1,
          steps: 2,
          frames: 2,
          plan: 'resident',
          out: join(tmp, 'clip.gif'),
        },
        { runtime },
        { onPreview: (p) => previews.push(p.step) },
      )
    } finally {
      await runtime.releaseAll()
    }
    expect(previews.length).toBeGreaterThan(0)
    expect(seen.length).toBe(previews.length)
    expect(new Set(seen)).toEqual(new Set([0.5]))
  })
})
