// Host-side cost of one SVD-XT denoising step (everything but session.run): build the
// [2, 25, 8, 72, 128] UNet input, CFG-combine a [2, 25, 4, 72, 128] output with per-frame
// guidance, and the Euler (Karras, v-prediction) step, as a ratio to one plain
// Float32Array copy of the same tensors (the input and the output) in the same run.
import { EulerDiscreteScheduler } from '../src/main/engine'
import { floatTensor } from '../src/main/engine/runtime/tensor'
import { float16ToFloat32, float32ToFloat16 } from '../src/main/engine/runtime/fp16'
import { svdGuidance, svdUNetInput, svdUNetInputHalf } from '../src/main/engine/pipelines/svd-host'
import { torchLinspaceF32 } from '../src/main/engine/schedulers/common'

const F = 25
const h = 72
const w = 128
const plane = h * w
const latentN = F * 4 * plane

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

/** `fp16Io`: the UNet takes and returns float16, so the step also converts both tensors. */
export function stepOverhead(iterations = 15, fp16Io = false): Record<string, number> {
  const rnd = (n: number, seed: number) => {
    const a = new Float32Array(n)
    let x = seed
    for (let i = 0; i < n; i++) {
      x = (Math.imul(x, 1664525) + 1013904223) >>> 0
      a[i] = x / 4294967296 - 0.5
    }
    return a
  }
  const sched = EulerDiscreteScheduler.fromConfig({
    beta_schedule: 'scaled_linear',
    beta_start: 0.00085,
    beta_end: 0.012,
    prediction_type: 'v_prediction',
    use_karras_sigmas: true,
    sigma_min: 0.002,
    sigma_max: 700,
    timestep_spacing: 'leading',
    timestep_type: 'continuous',
    steps_offset: 1,
  })
  sched.setTimesteps(iterations + 2)
  const guidance = torchLinspaceF32(1, 3, F)
  let latents: Float32Array = rnd(latentN, 1)
  const imageLatents = rnd(4 * plane, 2)
  const unetOut = rnd(2 * latentN, 3) // stands for session.run's output
  const input = new Float32Array(2 * F * 8 * plane)
  const half = new Uint16Array(input.length)
  const halfOut = float32ToFloat16(unetOut)
  const imageHalf = float32ToFloat16(imageLatents) // once per clip
  const scratch = new Float32Array(latentN)
  const outF32 = new Float32Array(unetOut.length)
  const dims = [1, F, 4, h, w]

  const stepTimes: number[] = []
  const copyTimes: number[] = []
  for (let i = 0; i < iterations; i++) {
    const t = sched.timesteps[i]!
    const sigma = sched.sigmas[i]!
    const t0 = performance.now()
    const denom = Math.fround(Math.sqrt(Math.fround(Math.fround(sigma * sigma) + 1)))
    if (fp16Io) svdUNetInputHalf(latents, imageHalf, F, plane, denom, true, half, scratch)
    else svdUNetInput(latents, imageLatents, F, plane, denom, true, input)
    const out = fp16Io ? float16ToFloat32(halfOut, outF32) : unetOut
    const noise = svdGuidance(out, guidance, F)
    latents = sched.step(floatTensor(noise, dims), t, floatTensor(latents, dims)).prevSample.data
    stepTimes.push(performance.now() - t0)

    const t1 = performance.now()
    const a = fp16Io ? half.slice() : input.slice()
    const b = fp16Io ? halfOut.slice() : unetOut.slice()
    copyTimes.push(performance.now() - t1)
    if (a.length + b.length === 0) throw new Error('unreachable')
  }
  const step = median(stepTimes.slice(3))
  const copy = median(copyTimes.slice(3))
  return {
    step_host_ms: Number(step.toFixed(2)),
    copy_ms: Number(copy.toFixed(2)),
    [fp16Io ? 'step_overhead_ratio_vs_fp16_copy' : 'step_overhead_ratio']: Number(
      (step / copy).toFixed(2),
    ),
    input_values: input.length,
    output_values: unetOut.length,
  }
}
