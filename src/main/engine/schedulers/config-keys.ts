// Which keys a scheduler_config.json may hold. diffusers' from_config ignores keys that belong
// to another scheduler class (a Wan repo's UniPC config given to FlowMatchEuler, say); a key
// no diffusers scheduler knows is a typo or a newer diffusers, and silently dropping it would
// run something other than what the config asks for, so the flow schedulers refuse it.
import { SchedulerConfigError } from './common'

/** Every __init__ argument of diffusers' scheduler classes (0.40.0.dev0, 49 classes). */
export const DIFFUSERS_SCHEDULER_KEYS: ReadonlySet<string> = new Set(
  `
  algorithm_type alpha_cum_end alpha_cum_start base_image_seq_len base_shift beta_end beta_max
  beta_min beta_schedule beta_start block_length clip_denoised clip_sample clip_sample_range
  correct_steps corrector_k corrector_order corrector_selection corrector_selection_tau
  corrector_steps disable_corrector dynamic_thresholding_ratio editing_threshold entropy_bound
  eta euler_at_final final_sigmas_type flow_shift gamma gamma_cum_end gamma_cum_start
  interpolation_type invert_sigmas lambda_min_clipped lower_order_final mask_token_id
  masking_schedule max_image_seq_len max_shift minimal_topk noise_sampler_seed num_inference_steps
  num_train_timesteps num_vec_classes original_inference_steps predict_x0 prediction_type
  predictor_order rescale_betas_zero_snr rho s s_churn s_max s_min s_noise sample_max_value
  sampling_eps scale_factors scaler scheduler_type set_alpha_to_one shift shift_terminal
  sigma_data sigma_max sigma_min sigma_schedule skip_prk_steps snr snr_shift_scale solver_order
  solver_p solver_type stage_range stages steps_offset stochastic_sampling t_max t_min tau_func
  threshold thresholding time_shift_type timestep_scaling timestep_spacing timestep_type
  trained_betas upscale_mode use_beta_sigmas use_dynamic_shifting use_exponential_sigmas
  use_flow_sigmas use_karras_sigmas use_lu_lambdas variance_type
`
    .trim()
    .split(/\s+/),
)

/**
 * Throws on a key that is neither metadata (`_class_name`, `_diffusers_version`, ...), one of
 * the class's own, nor any diffusers scheduler's.
 */
export function checkConfigKeys(cls: string, raw: unknown, own: readonly string[]): void {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw new SchedulerConfigError(`${cls}: scheduler_config.json must be a JSON object`)
  for (const key of Object.keys(raw)) {
    if (key.startsWith('_') || own.includes(key) || DIFFUSERS_SCHEDULER_KEYS.has(key)) continue
    throw new SchedulerConfigError(
      `${cls}: unknown config key "${key}"; expected one of ${own.join(', ')} ` +
        `(or another diffusers scheduler's key, which is ignored)`,
    )
  }
}

/** Throws when a config asks for a feature this implementation does not have. */
export function refuseUnsupported(
  cls: string,
  config: Record<string, unknown>,
  supported: Record<string, (v: unknown) => boolean>,
  why: Record<string, string> = {},
): void {
  for (const [key, ok] of Object.entries(supported)) {
    if (!ok(config[key])) {
      throw new SchedulerConfigError(
        `${cls}: "${key}" = ${JSON.stringify(config[key])} is not supported` +
          (why[key] ? ` (${why[key]})` : ''),
      )
    }
  }
}

/** The error for a value of the right type that is out of range. */
export function badValue(
  cls: string,
  key: string,
  value: unknown,
  expected: string,
): SchedulerConfigError {
  return new SchedulerConfigError(
    `${cls}: "${key}" is ${JSON.stringify(value)}; expected ${expected}`,
  )
}
