// The flow-matching schedulers Wan uses, replayed against real diffusers runs in
// test/data/schedulers (written by tools/reference/flow_schedulers.py): timesteps, sigmas,
// every recorded step and the final sample of a full loop on the fake model, the
// scheduler_config.json each Wan checkpoint ships, and the refusals of configs we cannot run.
import { readdirSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import * as engine from '../../../src/main/engine'
import { Tensor } from '../../../src/main/engine'
import { DIFFUSERS_SCHEDULER_KEYS } from '../../../src/main/engine/schedulers/config-keys'
import { num, readJson } from './reference'

type Field = { dtype: string; shape: number[]; values: (number | string)[] }
type Step = {
  i: number
  t: number
  sample_in: number[]
  model_input: number[]
  model_output: number[]
  prev_sample: number[]
  prev_sample_bits: number[]
  pred_original_sample_or_denoised?: number[]
  step_index_after: number
}
type Case = {
  case: string
  scheduler_class: string
  resolved_config: Record<string, unknown>
  num_inference_steps: number
  timesteps: Field
  sigmas: Field
  init_noise_sigma: number
  alphas_cumprod_float32: number[] | null
  pipeline_style: boolean
  sample_shape: number[]
  sample0: number[]
  steps_recorded: Step[]
  final_sample: number[]
  final_sample_bits: number[]
  boundaries?: { boundary_ratio: number; high_noise: boolean[] }[]
}
type Shipped = {
  name: string
  scheduler_class: string
  scheduler_config: Record<string, unknown>
  num_inference_steps: number
  timesteps: Field
  sigmas: Field
  boundary_ratio?: number
  high_noise?: boolean[]
}

type FlowScheduler = engine.Scheduler & {
  sigmas: number[]
  numTrainTimesteps: number
  setBeginIndex(i?: number): void
  alphasCumprod?: Float32Array
}
const CLASSES: Record<string, { fromConfig(c: object): FlowScheduler }> = {
  UniPCMultistepScheduler: engine.UniPCMultistepScheduler,
  FlowMatchEulerDiscreteScheduler: engine.FlowMatchEulerDiscreteScheduler,
}

const dir = resolve(__dirname, '../../data/schedulers')
const caseFiles = readdirSync(dir).filter(
  (f) => f.endsWith('.json') && f !== 'index.json' && f !== 'wan_scheduler_configs.json',
)

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

/** WanPipeline: `t >= boundary_ratio * num_train_timesteps`, compared as float32 tensors. */
function highNoise(t: number, ratio: number, numTrain: number): boolean {
  return Math.fround(t) >= Math.fround(ratio * numTrain)
}

function expectSchedule(s: FlowScheduler, timesteps: Field, sigmas: Field): void {
  const wantT = timesteps.values.map(num)
  if (timesteps.dtype === 'int64') {
    // diffusers' int64 timesteps: the same integers
    expect(s.timesteps).toEqual(wantT)
  } else {
    expect(s.timesteps.length).toBe(wantT.length)
    s.timesteps.forEach((t, i) =>
      expect(Math.abs(t - wantT[i]!), `timestep ${i}: ${t} vs ${wantT[i]}`).toBeLessThanOrEqual(
        1e-6 * Math.max(1, Math.abs(wantT[i]!)),
      ),
    )
  }
  const wantS = sigmas.values.map(num)
  expect(s.sigmas.length).toBe(wantS.length)
  s.sigmas.forEach((v, i) =>
    expect(Math.abs(v - wantS[i]!), `sigma ${i}: ${v} vs ${wantS[i]}`).toBeLessThanOrEqual(
      1e-6 * Math.max(1e-3, Math.abs(wantS[i]!)),
    ),
  )
}

describe('flow schedulers vs diffusers (test/data/schedulers)', () => {
  it('has the reference runs', () => {
    expect(caseFiles.length).toBeGreaterThanOrEqual(10)
  })

  for (const file of caseFiles) {
    const ref = readJson<Case>(`${dir}/${file}`)
    it(`${ref.case}: ${ref.scheduler_class} matches timesteps, sigmas and every step`, () => {
      const Cls = CLASSES[ref.scheduler_class]
      expect(Cls, `${ref.scheduler_class} has a test class`).toBeDefined()
      expect(
        (engine as Record<string, unknown>)[ref.scheduler_class],
        `${ref.scheduler_class} is exported from src/main/engine`,
      ).toBe(Cls)
      const s = Cls!.fromConfig(ref.resolved_config)
      s.setTimesteps(ref.num_inference_steps)
      expectSchedule(s, ref.timesteps, ref.sigmas)
      expect(s.initNoiseSigma).toBe(ref.init_noise_sigma)
      if (ref.alphas_cumprod_float32 && s.alphasCumprod)
        expect(relErr(s.alphasCumprod, ref.alphas_cumprod_float32)).toBeLessThanOrEqual(1e-7)
      for (const b of ref.boundaries ?? []) {
        const got = s.timesteps.map((t) => highNoise(t, b.boundary_ratio, s.numTrainTimesteps))
        expect(got, `high-noise expert steps at boundary ${b.boundary_ratio}`).toEqual(b.high_noise)
      }
      if (ref.pipeline_style) s.setBeginIndex(0)

      let sample: engine.FloatTensor = engine.floatTensor(
        Float32Array.from(ref.sample0),
        ref.sample_shape,
      )
      const recorded = new Map(ref.steps_recorded.map((st) => [st.i, st]))
      s.timesteps.forEach((t, i) => {
        const input = s.scaleModelInput(sample, t)
        const inp = input.data as Float32Array
        const mo = new Float32Array(inp.length)
        for (let k = 0; k < mo.length; k++)
          mo[k] = Math.fround(Math.fround(0.5 * inp[k]!) + Math.fround(0.1))
        const rec = recorded.get(i)
        if (rec) {
          expect(Math.fround(rec.t)).toBe(Math.fround(num(ref.timesteps.values[i]!)))
          expect(relErr(sample.data, rec.sample_in), `step ${i} sample_in`).toBeLessThanOrEqual(
            1e-6,
          )
          expect(relErr(inp, rec.model_input), `step ${i} model_input`).toBeLessThanOrEqual(1e-6)
          expect(relErr(mo, rec.model_output), `step ${i} model_output`).toBeLessThanOrEqual(1e-6)
        }
        const r = s.step(new Tensor('float32', mo, sample.dims), t, sample)
        if (rec) {
          expect(
            relErr(r.prevSample.data, rec.prev_sample),
            `step ${i} prev_sample`,
          ).toBeLessThanOrEqual(1e-6)
          if (rec.pred_original_sample_or_denoised) {
            expect(r.predOriginalSample, `step ${i} returns x0`).toBeDefined()
            expect(
              relErr(r.predOriginalSample!.data, rec.pred_original_sample_or_denoised),
              `step ${i} x0`,
            ).toBeLessThanOrEqual(1e-6)
          }
        }
        sample = r.prevSample
      })
      expect(relErr(sample.data, ref.final_sample), 'final sample').toBeLessThanOrEqual(1e-6)
      if (ref.scheduler_class === 'FlowMatchEulerDiscreteScheduler') {
        // no transcendental functions here: torch's float32 bits, every one
        const bits = new Uint32Array((sample.data as Float32Array).slice().buffer)
        expect([...bits], 'final sample bits').toEqual(ref.final_sample_bits)
      }
    })
  }
})

describe('the scheduler_config.json Wan repos ship (test/data/schedulers/wan_scheduler_configs.json)', () => {
  const shipped = readJson<{ configs: Shipped[] }>(`${dir}/wan_scheduler_configs.json`).configs
  for (const c of shipped) {
    it(`${c.name}: fromConfig, ${c.num_inference_steps} steps as diffusers sets them`, () => {
      const s = CLASSES[c.scheduler_class]!.fromConfig(c.scheduler_config)
      // WanPipeline: set_timesteps(n), then iterate scheduler.timesteps
      s.setTimesteps(c.num_inference_steps)
      expectSchedule(s, c.timesteps, c.sigmas)
      expect(s.numTrainTimesteps).toBe(1000)
      if (c.boundary_ratio !== undefined) {
        const got = s.timesteps.map((t) => highNoise(t, c.boundary_ratio!, s.numTrainTimesteps))
        expect(got).toEqual(c.high_noise)
      }
    })
  }

  it('the studio can build either flow scheduler from a Wan repo config by class name', () => {
    const wan = shipped.find((c) => c.name.startsWith('Wan2.2-TI2V'))!.scheduler_config
    expect(wan['_class_name']).toBe('UniPCMultistepScheduler')
    expect(() => engine.FlowMatchEulerDiscreteScheduler.fromConfig(wan)).not.toThrow()
    expect(() => engine.UniPCMultistepScheduler.fromConfig(wan)).not.toThrow()
  })
})

describe('flow scheduler configs we cannot run are refused, naming the key', () => {
  const wan = {
    _class_name: 'UniPCMultistepScheduler',
    prediction_type: 'flow_prediction',
    use_flow_sigmas: true,
    flow_shift: 3.0,
  }
  const U = (extra: object) => () => engine.UniPCMultistepScheduler.fromConfig({ ...wan, ...extra })
  const F = (c: object) => () => engine.FlowMatchEulerDiscreteScheduler.fromConfig(c)

  it("an unknown key (a typo) is an error; metadata and other schedulers' keys are not", () => {
    expect(U({ flow_shfit: 5 })).toThrow(/UniPCMultistepScheduler: unknown config key "flow_shfit"/)
    expect(F({ shfit: 5 })).toThrow(/FlowMatchEulerDiscreteScheduler: unknown config key "shfit"/)
    expect(U({ _diffusers_version: '0.33.0', clip_sample: false })).not.toThrow()
  })

  // from_config drops another class's keys; a key missing from our list was refused as a typo
  // (DPMSolverSDEScheduler's noise_sampler_seed was). tools/reference/scheduler_edges.py reads
  // every scheduler __init__ of diffusers' source into this file.
  it("knows every diffusers scheduler's config keys, and ignores them", () => {
    const ref = readJson<{ classes: Record<string, string[]> }>(
      resolve(__dirname, '../../data/schedulers-edges/diffusers_scheduler_keys.json'),
    )
    const all = [...new Set(Object.values(ref.classes).flat())].sort()
    expect(all.filter((k) => !DIFFUSERS_SCHEDULER_KEYS.has(k))).toEqual([])
    expect(U({ noise_sampler_seed: 7 })).not.toThrow()
    expect(F({ noise_sampler_seed: 7 })).not.toThrow()
  })

  it('a value of the wrong type or outside the choices', () => {
    expect(U({ flow_shift: '5.0' })).toThrow(/"flow_shift" should be number, found "5.0"/)
    expect(U({ prediction_type: 'flow' })).toThrow(
      /"prediction_type" is "flow"; expected one of "epsilon", "sample", "v_prediction", "flow_prediction"/,
    )
    expect(U({ solver_type: 'bh3' })).toThrow(/"solver_type" is "bh3"/)
    expect(U({ flow_shift: 0 })).toThrow(/"flow_shift" is 0; expected a number > 0/)
    expect(U({ disable_corrector: [0.5] })).toThrow(/"disable_corrector"/)
    expect(F({ shift: -1 })).toThrow(/"shift" is -1; expected a number > 0/)
    expect(F({ time_shift_type: 'cubic' })).toThrow(/"time_shift_type" is "cubic"/)
    expect(() => engine.UniPCMultistepScheduler.fromConfig([])).toThrow(/must be a JSON object/)
  })

  it('features this implementation does not have', () => {
    expect(U({ solver_order: 3 })).toThrow(/"solver_order" = 3 is not supported/)
    expect(U({ use_karras_sigmas: true })).toThrow(/"use_karras_sigmas" = true is not supported/)
    expect(U({ use_dynamic_shifting: true })).toThrow(/"use_dynamic_shifting" = true .*flow_shift/)
    expect(U({ thresholding: true })).toThrow(/"thresholding" = true is not supported/)
    expect(U({ predict_x0: false })).toThrow(/"predict_x0" is false/)
    expect(U({ solver_type: 'bh1' })).toThrow(/"final_sigmas_type" is "zero"; expected "sigma_min"/)
    expect(F({ use_dynamic_shifting: true })).toThrow(/"use_dynamic_shifting" = true .*"shift"/)
    expect(F({ stochastic_sampling: true })).toThrow(/"stochastic_sampling" = true/)
    expect(F({ shift_terminal: 0.1 })).toThrow(/"shift_terminal" = 0.1 is not supported/)
  })

  it("DPM-Solver's first-order algorithm with a zero final sigma is refused, as diffusers does (it made NaN frames)", () => {
    const D = (c: object) => engine.DPMSolverMultistepScheduler.fromConfig(c)
    expect(() => D({ algorithm_type: 'dpmsolver' })).toThrow(
      /"final_sigmas_type" "zero" does not work with "algorithm_type" "dpmsolver"; use "sigma_min"/,
    )
    const s = D({ algorithm_type: 'dpmsolver', final_sigmas_type: 'sigma_min' })
    s.setTimesteps(6)
    let x = engine.floatTensor(
      Float32Array.from({ length: 8 }, (_, i) => i / 4 - 1),
      [8],
    )
    for (const t of s.timesteps) {
      const eps = engine.floatTensor(
        x.data.map((v) => 0.5 * v + 0.1),
        [8],
      )
      x = s.step(eps, t, x).prevSample as typeof x
    }
    expect(Array.from(x.data).every(Number.isFinite)).toBe(true)
  })

  it('step() before setTimesteps() says what to call', () => {
    const x = engine.floatTensor(new Float32Array(4), [4])
    expect(() => engine.UniPCMultistepScheduler.fromConfig(wan).step(x, 999, x)).toThrow(
      /call setTimesteps\(\) before step\(\)/,
    )
    expect(() => engine.FlowMatchEulerDiscreteScheduler.fromConfig({}).step(x, 999, x)).toThrow(
      /call setTimesteps\(\) before step\(\)/,
    )
  })
})
