// DPMSolverMultistepScheduler (DPM-Solver++ 2M), after diffusers'
// scheduling_dpmsolver_multistep.py (Lu et al. 2022, "DPM-Solver++", Algorithm 2), for the
// configuration the studio uses: algorithm_type dpmsolver++ (or dpmsolver), solver_order
// 1 or 2, midpoint or heun solver, lower_order_final, optional Karras sigmas.
import { type FloatTensorLike, type FloatTensor } from '../runtime/tensor'
import type { StepArgs, StepResult } from './common'
import { alphasCumprodF32, betaDefaults, betasF32, f32, SigmaScheduler } from './common'
import { karrasSigmas, npArange, npInterp, npLinspace, out } from './common'
import { readConfig, rescaleBetasZeroSnr, roundHalfEven, SCHEDULE_CHOICES } from './common'
import { SchedulerConfigError, sigmaToT } from './common'
import { refuseUnsupported } from './config-keys'

const off = (v: unknown) => v === false || v === null || v === undefined
const SIGMAS_WHY =
  'expected false: only the interpolated and Karras (use_karras_sigmas) sigmas are implemented'

const DEFAULTS = {
  ...betaDefaults(0.0001, 0.02, 'linear'),
  solver_order: 2,
  prediction_type: 'epsilon',
  thresholding: false,
  algorithm_type: 'dpmsolver++',
  solver_type: 'midpoint',
  lower_order_final: true,
  euler_at_final: false,
  use_karras_sigmas: false,
  final_sigmas_type: 'zero',
  lambda_min_clipped: -Infinity,
  timestep_spacing: 'linspace',
  steps_offset: 0,
  rescale_betas_zero_snr: false,
}

/** alpha_t = 1/sqrt(sigma^2+1), sigma_t = sigma * alpha_t (float32 0-dim tensors). */
function alphaSigma(sigma: number): [number, number] {
  const a = f32(1 / f32(Math.sqrt(f32(f32(sigma * sigma) + 1))))
  return [a, f32(sigma * a)]
}
const lambdaOf = (a: number, s: number) => f32(f32(Math.log(a)) - f32(Math.log(s)))

/** diffusers' class attribute `order` is 1 (one model call a step) whatever solver_order is. */
export class DPMSolverMultistepScheduler extends SigmaScheduler<typeof DEFAULTS> {
  readonly alphasCumprod: Float32Array
  readonly initNoiseSigma = 1.0
  private modelOutputs: (Float32Array | null)[] = []
  private lowerOrderNums = 0

  constructor(config: object = {}) {
    const cls = 'DPMSolverMultistepScheduler'
    // keys of diffusers' class this implementation does not read: each changes the numbers
    // (another sigma schedule, flow sigmas with their own alpha_t, or a learned variance whose
    // channels diffusers slices off the model output), so they are refused rather than ignored
    refuseUnsupported(
      cls,
      config as Record<string, unknown>,
      {
        use_exponential_sigmas: off,
        use_beta_sigmas: off,
        use_lu_lambdas: off,
        use_flow_sigmas: off,
        // diffusers reads only "learned" and "learned_range" (a DDPM config's "fixed_small"
        // changes nothing there, and from_config carries it over)
        variance_type: (v) => v !== 'learned' && v !== 'learned_range',
      },
      {
        use_exponential_sigmas: SIGMAS_WHY,
        use_beta_sigmas: SIGMAS_WHY,
        use_lu_lambdas: SIGMAS_WHY,
        use_flow_sigmas: 'expected false: flow-matching models run UniPC or FlowMatchEuler here',
        variance_type:
          'expected null or a fixed variance: a learned one is for pixel-space models, whose extra channels diffusers slices off',
      },
    )
    const c = readConfig(cls, config, DEFAULTS, {
      ...SCHEDULE_CHOICES,
      algorithm_type: ['dpmsolver++', 'dpmsolver'],
      solver_type: ['midpoint', 'heun'],
      solver_order: [1, 2],
      final_sigmas_type: ['zero', 'sigma_min'],
    })
    if (c.thresholding)
      throw new SchedulerConfigError(`${cls}: thresholding is not supported for latent models`)
    // as diffusers refuses it: the first-order solver's last step divides by a zero sigma (NaN)
    if (c.algorithm_type === 'dpmsolver' && c.final_sigmas_type === 'zero')
      throw new SchedulerConfigError(
        `${cls}: "final_sigmas_type" "zero" does not work with "algorithm_type" "dpmsolver"; use "sigma_min" (or algorithm_type "dpmsolver++")`,
      )
    super(cls, c)
    const betas = betasF32(cls, c)
    const ac = alphasCumprodF32(c.rescale_betas_zero_snr ? rescaleBetasZeroSnr(betas) : betas)
    // diffusers: close to 0 without being 0, so the first sigma is not infinite
    if (c.rescale_betas_zero_snr) ac[ac.length - 1] = f32(2 ** -24)
    this.alphasCumprod = ac
  }

  setTimesteps(n: number): void {
    const c = this.config
    const N = c.num_train_timesteps
    if (!Number.isInteger(n) || n < 1 || n > N)
      throw new RangeError(`num_inference_steps must be 1..${N}, got ${n}`)
    // lambda_t = log(alpha) - log(sigma) of the training schedule, for lambda_min_clipped
    const lambdas = Array.from(this.alphasCumprod, (a) =>
      f32(f32(Math.log(f32(Math.sqrt(a)))) - f32(Math.log(f32(Math.sqrt(f32(1 - a)))))),
    )
    const flipped = [...lambdas].reverse()
    let clipped = 0
    while (clipped < flipped.length && flipped[clipped]! < c.lambda_min_clipped) clipped++
    const last = N - clipped
    let timesteps: number[]
    if (c.timestep_spacing === 'linspace') {
      timesteps = npLinspace(0, last - 1, n + 1)
        .map(roundHalfEven)
        .reverse()
        .slice(0, n)
    } else if (c.timestep_spacing === 'leading') {
      const ratio = Math.floor(last / (n + 1))
      timesteps = Array.from({ length: n + 1 }, (_, i) => roundHalfEven(i * ratio))
        .reverse()
        .slice(0, n)
        .map((t) => t + c.steps_offset)
    } else {
      timesteps = npArange(last, 0, -N / n).map((t) => roundHalfEven(t) - 1)
    }
    const train = this.alphasCumprod.map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))))
    const logSigmas = train.map((s) => f32(Math.log(s)))
    let sigmas: number[]
    if (c.use_karras_sigmas) {
      const desc = Array.from(train).reverse()
      sigmas = karrasSigmas(desc[desc.length - 1]!, desc[0]!, n)
      // diffusers rounds, except for the cosine schedule, whose timesteps the int64 cast truncates
      const whole = c.beta_schedule === 'squaredcos_cap_v2' ? Math.trunc : roundHalfEven
      timesteps = sigmas.map((s) => whole(sigmaToT(s, logSigmas)))
    } else {
      const idx = Array.from(train, (_, i) => i)
      sigmas = timesteps.map((t) => npInterp(t, idx, train))
    }
    const sigmaLast =
      c.final_sigmas_type === 'sigma_min'
        ? f32(Math.sqrt(f32(f32(1 - this.alphasCumprod[0]!) / this.alphasCumprod[0]!)))
        : 0
    this.sigmas = [...sigmas.map(f32), sigmaLast]
    this.timesteps = timesteps
    this.modelOutputs = new Array(c.solver_order).fill(null)
    this.lowerOrderNums = 0
    this.newRun(n)
  }

  scaleModelInput(sample: FloatTensorLike): FloatTensor {
    return out(sample.data, sample.dims)
  }

  /** The data prediction x0 (dpmsolver++) or the noise prediction (dpmsolver). */
  private convertModelOutput(m: Float32Array, x: Float32Array, sigma: number): Float32Array {
    const [a, s] = alphaSigma(sigma)
    const n = x.length
    const r = new Float32Array(n)
    const p = this.config.prediction_type
    if (this.config.algorithm_type === 'dpmsolver++') {
      if (p === 'epsilon') for (let i = 0; i < n; i++) r[i] = f32(f32(x[i]! - f32(s * m[i]!)) / a)
      else if (p === 'v_prediction')
        for (let i = 0; i < n; i++) r[i] = f32(f32(a * x[i]!) - f32(s * m[i]!))
      else r.set(m)
    } else {
      if (p === 'epsilon') r.set(m)
      else if (p === 'v_prediction')
        for (let i = 0; i < n; i++) r[i] = f32(f32(a * m[i]!) + f32(s * x[i]!))
      else for (let i = 0; i < n; i++) r[i] = f32(f32(x[i]! - f32(a * m[i]!)) / s)
    }
    return r
  }

  protected update({ modelOutput, t, sample }: StepArgs): StepResult {
    const c = this.config
    const i = this.stepIndexAt(t)
    const len = this.timesteps.length
    const lowerOrderFinal =
      i === len - 1 &&
      (c.euler_at_final || (c.lower_order_final && len < 15) || c.final_sigmas_type === 'zero')
    // (lower_order_second only matters for order 3, which the studio does not offer)

    const x = sample.data
    const m0 = this.convertModelOutput(modelOutput.data, x, this.sigmas[i]!)
    for (let k = 0; k < c.solver_order - 1; k++) this.modelOutputs[k] = this.modelOutputs[k + 1]!
    this.modelOutputs[c.solver_order - 1] = m0

    const [aT, sT] = alphaSigma(this.sigmas[i + 1]!)
    const [aS0, sS0] = alphaSigma(this.sigmas[i]!)
    const lamT = lambdaOf(aT, sT)
    const lamS0 = lambdaOf(aS0, sS0)
    const h = f32(lamT - lamS0)
    const n = x.length
    const prev = new Float32Array(n)
    const pp = c.algorithm_type === 'dpmsolver++'
    // dpmsolver++: x_t = (s_t/s_s) x - a_t (e^-h - 1) D ; dpmsolver: (a_t/a_s) x - s_t (e^h - 1) D
    const c1 = pp ? f32(sT / sS0) : f32(aT / aS0)
    const c2 = pp ? f32(aT * f32(f32(Math.exp(-h)) - 1)) : f32(sT * f32(f32(Math.exp(h)) - 1))

    if (c.solver_order === 1 || this.lowerOrderNums < 1 || lowerOrderFinal) {
      for (let k = 0; k < n; k++) prev[k] = f32(f32(c1 * x[k]!) - f32(c2 * m0[k]!))
    } else {
      const m1 = this.modelOutputs[c.solver_order - 2]!
      const [aS1, sS1] = alphaSigma(this.sigmas[i - 1]!)
      const h0 = f32(lamS0 - lambdaOf(aS1, sS1))
      const r0 = f32(h0 / h)
      const invR0 = f32(1 / r0)
      if (c.solver_type === 'midpoint') {
        const c3 = f32(0.5 * c2)
        for (let k = 0; k < n; k++) {
          const d1 = f32(invR0 * f32(m0[k]! - m1[k]!))
          prev[k] = f32(f32(f32(c1 * x[k]!) - f32(c2 * m0[k]!)) - f32(c3 * d1))
        }
      } else {
        // heun: ... - (a_t ((e^-h - 1)/h + 1)) D1
        const c3 = pp
          ? f32(aT * f32(f32(f32(f32(Math.exp(-h)) - 1) / h) + 1))
          : f32(sT * f32(f32(f32(f32(Math.exp(h)) - 1) / h) - 1))
        for (let k = 0; k < n; k++) {
          const d1 = f32(invR0 * f32(m0[k]! - m1[k]!))
          prev[k] = pp
            ? f32(f32(f32(c1 * x[k]!) - f32(c2 * m0[k]!)) + f32(c3 * d1))
            : f32(f32(f32(c1 * x[k]!) - f32(c2 * m0[k]!)) - f32(c3 * d1))
        }
      }
    }
    if (this.lowerOrderNums < c.solver_order) this.lowerOrderNums++
    this.stepIndex = i + 1
    return {
      prevSample: out(prev, sample.dims),
      predOriginalSample: pp ? out(m0, sample.dims) : undefined,
    }
  }
}
