// Access to ../shared/reference and ../shared/fixtures (never copied into the repo). A test
// that needs a missing file skips with a message naming it (and fails in CI).
import { existsSync, readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { expect } from 'vitest'
import type { ModelFolder } from '../../../src/main/engine'
import { schedulerFromConfig } from '../../../src/main/engine/pipelines/common'

export const sharedDir = resolve(__dirname, '../../../../shared')
export const referenceDir = resolve(sharedDir, 'reference')
export const fixturesDir = resolve(sharedDir, 'fixtures')

export function sharedPath(...parts: string[]): string {
  return resolve(sharedDir, ...parts)
}

/**
 * Why a test cannot run here (the shared files it needs, named), or null. Outside CI the test
 * skips and the reason is printed; in CI (CI set, as .ci/run does, with ../shared beside the
 * clone) a missing file is an error, so a reference test cannot pass by skipping.
 */
export function missing(...paths: string[]): string | null {
  const gone = paths.filter((p) => !existsSync(p))
  if (!gone.length) return null
  const why = `missing shared file(s): ${gone.join(', ')}`
  if (process.env['CI']) throw new Error(`${why} (CI runs with ../shared beside the clone)`)
  console.warn(`skipped: ${why}`)
  return why
}

export function readJson<T = unknown>(path: string): T {
  return JSON.parse(readFileSync(path, 'utf8')) as T
}

/** The reference JSON writes non-finite floats as strings. */
export function num(v: number | string): number {
  if (typeof v === 'number') return v
  if (v === 'Infinity') return Infinity
  if (v === '-Infinity') return -Infinity
  if (v === 'NaN') return NaN
  return Number(v)
}

export function f32bits(values: ArrayLike<number>): number[] {
  const f = Float32Array.from(values as ArrayLike<number>)
  return Array.from(new Uint32Array(f.buffer))
}

/** Reads a .npy file (v1.0, little-endian, C order, <f4 / <i8 / <f8). */
export function readNpy(path: string): {
  shape: number[]
  data: Float32Array | BigInt64Array | Float64Array
} {
  const buf = readFileSync(path)
  const headerLen = buf.readUInt16LE(8)
  const header = buf.subarray(10, 10 + headerLen).toString('latin1')
  const descr = /'descr':\s*'([^']+)'/.exec(header)![1]
  const shape = /'shape':\s*\(([^)]*)\)/
    .exec(header)![1]!
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map(Number)
  const body = buf.subarray(10 + headerLen)
  const copy = new Uint8Array(body).buffer
  if (descr === '<f4') return { shape, data: new Float32Array(copy) }
  if (descr === '<i8') return { shape, data: new BigInt64Array(copy) }
  if (descr === '<f8') return { shape, data: new Float64Array(copy) }
  throw new Error(`${path}: unsupported dtype ${descr}`)
}

/** A reference model folder's settings (reference/meta.json): what diffusers ran it with. */
export type ReferenceMeta = {
  prompt: string
  negative_prompt: string
  seed: number
  num_inference_steps: number
  guidance_scale: number
  num_frames: number
  width: number
  height: number
}

export function referenceMeta<T = ReferenceMeta>(dir: string): T {
  return readJson<T>(`${dir}/reference/meta.json`)
}

/** The text-to-video call diffusers made for a reference folder (meta.json in our names). */
export function referenceCall(meta: ReferenceMeta) {
  return {
    prompt: meta.prompt,
    negativePrompt: meta.negative_prompt,
    seed: meta.seed,
    numInferenceSteps: meta.num_inference_steps,
    guidanceScale: meta.guidance_scale,
    numFrames: meta.num_frames,
    width: meta.width,
    height: meta.height,
  }
}

/** The largest |a - b| (the lengths must agree); a NaN counts as an infinite error. */
export function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!)
    m = Number.isNaN(d) ? Infinity : Math.max(m, d)
  }
  return m
}

/**
 * The scheduler's own float32 tables, as the folder's scheduler_config.json builds them, equal to
 * diffusers' (reference/trace/scheduler_alphas_cumprod.npy, scheduler_final_alpha_cumprod.npy).
 */
export function expectSchedulerTables(dir: string, model: ModelFolder): void {
  const sched = schedulerFromConfig(model.schedulerConfig) as unknown as {
    alphasCumprod: Float32Array
    finalAlphaCumprod: number
  }
  const alphas = readNpy(`${dir}/reference/trace/scheduler_alphas_cumprod.npy`).data as Float32Array
  expect(Array.from(sched.alphasCumprod, Math.fround)).toEqual(Array.from(alphas))
  const finalAlpha = readNpy(`${dir}/reference/trace/scheduler_final_alpha_cumprod.npy`).data
  expect(Math.fround(sched.finalAlphaCumprod)).toBe(finalAlpha[0])
}
