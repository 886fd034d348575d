// What every diffusers scheduler shares: beta schedules, alphas_cumprod, timestep spacing,
// Karras sigmas, numpy's linspace/round/interp. Precision follows diffusers + torch:
// tables are float32 unless the diffusers class computes in float64 (CogVideoX), scalar
// coefficients are 0-dim tensors of the table's dtype, and a coefficient meets a float32
// sample as float32.
import { floatTensor, type FloatTensorLike, type FloatTensor } from '../runtime/tensor'
import type { TorchGenerator } from '../random/torch-generator'

export const f32 = Math.fround

export type BetaSchedule = 'linear' | 'scaled_linear' | 'squaredcos_cap_v2'
export type PredictionType = 'epsilon' | 'v_prediction' | 'sample'
export type TimestepSpacing = 'linspace' | 'leading' | 'trailing'

export type StepOptions = { generator?: TorchGenerator }
export type StepResult = { prevSample: FloatTensor; predOriginalSample?: FloatTensor }

/** The one interface every scheduler implements (see the Interface section). */
export interface Scheduler {
  readonly timesteps: number[]
  readonly initNoiseSigma: number
  readonly sigmas?: number[]
  readonly order: number
  setTimesteps(n: number): void
  scaleModelInput(sample: FloatTensorLike, t: number): FloatTensor
  step(
    modelOutput: FloatTensorLike,
    t: number,
    sample: FloatTensorLike,
    opts?: StepOptions,
  ): StepResult
}

// --- config reading -----------------------------------------------------------------------

export class SchedulerConfigError extends Error {}

type Raw = Record<string, unknown>

export function readConfig<T extends Record<string, unknown>>(
  cls: string,
  raw: unknown,
  defaults: T,
  choices: Partial<Record<keyof T, readonly unknown[]>> = {},
): T {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new SchedulerConfigError(`${cls}: scheduler_config.json must be a JSON object`)
  }
  const src = raw as Raw
  const out = { ...defaults } as Record<string, unknown>
  for (const key of Object.keys(defaults)) {
    if (!(key in src) || src[key] === undefined) continue
    let v = src[key]
    const d = defaults[key]
    // Python's json writes inf/nan bare; our readers turn them into these strings.
    if (typeof d === 'number' && (v === 'Infinity' || v === '-Infinity' || v === 'NaN'))
      v = Number(v)
    const ok =
      v === null
        ? d === null ||
          key === 'trained_betas' ||
          key === 'sigma_min' ||
          key === 'sigma_max' ||
          key === 'original_inference_steps'
        : d === null || typeof d === typeof v || (key === 'trained_betas' && Array.isArray(v))
    if (!ok)
      throw new SchedulerConfigError(
        `${cls}: "${key}" should be ${d === null ? 'null or a value' : typeof d}, found ${JSON.stringify(v)}`,
      )
    const allowed = choices[key as keyof T]
    if (allowed && v !== null && !allowed.includes(v)) {
      throw new SchedulerConfigError(
        `${cls}: "${key}" is ${JSON.stringify(v)}; expected one of ${allowed.map((a) => JSON.stringify(a)).join(', ')}`,
      )
    }
    out[key] = v
  }
  return out as T
}

export const BETA_SCHEDULES: readonly BetaSchedule[] = [
  'linear',
  'scaled_linear',
  'squaredcos_cap_v2',
]
export const PREDICTION_TYPES: readonly PredictionType[] = ['epsilon', 'v_prediction', 'sample']
export const SPACINGS: readonly TimestepSpacing[] = ['linspace', 'leading', 'trailing']

/** The training-schedule keys every beta-based diffusers scheduler has, with its class's defaults. */
export function betaDefaults(beta_start: number, beta_end: number, beta_schedule: BetaSchedule) {
  return {
    num_train_timesteps: 1000,
    beta_start,
    beta_end,
    beta_schedule: beta_schedule as string,
    trained_betas: null as number[] | null,
  }
}

/** The keys of DDIMScheduler's config that its relatives (CogVideoX's two) share, with its defaults. */
export const DDIM_DEFAULTS = {
  clip_sample: true,
  set_alpha_to_one: true,
  steps_offset: 0,
  prediction_type: 'epsilon',
  clip_sample_range: 1.0,
  sample_max_value: 1.0,
  timestep_spacing: 'leading',
  rescale_betas_zero_snr: false,
}

/** The allowed values of the keys those schedulers share. */
export const SCHEDULE_CHOICES = {
  beta_schedule: BETA_SCHEDULES,
  prediction_type: PREDICTION_TYPES,
  timestep_spacing: SPACINGS,
} as const

// --- numpy / torch numerics -----------------------------------------------------------------

/** numpy's round(): half to even. */
export function roundHalfEven(x: number): number {
  const r = Math.round(x)
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r
}

/** np.linspace(start, stop, num, endpoint) in float64. */
export function npLinspace(start: number, stop: number, num: number, endpoint = true): number[] {
  if (num === 1) return [start] // numpy: a single sample is the start
  const div = endpoint ? num - 1 : num
  const step = (stop - start) / div
  const out = new Array<number>(num)
  for (let i = 0; i < num; i++) out[i] = i * step + start
  if (endpoint && num > 1) out[num - 1] = stop
  return out
}

/** np.arange(start, stop, step) in float64. */
export function npArange(start: number, stop: number, step: number): number[] {
  const n = Math.max(0, Math.ceil((stop - start) / step))
  return Array.from({ length: n }, (_, i) => start + i * step)
}

/** np.interp for increasing xp. */
export function npInterp(x: number, xp: ArrayLike<number>, fp: ArrayLike<number>): number {
  const n = xp.length
  if (x <= xp[0]!) return fp[0]!
  if (x >= xp[n - 1]!) return fp[n - 1]!
  let lo = 0
  let hi = n - 1
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1
    if (xp[mid]! <= x) lo = mid
    else hi = mid
  }
  const slope = (fp[hi]! - fp[lo]!) / (xp[hi]! - xp[lo]!)
  return slope * (x - xp[lo]!) + fp[lo]!
}

/**
 * torch.linspace(start, end, steps, dtype=float32) on x86-64: blocks of 8 lanes from a base
 * `start + step*idx` (or `end - step*(steps-idx-1)` past the halfway point) plus `i*step`,
 * each multiply-add fused as GCC compiles it. Checked bit for bit against diffusers'
 * alphas_cumprod in ../shared/reference/schedulers.
 */
export function torchLinspaceF32(start: number, end: number, steps: number): Float32Array {
  const out = new Float32Array(steps)
  if (steps === 1) {
    out[0] = start
    return out
  }
  const s = f32(start)
  const e = f32(end)
  const step = f32(f32(e - s) / (steps - 1))
  const half = Math.floor(steps / 2)
  const fma = (a: number, b: number, c: number) => f32(a * b + c)
  const at = (idx: number) => (idx < half ? fma(step, idx, s) : fma(-step, steps - idx - 1, e))
  const W = 8
  const vecEnd = steps - (steps % W)
  let idx = 0
  for (; idx < vecEnd; idx += W) {
    const base = at(idx)
    for (let i = 0; i < W; i++) out[idx + i] = fma(i, step, base)
  }
  for (; idx < steps; idx++) out[idx] = at(idx)
  return out
}

/** torch.linspace in float64 (the scalar formula with the halfway switch). */
export function torchLinspaceF64(start: number, end: number, steps: number): Float64Array {
  const out = new Float64Array(steps)
  const step = (end - start) / (steps - 1)
  const half = Math.floor(steps / 2)
  for (let i = 0; i < steps; i++)
    out[i] = i < half ? start + step * i : end - step * (steps - i - 1)
  return out
}

/** diffusers' betas_for_alpha_bar (Glide cosine), computed in float64, stored float32. */
export function betasForAlphaBar(n: number, maxBeta = 0.999): Float32Array {
  const alphaBar = (t: number) => Math.cos(((t + 0.008) / 1.008) * Math.PI * 0.5) ** 2
  const out = new Float32Array(n)
  for (let i = 0; i < n; i++)
    out[i] = Math.min(1 - alphaBar((i + 1) / n) / alphaBar(i / n), maxBeta)
  return out
}

export type BetaConfig = {
  num_train_timesteps: number
  beta_start: number
  beta_end: number
  beta_schedule: string
  trained_betas: number[] | null
}

/** self.betas of DDIM/Euler/DPM/LCM (float32 tables). */
export function betasF32(cls: string, c: BetaConfig): Float32Array {
  if (c.trained_betas) return Float32Array.from(c.trained_betas)
  const n = c.num_train_timesteps
  switch (c.beta_schedule) {
    case 'linear':
      return torchLinspaceF32(c.beta_start, c.beta_end, n)
    case 'scaled_linear':
      return torchLinspaceF32(Math.sqrt(c.beta_start), Math.sqrt(c.beta_end), n).map((b) =>
        f32(b * b),
      )
    case 'squaredcos_cap_v2':
      return betasForAlphaBar(n)
    default:
      throw new SchedulerConfigError(
        `${cls}: beta_schedule "${c.beta_schedule}" is not one of ${BETA_SCHEDULES.join(', ')}`,
      )
  }
}

/** torch.cumprod(1 - betas) in float32: torch accumulates in double and rounds each output. */
export function alphasCumprodF32(betas: Float32Array): Float32Array {
  const out = new Float32Array(betas.length)
  let acc = 1
  for (let i = 0; i < betas.length; i++) {
    acc *= f32(1 - betas[i]!)
    out[i] = acc
  }
  return out
}

/**
 * diffusers' rescale_zero_terminal_snr as DDIM, LCM, Euler, Euler ancestral and DPM-Solver call
 * it: on the betas (alphas_cumprod rescaled, back to per-step alphas as ratios, betas = 1 -
 * alphas), after which the scheduler takes the cumulative product again. Rescaling the table
 * directly (CogVideoX's schedulers do that) differs in the last float32 bits.
 */
export function rescaleBetasZeroSnr(betas: Float32Array): Float32Array {
  const bar = alphasCumprodF32(betas)
  rescaleZeroTerminalSnr(bar)
  return Float32Array.from(bar, (b, i) => f32(1 - (i === 0 ? b : f32(b / bar[i - 1]!))))
}

/** diffusers' rescale_zero_terminal_snr on alphas_cumprod, in the table's precision. */
export function rescaleZeroTerminalSnr(ac: Float32Array | Float64Array): void {
  const round = ac instanceof Float32Array ? f32 : (x: number) => x
  const n = ac.length
  const sq = Array.from(ac, (a) => round(Math.sqrt(a)))
  const s0 = sq[0]!
  const sT = sq[n - 1]!
  const scale = round(s0 / round(s0 - sT))
  for (let i = 0; i < n; i++) {
    const v = round(round(sq[i]! - sT) * scale)
    ac[i] = round(v * v)
  }
}

/** Inference timesteps for DDIM-family schedulers (spacing per diffusers' Table 2 note). */
export function ddimTimesteps(
  spacing: string,
  trainSteps: number,
  n: number,
  stepsOffset: number,
): number[] {
  if (!Number.isInteger(n) || n < 1)
    throw new RangeError(`num_inference_steps must be a positive integer, got ${n}`)
  if (n > trainSteps) {
    throw new RangeError(
      `num_inference_steps ${n} cannot be larger than num_train_timesteps ${trainSteps}`,
    )
  }
  if (spacing === 'linspace')
    return npLinspace(0, trainSteps - 1, n)
      .map(roundHalfEven)
      .reverse()
  if (spacing === 'leading') {
    const ratio = Math.floor(trainSteps / n)
    return Array.from({ length: n }, (_, i) => roundHalfEven(i * ratio) + stepsOffset).reverse()
  }
  if (spacing === 'trailing') {
    return npArange(trainSteps, 0, -trainSteps / n).map((t) => roundHalfEven(t) - 1)
  }
  throw new SchedulerConfigError(
    `timestep_spacing "${spacing}" is not one of ${SPACINGS.join(', ')}`,
  )
}

/** Karras et al. (2022) sigmas, as diffusers' _convert_to_karras (float64). */
export function karrasSigmas(sigmaMin: number, sigmaMax: number, n: number, rho = 7.0): number[] {
  const ramp = npLinspace(0, 1, n)
  const minInv = sigmaMin ** (1 / rho)
  const maxInv = sigmaMax ** (1 / rho)
  return ramp.map((r) => (maxInv + r * (minInv - maxInv)) ** rho)
}

/** diffusers' _sigma_to_t: the (fractional) training timestep of a sigma, by log interpolation. */
export function sigmaToT(sigma: number, logSigmas: ArrayLike<number>): number {
  const logSigma = Math.log(Math.max(sigma, 1e-10))
  const n = logSigmas.length
  // low_idx = last index with log_sigmas[i] <= log_sigma (cumsum(dists >= 0).argmax), clipped
  let count = 0
  for (let i = 0; i < n; i++) if (logSigma - logSigmas[i]! >= 0) count++
  let low = count > 0 ? count - 1 : 0
  low = Math.min(low, n - 2)
  const lo = logSigmas[low]!
  const hi = logSigmas[low + 1]!
  let w = (lo - logSigma) / (lo - hi)
  w = Math.min(Math.max(w, 0), 1)
  return (1 - w) * low + w * (low + 1)
}

/** diffusers' index_for_timestep: the second match when a timestep repeats, else the first. */
export function indexForTimestep(timesteps: readonly number[], t: number): number {
  const hits: number[] = []
  timesteps.forEach((v, i) => {
    if (v === t) hits.push(i)
  })
  if (hits.length === 0) throw new RangeError(`timestep ${t} is not in this scheduler's timesteps`)
  return hits.length > 1 ? hits[1]! : hits[0]!
}

export function checkSameShape(a: FloatTensorLike, b: FloatTensorLike, what: string): void {
  if (a.data.length !== b.data.length) {
    throw new RangeError(
      `${what}: model output [${a.dims.join(', ')}] and sample [${b.dims.join(', ')}] differ in size`,
    )
  }
}

export function out(data: Float32Array, dims: readonly number[]): FloatTensor {
  return floatTensor(data, dims)
}

// --- the shared skeleton ---------------------------------------------------------------------

/** What one step gets: the model's output at timestep t for `sample`, and the options. */
export type StepArgs = {
  modelOutput: FloatTensorLike
  t: number
  sample: FloatTensorLike
  opts: StepOptions
}

/**
 * What the schedulers built on it share: their config and class name, fromConfig, one model
 * call a step, and step()'s checks (timesteps set, output and sample the same size) before
 * the class's own update.
 */
export abstract class SchedulerBase<C> implements Scheduler {
  readonly order = 1
  timesteps: number[] = []
  abstract readonly initNoiseSigma: number

  static fromConfig<T>(this: new (config: object) => T, config: object): T {
    return new this(config)
  }

  constructor(
    /** The diffusers class name, for messages. */
    protected readonly cls: string,
    readonly config: C,
  ) {}

  abstract setTimesteps(n: number): void
  abstract scaleModelInput(sample: FloatTensorLike, t: number): FloatTensor

  step(
    modelOutput: FloatTensorLike,
    t: number,
    sample: FloatTensorLike,
    opts: StepOptions = {},
  ): StepResult {
    if (!this.timesteps.length) throw new Error(`${this.cls}: call setTimesteps() before step()`)
    checkSameShape(modelOutput, sample, `${this.cls}.step`)
    return this.update({ modelOutput, t, sample, opts })
  }

  /** The step itself, once step() has checked its input. */
  protected abstract update(a: StepArgs): StepResult

  /** The generator a noise-drawing step needs, or a clear error without one. */
  protected generator(opts: StepOptions): TorchGenerator {
    if (!opts.generator) throw new Error(`${this.cls}: step() draws noise and needs opts.generator`)
    return opts.generator
  }
}

// --- the DDIM family ------------------------------------------------------------------------

/** The config fields AlphasScheduler reads. */
type AlphasConfig = {
  num_train_timesteps: number
  set_alpha_to_one: boolean
  timestep_spacing: string
  steps_offset: number
}

/**
 * The float32 alphas_cumprod of DDIM and LCM: betas by the config's schedule, their cumulative
 * product, zero-terminal-SNR rescaled when asked. Thresholding (dynamic clipping of x0, for
 * pixel-space models) is refused: latent video models do not use it.
 */
export function ddimAlphasCumprod(
  cls: string,
  c: BetaConfig & { thresholding: boolean; rescale_betas_zero_snr: boolean },
): Float32Array {
  if (c.thresholding)
    throw new SchedulerConfigError(
      `${cls}: thresholding is for pixel-space models; latent video models do not use it`,
    )
  const betas = betasF32(cls, c)
  return alphasCumprodF32(c.rescale_betas_zero_snr ? rescaleBetasZeroSnr(betas) : betas)
}

/**
 * What the schedulers on an alphas_cumprod table share (DDIM, LCM, CogVideoX's DDIM and DPM):
 * unit initial noise, the sample given to the model as it is, the final alpha (1, or the
 * table's first entry), DDIM's timestep spacing and its previous-timestep rule.
 */
export abstract class AlphasScheduler<
  C extends AlphasConfig,
  A extends Float32Array | Float64Array = Float32Array,
> extends SchedulerBase<C> {
  readonly initNoiseSigma = 1.0
  readonly finalAlphaCumprod: number
  numInferenceSteps = 0

  constructor(
    cls: string,
    config: C,
    readonly alphasCumprod: A,
  ) {
    super(cls, config)
    this.finalAlphaCumprod = config.set_alpha_to_one ? 1.0 : alphasCumprod[0]!
  }

  setTimesteps(n: number): void {
    const c = this.config
    this.timesteps = ddimTimesteps(c.timestep_spacing, c.num_train_timesteps, n, c.steps_offset)
    this.numInferenceSteps = n
  }

  scaleModelInput(sample: FloatTensorLike, _t?: number): FloatTensor {
    return out(sample.data, sample.dims)
  }

  /** alphas_cumprod at t; the final alpha before the first training step. */
  protected alphaAt(t: number): number {
    return t >= 0 ? this.alphasCumprod[t]! : this.finalAlphaCumprod
  }

  /** diffusers' prev_timestep: t - N // n, not the next entry of `timesteps`. */
  protected prevTimestep(t: number): number {
    return t - Math.floor(this.config.num_train_timesteps / this.numInferenceSteps)
  }
}

// --- schedulers that count their steps --------------------------------------------------------

/**
 * What the sigma schedulers share (Euler, DPM-Solver, FlowMatchEuler, UniPC): sigmas, the
 * training step count, and the step index: set_begin_index's, or the place of the first step's
 * timestep, then counted up one a step.
 */
export abstract class SigmaScheduler<
  C extends { num_train_timesteps: number },
> extends SchedulerBase<C> {
  sigmas: number[] = []
  protected stepIndex: number | null = null
  protected beginIndex: number | null = null

  get numTrainTimesteps(): number {
    return this.config.num_train_timesteps
  }

  /** diffusers' set_begin_index (WanPipeline sets 0): the first step is step i whatever its t. */
  setBeginIndex(i = 0): void {
    this.beginIndex = i
  }

  /** A new run of `n` steps: checks n and forgets the step index. */
  protected newRun(n: number): void {
    if (!Number.isInteger(n) || n < 1)
      throw new RangeError(`${this.cls}: num_inference_steps must be a positive integer, got ${n}`)
    this.stepIndex = null
    this.beginIndex = null
  }

  /** Where t stands in `timesteps` (diffusers' index_for_timestep). */
  protected indexOf(t: number): number {
    return indexForTimestep(this.timesteps, t)
  }

  /** The index of the step at t (found at the first step of a run, then counted). */
  protected indexFor(t: number): number {
    if (this.stepIndex === null) this.stepIndex = this.beginIndex ?? this.indexOf(t)
    return this.stepIndex
  }

  /** The index of the step being taken at t, refusing a step past the last. */
  protected stepIndexAt(t: number): number {
    const i = this.indexFor(t)
    if (i >= this.timesteps.length)
      throw new RangeError(`${this.cls}: step() called more than ${this.timesteps.length} times`)
    return i
  }
}
