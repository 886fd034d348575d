// Sessions: CUDA-to-CPU fallback with a reason, input adaptation from inputMetadata,
// float16 models, and external data.
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  AnimateDiffPipeline,
  ModelSessions,
  openModelFolder,
  Runtime,
} from '../../../src/main/engine'
import { writeAnimateDiffFolder } from '../../fixtures/model-folders'
import { externalize } from '../../../src/demo-model/onnx-builder'
import * as tiny from '../../../src/demo-model/tiny-models'
import { missing, sharedPath } from './reference'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-rt-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const clipTok = sharedPath('fixtures/tokenizers/clip')

describe('Runtime', () => {
  it('falls back to the CPU when CUDA is asked for but unavailable, and says why', async () => {
    const f = join(tmp, 'te.onnx')
    writeFileSync(f, tiny.clipTextEncoder())
    const rt = new Runtime({ preferCuda: true })
    const s = await rt.load(f, 'text_encoder')
    expect(s.provider).toBe('cpu')
    expect(rt.providerFallbackReason).toMatch(/^CUDA unavailable, running on the CPU: /)
    expect(rt.liveSessions).toBe(1)
    await s.release()
    await s.release() // idempotent
    expect(rt.liveSessions).toBe(0)
  })

  it('adapts the timestep to each dtype and rank the model declares', async () => {
    const rt = new Runtime({ preferCuda: false })
    const cases = [
      { dtype: 'int64', rank: 1 },
      { dtype: 'int32', rank: 1 },
      { dtype: 'float32', rank: 0 },
      { dtype: 'float16', rank: 1 },
    ] as const
    for (const ts of cases) {
      const f = join(tmp, `unet-${ts.dtype}-${ts.rank}.onnx`)
      writeFileSync(f, tiny.animateDiffUNet({ timestep: ts }))
      const s = await rt.load(f, 'unet')
      const t = s.timestep('timestep', 999, 2)
      expect(t.type).toBe(ts.dtype)
      expect(t.dims).toEqual(ts.rank === 0 ? [] : [1])
      const out = await s.runFirst({
        sample: s.floatInput(
          'sample',
          new Float32Array(2 * 4 * 2 * 256).fill(0.5),
          [2, 4, 2, 16, 16],
        ),
        timestep: t,
        encoder_hidden_states: s.floatInput(
          'encoder_hidden_states',
          new Float32Array(4 * 77 * 8).fill(0.1),
          [4, 77, 8],
        ),
      })
      expect(out.dims).toEqual([2, 4, 2, 16, 16])
      await s.release()
    }
    // a [batch] timestep (CogVideoX) gets one value per batch item
    const f = join(tmp, 'cog.onnx')
    writeFileSync(f, tiny.cogVideoXTransformer())
    const s = await rt.load(f, 'transformer')
    expect(s.timestep('timestep', 750, 2).dims).toEqual([2])
    await s.release()
  })

  it.skipIf(missing(clipTok))(
    'runs a float16 model end to end (inputs converted, outputs read back)',
    async () => {
      const model = openModelFolder(
        writeAnimateDiffFolder(join(tmp, 'ad16'), { precision: 'fp16', tokenizerFrom: clipTok }),
      )
      expect(model.components['unet']!.precision).toBe('fp16')
      const rt = new Runtime({ preferCuda: false })
      const sessions = new ModelSessions(
        rt,
        Object.fromEntries(Object.entries(model.components).map(([k, c]) => [k, c.path])),
        'offload',
      )
      const out = await sessions.job(() =>
        new AnimateDiffPipeline(model, sessions).call({
          prompt: 'a cat',
          numFrames: 2,
          numInferenceSteps: 2,
          seed: 1,
        }),
      )
      expect(out.frames.length).toBe(2 * 32 * 32 * 3)
      expect(out.frames.every((v) => Number.isFinite(v) && v >= 0 && v <= 1)).toBe(true)
      expect(new Set(out.frames).size).toBeGreaterThan(10)
    },
  )

  it('loads a model whose weights are in model.onnx_data beside it', async () => {
    const dir = join(tmp, 'ext')
    mkdirSync(dir)
    const { model, data } = externalize(tiny.vaeDecoder(), 'model.onnx_data')
    writeFileSync(join(dir, 'model.onnx'), model)
    writeFileSync(join(dir, 'model.onnx_data'), data)
    const ref = join(tmp, 'vae-inline.onnx')
    writeFileSync(ref, tiny.vaeDecoder())
    const rt = new Runtime({ preferCuda: false })
    const z = new Float32Array(4 * 4 * 4).map((_, i) => Math.sin(i))
    const run = async (p: string) => {
      const s = await rt.load(p, 'vae')
      const o = await s.runFirst({ latent_sample: s.floatInput('latent_sample', z, [1, 4, 4, 4]) })
      await s.release()
      return o.data
    }
    expect(Array.from(await run(join(dir, 'model.onnx')))).toEqual(Array.from(await run(ref)))
  })
})
