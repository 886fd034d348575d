// CogVideoXPipeline against diffusers on ../shared/reference/models/cogvideox-tiny, and the 5B
// parts (RoPE tables, dynamic CFG, SNR-shifted zero-SNR alphas) checked from diffusers' formulas.
import { describe, expect, it } from 'vitest'
import {
  CogVideoXDDIMScheduler,
  CogVideoXPipeline,
  dynamicGuidance,
  framesToUint8,
  ModelSessions,
  openModelFolder,
  resizeCropRegionForGrid,
  rotaryEmbeddings3d,
  Runtime,
  Tensor,
} from '../../../src/main/engine'
import { sincosPositionTable } from '../../../src/main/engine/pipelines/cogvideox'
import type { PipelineCall } from '../../../src/main/engine/pipelines/types'
import {
  classifierFreeGuidance,
  schedulerFromConfig,
} from '../../../src/main/engine/pipelines/common'
import {
  expectSchedulerTables,
  maxAbs,
  missing,
  num,
  readJson,
  readNpy,
  referenceMeta,
  referenceCall,
  sharedPath,
} from './reference'
import { readPng } from './png'

const dir = sharedPath('reference/models/cogvideox-tiny')
const skip = missing(dir)

/** cogvideox-tiny run with the reference's settings (and `over`), every tensor traced. */
async function runTiny(over: Partial<PipelineCall> = {}) {
  const meta = referenceMeta(dir)
  const model = openModelFolder(dir)
  const runtime = new Runtime({ preferCuda: false })
  const sessions = new ModelSessions(
    runtime,
    Object.fromEntries(Object.entries(model.components).map(([k, c]) => [k, c.path])),
    'offload',
  )
  const traced = new Map<string, Float32Array>()
  const out = await sessions.job(() =>
    new CogVideoXPipeline(model, sessions).call(
      {
        ...referenceCall(meta),
        ...over,
      },
      { onTrace: (name, data) => traced.set(name, Float32Array.from(data)) },
    ),
  )
  return { meta, model, runtime, out, traced }
}

describe.skipIf(skip)('CogVideoXPipeline vs diffusers (cogvideox-tiny)', () => {
  it('matches every traced tensor and the PNG frames within 1/255', async () => {
    const { meta, model, out, traced, runtime } = await runTiny()
    const checks: [string, number][] = [
      ['prompt_embeds', 1e-5],
      ['negative_prompt_embeds', 1e-5],
      ['init_noise', 0],
    ]
    for (let i = 0; i < meta.num_inference_steps; i++) {
      checks.push(
        [`step${i}_transformer_hidden_states`, 1e-5],
        [`step${i}_transformer_out`, 1e-5],
        [`step${i}_latents_after`, 1e-5],
      )
    }
    for (const [name, tol] of checks) {
      const ref = readNpy(`${dir}/reference/trace/${name}.npy`).data as Float32Array
      const got = traced.get(name)
      expect(got, name).toBeDefined()
      let mag = 1
      for (const v of ref) mag = Math.max(mag, Math.abs(v))
      expect(maxAbs(got!, ref) / mag, name).toBeLessThanOrEqual(tol)
    }
    expect(out.numFrames).toBe(8)
    expectSchedulerTables(dir, model)
    // README "Tolerances that hold": frames within 2e-6 with onnxruntime-node 1.20; 1.30 measures
    // up to 2.5e-6 (SVD), so 5e-6: an 8-bit PNG check alone would let 4e-3 through
    const frames = readNpy(`${dir}/reference/frames.npy`).data as Float32Array
    expect(maxAbs(out.frames, frames)).toBeLessThanOrEqual(5e-6)
    const u8 = framesToUint8(out.frames)
    const per = meta.width * meta.height * 3
    for (let f = 0; f < 8; f++) {
      const png = readPng(`${dir}/reference/frame_${String(f).padStart(3, '0')}.png`)
      expect(
        maxAbs(u8.subarray(f * per, (f + 1) * per), png.rgb),
        `frame ${f}`,
      ).toBeLessThanOrEqual(1)
    }
    expect(runtime.liveSessions).toBe(0)
  })
})

describe.skipIf(skip)('CogVideoX with use_dynamic_cfg (cogvideox-tiny)', () => {
  it('guides each step with the dynamic scale at its timestep, not the constant one', async () => {
    const { meta, model, traced } = await runTiny({ useDynamicCfg: true })
    // step 0 by hand: CFG at the dynamic scale, then the folder's scheduler from the noise
    const N = meta.num_inference_steps
    const sched = schedulerFromConfig(model.schedulerConfig)
    sched.setTimesteps(N)
    const t0 = sched.timesteps[0]!
    const g = dynamicGuidance(meta.guidance_scale, t0, N)
    expect(Math.abs(g - meta.guidance_scale)).toBeGreaterThan(0.1)
    const out = traced.get('step0_transformer_out')!
    const noise = traced.get('init_noise')!
    const dims = [noise.length]
    const step = (scale: number) => {
      const s = schedulerFromConfig(model.schedulerConfig)
      s.setTimesteps(N)
      const eps = classifierFreeGuidance(out, scale)
      return s.step(new Tensor('float32', eps, dims), t0, new Tensor('float32', noise, dims))
        .prevSample.data as Float32Array
    }
    const after = traced.get('step0_latents_after')!
    expect(maxAbs(after, step(g))).toBe(0)
    expect(maxAbs(after, step(meta.guidance_scale))).toBeGreaterThan(1e-4)
  })
})

describe('CogVideoX 5B parts from diffusers formulas', () => {
  it('dynamic CFG follows 1 + g (1 - cos(pi ((N - t)/N)^5)) / 2 at each timestep', () => {
    const s = CogVideoXDDIMScheduler.fromConfig({
      beta_schedule: 'scaled_linear',
      prediction_type: 'v_prediction',
      rescale_betas_zero_snr: true,
      snr_shift_scale: 1.0,
      timestep_spacing: 'trailing',
      clip_sample: false,
    })
    s.setTimesteps(50)
    // t = 999 at the first step: ((50 - 999)/50)^5 is a large negative number
    for (const t of s.timesteps) {
      const want = 1 + (6 * (1 - Math.cos(Math.PI * Math.pow((50 - t) / 50, 5)))) / 2
      expect(dynamicGuidance(6, t, 50)).toBeCloseTo(want, 12)
    }
    expect(dynamicGuidance(6, 50, 50)).toBe(1) // (N - t) = 0 -> no guidance boost
  })

  const snrRef = sharedPath('reference/schedulers/cogvideox_ddim_5b_30.json')
  it.skipIf(missing(snrRef))(
    'SNR shift then zero-terminal-SNR rescale: alphas as diffusers computes them (float64)',
    () => {
      const ref = snrRef
      const r = readJson<{ resolved_config: object; alphas_cumprod_float32: (number | string)[] }>(
        ref,
      )
      const s = CogVideoXDDIMScheduler.fromConfig(r.resolved_config)
      const want = r.alphas_cumprod_float32.map(num)
      for (let i = 0; i < 1000; i++)
        expect(Math.fround(s.alphasCumprod[i]!)).toBe(Math.fround(want[i]!))
      // terminal SNR is zero; the first alpha is kept
      expect(s.alphasCumprod[999]).toBe(0)
    },
  )

  it('RoPE tables for a small grid match get_3d_rotary_pos_embed computed from its formula', () => {
    // 5B: head dim 64, patch 2, sample 90x60 latents (base grid 45x30); a 4x6-latent-patch grid, 2 latent frames
    const crops = resizeCropRegionForGrid([4, 6], 45, 30)
    expect(crops).toEqual([
      [0, 0],
      [30, 45],
    ])
    const headDim = 64
    const { cos, sin, dims } = rotaryEmbeddings3d(headDim, crops, [4, 6], 2)
    expect(dims).toEqual([2 * 4 * 6, 64])
    // from the formula, in float64: split 16 (t) + 24 (h) + 24 (w); each pair repeats a frequency
    const axis = (dim: number, pos: number) =>
      Array.from({ length: dim }, (_, j) => pos / Math.pow(10000, (2 * Math.floor(j / 2)) / dim))
    const lin = (a: number, b: number, n: number, i: number) => a + ((b - a) * i) / (n - 1)
    for (const [t, y, x] of [
      [0, 0, 0],
      [1, 2, 3],
      [1, 3, 5],
    ] as const) {
      const row = (t * 4 + y) * 6 + x
      const angles = [
        ...axis(16, lin(0, (2 * 1) / 2, 2, t)),
        ...axis(24, lin(0, (30 * 3) / 4, 4, y)),
        ...axis(24, lin(0, (45 * 5) / 6, 6, x)),
      ]
      angles.forEach((a, j) => {
        expect(Math.abs(cos[row * 64 + j]! - Math.cos(a)), `cos row ${row} col ${j}`).toBeLessThan(
          2e-6,
        )
        expect(Math.abs(sin[row * 64 + j]! - Math.sin(a)), `sin row ${row} col ${j}`).toBeLessThan(
          2e-6,
        )
      })
    }
  })
})

import { spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { writeCogVideoXFolder } from '../../fixtures/model-folders'
import { externalize } from '../../../src/demo-model/onnx-builder'
import * as tiny from '../../../src/demo-model/tiny-models'
import { writeFileSync } from 'node:fs'
import { ffprobeStream } from '../../fixtures/ffprobe'

const root = resolve(__dirname, '../../..')
const cli = join(root, 'bin/dolly.mjs')
const built = existsSync(join(root, 'out/main/cli.js'))
const t5 = sharedPath('fixtures/tokenizers/t5')

function render(args: string[]) {
  const r = spawnSync(process.execPath, [cli, 'render', ...args, '--cpu'], { encoding: 'utf8' })
  return { code: r.status, stderr: r.stderr }
}

describe.skipIf(!built || missing(t5))('dolly render with CogVideoX models', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'dolly-cog-'))
  const model49 = writeCogVideoXFolder(join(tmp, 'cog49'), { tokenizerFrom: t5, latentFrames: 13 })

  it('--frames 49 gives a 49-frame clip at 8 fps', () => {
    const out = join(tmp, 'clip.mp4')
    const r = render([
      '--model',
      model49,
      '--prompt',
      'waves rolling onto a sandy beach',
      '--frames',
      '49',
      '--steps',
      '2',
      '--width',
      '16',
      '--height',
      '16',
      '--out',
      out,
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(ffprobeStream(out, ['nb_read_frames', 'r_frame_rate'])).toEqual({
      nb_read_frames: '49',
      r_frame_rate: '8/1',
    })
  })

  it('warns when the frame count is not 4k+1, naming the frames the clip will have', () => {
    const model = writeCogVideoXFolder(join(tmp, 'cog2'), { tokenizerFrom: t5, latentFrames: 2 })
    // 7 frames -> (7-1)//4+1 = 2 latent frames -> the causal VAE decodes 8 (diffusers' does:
    // two latent frames are one decoder call, both doubled twice)
    const r = render([
      '--model',
      model,
      '--prompt',
      'waves',
      '--frames',
      '7',
      '--steps',
      '1',
      '--width',
      '16',
      '--height',
      '16',
      '--out',
      join(tmp, 'w.gif'),
      '--fps',
      '10',
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(
      /7 frames give 2 latent frames, and the VAE decodes 8 frames from them: CogVideoX renders 8k\+1 frames exactly/,
    )
    expect(r.stderr).toMatch(/wrote .*w\.gif \(8 frames,/)
  })

  // 5B and 1.5 exports: the transformer takes any frames, the VAE decoder only the exported ones
  // (its causal decoder loops over frames in Python, so the exporter fixes them)
  const fixedVae = writeCogVideoXFolder(join(tmp, 'cog-vae3'), {
    tokenizerFrom: t5,
    latentFrames: 3,
    symbolicFrames: true,
  })

  it("takes its frames from a VAE decoder that fixes them, where the transformer's are free", () => {
    const m = openModelFolder(fixedVae)
    expect(m.components['transformer']!.inputs['hidden_states']!.shape[1]).toBe('frames')
    // 3 latent frames: a 9-frame clip, and up to 12 requested frames map onto them
    expect(m.defaults.frames).toBe(9)
    expect(m.maxFrames).toBe(12)
  })

  it('refuses other frame counts before any step, naming the frames the export decodes', () => {
    const r = render([
      '--model',
      fixedVae,
      '--prompt',
      'waves',
      '--frames',
      '5',
      '--steps',
      '2',
      '--width',
      '16',
      '--height',
      '16',
      '--out',
      join(tmp, 'vae3.mp4'),
    ])
    expect(r.code).not.toBe(0)
    expect(r.stderr).toMatch(
      /this VAE decoder was exported for 3 latent frames \(a clip of 9 frames\); 16x16 with 5 frames needs 2/,
    )
    // found before the work, not at the decode after every step
    expect(r.stderr).not.toMatch(/denoise/)
    expect(existsSync(join(tmp, 'vae3.mp4'))).toBe(false)
    const ok = render([
      ...['--model', fixedVae, '--prompt', 'waves', '--steps', '1'],
      ...['--width', '16', '--height', '16', '--out', join(tmp, 'vae9.mp4')],
    ])
    expect(ok.code, ok.stderr).toBe(0)
  })

  it('truncates a prompt over 226 tokens with a warning', () => {
    const long = Array.from({ length: 300 }, () => 'waves').join(' ')
    const r = render([
      '--model',
      model49,
      '--prompt',
      long,
      '--steps',
      '1',
      '--width',
      '16',
      '--height',
      '16',
      '--out',
      join(tmp, 'long.mp4'),
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/the prompt has 300 tokens; T5 reads the first 225, the rest was cut/)
  })

  it('refuses a transformer whose model.onnx_data is missing, naming the file', () => {
    const model = writeCogVideoXFolder(join(tmp, 'cogx'), { tokenizerFrom: t5 })
    const { model: bytes, data } = externalize(tiny.cogVideoXTransformer(), 'model.onnx_data')
    writeFileSync(join(model, 'transformer', 'model.onnx'), bytes)
    writeFileSync(join(model, 'transformer', 'model.onnx_data'), data)
    expect(
      render([
        '--model',
        model,
        '--prompt',
        'x',
        '--steps',
        '1',
        '--width',
        '16',
        '--height',
        '16',
        '--frames',
        '5',
        '--out',
        join(tmp, 'ok.mp4'),
      ]).code,
    ).toBe(0)
    unlinkSync(join(model, 'transformer', 'model.onnx_data'))
    const r = render(['--model', model, '--prompt', 'x', '--out', join(tmp, 'x.mp4')])
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(
      /transformer\/model\.onnx: its weights are in external data file "model\.onnx_data", which is missing/,
    )
    rmSync(tmp, { recursive: true, force: true })
  })
})

type SincosCase = {
  name: string
  dim: number
  latent_width: number
  latent_height: number
  latent_frames: number
  patch_size: number
  spatial_interpolation_scale: number
  temporal_interpolation_scale: number
  shape: [number, number]
  rows: number[]
  values: number[][]
}

describe("CogVideoX-2B's sincos position table vs diffusers' CogVideoXPatchEmbed", () => {
  // test/data/cogvideox/sincos.json, from tools/reference/cogvideox_sincos.py: the table the
  // patch embedding adds for a size, which the 2B export takes as its pos_embedding input
  const cases = JSON.parse(
    readFileSync(resolve(__dirname, '../../data/cogvideox/sincos.json'), 'utf8'),
  ) as SincosCase[]
  it('has the reference cases', () => expect(cases.map((c) => c.name)).toHaveLength(3))
  for (const c of cases) {
    it(`${c.name}: [${c.shape}]`, () => {
      const grid: [number, number] = [
        Math.floor(c.latent_height / c.patch_size),
        Math.floor(c.latent_width / c.patch_size),
      ]
      const t = sincosPositionTable(
        c.dim,
        grid,
        c.latent_frames,
        c.spatial_interpolation_scale,
        c.temporal_interpolation_scale,
      )
      expect(t.dims).toEqual(c.shape)
      let worst = 0
      c.rows.forEach((r, i) => {
        const want = c.values[i]!
        for (let j = 0; j < c.dim; j++)
          worst = Math.max(worst, Math.abs(t.data[r * c.dim + j]! - Math.fround(want[j]!)))
      })
      // float64 sines rounded to float32 on both sides: every value equal (V8's sin and cos are
      // its own fdlibm port, the same on every platform)
      expect(worst).toBe(0)
    })
  }
  it('refuses a dimension the table cannot split', () => {
    expect(() => sincosPositionTable(40, [2, 2], 1, 1.875, 1)).toThrow(/divisible by 16, got 40/)
  })
})
