// UniPCMultistepScheduler (Zhao et al. 2023, "UniPC: A Unified Predictor-Corrector Framework
// for Fast Sampling of Diffusion Models", https://arxiv.org/abs/2302.04867), after diffusers'
// scheduling_unipc_multistep.py. Wan 2.1 / 2.2 ship it with flow_prediction, use_flow_sigmas and
// a flow_shift; the classic epsilon / v_prediction / sample paths on a beta schedule work too.
// Implemented: solver_order 1 or 2, bh1 / bh2, predict_x0 true or false, lower_order_final,
// disable_corrector, final_sigmas_type zero / sigma_min, linspace / leading / trailing spacing.
// Refused with a message: Karras / exponential / beta sigmas, dynamic shifting, shift_terminal,
// thresholding, rescale_betas_zero_snr, solver_p, solver_order 3, and bh1 with a zero final
// sigma (NaN in diffusers).
import { type FloatTensorLike, type FloatTensor } from '../runtime/tensor'
import type { StepArgs, StepResult } from './common'
import { alphasCumprodF32, BETA_SCHEDULES, betaDefaults, betasF32 } from './common'
import { f32, npArange, npInterp, npLinspace, out, readConfig, roundHalfEven } from './common'
import { SigmaScheduler, SPACINGS } from './common'
import { badValue, checkConfigKeys, refuseUnsupported } from './config-keys'

const CLS = 'UniPCMultistepScheduler'

const DEFAULTS = {
  ...betaDefaults(0.0001, 0.02, 'linear'),
  solver_order: 2,
  prediction_type: 'epsilon',
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  sample_max_value: 1.0,
  predict_x0: true,
  solver_type: 'bh2',
  lower_order_final: true,
  disable_corrector: [] as number[],
  solver_p: null as unknown,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  use_flow_sigmas: false,
  flow_shift: 1.0,
  timestep_spacing: 'linspace',
  steps_offset: 0,
  final_sigmas_type: 'zero',
  rescale_betas_zero_snr: false,
  use_dynamic_shifting: false,
  time_shift_type: 'exponential',
  sigma_min: null as number | null,
  sigma_max: null as number | null,
  shift_terminal: null as number | null,
}
export type UniPCConfig = typeof DEFAULTS

const off = (v: unknown) => v === false || v === null || v === undefined || v === 0

/** (alpha_t, sigma_t) of a sigma: flow x = (1 - s) x0 + s eps, or VP alpha = 1/sqrt(s^2 + 1). */
function alphaSigmaFor(flow: boolean, sigma: number): [number, number] {
  if (flow) return [f32(1 - sigma), sigma]
  const a = f32(1 / f32(Math.sqrt(f32(f32(sigma * sigma) + 1))))
  return [a, f32(sigma * a)]
}

const lambdaOf = ([a, s]: [number, number]) => f32(f32(Math.log(a)) - f32(Math.log(s)))

/**
 * torch.linalg.solve of [[1, 1], [rk, 1]] x = b in float32, as MKL's sgesv computes it on x86
 * (partial pivoting, back substitution by reciprocals). Checked against torch on 3000 random
 * systems with no differing bit; another LAPACK may round the last bit differently.
 */
function solve2(rk: number, b0: number, b1: number): [number, number] {
  let [a00, a01, a10, a11, y0, y1] = [1, 1, rk, 1, b0, b1]
  if (Math.abs(a10) > Math.abs(a00)) [a00, a01, a10, a11, y0, y1] = [a10, a11, a00, a01, y1, y0]
  const l = f32(a10 / a00)
  const u11 = f32(a11 - f32(l * a01))
  y1 = f32(y1 - f32(l * y0))
  const x1 = f32(y1 * f32(1 / u11))
  const x0 = f32(f32(y0 - f32(a01 * x1)) * f32(1 / a00))
  return [x0, x1]
}

export class UniPCMultistepScheduler extends SigmaScheduler<UniPCConfig> {
  readonly initNoiseSigma = 1.0
  /** The training schedule (used by the classic, non-flow sigmas). */
  readonly alphasCumprod: Float32Array
  /** Integer timesteps, as diffusers' int64 tensor (flow: sigma * 1000 truncated). */
  declare timesteps: number[]
  private modelOutputs: (Float32Array | null)[] = []
  private lowerOrderNums = 0
  private lastSample: Float32Array | null = null
  private thisOrder = 1

  constructor(config: object = {}) {
    checkConfigKeys(CLS, config, Object.keys(DEFAULTS))
    const c = readConfig(CLS, config, DEFAULTS, {
      beta_schedule: BETA_SCHEDULES,
      prediction_type: ['epsilon', 'sample', 'v_prediction', 'flow_prediction'],
      solver_type: ['bh1', 'bh2', 'midpoint', 'heun', 'logrho'],
      solver_order: [1, 2, 3],
      timestep_spacing: SPACINGS,
      final_sigmas_type: ['zero', 'sigma_min'],
      time_shift_type: ['exponential', 'linear'],
    })
    // diffusers registers the DPM-Solver names as bh2
    if (c.solver_type !== 'bh1') c.solver_type = 'bh2'
    if (!Array.isArray(c.disable_corrector) || !c.disable_corrector.every(Number.isInteger))
      throw badValue(CLS, 'disable_corrector', c.disable_corrector, 'a list of step indices')
    if (!Number.isInteger(c.num_train_timesteps) || c.num_train_timesteps < 1)
      throw badValue(CLS, 'num_train_timesteps', c.num_train_timesteps, 'a positive integer')
    if (c.use_flow_sigmas && !(c.flow_shift > 0))
      throw badValue(CLS, 'flow_shift', c.flow_shift, 'a number > 0')
    if (c.solver_type === 'bh1' && c.final_sigmas_type === 'zero')
      // diffusers multiplies B(h) = hh = -inf by the zero correction on the last step: NaN
      throw badValue(
        CLS,
        'final_sigmas_type',
        'zero',
        '"sigma_min" with solver_type "bh1" (diffusers ends that run in NaN), or solver_type "bh2"',
      )
    if (c.prediction_type === 'flow_prediction' && !c.predict_x0)
      throw badValue(CLS, 'predict_x0', false, 'true with prediction_type "flow_prediction"')
    refuseUnsupported(
      CLS,
      c,
      {
        solver_order: (v) => v === 1 || v === 2,
        thresholding: off,
        solver_p: (v) => v === null || v === undefined,
        use_karras_sigmas: off,
        use_exponential_sigmas: off,
        use_beta_sigmas: off,
        use_dynamic_shifting: off,
        shift_terminal: off,
        rescale_betas_zero_snr: off,
      },
      {
        solver_order: 'orders 1 and 2 are implemented; Wan uses 2',
        thresholding: 'dynamic thresholding is for pixel-space models',
        use_dynamic_shifting: 'it needs mu from the image size; set a static "flow_shift" instead',
      },
    )
    super(CLS, c)
    this.alphasCumprod = alphasCumprodF32(betasF32(CLS, c))
  }

  // https://github.com/huggingface/diffusers/blob/main/src/diffusers/schedulers/scheduling_unipc_multistep.py
  // set_timesteps: flow sigmas are linspace(1, 1/N, n+1)[:-1] shifted in float64, the first
  // nudged below 1, timesteps = int(sigma * N); classic sigmas interpolate the training sigmas
  // at the spaced integer timesteps.
  setTimesteps(n: number): void {
    this.newRun(n)
    const c = this.config
    const N = c.num_train_timesteps
    let timesteps: number[]
    let sigmas: number[]
    let sigmaLast: number
    if (c.use_flow_sigmas) {
      const shift = c.flow_shift
      sigmas = npLinspace(1, 1 / N, n + 1)
        .slice(0, n)
        .map((s) => (shift * s) / (1 + (shift - 1) * s))
      // keeps log(alpha) = log(1 - sigma) finite on the first steps
      if (Math.abs(sigmas[0]! - 1) < 1e-6) sigmas[0] = sigmas[0]! - 1e-6
      timesteps = sigmas.map((s) => Math.trunc(s * N))
      sigmaLast = c.final_sigmas_type === 'sigma_min' ? sigmas[n - 1]! : 0
    } else {
      if (n > N)
        throw new RangeError(
          `${CLS}: num_inference_steps ${n} is more than num_train_timesteps ${N}`,
        )
      timesteps = this.spacedTimesteps(n)
      const train = this.alphasCumprod.map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))))
      const idx = Array.from(train, (_, i) => i)
      sigmas = timesteps.map((t) => npInterp(t, idx, train))
      sigmaLast = c.final_sigmas_type === 'sigma_min' ? train[0]! : 0
    }
    this.sigmas = [...sigmas, sigmaLast].map(f32)
    this.timesteps = timesteps
    this.modelOutputs = new Array(c.solver_order).fill(null)
    this.lowerOrderNums = 0
    this.lastSample = null
  }

  /** Integer timesteps by timestep_spacing (Table 2 of https://arxiv.org/abs/2305.08891). */
  private spacedTimesteps(n: number): number[] {
    const c = this.config
    const N = c.num_train_timesteps
    if (c.timestep_spacing === 'linspace')
      return npLinspace(0, N - 1, n + 1)
        .map(roundHalfEven)
        .reverse()
        .slice(0, n)
    if (c.timestep_spacing === 'leading') {
      const ratio = Math.floor(N / (n + 1))
      return Array.from({ length: n + 1 }, (_, i) => i * ratio)
        .reverse()
        .slice(0, n)
        .map((t) => t + c.steps_offset)
    }
    return npArange(N, 0, -N / n).map((t) => roundHalfEven(t) - 1)
  }

  /** The identity (UniPC does not scale the model input). */
  scaleModelInput(sample: FloatTensorLike): FloatTensor {
    return out(sample.data, sample.dims)
  }

  /** diffusers' index_for_timestep: the second match when t repeats, the last step when absent. */
  protected override indexOf(t: number): number {
    const hits: number[] = []
    this.timesteps.forEach((v, i) => v === t && hits.push(i))
    if (hits.length === 0) return this.timesteps.length - 1
    return hits.length > 1 ? hits[1]! : hits[0]!
  }

  private alphaSigma(i: number): [number, number] {
    return alphaSigmaFor(this.config.use_flow_sigmas, this.sigmas[i]!)
  }

  /** convert_model_output: x0 (predict_x0) or the noise, from the model's prediction. */
  private convertModelOutput(m: Float32Array, x: Float32Array): Float32Array {
    const c = this.config
    const i = this.stepIndex!
    const [a, s] = this.alphaSigma(i)
    const n = x.length
    const r = new Float32Array(n)
    const p = c.prediction_type
    if (c.predict_x0) {
      if (p === 'epsilon') for (let k = 0; k < n; k++) r[k] = f32(f32(x[k]! - f32(s * m[k]!)) / a)
      else if (p === 'sample') r.set(m)
      else if (p === 'v_prediction')
        for (let k = 0; k < n; k++) r[k] = f32(f32(a * x[k]!) - f32(s * m[k]!))
      else {
        // flow_prediction: x0 = x - sigma * v, with the raw sigma
        const sigma = this.sigmas[i]!
        for (let k = 0; k < n; k++) r[k] = f32(x[k]! - f32(sigma * m[k]!))
      }
    } else {
      if (p === 'epsilon') r.set(m)
      else if (p === 'sample')
        for (let k = 0; k < n; k++) r[k] = f32(f32(x[k]! - f32(a * m[k]!)) / s)
      else for (let k = 0; k < n; k++) r[k] = f32(f32(a * m[k]!) + f32(s * x[k]!))
    }
    return r
  }

  /**
   * The B(h) coefficients both updates share: hh = -h (x0) or h, h_phi_1 = expm1(hh), B(h)
   * (hh for bh1, expm1(hh) for bh2) and b_i = h_phi_k * i! / B(h) for i = 1..order.
   */
  private bhCoefficients(h: number, order: number) {
    const hh = this.config.predict_x0 ? f32(-h) : h
    const hPhi1 = f32(Math.expm1(hh))
    const Bh = this.config.solver_type === 'bh1' ? hh : f32(Math.expm1(hh))
    let hPhiK = f32(f32(hPhi1 / hh) - 1)
    let factorial = 1
    const b: number[] = []
    for (let i = 1; i <= order; i++) {
      b.push(f32(f32(hPhiK * factorial) / Bh))
      factorial *= i + 1
      hPhiK = f32(f32(hPhiK / hh) - f32(1 / factorial))
    }
    return { hPhi1, Bh, b }
  }

  /** x_t_ = (sigma_t/sigma_s0) x - alpha_t h_phi_1 m0 (x0), or the noise form. */
  private baseUpdate(
    x: Float32Array,
    m0: Float32Array,
    [aT, sT]: [number, number],
    [aS0, sS0]: [number, number],
    hPhi1: number,
  ): Float32Array {
    const x0 = this.config.predict_x0
    const c1 = x0 ? f32(sT / sS0) : f32(aT / aS0)
    const c2 = x0 ? f32(aT * hPhi1) : f32(sT * hPhi1)
    const r = new Float32Array(x.length)
    for (let k = 0; k < x.length; k++) r[k] = f32(f32(c1 * x[k]!) - f32(c2 * m0[k]!))
    return r
  }

  /** multistep_uni_p_bh_update: the predictor from step_index to step_index + 1. */
  private predictor(x: Float32Array, order: number): Float32Array {
    const i = this.stepIndex!
    const so = this.config.solver_order
    const m0 = this.modelOutputs[so - 1]!
    const t = this.alphaSigma(i + 1)
    const s0 = this.alphaSigma(i)
    const lamS0 = lambdaOf(s0)
    const h = f32(lambdaOf(t) - lamS0)
    const { hPhi1, Bh } = this.bhCoefficients(h, order)
    const xt = this.baseUpdate(x, m0, t, s0, hPhi1)
    if (order === 2) {
      // D1 = (m1 - m0) / r1, and rhos_p = [0.5] (diffusers' simplification for order 2)
      const m1 = this.modelOutputs[so - 2]!
      const rk = f32(f32(lambdaOf(this.alphaSigma(i - 1)) - lamS0) / h)
      const c3 = f32((this.config.predict_x0 ? t[0] : t[1]) * Bh)
      for (let k = 0; k < xt.length; k++) {
        const d1 = f32(f32(m1[k]! - m0[k]!) / rk)
        xt[k] = f32(xt[k]! - f32(c3 * f32(0.5 * d1)))
      }
    }
    return xt
  }

  /** multistep_uni_c_bh_update: corrects this step's sample with the new model output. */
  private corrector(modelT: Float32Array, lastSample: Float32Array, order: number): Float32Array {
    const i = this.stepIndex!
    const so = this.config.solver_order
    const m0 = this.modelOutputs[so - 1]!
    const t = this.alphaSigma(i)
    const s0 = this.alphaSigma(i - 1)
    const lamS0 = lambdaOf(s0)
    const h = f32(lambdaOf(t) - lamS0)
    const { hPhi1, Bh, b } = this.bhCoefficients(h, order)
    const xt = this.baseUpdate(lastSample, m0, t, s0, hPhi1)
    const c3 = f32((this.config.predict_x0 ? t[0] : t[1]) * Bh)
    if (order === 1) {
      for (let k = 0; k < xt.length; k++) {
        const d1t = f32(modelT[k]! - m0[k]!)
        xt[k] = f32(xt[k]! - f32(c3 * f32(0.5 * d1t)))
      }
    } else {
      const m1 = this.modelOutputs[so - 2]!
      const rk = f32(f32(lambdaOf(this.alphaSigma(i - 2)) - lamS0) / h)
      const [rho0, rho1] = solve2(rk, b[0]!, b[1]!)
      for (let k = 0; k < xt.length; k++) {
        const d1 = f32(f32(m1[k]! - m0[k]!) / rk)
        const d1t = f32(modelT[k]! - m0[k]!)
        const res = f32(f32(rho0 * d1) + f32(rho1 * d1t))
        xt[k] = f32(xt[k]! - f32(c3 * res))
      }
    }
    return xt
  }

  protected update({ modelOutput, t, sample }: StepArgs): StepResult {
    const i = this.stepIndexAt(t)
    const c = this.config
    const len = this.timesteps.length

    let x = sample.data as Float32Array
    const converted = this.convertModelOutput(modelOutput.data as Float32Array, x)
    const useCorrector = i > 0 && !c.disable_corrector.includes(i - 1) && this.lastSample !== null
    if (useCorrector) x = this.corrector(converted, this.lastSample!, this.thisOrder)

    const so = c.solver_order
    for (let k = 0; k < so - 1; k++) this.modelOutputs[k] = this.modelOutputs[k + 1]!
    this.modelOutputs[so - 1] = converted

    const order = c.lower_order_final ? Math.min(so, len - i) : so
    this.thisOrder = Math.min(order, this.lowerOrderNums + 1) // warm-up of the multistep
    this.lastSample = x
    const prev = this.predictor(x, this.thisOrder)
    if (this.lowerOrderNums < so) this.lowerOrderNums++
    this.stepIndex = i + 1
    return {
      prevSample: out(prev, sample.dims),
      predOriginalSample: c.predict_x0 ? out(converted, sample.dims) : undefined,
    }
  }
}
