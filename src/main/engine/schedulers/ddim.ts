// DDIMScheduler, after diffusers/schedulers/scheduling_ddim.py (Song et al. 2020, eq. 12).
// float32 tables; each tensor op rounds to float32 as torch does.
import type { StepArgs, StepResult } from './common'
import { AlphasScheduler, betaDefaults, ddimAlphasCumprod } from './common'
import { DDIM_DEFAULTS, f32, out, readConfig, SCHEDULE_CHOICES } from './common'

const DEFAULTS = {
  ...betaDefaults(0.0001, 0.02, 'linear'),
  ...DDIM_DEFAULTS,
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
}
export type DDIMConfig = typeof DEFAULTS

export class DDIMScheduler extends AlphasScheduler<DDIMConfig> {
  /** eta of DDIM's variance (0 = deterministic). Stochastic eta > 0 draws from the generator. */
  eta = 0

  constructor(config: object = {}) {
    const c = readConfig('DDIMScheduler', config, DEFAULTS, { ...SCHEDULE_CHOICES })
    super('DDIMScheduler', c, ddimAlphasCumprod('DDIMScheduler', c))
  }

  protected update({ modelOutput, t, sample, opts }: StepArgs): StepResult {
    const prevT = this.prevTimestep(t)
    const c = this.config
    const aT = this.alphaAt(t)
    const aPrev = this.alphaAt(prevT)
    const bT = f32(1 - aT)
    const sqA = f32(Math.sqrt(aT))
    const sqB = f32(Math.sqrt(bT))

    // std_dev_t = eta * sqrt(variance), variance = (1-a_prev)/(1-a_t) * (1 - a_t/a_prev)
    let std = 0
    // a stochastic step (eta > 0) needs the generator: refused before any work without one
    const gen = this.eta > 0 ? this.generator(opts) : null
    if (this.eta > 0) {
      const variance = f32(f32(f32(1 - aPrev) / bT) * f32(1 - f32(aT / aPrev)))
      std = f32(this.eta * f32(Math.sqrt(variance)))
    }
    const dirCoef = f32(Math.sqrt(f32(f32(1 - aPrev) - f32(std * std))))
    const sqAPrev = f32(Math.sqrt(aPrev))

    const x = sample.data
    const m = modelOutput.data
    const n = x.length
    const x0 = new Float32Array(n)
    const prev = new Float32Array(n)
    const clip = c.clip_sample ? c.clip_sample_range : Infinity
    for (let i = 0; i < n; i++) {
      let p0: number
      let eps: number
      if (c.prediction_type === 'epsilon') {
        p0 = f32(f32(x[i]! - f32(sqB * m[i]!)) / sqA)
        eps = m[i]!
      } else if (c.prediction_type === 'v_prediction') {
        p0 = f32(f32(sqA * x[i]!) - f32(sqB * m[i]!))
        eps = f32(f32(sqA * m[i]!) + f32(sqB * x[i]!))
      } else {
        p0 = m[i]!
        eps = f32(f32(x[i]! - f32(sqA * p0)) / sqB)
      }
      if (p0 > clip) p0 = clip
      else if (p0 < -clip) p0 = -clip
      x0[i] = p0
      prev[i] = f32(f32(sqAPrev * p0) + f32(dirCoef * eps))
    }
    if (std > 0) {
      const noise = gen!.randn(modelOutput.dims)
      for (let i = 0; i < n; i++) prev[i] = f32(prev[i]! + f32(std * noise[i]!))
    }
    return { prevSample: out(prev, sample.dims), predOriginalSample: out(x0, sample.dims) }
  }
}
