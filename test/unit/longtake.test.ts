// The long-take rules (src/shared/longtake.ts): window scheduling against diffusers' FreeNoise
// (test/data/freenoise/freenoise.json, from diffusers' own FreeNoiseTransformerBlock), coverage
// and overlap weights for any clip, the cyclic wrap of a loop, prompt interpolation and the
// loop-closure score.
import fc from 'fast-check'
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  addPromptKey,
  CONTEXT_LIMITS,
  ContextSettings,
  contextWindows,
  defaultOverlap,
  deletePromptKey,
  promptAt,
  updatePromptKey,
  coverage,
  describeContext,
  interpolateEmbeddings,
  LoopScore,
  promptSchedule,
  resolveContext,
  shuffledNoiseSource,
  windowWeights,
  type ContextWeighting,
} from '../../src/shared/longtake'

const ref = JSON.parse(
  readFileSync(resolve(__dirname, '../data/freenoise/freenoise.json'), 'utf8'),
) as {
  windows: { frames: number; context_length: number; context_stride: number; windows: number[][] }[]
  weights: Record<string, number[]>
}

describe('context windows', () => {
  it("start where diffusers' FreeNoise windows start, closing window included", () => {
    expect(ref.windows.length).toBeGreaterThan(5)
    for (const c of ref.windows) {
      const got = contextWindows(c.frames, {
        window: c.context_length,
        stride: c.context_stride,
        loop: false,
      })
      expect(got, `${c.frames} frames, ${c.context_length}/${c.context_stride}`).toEqual(c.windows)
    }
  })

  it("weigh positions as diffusers' _get_frame_weights does (flat, pyramid, delayed reverse sawtooth)", () => {
    const keys = Object.keys(ref.weights)
    expect(keys.length).toBeGreaterThan(30)
    for (const key of keys) {
      const [scheme, n] = key.split('/') as [ContextWeighting, string]
      expect(windowWeights(Number(n), scheme), key).toEqual(ref.weights[key])
    }
    // odd delayed_reverse_sawtooth: the documented shape (diffusers' code has none that works)
    expect(windowWeights(5, 'delayed_reverse_sawtooth')).toEqual([0.01, 0.01, 3, 2, 1])
  })

  it('cover every frame with windows of exactly the window size, in order, for any clip', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 200 }),
        fc.integer({ min: 2, max: 40 }),
        fc.integer({ min: 1, max: 39 }),
        fc.boolean(),
        fc.constantFrom<ContextWeighting>('flat', 'pyramid', 'delayed_reverse_sawtooth'),
        (frames, window, overlap, loop, scheme) => {
          const c = resolveContext(frames, window, { overlap: Math.min(overlap, window - 1) }, loop)
          if (!c) {
            expect(frames <= window && !loop).toBe(true)
            return
          }
          const ws = contextWindows(frames, c)
          const L = Math.min(window, frames)
          for (const w of ws) {
            expect(w).toHaveLength(L)
            expect(new Set(w).size).toBe(L) // no frame twice in one window
            w.forEach((f) => expect(f >= 0 && f < frames).toBe(true))
          }
          const cov = coverage(frames, ws, scheme)
          cov.forEach((v) => expect(v).toBeGreaterThan(0))
          if (!loop) {
            // windows run forward; neighbours share at least the overlap
            for (let k = 1; k < ws.length; k++) {
              expect(ws[k]![0]).toBeGreaterThan(ws[k - 1]![0]!)
              const shared = ws[k]!.filter((f) => ws[k - 1]!.includes(f)).length
              expect(shared).toBeGreaterThanOrEqual(Math.min(c.overlap, L))
            }
            expect(ws[0]![0]).toBe(0)
            expect(ws.at(-1)!.at(-1)).toBe(frames - 1)
          }
        },
      ),
      { numRuns: 400 },
    )
  })

  it('wrap round a loop: every step f -> f+1, the seam included, lies inside some window', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 2, max: 120 }),
        fc.integer({ min: 2, max: 32 }),
        fc.integer({ min: 1, max: 31 }),
        (frames, window, overlap) => {
          const c = resolveContext(
            frames,
            window,
            { overlap: Math.min(overlap, window - 1) },
            true,
          )!
          const ws = contextWindows(frames, c)
          for (let f = 0; f < frames; f++) {
            const next = (f + 1) % frames
            const inOne = ws.some((w) => w.some((x, k) => x === f && w[k + 1] === next))
            expect(inOne, `step ${f} -> ${next}`).toBe(true)
          }
        },
      ),
      { numRuns: 300 },
    )
    // 24 frames, 8 per window, 4 shared: six windows, the last two across the seam
    const ws = contextWindows(24, { window: 8, stride: 4, loop: true })
    expect(ws).toHaveLength(6)
    expect(ws[5]).toEqual([20, 21, 22, 23, 0, 1, 2, 3])
    // a loop shorter than the window still gets a window across the seam
    expect(contextWindows(10, { window: 16, stride: 12, loop: true })).toEqual([
      [0, 1, 2, 3, 4, 5, 6, 7, 8, 9],
      [5, 6, 7, 8, 9, 0, 1, 2, 3, 4],
    ])
  })

  it('are resolved only when a clip needs them, share a frame at least, and refuse a window past the motion module', () => {
    expect(resolveContext(48, 16, { overlap: 0 })).toMatchObject({ overlap: 1, stride: 15 })
    expect(resolveContext(16, 32)).toBeNull()
    expect(resolveContext(48, 32)).toMatchObject({
      window: 32,
      overlap: 8,
      stride: 24,
      loop: false,
    })
    expect(resolveContext(16, 32, {}, true)).toMatchObject({ window: 16, overlap: 4, loop: true })
    expect(resolveContext(48, 32, { window: 16, overlap: 12 })).toMatchObject({ stride: 4 })
    // the default overlap is the one function the panel's placeholder shows too
    for (const w of [2, 7, 16, 32]) expect(defaultOverlap(w)).toBe(Math.floor(w / 4))
    expect(resolveContext(64, 32)?.overlap).toBe(defaultOverlap(32))
    // the CLI and the request schema take the same window and overlap bounds
    const { window: W, overlap: O } = CONTEXT_LIMITS
    expect(ContextSettings.safeParse({ window: W.min, overlap: O.max }).success).toBe(true)
    expect(ContextSettings.safeParse({ window: W.max }).success).toBe(true)
    expect(ContextSettings.safeParse({ window: W.min - 1 }).success).toBe(false)
    expect(ContextSettings.safeParse({ window: W.max + 1 }).success).toBe(false)
    expect(ContextSettings.safeParse({ overlap: O.min - 1 }).success).toBe(false)
    expect(() => resolveContext(48, 32, { window: 40 })).toThrow(/more than the motion window/)
    expect(describeContext(48, resolveContext(48, 32, { window: 16, overlap: 4 }))).toMatch(
      /^4 windows of 16 frames, 4 shared/,
    )
  })
})

describe("FreeNoise's shuffled noise", () => {
  it('copies permuted strides forward, each from the stride a window earlier', () => {
    const perms: number[][] = [
      [3, 1, 0, 2],
      [1, 0, 3, 2],
      [2, 3, 1, 0],
      [0, 2, 1, 3],
    ]
    let k = 0
    const src = shuffledNoiseSource(24, 8, 4, (n) => perms[k++]!.slice(0, n))
    expect(src.slice(0, 8)).toEqual([0, 1, 2, 3, 4, 5, 6, 7])
    // frames 8..11 from frames 0..3 permuted by [3, 1, 0, 2]
    expect(src.slice(8, 12)).toEqual([3, 1, 0, 2])
    // frames 12..15 from frames 4..7 permuted by [1, 0, 3, 2]
    expect(src.slice(12, 16)).toEqual([5, 4, 7, 6])
    // frames 16..19 from frames 8..11 (already shuffled) permuted by [2, 3, 1, 0]
    expect(src.slice(16, 20)).toEqual([0, 2, 1, 3])
  })
})

describe('prompt travel', () => {
  it('interpolates between keys and holds the last one, as FreeNoise does', () => {
    const s = promptSchedule('fox', [{ frame: 4, prompt: 'owl' }], 10)
    expect(s.prompts).toEqual(['fox', 'owl'])
    expect(s.mix[0]).toEqual({ a: 0, b: 1, t: 0 })
    expect(s.mix[2]).toEqual({ a: 0, b: 1, t: 0.5 })
    expect(s.mix[4]).toEqual({ a: 1, b: 1, t: 0 })
    expect(s.mix[9]).toEqual({ a: 1, b: 1, t: 1 })
    const E = interpolateEmbeddings([Float32Array.of(0, 10), Float32Array.of(4, 2)], s.mix, 2)
    expect(Array.from(E.subarray(0, 2))).toEqual([0, 10])
    expect(Array.from(E.subarray(2 * 2, 2 * 3))).toEqual([2, 6])
    expect(Array.from(E.subarray(2 * 9))).toEqual([4, 2])
  })

  it('uses each prompt once, drops keys past the clip, and lets a later key replace one at its frame', () => {
    const s = promptSchedule(
      'a',
      [
        { frame: 3, prompt: 'b' },
        { frame: 3, prompt: 'c' },
        { frame: 6, prompt: 'a' },
        { frame: 12, prompt: 'z' },
      ],
      8,
    )
    expect(s.prompts).toEqual(['a', 'c'])
    expect(s.dropped).toEqual([12])
    expect(s.mix.map((m) => m.t)).toEqual([0, 1 / 3, 2 / 3, 0, 1 / 3, 2 / 3, 0, 1])
  })
})

describe('loop-closure score', () => {
  const clip = (values: number[]) => values.map((v) => new Uint8Array(12).fill(v))
  it('is about 1 when the cut back to the start is like any other step, large for a seam', () => {
    const smooth = new LoopScore()
    // a triangle wave: 0, 20, 40, 60, 40, 20 -> back to 0 is a step of 20 like the others
    for (const f of clip([0, 20, 40, 60, 40, 20])) smooth.push(f)
    expect(smooth.score()!.score).toBeCloseTo(1, 6)
    const seam = new LoopScore()
    for (const f of clip([0, 10, 20, 30, 40, 50])) seam.push(f)
    expect(seam.score()!.score).toBeCloseTo(5, 6)
    const still = new LoopScore()
    for (const f of clip([7, 7, 7])) still.push(f)
    expect(still.score()).toBeNull()
  })
})

describe('prompt keyframe edits', () => {
  it('add at the playhead with the prompt in effect there, never stacked, never at frame 1', () => {
    const a = addPromptKey('dawn', [], 10, 32)
    if ('error' in a) throw new Error(a.error)
    expect(a.keys).toEqual([{ id: a.id, frame: 10, prompt: 'dawn' }])
    const keys = updatePromptKey(a.keys, a.id, { prompt: 'noon' }, 32)
    const b = addPromptKey('dawn', keys, 20, 32)
    if ('error' in b) throw new Error(b.error)
    expect(b.keys.map((k) => [k.frame, k.prompt])).toEqual([
      [10, 'noon'],
      [20, 'noon'],
    ])
    const again = addPromptKey('dawn', b.keys, 20, 32)
    expect('keys' in again && again.keys.length).toBe(2)
    expect(addPromptKey('dawn', [], 0, 32)).toMatchObject({ error: /Frame 1 has the shot/ })
    expect(addPromptKey('dawn', [], 32, 32)).toMatchObject({ error: /from 2 to 32/ })
    expect(promptAt('dawn', b.keys, 9)).toBe('dawn')
    expect(promptAt('dawn', b.keys, 15)).toBe('noon')
  })

  it('move keeps the order, refuses another key’s frame or one past the clip; delete removes', () => {
    const keys = [
      { id: 'a', frame: 4, prompt: 'x' },
      { id: 'b', frame: 8, prompt: 'y' },
    ]
    expect(updatePromptKey(keys, 'a', { frame: 12 }, 16).map((k) => k.id)).toEqual(['b', 'a'])
    expect(updatePromptKey(keys, 'a', { frame: 8 }, 16)).toEqual(keys)
    expect(updatePromptKey(keys, 'a', { frame: 16 }, 16)).toEqual(keys)
    expect(deletePromptKey(keys, 'a')).toEqual([keys[1]])
    expect(keys).toHaveLength(2) // inputs are never changed
  })
})
