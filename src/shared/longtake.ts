// Long takes: clips longer than a model's motion window, prompts that change along the clip,
// and loops. The pure rules live here so the panel, main and the engine read the same ones:
//   - context windows over the frames (which frames each denoiser call sees) and the weights
//     that blend their predictions back into one clip;
//   - prompt keyframes and the per-frame interpolation between their embeddings;
//   - the loop-closure score of a finished clip.
// References: diffusers' FreeNoise (pipelines/free_noise_utils.py and FreeNoiseTransformerBlock
// in models/attention.py) for the window starts, the weighting schemes, the noise types and the
// prompt interpolation rule; AnimateDiff-Evolved's context options ("standard static" and
// "looped uniform" schedules) for windows over the whole denoiser and closed loops.
import { z } from 'zod'

/** How overlapping windows' predictions are weighted per position in the window. */
export const CONTEXT_WEIGHTINGS = ['flat', 'pyramid', 'delayed_reverse_sawtooth'] as const
export const ContextWeighting = z.enum(CONTEXT_WEIGHTINGS)
export type ContextWeighting = z.infer<typeof ContextWeighting>

/**
 * The initial noise of a long take (diffusers' FreeNoise noise_type): 'random' draws every
 * frame; 'shuffle_context' draws one window and fills the rest with shuffles of the previous
 * stride's noise; 'repeat_context' repeats the first window's noise.
 */
export const CONTEXT_NOISE = ['random', 'shuffle_context', 'repeat_context'] as const
export const ContextNoise = z.enum(CONTEXT_NOISE)
export type ContextNoise = z.infer<typeof ContextNoise>

/** The bounds of a context window's size and of the frames neighbouring windows share. */
export const CONTEXT_LIMITS = {
  window: { min: 2, max: 256 },
  overlap: { min: 1, max: 255 },
} as const

/** The frames neighbouring windows share when none is asked: a quarter of the window. */
export const defaultOverlap = (window: number): number => Math.floor(window / 4)

/** The long-take options a shot (and a render request) may carry; every field optional. */
export const ContextSettings = z
  .object({
    /** Frames per window; absent: the model's motion window (its maxFrames). */
    window: z
      .number()
      .int()
      .min(CONTEXT_LIMITS.window.min)
      .max(CONTEXT_LIMITS.window.max)
      .optional(),
    /** Frames two neighbouring windows share (at least 1); absent: defaultOverlap. */
    overlap: z
      .number()
      .int()
      .min(CONTEXT_LIMITS.overlap.min)
      .max(CONTEXT_LIMITS.overlap.max)
      .optional(),
    weighting: ContextWeighting.optional(),
    noise: ContextNoise.optional(),
    /** Hold each window's latent colour statistics to the first window's (see anchorColour). */
    colourAnchor: z.boolean().optional(),
  })
  .strict()
export type ContextSettings = z.infer<typeof ContextSettings>

export const CONTEXT_DEFAULTS = {
  weighting: 'pyramid',
  noise: 'shuffle_context',
  colourAnchor: true,
} as const satisfies Partial<Record<keyof ContextSettings, unknown>>

/**
 * The first frame (0-based) a prompt key may take over at: frame 0 is the shot's own prompt
 * (diffusers needs a prompt there), so keys start at the second frame (1-based: 2).
 */
export const FIRST_PROMPT_KEY_FRAME = 1

/** A prompt that takes over at a frame of the shot (frame 0 is the shot's own prompt). */
export const PromptKey = z
  .object({
    id: z.string().min(1).max(64),
    frame: z.number().int().min(FIRST_PROMPT_KEY_FRAME).max(10_000),
    prompt: z.string().max(4000),
  })
  .strict()
export type PromptKey = z.infer<typeof PromptKey>

/** What a finished long take reports with its clip (job result, jobs panel). */
export const LongTakeSummary = z
  .object({
    windows: z.number().int().positive(),
    window: z.number().int().positive(),
    overlap: z.number().int().nonnegative(),
    loop: z.boolean(),
    /** Largest latent colour drift of a window from the first after anchoring (null: not measured). */
    colourDrift: z.object({ mean: z.number(), std: z.number() }).strict().nullable(),
    anchored: z.boolean(),
  })
  .strict()
export type LongTakeSummary = z.infer<typeof LongTakeSummary>

export type ResolvedContext = {
  /** Frames per window (never more than the clip's frames). */
  window: number
  overlap: number
  /** Window start to the next window's start (diffusers' context_stride). */
  stride: number
  weighting: ContextWeighting
  noise: ContextNoise
  colourAnchor: boolean
  loop: boolean
}

/**
 * The windows a render runs with, or null when one call takes the whole clip (it fits the
 * motion window and does not loop). A loop always runs windows, so one of them spans the
 * seam (the last frames followed by the first).
 */
export function resolveContext(
  frames: number,
  maxFrames: number | null,
  s: ContextSettings = {},
  loop = false,
): ResolvedContext | null {
  const limit = maxFrames ?? Infinity
  const asked = s.window ?? (Number.isFinite(limit) ? limit : frames)
  if (asked > limit)
    throw new RangeError(`a window of ${asked} frames is more than the motion window (${limit})`)
  if (frames <= asked && !loop) return null
  const window = Math.max(1, Math.min(asked, frames))
  // at least one shared frame: windows that share none are separate clips with a cut between
  const overlap = Math.min(
    Math.max(CONTEXT_LIMITS.overlap.min, s.overlap ?? defaultOverlap(window)),
    window - 1,
  )
  return {
    window,
    overlap,
    stride: window - overlap,
    weighting: s.weighting ?? CONTEXT_DEFAULTS.weighting,
    noise: s.noise ?? CONTEXT_DEFAULTS.noise,
    colourAnchor: s.colourAnchor ?? CONTEXT_DEFAULTS.colourAnchor,
    loop,
  }
}

/**
 * The frame indices of each window. Straight: windows of `window` frames starting every
 * `stride` frames, the last one moved back to end on the last frame (diffusers' FreeNoise
 * `_get_frame_indices` plus its closing window; AnimateDiff-Evolved's "standard static" gives
 * the same starts). Loop: windows every `stride` frames all the way round, indices modulo the
 * frames, so the windows that cross the end continue into the first frames.
 */
export function contextWindows(
  frames: number,
  c: Pick<ResolvedContext, 'window' | 'stride' | 'loop'>,
): number[][] {
  if (!Number.isInteger(frames) || frames < 1)
    throw new RangeError(`frames must be a positive integer, got ${frames}`)
  const L = Math.min(c.window, frames)
  const S = Math.max(1, Math.min(c.stride, L))
  const range = (s: number) => Array.from({ length: L }, (_, k) => (s + k) % frames)
  if (c.loop) {
    if (frames === 1) return [[0]]
    const out: number[][] = []
    for (let s = 0; s < frames; s += S) out.push(range(s))
    // one window that does not reach round to frame 0 again cannot close the loop
    if (out.length === 1) out.push(range(Math.floor(frames / 2)))
    return out
  }
  if (frames <= L) return [range(0)]
  const out: number[][] = []
  for (let s = 0; s <= frames - L; s += S) out.push(range(s))
  if (out.at(-1)![L - 1] !== frames - 1) out.push(range(frames - L))
  return out
}

/**
 * Weight of each position in a window of `n` frames (diffusers' FreeNoise _get_frame_weights,
 * the same three schemes AnimateDiff-Evolved offers as fuse methods): flat [1,1,1,1,1],
 * pyramid [1,2,3,2,1], delayed_reverse_sawtooth [0.01,0.01,3,2,1].
 */
export function windowWeights(n: number, scheme: ContextWeighting): number[] {
  if (scheme === 'flat') return Array.from({ length: n }, () => 1)
  const up = (m: number) => Array.from({ length: m }, (_, i) => i + 1)
  const down = (m: number) => Array.from({ length: m }, (_, i) => m - i)
  if (scheme === 'pyramid') {
    if (n % 2 === 0) return [...up(n / 2), ...down(n / 2)]
    const mid = (n + 1) / 2
    return [...up(mid - 1), mid, ...down(mid - 1)]
  }
  if (n % 2 === 0) {
    const mid = n / 2
    return [...Array.from({ length: mid - 1 }, () => 0.01), mid, ...down(mid)]
  }
  // odd n: the documented [0.01, 0.01, 3, 2, 1] (diffusers' code builds n + 1 weights here,
  // which cannot broadcast against a window, so it has no working odd case to follow)
  const mid = (n + 1) / 2
  return [...Array.from({ length: mid - 1 }, () => 0.01), ...down(mid)]
}

/**
 * Per frame, the sum of the weights of the windows that cover it: every frame is covered
 * (a zero would mean a frame no window denoises). The blend divides by these sums, so a
 * frame's prediction is the weighted mean of the windows that saw it.
 */
export function coverage(
  frames: number,
  windows: number[][],
  scheme: ContextWeighting,
): Float64Array {
  const sum = new Float64Array(frames)
  for (const w of windows) {
    const wt = windowWeights(w.length, scheme)
    w.forEach((f, k) => (sum[f] = sum[f]! + wt[k]!))
  }
  return sum
}

/**
 * FreeNoise's shuffle_context: the frames' noise source after the first window. Window by
 * window (every `stride` frames past the first `window`), the stride's worth of frames that
 * starts `window` frames earlier is permuted by `perm(n)` and copied forward. Returns, per
 * frame, the frame whose first-drawn noise it takes (diffusers' _prepare_latents_free_noise).
 */
export function shuffledNoiseSource(
  frames: number,
  window: number,
  stride: number,
  perm: (n: number) => number[],
): number[] {
  const src = Array.from({ length: frames }, (_, i) => i)
  for (let i = window; i < frames; i += stride) {
    const start = Math.max(0, i - window)
    const end = Math.min(frames, start + stride)
    const n = end - start
    if (n === 0) break
    const p = perm(n)
    const idx = p.map((k) => start + k)
    const curEnd = Math.min(frames, i + n)
    const take = curEnd - i
    // diffusers assigns latents[:, :, i:i+take] = latents[:, :, idx[:take]] in place, reading
    // the already-updated frames (the source indices lie before i, so no overlap in one copy)
    const vals = idx.slice(0, take).map((k) => src[k]!)
    for (let k = 0; k < take; k++) src[i + k] = vals[k]!
  }
  return src
}

/** repeat_context: frame i takes the noise of frame i mod window. */
export function repeatedNoiseSource(frames: number, window: number): number[] {
  return Array.from({ length: frames }, (_, i) => i % window)
}

// --- prompt travel ----------------------------------------------------------------------------

/** One frame's text conditioning: the mix (1 - t) * prompts[a] + t * prompts[b]. */
export type PromptMix = { a: number; b: number; t: number }

/**
 * The prompts to encode and each frame's mix of them. Frame 0 has the shot's prompt; each key
 * takes over at its frame; between two keys the embeddings are interpolated linearly, frame by
 * frame (diffusers' FreeNoise prompt interpolation: the last key holds to the end, alpha =
 * (f - start) / (end - start)). Keys at or past the last frame are dropped, with a notice;
 * a later key at the same frame replaces an earlier one.
 */
export function promptSchedule(
  base: string,
  keys: readonly { frame: number; prompt: string }[],
  frames: number,
): { prompts: string[]; mix: PromptMix[]; dropped: number[] } {
  const byFrame = new Map<number, string>([[0, base]])
  const dropped: number[] = []
  for (const k of keys) {
    if (!Number.isInteger(k.frame) || k.frame < FIRST_PROMPT_KEY_FRAME || k.frame >= frames)
      dropped.push(k.frame)
    else byFrame.set(k.frame, k.prompt)
  }
  const sorted = [...byFrame.entries()].sort((p, q) => p[0] - q[0])
  // the last key's prompt also stands at the last frame (diffusers adds that entry)
  if (sorted.at(-1)![0] !== frames - 1) sorted.push([frames - 1, sorted.at(-1)![1]])
  const prompts: string[] = []
  const index = (p: string) => {
    const i = prompts.indexOf(p)
    if (i >= 0) return i
    prompts.push(p)
    return prompts.length - 1
  }
  const ids = sorted.map(([, p]) => index(p))
  const mix: PromptMix[] = Array.from({ length: frames }, () => ({ a: ids[0]!, b: ids[0]!, t: 0 }))
  for (let s = 0; s + 1 < sorted.length; s++) {
    const f0 = sorted[s]![0]
    const f1 = sorted[s + 1]![0]
    for (let f = f0; f <= f1; f++) mix[f] = { a: ids[s]!, b: ids[s + 1]!, t: (f - f0) / (f1 - f0) }
  }
  return { prompts, mix, dropped }
}

/**
 * The frames' embeddings [F, ...one] from the encoded prompts (each `size` values), as
 * diffusers' _lerp computes them in float32: (1 - t) * a + t * b.
 */
export function interpolateEmbeddings(
  encoded: readonly Float32Array[],
  mix: readonly PromptMix[],
  size: number,
): Float32Array {
  const f32 = Math.fround
  const out = new Float32Array(mix.length * size)
  mix.forEach(({ a, b, t }, f) => {
    const A = encoded[a]!
    const B = encoded[b]!
    const ca = f32(1 - t)
    const cb = f32(t)
    const o = f * size
    if (t === 0) out.set(A.subarray(0, size), o)
    else for (let i = 0; i < size; i++) out[o + i] = f32(f32(ca * A[i]!) + f32(cb * B[i]!))
  })
  return out
}

// --- loops --------------------------------------------------------------------------------------

/**
 * Loop-closure score of a clip ([F, ...] bytes, `frameSize` per frame): the mean absolute
 * difference between the last and the first frame, over the mean difference between
 * consecutive frames. About 1: the cut back to the start looks like any other frame step;
 * well above 1: a visible seam. Streamed: push frames in order, read the score at the end.
 */
export class LoopScore {
  private first: Uint8Array | null = null
  private prev: Uint8Array | null = null
  private sum = 0
  private steps = 0

  push(frame: Uint8Array): void {
    if (!this.first) this.first = frame.slice()
    if (this.prev) {
      this.sum += meanAbsDiff(this.prev, frame)
      this.steps++
    }
    this.prev = frame.slice()
  }

  /** null for fewer than 3 frames or a clip that does not move at all. */
  score(): { score: number; seam: number; meanStep: number } | null {
    if (!this.first || !this.prev || this.steps < 2) return null
    const meanStep = this.sum / this.steps
    const seam = meanAbsDiff(this.prev, this.first)
    if (meanStep === 0) return null
    return { score: seam / meanStep, seam, meanStep }
  }
}

export function meanAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]! - b[i]!)
  return s / Math.max(1, a.length)
}

/** What the panel shows for a long take: windows, denoiser calls per step, and the cost. */
export function describeContext(frames: number, c: ResolvedContext | null): string {
  if (!c) return `one window of ${frames} frames`
  const n = contextWindows(frames, c).length
  const calls = (n * c.window) / frames
  return `${n} windows of ${c.window} frames, ${c.overlap} shared${c.loop ? ', looping' : ''} (${calls.toFixed(1)}x the denoising of ${frames} frames)`
}

// --- prompt keyframe edits (the timeline's prompt track) -----------------------------------------

let keyCounter = 0
export function newPromptKeyId(): string {
  keyCounter = (keyCounter + 1) % 1e9
  return `p${Date.now().toString(36)}${keyCounter.toString(36)}`
}

/** The prompt authored at or before `frame` (the one the travel starts from there). */
export function promptAt(base: string, keys: readonly PromptKey[], frame: number): string {
  let best: PromptKey | null = null
  for (const k of keys) if (k.frame <= frame && (!best || k.frame >= best.frame)) best = k
  return best ? best.prompt : base
}

/**
 * A prompt key at `frame` (1 .. frames - 1) holding the prompt in effect there, to be edited;
 * a key already at that frame is kept (and returned) rather than stacked. Pure.
 */
export function addPromptKey(
  base: string,
  keys: readonly PromptKey[],
  frame: number,
  frames: number,
): { keys: PromptKey[]; id: string } | { error: string } {
  if (!Number.isInteger(frame) || frame < FIRST_PROMPT_KEY_FRAME || frame > frames - 1)
    return {
      error:
        frame < FIRST_PROMPT_KEY_FRAME
          ? 'Frame 1 has the shot’s own prompt: move the playhead later to add a prompt there'
          : `A prompt key needs a frame from ${FIRST_PROMPT_KEY_FRAME + 1} to ${frames}`,
    }
  const same = keys.find((k) => k.frame === frame)
  if (same) return { keys: [...keys], id: same.id }
  const k: PromptKey = { id: newPromptKeyId(), frame, prompt: promptAt(base, keys, frame) }
  return { keys: [...keys, k].sort((a, b) => a.frame - b.frame), id: k.id }
}

/** Changes a key's prompt or frame (a frame onto another key's is refused: unchanged). */
export function updatePromptKey(
  keys: readonly PromptKey[],
  id: string,
  patch: Partial<Pick<PromptKey, 'frame' | 'prompt'>>,
  frames: number,
): PromptKey[] {
  const frame = patch.frame
  if (frame !== undefined) {
    if (!Number.isInteger(frame) || frame < FIRST_PROMPT_KEY_FRAME || frame > frames - 1)
      return [...keys]
    if (keys.some((k) => k.id !== id && k.frame === frame)) return [...keys]
  }
  return keys.map((k) => (k.id === id ? { ...k, ...patch } : k)).sort((a, b) => a.frame - b.frame)
}

export function deletePromptKey(keys: readonly PromptKey[], id: string): PromptKey[] {
  return keys.filter((k) => k.id !== id)
}
