// DDIMScheduler, after diffusers/schedulers/scheduling_ddim.py (Song et al. 2020, eq. 12).
// float32 tables; each tensor op rounds to float32 as torch does.
import { type FloatTensorLike, type FloatTensor } from '../runtime/tensor'
import type { Scheduler, StepOptions, StepResult } from './common'
import { alphasCumprodF32, betaDefaults, betasF32, checkSameShape, ddimTimesteps } from './common'
import { f32, out, readConfig, rescaleZeroTerminalSnr, SCHEDULE_CHOICES } from './common'
import { SchedulerConfigError } from './common'

const DEFAULTS = {
  ...betaDefaults(0.0001, 0.02, 'linear'),
  clip_sample: true,
  set_alpha_to_one: true,
  steps_offset: 0,
  prediction_type: 'epsilon',
  thresholding: false,
  dynamic_thresholding_ratio: 0.995,
  clip_sample_range: 1.0,
  sample_max_value: 1.0,
  timestep_spacing: 'leading',
  rescale_betas_zero_snr: false,
}
export type DDIMConfig = typeof DEFAULTS

export class DDIMScheduler implements Scheduler {
  readonly order = 1
  readonly config: DDIMConfig
  readonly alphasCumprod: Float32Array
  readonly finalAlphaCumprod: number
  readonly initNoiseSigma = 1.0
  timesteps: number[] = []
  numInferenceSteps = 0
  /** eta of DDIM's variance (0 = deterministic). Stochastic eta > 0 draws from the generator. */
  eta = 0

  static fromConfig(config: object): DDIMScheduler {
    return new DDIMScheduler(config)
  }

  constructor(config: object = {}) {
    this.config = readConfig('DDIMScheduler', config, DEFAULTS, {
      ...SCHEDULE_CHOICES,
    })
    if (this.config.thresholding) {
      throw new SchedulerConfigError(
        'DDIMScheduler: thresholding is for pixel-space models; latent video models do not use it',
      )
    }
    const ac = alphasCumprodF32(betasF32('DDIMScheduler', this.config))
    if (this.config.rescale_betas_zero_snr) rescaleZeroTerminalSnr(ac)
    this.alphasCumprod = ac
    this.finalAlphaCumprod = this.config.set_alpha_to_one ? 1.0 : ac[0]!
  }

  setTimesteps(n: number): void {
    const c = this.config
    this.timesteps = ddimTimesteps(c.timestep_spacing, c.num_train_timesteps, n, c.steps_offset)
    this.numInferenceSteps = n
  }

  scaleModelInput(sample: FloatTensorLike, _t: number): FloatTensor {
    return out(sample.data, sample.dims)
  }

  private alphaAt(t: number): number {
    return t >= 0 ? this.alphasCumprod[t]! : this.finalAlphaCumprod
  }

  step(
    modelOutput: FloatTensorLike,
    t: number,
    sample: FloatTensorLike,
    opts: StepOptions = {},
  ): StepResult {
    if (!this.numInferenceSteps) throw new Error('DDIMScheduler: call setTimesteps() before step()')
    checkSameShape(modelOutput, sample, 'DDIMScheduler.step')
    const c = this.config
    // diffusers uses t - N//n here, not the next entry of `timesteps`
    const prevT = t - Math.floor(c.num_train_timesteps / this.numInferenceSteps)
    const aT = this.alphaAt(t)
    const aPrev = this.alphaAt(prevT)
    const bT = f32(1 - aT)
    const sqA = f32(Math.sqrt(aT))
    const sqB = f32(Math.sqrt(bT))

    // std_dev_t = eta * sqrt(variance), variance = (1-a_prev)/(1-a_t) * (1 - a_t/a_prev)
    let std = 0
    if (this.eta > 0) {
      const variance = f32(f32(f32(1 - aPrev) / bT) * f32(1 - f32(aT / aPrev)))
      std = f32(this.eta * f32(Math.sqrt(variance)))
      if (!opts.generator) throw new Error('DDIMScheduler: eta > 0 needs a generator')
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
      const noise = opts.generator!.randn(modelOutput.dims)
      for (let i = 0; i < n; i++) prev[i] = f32(prev[i]! + f32(std * noise[i]!))
    }
    return { prevSample: out(prev, sample.dims), predOriginalSample: out(x0, sample.dims) }
  }
}
