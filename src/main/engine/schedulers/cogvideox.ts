// CogVideoXDDIMScheduler and CogVideoXDPMScheduler, after diffusers'
// scheduling_ddim_cogvideox.py and scheduling_dpm_cogvideox.py. Their tables are float64 for
// scaled_linear betas (made in float64; SNR shift abar / (s + (1 - s) abar) as in SD3, then
// the zero-terminal-SNR rescale); coefficients meet the float32 sample as float32. Linear,
// cosine and trained betas are float32 in diffusers, and so is everything computed from them:
// the table, the shift, the rescale and each step coefficient, op by op.
import type { StepArgs, StepResult } from './common'
import { alphasCumprodF32, AlphasScheduler, BETA_SCHEDULES, betaDefaults } from './common'
import { betasForAlphaBar } from './common'
import { DDIM_DEFAULTS } from './common'
import { f32, out, readConfig, rescaleZeroTerminalSnr } from './common'
import { SCHEDULE_CHOICES, SchedulerConfigError, torchLinspaceF32 } from './common'
import { torchLinspaceF64 } from './common'

const DEFAULTS = {
  ...betaDefaults(0.00085, 0.012, 'scaled_linear'),
  ...DDIM_DEFAULTS,
  snr_shift_scale: 3.0,
}
type CogConfig = typeof DEFAULTS

function cogAlphasCumprod(cls: string, c: CogConfig): Float32Array | Float64Array {
  const n = c.num_train_timesteps
  const s = c.snr_shift_scale
  if (c.trained_betas || c.beta_schedule !== 'scaled_linear') {
    // float32 betas: torch's float32 cumprod, shift (the Python scalars as float32) and rescale
    let betas: Float32Array
    if (c.trained_betas) betas = Float32Array.from(c.trained_betas)
    else if (c.beta_schedule === 'linear') betas = torchLinspaceF32(c.beta_start, c.beta_end, n)
    else if (c.beta_schedule === 'squaredcos_cap_v2') betas = betasForAlphaBar(n)
    else
      throw new SchedulerConfigError(
        `${cls}: beta_schedule "${c.beta_schedule}" is not one of ${BETA_SCHEDULES.join(', ')}`,
      )
    const ac = alphasCumprodF32(betas)
    const oneMinusS = f32(1 - s)
    const s32 = f32(s)
    for (let i = 0; i < n; i++) ac[i] = f32(ac[i]! / f32(s32 + f32(oneMinusS * ac[i]!)))
    if (c.rescale_betas_zero_snr) rescaleZeroTerminalSnr(ac)
    return ac
  }
  const betas = torchLinspaceF64(Math.sqrt(c.beta_start), Math.sqrt(c.beta_end), n).map(
    (b) => b * b,
  )
  const ac = new Float64Array(n)
  let acc = 1
  for (let i = 0; i < n; i++) {
    acc *= 1 - betas[i]!
    ac[i] = acc
  }
  for (let i = 0; i < n; i++) ac[i] = ac[i]! / (s + (1 - s) * ac[i]!)
  if (c.rescale_betas_zero_snr) rescaleZeroTerminalSnr(ac)
  return ac
}

abstract class CogVideoXBase extends AlphasScheduler<CogConfig, Float32Array | Float64Array> {
  /**
   * How a coefficient's each op rounds: to float32 on a float32 table (torch's 0-dim float32
   * tensors), not at all on a float64 one (rounded once where it meets the sample).
   */
  protected readonly r: (x: number) => number

  constructor(cls: string, config: object) {
    const c = readConfig(cls, config, DEFAULTS, { ...SCHEDULE_CHOICES })
    super(cls, c, cogAlphasCumprod(cls, c))
    this.r = this.alphasCumprod instanceof Float32Array ? f32 : (x) => x
  }

  /** x0 from the model output, in float32 with float32-rounded coefficients. */
  protected predictX0(m: Float32Array, x: Float32Array, aT: number): Float32Array {
    const sqA = f32(Math.sqrt(aT))
    const sqB = f32(Math.sqrt(this.r(1 - aT)))
    const n = x.length
    const x0 = new Float32Array(n)
    const p = this.config.prediction_type
    if (p === 'epsilon')
      for (let i = 0; i < n; i++) x0[i] = f32(f32(x[i]! - f32(sqB * m[i]!)) / sqA)
    else if (p === 'v_prediction')
      for (let i = 0; i < n; i++) x0[i] = f32(f32(sqA * x[i]!) - f32(sqB * m[i]!))
    else x0.set(m)
    return x0
  }
}

export class CogVideoXDDIMScheduler extends CogVideoXBase {
  constructor(config: object = {}) {
    super('CogVideoXDDIMScheduler', config)
  }

  protected update({ modelOutput, t, sample }: StepArgs): StepResult {
    const prevT = this.prevTimestep(t)
    const aT = this.alphaAt(t)
    const aPrev = this.alphaAt(prevT)
    const x = sample.data
    const x0 = this.predictX0(modelOutput.data, x, aT)
    // x_prev = a_t x + b_t x0 with a_t = sqrt((1-abar_prev)/(1-abar_t)), b_t = sqrt(abar_prev) - sqrt(abar_t) a_t
    const r = this.r
    const aCoef = r(Math.sqrt(r(r(1 - aPrev) / r(1 - aT))))
    const bCoef = r(r(Math.sqrt(aPrev)) - r(r(Math.sqrt(aT)) * aCoef))
    const a32 = f32(aCoef)
    const b32 = f32(bCoef)
    const prev = new Float32Array(x.length)
    for (let i = 0; i < x.length; i++) prev[i] = f32(f32(a32 * x[i]!) + f32(b32 * x0[i]!))
    return { prevSample: out(prev, sample.dims), predOriginalSample: out(x0, sample.dims) }
  }
}

/**
 * The DPM-Solver variant CogVideoX ships. diffusers' step() also takes the previous x0 and
 * the previous timestep from the pipeline; this class keeps both itself, so its step() has
 * the same signature as every other scheduler.
 */
export class CogVideoXDPMScheduler extends CogVideoXBase {
  private oldPredOriginal: Float32Array | null = null
  private lastTimestep: number | null = null

  constructor(config: object = {}) {
    super('CogVideoXDPMScheduler', config)
  }

  override setTimesteps(n: number): void {
    super.setTimesteps(n)
    this.oldPredOriginal = null
    this.lastTimestep = null
  }

  protected update({ modelOutput, t, sample, opts }: StepArgs): StepResult {
    const gen = this.generator(opts)
    const prevT = this.prevTimestep(t)
    const tBack = this.lastTimestep
    const aT = this.alphaAt(t)
    const aPrev = this.alphaAt(prevT)
    const aBack = tBack !== null ? this.alphaAt(tBack) : null
    const x = sample.data
    const x0 = this.predictX0(modelOutput.data, x, aT)

    const r = this.r
    const lam = (a: number) => r(Math.log(r(Math.sqrt(r(a / r(1 - a))))))
    const h = r(lam(aPrev) - lam(aT))
    const mult1 = f32(r(Math.sqrt(r(r(1 - aPrev) / r(1 - aT)))) * r(Math.exp(-h)))
    const mult2 = f32(r(Math.expm1(r(-2 * h))) * r(Math.sqrt(aPrev)))
    const multNoise = f32(r(Math.sqrt(r(1 - aPrev))) * r(Math.sqrt(r(1 - r(Math.exp(r(-2 * h)))))))

    const n = x.length
    const noise1 = gen.randn(modelOutput.dims)
    let prev = new Float32Array(n)
    for (let i = 0; i < n; i++)
      prev[i] = f32(f32(f32(mult1 * x[i]!) - f32(mult2 * x0[i]!)) + f32(multNoise * noise1[i]!))

    if (this.oldPredOriginal !== null && prevT >= 0 && aBack !== null) {
      const ratio = r(r(lam(aT) - lam(aBack)) / h)
      const mult3 = f32(1 + r(1 / r(2 * ratio)))
      const mult4 = f32(1 / r(2 * ratio))
      const old = this.oldPredOriginal
      const noise2 = gen.randn(modelOutput.dims)
      prev = new Float32Array(n)
      for (let i = 0; i < n; i++) {
        const d = f32(f32(mult3 * x0[i]!) - f32(mult4 * old[i]!))
        prev[i] = f32(f32(f32(mult1 * x[i]!) - f32(mult2 * d)) + f32(multNoise * noise2[i]!))
      }
    }
    this.oldPredOriginal = x0
    this.lastTimestep = t
    return { prevSample: out(prev, sample.dims), predOriginalSample: out(x0, sample.dims) }
  }
}
