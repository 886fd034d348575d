// LCMScheduler, after diffusers' scheduling_lcm.py (Luo et al. 2023, latent consistency
// models; AnimateLCM uses it with linear betas). Draws noise on every step but the last.
import type { StepArgs, StepResult } from './common'
import { AlphasScheduler, BETA_SCHEDULES, betaDefaults } from './common'
import { ddimAlphasCumprod, f32, indexForTimestep, npLinspace, out } from './common'
import { PREDICTION_TYPES, readConfig } from './common'

const DEFAULTS = {
  ...betaDefaults(0.00085, 0.012, 'scaled_linear'),
  original_inference_steps: 50,
  clip_sample: false,
  clip_sample_range: 1.0,
  set_alpha_to_one: true,
  steps_offset: 0,
  prediction_type: 'epsilon',
  thresholding: false,
  timestep_spacing: 'leading',
  timestep_scaling: 10.0,
  rescale_betas_zero_snr: false,
}

export class LCMScheduler extends AlphasScheduler<typeof DEFAULTS> {
  private stepIndex: number | null = null
  private readonly sigmaData = 0.5

  constructor(config: object = {}) {
    const c = readConfig('LCMScheduler', config, DEFAULTS, {
      beta_schedule: BETA_SCHEDULES,
      prediction_type: PREDICTION_TYPES,
    })
    super('LCMScheduler', c, ddimAlphasCumprod('LCMScheduler', c))
  }

  /** LCM's own spacing: n of the `original_inference_steps` skipping timesteps. */
  override setTimesteps(n: number): void {
    const c = this.config
    const original = c.original_inference_steps
    // as diffusers: the skipping step N // original would be 0, every timestep -1
    if (!Number.isInteger(original) || original < 1 || original > c.num_train_timesteps) {
      throw new RangeError(
        `LCMScheduler: original_inference_steps must be 1..${c.num_train_timesteps} (num_train_timesteps), got ${original}`,
      )
    }
    if (!Number.isInteger(n) || n < 1 || n > original) {
      throw new RangeError(
        `LCMScheduler: num_inference_steps must be 1..${original} (original_inference_steps), got ${n}`,
      )
    }
    const k = Math.floor(c.num_train_timesteps / original)
    const origin = Array.from({ length: original }, (_, i) => (i + 1) * k - 1).reverse()
    const idx = npLinspace(0, origin.length, n, false).map(Math.floor)
    this.timesteps = idx.map((i) => origin[i]!)
    this.numInferenceSteps = n
    this.stepIndex = null
  }

  protected update({ modelOutput, t, sample, opts }: StepArgs): StepResult {
    const c = this.config
    if (this.stepIndex === null) this.stepIndex = indexForTimestep(this.timesteps, t)
    const i = this.stepIndex
    const last = i === this.timesteps.length - 1
    const gen = last ? null : this.generator(opts)
    const prevT = i + 1 < this.timesteps.length ? this.timesteps[i + 1]! : t
    const aT = this.alphasCumprod[t]!
    const aPrev = this.alphaAt(prevT)
    const sqA = f32(Math.sqrt(aT))
    const sqB = f32(Math.sqrt(f32(1 - aT)))

    // boundary-condition scalings (timestep * timestep_scaling is a float32 tensor)
    const st = f32(t * c.timestep_scaling)
    const den = f32(f32(st * st) + this.sigmaData ** 2)
    const cSkip = f32(this.sigmaData ** 2 / den)
    const cOut = f32(st / f32(Math.sqrt(den)))

    const x = sample.data
    const m = modelOutput.data
    const n = x.length
    const denoised = new Float32Array(n)
    const clip = c.clip_sample ? c.clip_sample_range : Infinity
    for (let k = 0; k < n; k++) {
      let p0: number
      if (c.prediction_type === 'epsilon') p0 = f32(f32(x[k]! - f32(sqB * m[k]!)) / sqA)
      else if (c.prediction_type === 'v_prediction') p0 = f32(f32(sqA * x[k]!) - f32(sqB * m[k]!))
      else p0 = m[k]!
      p0 = Math.min(Math.max(p0, -clip), clip)
      denoised[k] = f32(f32(cOut * p0) + f32(cSkip * x[k]!))
    }
    let prev = denoised
    if (!last) {
      const noise = gen!.randn(modelOutput.dims)
      const a = f32(Math.sqrt(aPrev))
      const b = f32(Math.sqrt(f32(1 - aPrev)))
      prev = new Float32Array(n)
      for (let k = 0; k < n; k++) prev[k] = f32(f32(a * denoised[k]!) + f32(b * noise[k]!))
    }
    this.stepIndex = i + 1
    return { prevSample: out(prev, sample.dims), predOriginalSample: out(denoised, sample.dims) }
  }
}
