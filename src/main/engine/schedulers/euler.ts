// EulerDiscreteScheduler and EulerAncestralDiscreteScheduler, after diffusers'
// scheduling_euler_discrete.py / scheduling_euler_ancestral_discrete.py (Karras et al. 2022,
// Algorithm 2). SVD uses Euler with Karras sigmas, v-prediction and continuous timesteps.
import { type FloatTensorLike, type FloatTensor } from '../runtime/tensor'
import type { StepArgs, StepResult } from './common'
import { alphasCumprodF32, betaDefaults, betasF32, f32, SigmaScheduler } from './common'
import { karrasSigmas, npArange, npInterp, npLinspace, out, torchLinspaceF32 } from './common'
import { readConfig, rescaleBetasZeroSnr, roundHalfEven, SCHEDULE_CHOICES } from './common'
import { SchedulerConfigError, sigmaToT, SPACINGS } from './common'
import { refuseUnsupported } from './config-keys'

const DEFAULTS = {
  ...betaDefaults(0.0001, 0.02, 'linear'),
  prediction_type: 'epsilon',
  interpolation_type: 'linear',
  use_karras_sigmas: false,
  sigma_min: null as number | null,
  sigma_max: null as number | null,
  timestep_spacing: 'linspace',
  timestep_type: 'discrete',
  steps_offset: 0,
  rescale_betas_zero_snr: false,
  final_sigmas_type: 'zero',
}
type EulerConfig = typeof DEFAULTS

/** float32 training sigmas sqrt((1 - abar) / abar), as diffusers computes them in torch. */
function trainingSigmas(ac: Float32Array): Float32Array {
  return ac.map((a) => f32(Math.sqrt(f32(f32(1 - a) / a))))
}

/** Timesteps by spacing as float (Euler keeps them as float32). */
function eulerTimesteps(c: EulerConfig, n: number): number[] {
  const N = c.num_train_timesteps
  if (!Number.isInteger(n) || n < 1 || n > N)
    throw new RangeError(`num_inference_steps must be 1..${N}, got ${n}`)
  if (c.timestep_spacing === 'linspace')
    return npLinspace(0, N - 1, n)
      .reverse()
      .map(f32)
  if (c.timestep_spacing === 'leading') {
    const ratio = Math.floor(N / n)
    return Array.from({ length: n }, (_, i) =>
      f32(roundHalfEven(i * ratio) + c.steps_offset),
    ).reverse()
  }
  if (c.timestep_spacing === 'trailing')
    return npArange(N, 0, -N / n).map((t) => f32(roundHalfEven(t) - 1))
  throw new SchedulerConfigError(
    `timestep_spacing "${c.timestep_spacing}" is not one of ${SPACINGS.join(', ')}`,
  )
}

abstract class EulerBase extends SigmaScheduler<EulerConfig> {
  readonly alphasCumprod: Float32Array
  initNoiseSigma = 1.0

  constructor(cls: string, config: object) {
    const c = readConfig(cls, config, DEFAULTS, {
      ...SCHEDULE_CHOICES,
      interpolation_type: ['linear', 'log_linear'],
      timestep_type: ['discrete', 'continuous'],
      final_sigmas_type: ['zero', 'sigma_min'],
    })
    super(cls, c)
    const betas = betasF32(cls, c)
    const ac = alphasCumprodF32(c.rescale_betas_zero_snr ? rescaleBetasZeroSnr(betas) : betas)
    // diffusers: avoid an infinite sigma at the last step
    if (c.rescale_betas_zero_snr) ac[ac.length - 1] = f32(2 ** -24)
    this.alphasCumprod = ac
    const sig = trainingSigmas(ac)
    const maxSigma = Math.max(...sig)
    this.initNoiseSigma = this.noiseSigmaFor(maxSigma)
  }

  /** diffusers' init_noise_sigma: sigma_max for linspace/trailing, else sqrt(sigma_max^2 + 1). */
  protected noiseSigmaFor(maxSigma: number): number {
    const s = f32(maxSigma)
    if (this.config.timestep_spacing === 'linspace' || this.config.timestep_spacing === 'trailing')
      return s
    return f32(Math.sqrt(f32(f32(s * s) + 1)))
  }

  setTimesteps(n: number): void {
    const c = this.config
    let timesteps: number[] = eulerTimesteps(c, n)
    this.newRun(n)
    const train = trainingSigmas(this.alphasCumprod)
    const logSigmas = train.map((s) => f32(Math.log(s)))
    const idx = Array.from(train, (_, i) => i)
    let sigmas: number[]
    // the sigmas in diffusers' own order, largest first (Karras reads its ends from it):
    // interpolated at the timesteps; or log-linear, torch.linspace(log sigma_max, log sigma_min,
    // n + 1).exp() in float32, all n + 1 kept (the last step ends at the smallest training
    // sigma, and the final sigma appended after it is never reached, as in diffusers)
    let inSigmas: number[]
    if (c.interpolation_type === 'linear') {
      sigmas = timesteps.map((t) => npInterp(t, idx, train))
      inSigmas = sigmas
    } else {
      const logs = torchLinspaceF32(logSigmas[logSigmas.length - 1]!, logSigmas[0]!, n + 1)
      inSigmas = Array.from(logs, (v) => f32(Math.exp(v)))
      sigmas = inSigmas
    }
    if (c.use_karras_sigmas) {
      // _convert_to_karras: sigma_min/max from the config, else in_sigmas[-1] and in_sigmas[0]
      const sMin = c.sigma_min ?? inSigmas[inSigmas.length - 1]!
      const sMax = c.sigma_max ?? inSigmas[0]!
      sigmas = karrasSigmas(sMin, sMax, n)
      timesteps = sigmas.map((s) => sigmaToT(s, logSigmas))
    }
    const sig32 = sigmas.map(f32)
    if (c.timestep_type === 'continuous' && c.prediction_type === 'v_prediction') {
      this.timesteps = sig32.map((s) => f32(0.25 * f32(Math.log(s))))
    } else {
      this.timesteps = timesteps.map(f32)
    }
    const last =
      c.final_sigmas_type === 'sigma_min'
        ? f32(Math.sqrt(f32(f32(1 - this.alphasCumprod[0]!) / this.alphasCumprod[0]!)))
        : 0
    this.sigmas = [...sig32, last]
    this.initNoiseSigma = this.noiseSigmaFor(Math.max(...this.sigmas))
  }

  scaleModelInput(sample: FloatTensorLike, t: number): FloatTensor {
    const s = this.sigmas[this.indexFor(t)]!
    const c = f32(Math.sqrt(f32(f32(s * s) + 1)))
    const x = sample.data
    const o = new Float32Array(x.length)
    for (let i = 0; i < x.length; i++) o[i] = f32(x[i]! / c)
    return out(o, sample.dims)
  }

  /** x0 from the model output at sigma (sigma_hat = sigma, since s_churn is 0). */
  protected predictX0(m: Float32Array, x: Float32Array, sigma: number): Float32Array {
    const n = x.length
    const x0 = new Float32Array(n)
    const p = this.config.prediction_type
    if (p === 'epsilon') for (let i = 0; i < n; i++) x0[i] = f32(x[i]! - f32(sigma * m[i]!))
    else if (p === 'v_prediction') {
      const s2p1 = f32(f32(sigma * sigma) + 1)
      const cOut = f32(-sigma / f32(Math.sqrt(s2p1)))
      for (let i = 0; i < n; i++) x0[i] = f32(f32(m[i]! * cOut) + f32(x[i]! / s2p1))
    } else x0.set(m)
    return x0
  }
}

const off = (v: unknown) => v === false || v === null || v === undefined

export class EulerDiscreteScheduler extends EulerBase {
  constructor(config: object = {}) {
    // diffusers builds other sigma schedules from these (exp of a log-linear ramp, a beta
    // distribution's quantiles); running the plain schedule instead would be another sampler
    refuseUnsupported(
      'EulerDiscreteScheduler',
      config as Record<string, unknown>,
      { use_exponential_sigmas: off, use_beta_sigmas: off },
      {
        use_exponential_sigmas:
          'expected false: only the interpolated and Karras (use_karras_sigmas) sigmas are implemented',
        use_beta_sigmas:
          'expected false: only the interpolated and Karras (use_karras_sigmas) sigmas are implemented',
      },
    )
    super('EulerDiscreteScheduler', config)
  }

  protected update({ modelOutput, t, sample }: StepArgs): StepResult {
    const i = this.stepIndexAt(t)
    const sigma = this.sigmas[i]!
    const x = sample.data
    const x0 = this.predictX0(modelOutput.data, x, sigma)
    const dt = f32(this.sigmas[i + 1]! - sigma)
    const prev = new Float32Array(x.length)
    for (let k = 0; k < x.length; k++) {
      const d = f32(f32(x[k]! - x0[k]!) / sigma)
      prev[k] = f32(x[k]! + f32(d * dt))
    }
    this.stepIndex = i + 1
    return { prevSample: out(prev, sample.dims), predOriginalSample: out(x0, sample.dims) }
  }
}

/**
 * Settings diffusers' EulerAncestralDiscreteScheduler does not have: from_config drops them, so
 * a config written for Euler (Karras sigmas, log-linear, a sigma range, continuous timesteps, a
 * sigma_min final step) runs the plain schedule, and so does ours.
 */
const NOT_ANCESTRAL = [
  'use_karras_sigmas',
  'interpolation_type',
  'sigma_min',
  'sigma_max',
  'timestep_type',
  'final_sigmas_type',
] as const

export class EulerAncestralDiscreteScheduler extends EulerBase {
  constructor(config: object = {}) {
    const own = { ...(config as Record<string, unknown>) }
    for (const k of NOT_ANCESTRAL) delete own[k]
    // diffusers' ancestral step raises NotImplementedError for a sample prediction
    refuseUnsupported(
      'EulerAncestralDiscreteScheduler',
      own,
      { prediction_type: (v) => v !== 'sample' },
      {
        prediction_type:
          'expected "epsilon" or "v_prediction": diffusers does not implement "sample" for the ancestral sampler',
      },
    )
    super('EulerAncestralDiscreteScheduler', own)
  }

  protected update({ modelOutput, t, sample, opts }: StepArgs): StepResult {
    const gen = this.generator(opts)
    const i = this.stepIndexAt(t)
    const sFrom = this.sigmas[i]!
    const sTo = this.sigmas[i + 1]!
    const x = sample.data
    const x0 = this.predictX0(modelOutput.data, x, sFrom)
    const from2 = f32(sFrom * sFrom)
    const to2 = f32(sTo * sTo)
    const sUp = f32(Math.sqrt(f32(f32(to2 * f32(from2 - to2)) / from2)))
    const sDown = f32(Math.sqrt(f32(to2 - f32(sUp * sUp))))
    const dt = f32(sDown - sFrom)
    const noise = gen.randn(modelOutput.dims)
    const prev = new Float32Array(x.length)
    for (let k = 0; k < x.length; k++) {
      const d = f32(f32(x[k]! - x0[k]!) / sFrom)
      prev[k] = f32(f32(x[k]! + f32(d * dt)) + f32(noise[k]! * sUp))
    }
    this.stepIndex = i + 1
    return { prevSample: out(prev, sample.dims), predOriginalSample: out(x0, sample.dims) }
  }
}
