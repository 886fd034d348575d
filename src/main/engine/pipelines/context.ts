// Long takes in the engine: the denoiser runs over context windows of the latent frames
// (src/shared/longtake.ts decides which), their predictions are blended back with the window
// weights, and what the denoiser takes per frame (prompt embeddings, camera poses) is cut to
// each window with the latents. Memory stays that of one window: only the latents, the
// blended prediction and the per-frame embeddings span the whole clip.
import {
  contextWindows,
  repeatedNoiseSource,
  shuffledNoiseSource,
  windowWeights,
  type ResolvedContext,
} from '../../../shared/longtake'
import { relativeToFirst, rowToW2C, w2cToRow } from '../../../shared/camera'
import type { TorchGenerator } from '../random/torch-generator'
import type { ColourDrift } from './types'

const f32 = Math.fround

/** The windows and each one's weights for a resolved context. */
export type WindowPlan = { windows: number[][]; weights: number[][] }

export function planWindows(frames: number, c: ResolvedContext): WindowPlan {
  const windows = contextWindows(frames, c)
  return { windows, weights: windows.map((w) => windowWeights(w.length, c.weighting)) }
}

/**
 * The initial noise of a long take (diffusers' _prepare_latents_free_noise): randn over every
 * frame from the generator, then, for shuffle_context, FreeNoise's reshuffled copies (torch's
 * randperm on the same generator), or for repeat_context, the first window repeated. `dims`
 * are [1, C, F, h, w] (frames on axis 2).
 */
export function longTakeNoise(
  generator: TorchGenerator,
  dims: number[],
  c: ResolvedContext,
): Float32Array {
  const noise = generator.randn(dims)
  const F = dims[2]!
  if (c.noise === 'random' || F <= c.window) return noise
  const src =
    c.noise === 'shuffle_context'
      ? shuffledNoiseSource(F, c.window, c.stride, (n) => generator.randperm(n))
      : repeatedNoiseSource(F, c.window)
  return gatherFrames(noise, dims, src)
}

/** latents [B, C, F, h, w] at frames `idx` -> [B, C, idx.length, h, w]. */
export function gatherFrames(
  x: Float32Array,
  dims: number[],
  idx: readonly number[],
): Float32Array {
  const [B, C, F, h, w] = dims as [number, number, number, number, number]
  const plane = h * w
  const n = idx.length
  const out = new Float32Array(B * C * n * plane)
  for (let bc = 0; bc < B * C; bc++)
    for (let k = 0; k < n; k++)
      out.set(
        x.subarray((bc * F + idx[k]!) * plane, (bc * F + idx[k]! + 1) * plane),
        (bc * n + k) * plane,
      )
  return out
}

/** Rows [R, ...] of `size` values at `idx` (per-frame embeddings, one block per guidance half). */
export function gatherRows(
  data: Float32Array,
  rows: number,
  size: number,
  idx: readonly number[],
  blocks = 1,
): Float32Array {
  const out = new Float32Array(blocks * idx.length * size)
  for (let b = 0; b < blocks; b++)
    idx.forEach((r, k) =>
      out.set(
        data.subarray((b * rows + r) * size, (b * rows + r + 1) * size),
        (b * idx.length + k) * size,
      ),
    )
  return out
}

/**
 * MotionCtrl RT rows [F * 12] (relative to the clip's frame 0) for the frames of one window,
 * made relative to the window's first frame, as MotionCtrl was trained: E_i E_s^-1, which is
 * RT_i RT_s^-1 for RT relative to any common frame.
 */
export function windowPoses(rt: Float32Array, idx: readonly number[]): Float32Array {
  const rows = idx.map((i) => rowToW2C(rt.subarray(i * 12, i * 12 + 12)))
  const rel = relativeToFirst(rows)
  const out = new Float32Array(idx.length * 12)
  rel.forEach((w, k) => out.set(w2cToRow(w), k * 12))
  return out
}

/**
 * Blends window predictions into the clip's: for frame f, sum over the windows that hold it
 * of weight * prediction, divided by the sum of those weights (float32, in window order, as
 * the reference does). `predict(idx)` gives the window's prediction [1, C, n, h, w].
 */
export async function blendWindows(
  plan: WindowPlan,
  dims: number[],
  predict: (idx: number[], k: number) => Promise<Float32Array>,
): Promise<Float32Array> {
  const [, C, F, h, w] = dims as [number, number, number, number, number]
  const plane = h * w
  const acc = new Float32Array(C * F * plane)
  const wsum = new Float32Array(F)
  for (let k = 0; k < plan.windows.length; k++) {
    const idx = plan.windows[k]!
    const wt = plan.weights[k]!
    const pred = await predict(idx, k)
    const n = idx.length
    for (let c = 0; c < C; c++)
      for (let j = 0; j < n; j++) {
        const g = f32(wt[j]!)
        const src = (c * n + j) * plane
        const dst = (c * F + idx[j]!) * plane
        for (let p = 0; p < plane; p++) acc[dst + p] = f32(acc[dst + p]! + f32(pred[src + p]! * g))
      }
    for (let j = 0; j < n; j++) wsum[idx[j]!] = f32(wsum[idx[j]!]! + f32(wt[j]!))
  }
  for (let c = 0; c < C; c++)
    for (let f = 0; f < F; f++) {
      const s = wsum[f]!
      if (!(s > 0)) throw new Error(`frame ${f} is in no context window`)
      const o = (c * F + f) * plane
      for (let p = 0; p < plane; p++) acc[o + p] = f32(acc[o + p]! / s)
    }
  return acc
}

// --- colour stability ---------------------------------------------------------------------------

/**
 * The rule (docs/DECISIONS.md, "Colour across windows"): the colour of a long take is held to
 * its first window as the denoiser left it. For each window and latent channel, the mean and
 * standard deviation over the window's frames and pixels are compared with that anchor's:
 *   mean drift = |mean_w - mean_0| / std_0,   std drift = |ln(std_w / std_0)|.
 * After anchoring, no window (the first included) drifts more than COLOUR_BOUND on either
 * measure. Windows beyond half the bound get an affine correction per channel (scale and
 * shift) towards it (not to zero: a window may legitimately differ a little); the corrections
 * are interpolated frame by frame between window centres, so there is no step at a window
 * border, and repeated until every window is within the bound (at most 24 passes; the drift
 * left is reported either way).
 */
export const COLOUR_BOUND = { mean: 0.1, std: 0.1 } as const

type Stats = { mean: Float64Array; std: Float64Array }

/** Per-channel mean and std of latents [1, C, F, h, w] over the given frames. */
export function channelStats(x: Float32Array, dims: number[], frames: readonly number[]): Stats {
  const [, C, F, h, w] = dims as [number, number, number, number, number]
  const plane = h * w
  const mean = new Float64Array(C)
  const std = new Float64Array(C)
  for (let c = 0; c < C; c++) {
    let s = 0
    let s2 = 0
    for (const f of frames) {
      const o = (c * F + f) * plane
      for (let p = 0; p < plane; p++) {
        const v = x[o + p]!
        s += v
        s2 += v * v
      }
    }
    const n = frames.length * plane
    mean[c] = s / n
    std[c] = Math.sqrt(Math.max(s2 / n - mean[c]! ** 2, 0))
  }
  return { mean, std }
}

/** The largest drift of any window from the first (see COLOUR_BOUND). */
export function colourDrift(x: Float32Array, dims: number[], windows: number[][]): ColourDrift {
  const ref = channelStats(x, dims, windows[0]!)
  let mean = 0
  let std = 0
  for (const w of windows.slice(1)) {
    const s = channelStats(x, dims, w)
    for (let c = 0; c < ref.mean.length; c++) {
      const sd0 = Math.max(ref.std[c]!, 1e-8)
      mean = Math.max(mean, Math.abs(s.mean[c]! - ref.mean[c]!) / sd0)
      std = Math.max(std, Math.abs(Math.log(Math.max(s.std[c]!, 1e-8) / sd0)))
    }
  }
  return { mean, std }
}

/**
 * Anchors each window's colour statistics to the first window's (the rule above), in place.
 * A few passes, since interpolated corrections also touch the neighbours; returns the drift
 * before and after.
 */
export function anchorColour(
  x: Float32Array,
  dims: number[],
  windows: number[][],
  bound: { mean: number; std: number } = COLOUR_BOUND,
): { before: ColourDrift; after: ColourDrift; anchored: boolean } {
  const before = colourDrift(x, dims, windows)
  const within = (d: ColourDrift) => d.mean <= bound.mean * 1.001 && d.std <= bound.std * 1.001
  if (windows.length < 2 || within(before)) return { before, after: before, anchored: false }
  const [, C, F, h, w] = dims as [number, number, number, number, number]
  const plane = h * w
  // each window's centre on the frame axis (a wrapped window's centre counts from its start)
  const centres = windows.map((win) => win[0]! + (win.length - 1) / 2)
  const order = centres.map((_, i) => i).sort((a, b) => centres[a]! - centres[b]!)
  // the first window as it came out of the denoiser is the anchor for every pass (its own
  // frames are touched by the interpolation towards window 1, and corrected back)
  const ref = channelStats(x, dims, windows[0]!)
  const driftFromRef = (): ColourDrift => {
    let mean = 0
    let std = 0
    for (const w of windows) {
      const st = channelStats(x, dims, w)
      for (let c = 0; c < C; c++) {
        const sd0 = Math.max(ref.std[c]!, 1e-8)
        mean = Math.max(mean, Math.abs(st.mean[c]! - ref.mean[c]!) / sd0)
        std = Math.max(std, Math.abs(Math.log(Math.max(st.std[c]!, 1e-8) / sd0)))
      }
    }
    return { mean, std }
  }
  for (let pass = 0; pass < 24; pass++) {
    // per window and channel: scale a and shift b that bring it within the bound
    const a = windows.map(() => new Float64Array(C).fill(1))
    const b = windows.map(() => new Float64Array(C))
    windows.forEach((win, k) => {
      const s = channelStats(x, dims, win)
      for (let c = 0; c < C; c++) {
        const sd0 = Math.max(ref.std[c]!, 1e-8)
        const sd = Math.max(s.std[c]!, 1e-8)
        const lr = Math.log(sd / sd0)
        // aim at half the bound: the neighbours' interpolated corrections move a window a
        // little after its own, and a target on the bound itself is then never reached
        const hs = bound.std / 2
        const hm = bound.mean / 2
        const targetSd = sd0 * Math.exp(Math.max(-hs, Math.min(hs, lr)))
        const dm = (s.mean[c]! - ref.mean[c]!) / sd0
        const targetMean = ref.mean[c]! + Math.max(-hm, Math.min(hm, dm)) * sd0
        a[k]![c] = targetSd / sd
        b[k]![c] = targetMean - a[k]![c]! * s.mean[c]!
      }
    })
    for (let f = 0; f < F; f++) {
      // interpolate between the two window centres around f (held past the ends)
      let lo = order[0]!
      let hi = order[0]!
      for (const k of order) {
        if (centres[k]! <= f) lo = k
        if (centres[k]! >= f) {
          hi = k
          break
        }
        hi = k
      }
      const span = centres[hi]! - centres[lo]!
      const t = span > 0 ? (f - centres[lo]!) / span : 0
      for (let c = 0; c < C; c++) {
        const ac = a[lo]![c]! * (1 - t) + a[hi]![c]! * t
        const bc = b[lo]![c]! * (1 - t) + b[hi]![c]! * t
        if (ac === 1 && bc === 0) continue
        const o = (c * F + f) * plane
        for (let p = 0; p < plane; p++) x[o + p] = f32(ac * x[o + p]! + bc)
      }
    }
    if (within(driftFromRef())) break
  }
  return { before, after: driftFromRef(), anchored: true }
}
