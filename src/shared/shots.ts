// Shot operations on the project: add (continuing the camera from where the last one ended),
// split at a frame, move, delete. Pure functions over the document, so each is one undo step.
import {
  presetTrajectory,
  newKeyframeId,
  sampleTrajectory,
  trajectoryFromPoses,
  type Keyframe,
  type Trajectory,
} from './camera'
import type { ProjectDoc, RenderRequest, Shot } from './contract'
import { PIPELINES, STUDIO_NEGATIVE_PROMPT, type PipelineKind } from './render'

/** What these operations need of a shot (the project's shots carry more). */
type ShotLike = {
  id: string
  settings: {
    frames: number
    seed: number
    seedLocked: boolean
    prompt?: string
    promptKeys?: { id: string; frame: number; prompt: string }[] | undefined
  }
  camera: Trajectory
  preset: unknown
  clip: unknown
}
type Doc<S extends ShotLike> = { shots: S[]; active: number }

export function newShotId(): string {
  return `shot-${Math.random().toString(36).slice(2, 10)}`
}

export function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31)
}

const EPS = 1e-6

/** A new shot after the active one: same settings, the camera held where the active one ends. */
export function addShot<S extends ShotLike>(doc: Doc<S>): Doc<S> {
  const cur = doc.shots[doc.active]!
  const n = cur.settings.frames
  const end = sampleTrajectory(cur.camera, Math.max(n, 2)).at(-1)!
  const shot: S = {
    ...cur,
    id: newShotId(),
    settings: { ...cur.settings, seed: cur.settings.seedLocked ? cur.settings.seed : randomSeed() },
    camera: trajectoryFromPoses([end, end], n, cur.camera.target),
    preset: null,
    clip: null,
  }
  const shots = [...doc.shots]
  shots.splice(doc.active + 1, 0, shot)
  return { shots, active: doc.active + 1 }
}

/**
 * Splits the active shot before frame `p` (1..frames-1, in the shot's frames): the first part
 * has frames 0..p-1, the second p..end. Prompt keyframes go with their part (the second starts
 * on the prompt of the last key at or before the cut; the travel towards a later key restarts
 * there). Keyframes keep their poses and easing; each part gets
 * a keyframe at its cut with the path's pose there, so each part starts and ends where the
 * whole passed (between keyframes the spline's tangents near the cut can shift slightly). The
 * render is dropped (it no longer matches either part).
 */
export function splitShot<S extends ShotLike>(doc: Doc<S>, p: number): Doc<S> {
  const cur = doc.shots[doc.active]!
  const n = cur.settings.frames
  if (!Number.isInteger(p) || p < 2 || p > n - 2)
    throw new Error(
      `split at frame ${p + 1}: each part needs at least 2 frames (this shot has ${n})`,
    )
  const poses = sampleTrajectory(cur.camera, n)
  const T = cur.camera.frames - 1
  const at = (i: number) => (i * T) / (n - 1) // a frame of the shot on the path's timeline
  const endA = at(p - 1)
  const startB = at(p)
  const key = (frame: number, i: number, like: Keyframe): Keyframe => ({
    ...like,
    id: newKeyframeId(),
    frame,
    position: poses[i]!.position,
    rotation: poses[i]!.rotation,
    fov: poses[i]!.fov,
  })
  const sorted = [...cur.camera.keyframes].sort((a, b) => a.frame - b.frame)
  // the keyframe whose segment the cut falls in lends its easing to the new cut keyframes
  const before = (t: number) => [...sorted].reverse().find((k) => k.frame <= t + EPS) ?? sorted[0]!
  const aKeys = sorted
    .filter((k) => k.frame < endA - EPS)
    .map((k) => ({ ...k, frame: (k.frame * (p - 1)) / endA }))
  aKeys.push(key(p - 1, p - 1, before(endA)))
  const bKeys = [
    key(0, p, before(startB)),
    ...sorted
      .filter((k) => k.frame > startB + EPS)
      .map((k) => ({ ...k, frame: ((k.frame - startB) * (n - p - 1)) / (T - startB) })),
  ]
  // prompt keys go with their part; the second part starts on the prompt in effect at its cut
  const pk = [...(cur.settings.promptKeys ?? [])].sort((x, y) => x.frame - y.frame)
  const keysB = pk.filter((k) => k.frame > p).map((k) => ({ ...k, frame: k.frame - p }))
  const atCut = [...pk].reverse().find((k) => k.frame <= p)
  const promptKeysFor = (keys: typeof pk) =>
    cur.settings.promptKeys === undefined ? {} : { promptKeys: keys }
  // both parts are new shots: a render of a part is recorded (by shot id) into the undo
  // history too, and must not land on the whole shot an undo brings back
  const a: S = {
    ...cur,
    id: newShotId(),
    settings: {
      ...cur.settings,
      frames: p,
      ...promptKeysFor(pk.filter((k) => k.frame < p)),
    },
    camera: { ...cur.camera, frames: p, keyframes: aKeys },
    preset: null,
    clip: null,
  }
  const b: S = {
    ...cur,
    id: newShotId(),
    settings: {
      ...cur.settings,
      frames: n - p,
      ...(atCut ? { prompt: atCut.prompt } : {}),
      ...promptKeysFor(keysB),
    },
    camera: { ...cur.camera, frames: n - p, keyframes: bKeys },
    preset: null,
    clip: null,
  }
  const shots = [...doc.shots]
  shots.splice(doc.active, 1, a, b)
  return { shots, active: doc.active }
}

export function moveShot<S extends ShotLike>(doc: Doc<S>, from: number, to: number): Doc<S> {
  if (to < 0 || to >= doc.shots.length || from === to) return doc
  const shots = [...doc.shots]
  const [s] = shots.splice(from, 1)
  shots.splice(to, 0, s!)
  const activeId = doc.shots[doc.active]!.id
  return { shots, active: shots.findIndex((x) => x.id === activeId) }
}

export function deleteShot<S extends ShotLike>(doc: Doc<S>, i: number): Doc<S> {
  if (doc.shots.length <= 1) return doc
  const shots = doc.shots.filter((_, k) => k !== i)
  const active = doc.active > i || doc.active === shots.length ? doc.active - 1 : doc.active
  return { shots, active: Math.max(0, active) }
}

/**
 * The render request for a shot: its settings and its camera path as authored. The path keeps
 * the frame count it was drawn for; sampling it to the shot's frames rescales its time, exactly
 * as the editor shows it (relabelling `frames` instead would cut the move short and hold).
 * `longTakes` false (a model without context windows, whose panel hides them): the shot keeps
 * its loop, prompt keys and window settings for a model that has them, the request leaves them
 * out (a loop would otherwise still close the camera path and label the job a loop).
 */
export function renderRequest(shot: Shot, longTakes = true): RenderRequest {
  const {
    seedLocked: _locked,
    width,
    height,
    image,
    decodeChunk,
    loop,
    promptKeys,
    context,
    ...s
  } = shot.settings
  return {
    ...s,
    ...(longTakes && loop !== undefined ? { loop } : {}),
    ...(longTakes && promptKeys ? { promptKeys } : {}),
    ...(longTakes && context ? { context } : {}),
    camera: { trajectory: shot.camera },
    ...(width && height ? { width, height } : {}),
    ...(image ? { image } : {}),
    ...(decodeChunk ? { decodeChunk } : {}),
  }
}

/**
 * What a render of the shot is made from, as a short fingerprint: every setting and the camera,
 * but not the seed (a new one is drawn for the next render as soon as one starts unless it is
 * locked, so the seed box shows the next seed, not the rendered one; changedSinceRender compares
 * a locked seed with the render's own). Equal shots give equal fingerprints; a shot edited since
 * its render gives another (a 53-bit hash of the canonical JSON).
 */
export function renderFingerprint(shot: Shot): string {
  const { seed: _seed, seedLocked: _locked, ...rest } = shot.settings
  const text = canonicalJson({ ...rest, camera: shot.camera })
  // cyrb53 (public domain): two 32-bit multiply-xor lanes
  let h1 = 0xdeadbeef
  let h2 = 0x41c6ce57
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    h1 = Math.imul(h1 ^ c, 2654435761)
    h2 = Math.imul(h2 ^ c, 1597334677)
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909)
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909)
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36)
}

/** JSON with object keys sorted and undefined members left out, so equal values print alike. */
function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`
  if (v && typeof v === 'object')
    return `{${Object.keys(v)
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(',')}}`
  return JSON.stringify(v)
}

/**
 * The shot's clip once a new render of it starts: the new job (with the fingerprint of what it
 * renders), keeping the last finished render (the current one if it finished, else the one it
 * kept) and its fingerprint to fall back on.
 */
export function withNewRender(
  clip: Shot['clip'],
  jobId: string,
  finished: (id: string) => boolean,
  made?: string,
): NonNullable<Shot['clip']> {
  const kept = clip
    ? finished(clip.jobId)
      ? { id: clip.jobId, made: clip.made }
      : { id: clip.previous, made: clip.previousMade }
    : undefined
  return {
    jobId,
    ...(made !== undefined ? { made } : {}),
    ...(kept?.id && kept.id !== jobId
      ? { previous: kept.id, ...(kept.made !== undefined ? { previousMade: kept.made } : {}) }
      : {}),
  }
}

/**
 * Whether the shot was edited since the render it shows was made (its settings or camera differ
 * from that render's): false when nothing is shown or the render predates fingerprints.
 */
export function changedSinceRender(
  shot: Shot,
  stateOf: (id: string) => string | undefined,
  /** The seed a job rendered with (its request's), when known. */
  seedOf: (id: string) => number | undefined = () => undefined,
): boolean {
  const shown = shownRender(shot.clip, stateOf)
  if (!shown || !shot.clip) return false
  const made = shown === shot.clip.jobId ? shot.clip.made : shot.clip.previousMade
  if (made === undefined) return false
  if (made !== renderFingerprint(shot)) return true
  // a locked seed is the next render's: another one than the render's is an edit
  const rendered = seedOf(shown)
  return shot.settings.seedLocked && rendered !== undefined && rendered !== shot.settings.seed
}

/** The shot a render belongs to (its newest or the finished one it keeps), or -1: none. */
export function shotOfJob(shots: readonly Pick<Shot, 'clip'>[], jobId: string): number {
  return shots.findIndex((s) => s.clip?.jobId === jobId || s.clip?.previous === jobId)
}

/**
 * The render a shot shows: its newest while it is queued, running or done; otherwise (failed,
 * cancelled, or gone: main keeps only finished renders across a restart) the finished one before
 * it, if any (a cancelled re-render used to leave the shot without its clip).
 */
export function shownRender(
  clip: Shot['clip'],
  stateOf: (id: string) => string | undefined,
): string | null {
  if (!clip) return null
  const s = stateOf(clip.jobId)
  const alive = s === 'queued' || s === 'running' || s === 'done'
  return !alive && clip.previous ? clip.previous : clip.jobId
}

/**
 * The family a fresh shot's settings come from until a model is picked (settingsForModel): the
 * demo model's, AnimateDiff.
 */
export const FRESH_SHOT_PIPELINE: PipelineKind = 'animatediff'

/** A fresh shot: a static camera, the model's settings once one is picked. */
export function initialShot(modelId = ''): Shot {
  const { steps, guidance, frames, fps } = PIPELINES[FRESH_SHOT_PIPELINE]
  return {
    id: newShotId(),
    settings: {
      modelId,
      prompt: '',
      negativePrompt: STUDIO_NEGATIVE_PROMPT,
      seed: randomSeed(),
      seedLocked: false,
      steps,
      guidance,
      frames,
      fps,
      scheduler: '',
      plan: 'auto',
      motion: 0.5,
    },
    camera: presetTrajectory('static', 1, frames),
    preset: null,
    clip: null,
  }
}

export function initialProject(modelId = ''): ProjectDoc {
  return { shots: [initialShot(modelId)], active: 0 }
}
