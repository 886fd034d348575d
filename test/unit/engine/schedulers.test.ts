// Every scheduler run in ../shared/reference/schedulers (real diffusers) replayed with our
// classes: timesteps, sigmas, init_noise_sigma, the recorded steps and the final sample.
import { readdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import * as engine from '../../../src/main/engine'
import { Tensor } from '../../../src/main/engine'
import { missing, num, readJson, sharedPath } from './reference'

type Step = {
  i: number
  t: number
  sample_in: number[]
  model_input: number[]
  model_output: number[]
  prev_sample: number[]
  prev_sample_bits: number[]
  pred_original_sample_or_denoised?: number[]
}
type Case = {
  case: string
  scheduler_class: string
  resolved_config: Record<string, unknown>
  num_inference_steps: number
  timesteps: { values: (number | string)[] }
  sigmas?: { values: (number | string)[] }
  init_noise_sigma: number | string
  alphas_cumprod_float32: (number | string)[] | null
  final_alpha_cumprod: number | string | null
  sample_shape: number[]
  sample0: number[]
  generator?: unknown
  steps_recorded: Step[]
  final_sample: number[]
}

const dir = sharedPath('reference/schedulers')
const skip = missing(dir)
const cases = skip ? [] : readdirSync(dir).filter((f) => f.endsWith('.json') && f !== 'index.json')

/** max |a-b| / max(|b|) over the tensor: "1e-6 relative to the sample's magnitude". */
function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let diff = 0
  let mag = 0
  for (let i = 0; i < b.length; i++) {
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!))
    mag = Math.max(mag, Math.abs(b[i]!))
  }
  return diff / Math.max(mag, 1e-30)
}

/** Replays every run in `files` (diffusers' JSON format) with our scheduler classes. */
function replayRuns(folder: string, files: string[]): void {
  for (const file of files) {
    const ref = readJson<Case>(`${folder}/${file}`)
    const Cls = (engine as Record<string, unknown>)[ref.scheduler_class] as
      | { fromConfig(c: object): engine.Scheduler & { alphasCumprod?: ArrayLike<number> } }
      | undefined
    it(`${ref.case}: ${ref.scheduler_class} matches timesteps, tables and every step`, () => {
      expect(Cls, `${ref.scheduler_class} is exported from src/main/engine`).toBeDefined()
      const s = Cls!.fromConfig(ref.resolved_config)
      s.setTimesteps(ref.num_inference_steps)

      const wantT = ref.timesteps.values.map(num)
      expect(s.timesteps.length).toBe(wantT.length)
      s.timesteps.forEach((t, i) =>
        expect(Math.abs(t - wantT[i]!), `timestep ${i}`).toBeLessThanOrEqual(
          1e-6 * Math.max(1, Math.abs(wantT[i]!)),
        ),
      )
      if (ref.sigmas) {
        const wantS = ref.sigmas.values.map(num)
        expect(s.sigmas).toBeDefined()
        expect(s.sigmas!.length).toBe(wantS.length)
        s.sigmas!.forEach((v, i) =>
          expect(Math.abs(v - wantS[i]!), `sigma ${i}`).toBeLessThanOrEqual(
            1e-6 * Math.max(1e-3, wantS[i]!),
          ),
        )
      }
      expect(Math.abs(s.initNoiseSigma - num(ref.init_noise_sigma))).toBeLessThanOrEqual(
        1e-6 * num(ref.init_noise_sigma),
      )
      if (s.alphasCumprod && ref.alphas_cumprod_float32) {
        const want = ref.alphas_cumprod_float32.map(num)
        expect(relErr(s.alphasCumprod, want), 'alphas_cumprod').toBeLessThanOrEqual(1e-7)
      }

      // The fake model: model_output = 0.5 * scale_model_input(sample, t) + 0.1, in float32.
      const gen = ref.generator ? new engine.TorchGenerator(7) : undefined
      let sample: engine.FloatTensor = engine.floatTensor(
        Float32Array.from(ref.sample0),
        ref.sample_shape,
      )
      const recorded = new Map(ref.steps_recorded.map((st) => [st.i, st]))
      s.timesteps.forEach((t, i) => {
        const input = s.scaleModelInput(sample, t)
        const mo = new Float32Array(input.data.length)
        const inp = input.data as Float32Array
        for (let k = 0; k < mo.length; k++) mo[k] = Math.fround(Math.fround(0.5 * inp[k]!) + 0.1)
        const rec = recorded.get(i)
        if (rec) {
          expect(
            relErr(sample.data as Float32Array, rec.sample_in),
            `step ${i} sample_in`,
          ).toBeLessThanOrEqual(1e-6)
          expect(relErr(inp, rec.model_input), `step ${i} model_input`).toBeLessThanOrEqual(1e-6)
        }
        const r = s.step(new Tensor('float32', mo, sample.dims), t, sample, { generator: gen })
        if (rec) {
          expect(
            relErr(r.prevSample.data as Float32Array, rec.prev_sample),
            `step ${i} prev_sample`,
          ).toBeLessThanOrEqual(1e-6)
          if (rec.pred_original_sample_or_denoised && r.predOriginalSample) {
            expect(
              relErr(
                r.predOriginalSample.data as Float32Array,
                rec.pred_original_sample_or_denoised,
              ),
              `step ${i} x0`,
            ).toBeLessThanOrEqual(1e-6)
          }
        }
        sample = r.prevSample
      })
      expect(
        relErr(sample.data as Float32Array, ref.final_sample),
        'final sample',
      ).toBeLessThanOrEqual(1e-6)
    })
  }
}

describe.skipIf(skip)('schedulers vs diffusers (reference/schedulers)', () => {
  replayRuns(dir, cases)
})

// Regression: with Karras sigmas and no sigma_min/sigma_max in the config, diffusers takes the
// ends from the interpolated training sigmas, largest first; we took them reversed, so the
// schedule ran from the smallest sigma up (tools/reference/euler_karras.py wrote these runs).
describe('Euler with Karras sigmas and no sigma range vs diffusers (test/data/schedulers-euler)', () => {
  const euler = resolve(__dirname, '../../data/schedulers-euler')
  const files = readdirSync(euler).filter((f) => f.endsWith('.json'))
  it('has the runs', () => expect(files.length).toBeGreaterThanOrEqual(2))
  replayRuns(euler, files)
})

describe('DDIM details diffusers pins', () => {
  it('linspace spacing rounds half to even like numpy (25 steps)', () => {
    const s = engine.DDIMScheduler.fromConfig({
      beta_schedule: 'linear',
      beta_start: 0.00085,
      beta_end: 0.012,
      timestep_spacing: 'linspace',
      steps_offset: 1,
    })
    s.setTimesteps(25)
    // np.linspace(0, 999, 25).round()[::-1]: 166.5 -> 166, 499.5 -> 500, 832.5 -> 832
    expect(s.timesteps).toEqual([
      999, 957, 916, 874, 832, 791, 749, 708, 666, 624, 583, 541, 500, 458, 416, 375, 333, 291, 250,
      208, 166, 125, 83, 42, 0,
    ])
  })

  it('steps from t to t - 1000 // N, not to the next listed timestep', () => {
    const s = engine.DDIMScheduler.fromConfig({
      beta_schedule: 'linear',
      beta_start: 0.00085,
      beta_end: 0.012,
      timestep_spacing: 'linspace',
      clip_sample: false,
      set_alpha_to_one: false,
    })
    s.setTimesteps(25)
    const x = new Tensor('float32', Float32Array.from([0.5, -1, 2]), [3])
    const eps = new Tensor('float32', Float32Array.from([0.1, 0.2, -0.3]), [3])
    const r = s.step(eps, 999, x).prevSample.data as Float32Array
    const ac = s.alphasCumprod
    const expectWith = (prevT: number) =>
      Array.from(x.data as Float32Array, (xi, i) => {
        const e = (eps.data as Float32Array)[i]!
        const x0 = (xi - Math.sqrt(1 - ac[999]!) * e) / Math.sqrt(ac[999]!)
        return Math.sqrt(ac[prevT]!) * x0 + Math.sqrt(1 - ac[prevT]!) * e
      })
    expect(s.timesteps[1]).toBe(957)
    expectWith(999 - 40).forEach((v, i) => expect(r[i]).toBeCloseTo(v, 5))
    expect(Math.abs(r[2]! - expectWith(957)[2]!)).toBeGreaterThan(1e-4)
  })

  it('refuses a bad config with a message naming the key and the choices', () => {
    expect(() => engine.DDIMScheduler.fromConfig({ beta_schedule: 'cosine' })).toThrow(
      /"beta_schedule" is "cosine"; expected one of "linear", "scaled_linear", "squaredcos_cap_v2"/,
    )
    expect(() => engine.DDIMScheduler.fromConfig({ num_train_timesteps: '1000' })).toThrow(
      /"num_train_timesteps" should be number/,
    )
  })
})
