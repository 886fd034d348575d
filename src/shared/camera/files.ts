// Pose files in and out: MotionCtrl pose JSON (a list of per-frame 12-number RT rows) and
// RealEstate10K / CameraCtrl txt. Malformed files get an error naming the line (or frame)
// and the reason; a different frame count is resampled with a warning.
import { mat3Mul, mat3T, slerp, lerp, type Mat3 } from './math'
import {
  fovFromFy,
  intrinsicsFromFov,
  openCvToThree,
  rowToW2C,
  threeToOpenCv,
  w2cToRow,
  type W2C,
} from './convert'
import { poseProblem } from './limits'
import type { CameraPose } from './trajectory'
import { parseJsonFile } from '../json'

export class PoseFileError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(message)
    this.name = 'PoseFileError'
  }
}

export type ImportResult = { poses: CameraPose[]; warnings: string[] }

const ORTHO_TOL = 1e-3

/** Why R is not a rotation (orthonormal, det +1) beyond the tolerance, or null. */
export function rotationProblem(R: Mat3): string | null {
  const RRt = mat3Mul(R, mat3T(R))
  let err = 0
  for (let i = 0; i < 3; i++)
    for (let j = 0; j < 3; j++) err = Math.max(err, Math.abs(RRt[i * 3 + j]! - (i === j ? 1 : 0)))
  if (err > ORTHO_TOL)
    return `the rotation is not orthonormal (R Rᵀ differs from I by ${err.toPrecision(3)}, tolerance ${ORTHO_TOL})`
  const det =
    R[0] * (R[4] * R[8] - R[5] * R[7]) -
    R[1] * (R[3] * R[8] - R[5] * R[6]) +
    R[2] * (R[3] * R[7] - R[4] * R[6])
  if (det < 0) return 'the rotation has determinant -1 (a reflection, not a rotation)'
  return null
}

/** Resamples poses to n frames (position lerp, rotation slerp, fov lerp). */
export function resamplePoses(poses: CameraPose[], n: number): CameraPose[] {
  if (poses.length === n) return poses
  if (poses.length === 1) return Array.from({ length: n }, () => poses[0]!)
  return Array.from({ length: n }, (_, i) => {
    const x = n === 1 ? 0 : (i / (n - 1)) * (poses.length - 1)
    const a = Math.min(Math.floor(x), poses.length - 2)
    const u = x - a
    const p = poses[a]!
    const q = poses[a + 1]!
    return {
      position: lerp(p.position, q.position, u),
      rotation: slerp(p.rotation, q.rotation, u),
      fov: p.fov + (q.fov - p.fov) * u,
    }
  })
}

function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v)
}

/** Where the i-th (0-based) of a 3x4 row-major matrix's 12 values sits, 1-based. */
function matrixPlace(i: number): string {
  return `row ${Math.floor(i / 4) + 1}, column ${(i % 4) + 1}`
}

/**
 * What a value that is not a finite number is, in words. A number past a double's range (1e400)
 * parses as Infinity, which JSON.stringify writes as null: it was reported as "null".
 */
function notFiniteWhat(v: unknown): string {
  if (typeof v === 'number' && !Number.isNaN(v)) return `it is too large (it reads as ${v})`
  return `it is ${JSON.stringify(v) ?? String(v)}`
}

/** MotionCtrl pose JSON: [[12 numbers], ...] (world-to-camera rows, OpenCV axes). */
export function importMotionCtrlJson(text: string, frames: number, fov = 45): ImportResult {
  const data = parseJsonFile(text, (message, line) => new PoseFileError(message, line))
  if (!Array.isArray(data))
    throw new PoseFileError(
      'expected a JSON list of frames, each a list of 12 numbers (a 3x4 [R|t] row-major)',
    )
  if (data.length === 0)
    throw new PoseFileError('the pose list is empty; expected one 12-number row per frame')
  // element start lines, found in one pass over the text (once per file, only when needed:
  // finding each row's line from the start made a 20k-row import take half a minute)
  let lines: number[] | null = null
  const lineOf = (i: number) => (lines ??= elementLines(text))[i] ?? 1
  const ws: W2C[] = data.map((row, i) => {
    const where = `frame ${i} (line ${lineOf(i)})`
    const flat =
      Array.isArray(row) && row.length === 3 && row.every((r) => Array.isArray(r))
        ? (row as unknown[][]).flat()
        : row
    if (!Array.isArray(flat))
      throw new PoseFileError(
        `${where}: expected a list of 12 numbers, found ${typeof row}`,
        lineOf(i),
      )
    if (flat.length !== 12)
      throw new PoseFileError(
        `${where}: has ${flat.length} numbers; expected 12 (a 3x4 [R|t], row-major)`,
        lineOf(i),
      )
    const bad = flat.findIndex((v) => !finite(v))
    if (bad >= 0)
      throw new PoseFileError(
        `${where}: value ${bad + 1} (${matrixPlace(bad)} of the 3x4 [R|t]) is not a finite number: ${notFiniteWhat(flat[bad])}`,
        lineOf(i),
      )
    const w = rowToW2C(flat as number[])
    const problem = rotationProblem(w.R)
    if (problem) throw new PoseFileError(`${where}: ${problem}`, lineOf(i))
    return w
  })
  const warnings: string[] = []
  let poses = ws.map((w) => openCvToThree(w, fov))
  for (const [i, p] of poses.entries()) {
    const problem = poseProblem(p)
    if (problem) throw new PoseFileError(`frame ${i} (line ${lineOf(i)}): ${problem}`, lineOf(i))
  }
  if (poses.length > frames) {
    // as MotionCtrl's get_RT: a longer file gives its central rows
    const half = Math.floor((poses.length - frames) / 2)
    warnings.push(
      `the pose file has ${poses.length} frames; the clip uses its central ${frames} (rows ${half + 1} to ${half + frames}), as MotionCtrl does`,
    )
    poses = poses.slice(half, half + frames)
  } else if (poses.length < frames) {
    warnings.push(
      `the pose file has ${poses.length} frames, fewer than the clip's ${frames}: resampled (the camera moves more slowly between the file's poses)`,
    )
    poses = resamplePoses(poses, frames)
  }
  return { poses, warnings }
}

/** The 1-based line where each element of a top-level JSON array starts, in one pass. */
function elementLines(text: string): number[] {
  const lines: number[] = []
  let depth = 0
  let line = 1
  let inStr = false
  for (let p = 0; p < text.length; p++) {
    const c = text[p]!
    if (c === '\n') line++
    if (inStr) {
      if (c === '\\') p++
      else if (c === '"') inStr = false
      continue
    }
    if (c === '"') inStr = true
    else if (c === '[' || c === '{') {
      depth++
      if (depth === 2) lines.push(line)
    } else if (c === ']' || c === '}') depth--
  }
  return lines
}

export function exportMotionCtrlJson(poses: CameraPose[]): string {
  const rows = poses.map((p) => w2cToRow(threeToOpenCv(p)).map((v) => Number(v.toPrecision(12))))
  return '[\n' + rows.map((r) => '  ' + JSON.stringify(r)).join(',\n') + '\n]\n'
}

/** RealEstate10K / CameraCtrl txt: a URL line, then `timestamp fx fy cx cy 0 0 + 12 numbers` per frame. */
export function importRealEstate10K(text: string, frames: number): ImportResult {
  const lines = text.split(/\r?\n/)
  // (a blank first line is a URL line left empty, as VideoX-Fun's shipped camera files have)
  if (!text.trim())
    throw new PoseFileError('line 1: expected the video URL line first; the file is empty', 1)
  const warnings: string[] = []
  // some files come without their URL line: a first line of 19 numbers is a camera line
  // (it used to be skipped as the URL, silently dropping the first frame)
  const firstIsCamera = (() => {
    const parts = lines[0]!.trim().split(/\s+/)
    return parts.length === 19 && parts.every((v) => v !== '' && Number.isFinite(Number(v)))
  })()
  if (firstIsCamera) warnings.push('the file has no URL line; line 1 was read as the first camera')
  const poses: CameraPose[] = []
  // the lines are the frames in file order, as CameraCtrl and VideoX-Fun read them; timestamps
  // that do not increase (VideoX-Fun's files write 0 on every line) are said, not refused
  const stamps: number[] = []
  for (let i = firstIsCamera ? 0 : 1; i < lines.length; i++) {
    const line = lines[i]!.trim()
    if (!line) continue
    const parts = line.split(/\s+/)
    const ln = i + 1
    if (parts.length !== 19)
      throw new PoseFileError(
        `line ${ln}: has ${parts.length} values; expected 19 (timestamp fx fy cx cy 0 0 and a 3x4 world-to-camera)`,
        ln,
      )
    const nums = parts.map(Number)
    const bad = nums.findIndex((v) => !Number.isFinite(v))
    if (bad >= 0)
      throw new PoseFileError(
        `line ${ln}: value ${bad + 1} ("${parts[bad]}") is not a finite number${Number.isNaN(nums[bad]) ? '' : `: ${notFiniteWhat(nums[bad])}`}${bad >= 7 ? `; ${matrixPlace(bad - 7)} of the 3x4 world-to-camera` : ''}`,
        ln,
      )
    stamps.push(nums[0]!)
    const fy = nums[2]!
    if (!(fy > 0) || !(nums[1]! > 0))
      throw new PoseFileError(
        `line ${ln}: focal lengths must be positive (normalised by image size), found fx=${nums[1]} fy=${fy}`,
        ln,
      )
    const w = rowToW2C(nums.slice(7))
    const problem = rotationProblem(w.R)
    if (problem) throw new PoseFileError(`line ${ln}: ${problem}`, ln)
    const pose = openCvToThree(w, fovFromFy(fy))
    const bounds = poseProblem(pose)
    if (bounds) throw new PoseFileError(`line ${ln}: ${bounds}`, ln)
    poses.push(pose)
  }
  if (poses.length === 0) throw new PoseFileError('the file has a URL line but no camera lines', 2)
  const allSame = stamps.every((s) => s === stamps[0])
  if (!allSame && stamps.some((s, i) => i > 0 && s <= stamps[i - 1]!))
    warnings.push("the file's timestamps do not increase; its lines were read in file order")
  let out = poses
  if (poses.length !== frames) {
    warnings.push(`the pose file has ${poses.length} frames; resampled to the clip's ${frames}`)
    out = resamplePoses(poses, frames)
  }
  return { poses: out, warnings }
}

export function exportRealEstate10K(
  poses: CameraPose[],
  o: { width: number; height: number; fps: number; url?: string },
): string {
  const dt = Math.round(1e6 / o.fps)
  const lines = [o.url ?? 'https://dolly.studio/exported-camera-path']
  poses.forEach((p, i) => {
    const K = intrinsicsFromFov(p.fov, o.width / o.height)
    const row = w2cToRow(threeToOpenCv(p)).map((v) => Number(v.toPrecision(12)))
    lines.push(
      [i * dt, K.fx, K.fy, K.cx, K.cy, 0, 0, ...row]
        .map((v) => Number(Number(v).toPrecision(12)))
        .join(' '),
    )
  })
  return lines.join('\n') + '\n'
}
