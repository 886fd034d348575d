// FlowMatchEulerDiscreteScheduler: Euler steps along a rectified flow, x_next = x + (s_next - s) v,
// for the configuration Wan (and SD3-style models) use: a static `shift`, no dynamic
// (resolution-dependent) shifting. Timesteps are float32 (sigma * 1000), and the transformer
// gets them as floats.
import { type FloatTensorLike, type FloatTensor } from '../runtime/tensor'
import type { StepArgs, StepResult } from './common'
import { f32, npLinspace, out, readConfig, SigmaScheduler } from './common'
import { badValue, checkConfigKeys, refuseUnsupported } from './config-keys'

const CLS = 'FlowMatchEulerDiscreteScheduler'

const DEFAULTS = {
  num_train_timesteps: 1000,
  shift: 1.0,
  use_dynamic_shifting: false,
  base_shift: 0.5,
  max_shift: 1.15,
  base_image_seq_len: 256,
  max_image_seq_len: 4096,
  invert_sigmas: false,
  shift_terminal: null as number | null,
  use_karras_sigmas: false,
  use_exponential_sigmas: false,
  use_beta_sigmas: false,
  time_shift_type: 'exponential',
  stochastic_sampling: false,
}
export type FlowMatchEulerConfig = typeof DEFAULTS

const off = (v: unknown) => v === false || v === null || v === undefined || v === 0

export class FlowMatchEulerDiscreteScheduler extends SigmaScheduler<FlowMatchEulerConfig> {
  /** diffusers has no init_noise_sigma here: Wan's latents are plain N(0, 1) noise. */
  readonly initNoiseSigma = 1.0
  /** The training schedule's ends after the static shift (diffusers' sigma_max / sigma_min). */
  readonly sigmaMax: number
  readonly sigmaMin: number

  constructor(config: object = {}) {
    checkConfigKeys(CLS, config, Object.keys(DEFAULTS))
    // base_shift / max_shift may be null in diffusers; they only matter for dynamic shifting
    const raw = { ...(config as Record<string, unknown>) }
    for (const k of ['base_shift', 'max_shift'] as const) if (raw[k] === null) delete raw[k]
    const c = readConfig(CLS, raw, DEFAULTS, { time_shift_type: ['exponential', 'linear'] })
    if (!Number.isInteger(c.num_train_timesteps) || c.num_train_timesteps < 1)
      throw badValue(CLS, 'num_train_timesteps', c.num_train_timesteps, 'a positive integer')
    if (!(c.shift > 0)) throw badValue(CLS, 'shift', c.shift, 'a number > 0')
    refuseUnsupported(
      CLS,
      c,
      {
        use_dynamic_shifting: off,
        invert_sigmas: off,
        shift_terminal: off,
        use_karras_sigmas: off,
        use_exponential_sigmas: off,
        use_beta_sigmas: off,
        stochastic_sampling: off,
      },
      {
        use_dynamic_shifting: 'it needs mu from the image size; set a static "shift" instead',
        stochastic_sampling: 'only the deterministic Euler step is implemented',
      },
    )
    super(CLS, c)
    // The training schedule: sigmas = t / N for t = N..1, shifted (float32, as torch does).
    const N = c.num_train_timesteps
    const shifted = (s: number) => f32(f32(f32(c.shift) * s) / f32(1 + f32(f32(c.shift - 1) * s)))
    this.sigmaMax = shifted(f32(N / N))
    this.sigmaMin = shifted(f32(1 / N))
  }

  // https://github.com/huggingface/diffusers/blob/main/src/diffusers/schedulers/scheduling_flow_match_euler_discrete.py
  // set_timesteps: linspace over the (already shifted) training range in float64, shifted once
  // more, then float32; timesteps = sigmas * N in float32 and a final sigma of 0.
  setTimesteps(n: number): void {
    this.newRun(n)
    const c = this.config
    const N = c.num_train_timesteps
    const shift = c.shift
    const sigmas = npLinspace(this.sigmaMax * N, this.sigmaMin * N, n).map((t) => {
      const s = t / N
      return f32((shift * s) / (1 + (shift - 1) * s))
    })
    this.timesteps = sigmas.map((s) => f32(s * N))
    this.sigmas = [...sigmas, 0]
  }

  /** The identity: flow-matching models read the sample as it is. */
  scaleModelInput(sample: FloatTensorLike): FloatTensor {
    return out(sample.data, sample.dims)
  }

  protected update({ modelOutput, t, sample }: StepArgs): StepResult {
    const i = this.stepIndexAt(t)
    const dt = f32(this.sigmas[i + 1]! - this.sigmas[i]!)
    const x = sample.data
    const v = modelOutput.data
    const prev = new Float32Array(x.length)
    for (let k = 0; k < x.length; k++) prev[k] = f32(x[k]! + f32(dt * v[k]!))
    this.stepIndex = i + 1
    return { prevSample: out(prev, sample.dims) }
  }
}
