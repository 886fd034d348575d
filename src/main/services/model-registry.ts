// The model manager's list: the demo model plus folders the user added or downloaded. The
// studio stores only paths (models live where the user keeps them) in state/models.json.
import { createHash } from 'node:crypto'
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { ModelSummary, type ModelDownloadEvent } from '../../shared/contract'
import { motionControlFor } from '../../shared/motion'
import { VIDEOX_FUN_FOV } from '../../shared/camera'
import { PIPELINES } from '../../shared/render'
import { sizeChoices, type SizeChoice } from '../../shared/sizes'
import { fittingPlan, vramEstimate, type DeviceKind } from '../../shared/vram'
import { clampText, HandlerError } from './dispatch'
import {
  fixedLatentSize,
  memoryModel,
  openModelFolder,
  ModelFolderError,
  type ModelFolder,
} from '../engine/models/model-folder'
import { atomicWrite } from './projects'
import {
  downloadModel,
  removeLeftoverDownloads,
  type DownloadOptions,
} from '../engine/models/download'
import { readTextFile } from '../engine/files'

type Stored = { paths: string[]; defaultId: string | null }

/** The longest folder path a model can have: its id is the path, and ids are capped at this. */
export const MAX_MODEL_PATH = 512

/**
 * A model's id: its folder's path, or for a path longer than the contract carries (saved by an
 * older studio), a shortened form that still names it and that remove() accepts.
 */
export function modelId(dir: string): string {
  if (dir.length <= MAX_MODEL_PATH) return dir
  const hash = createHash('sha256').update(dir).digest('hex').slice(0, 16)
  return `${dir.slice(0, MAX_MODEL_PATH - 64)}…${dir.slice(-40)}#${hash}`
}

/**
 * A folder as the person typed it in a dialog: surrounding spaces dropped, ~ is the home
 * folder, and a relative path refused (it would be taken from wherever the studio happened to
 * start). ~name (another user's home in a shell) is refused too: it was resolved as the
 * relative folder "~name" in the studio's working folder. The model list and the
 * interpolation slot take folders this way.
 */
export function typedFolder(path: string): string {
  const typed = path.trim()
  if (!/^~(?=$|[\\/])/.test(typed) && !isAbsolute(typed))
    throw new HandlerError(
      'invalid-payload',
      `"${typed.slice(0, 200)}": give the folder's full path (or one starting with ~)`,
    )
  return resolve(typed.replace(/^~(?=$|[\\/])/, homedir()))
}

export class ModelRegistry {
  private stored: Stored

  constructor(
    private readonly stateDir: string,
    private readonly builtIn: string[],
    private readonly freeVramMiB: () => number | null,
    /** Whether that memory is a discrete GPU's (shared/vram.ts DeviceKind). */
    private readonly device: () => DeviceKind = () => 'discrete',
  ) {
    this.stored = { paths: [], defaultId: null }
    try {
      const s = JSON.parse(readTextFile(this.file, 'the model list', 16 * 1024 * 1024)) as Stored
      if (Array.isArray(s.paths))
        this.stored = {
          paths: s.paths.filter((p) => typeof p === 'string'),
          defaultId: typeof s.defaultId === 'string' ? s.defaultId : null,
        }
    } catch {
      // no list yet
    }
  }

  private get file(): string {
    return join(this.stateDir, 'models.json')
  }

  /** The list as it will be: written first, kept only once written (a failed write changes nothing). */
  private save(next: Stored): void {
    atomicWrite(this.file, JSON.stringify(next, null, 2), false)
    this.stored = next
  }

  /** Every model folder, built-in first, then the default first among the user's. */
  dirs(): string[] {
    const user = this.stored.paths.map((p) => resolve(p))
    return [
      ...this.builtIn.map((p) => resolve(p)),
      ...user.filter((p) => !this.builtIn.map((b) => resolve(b)).includes(p)),
    ]
  }

  /** `added`: false when the folder was listed already (nothing changed). */
  add(path: string): ModelSummary & { added: boolean } {
    const dir = typedFolder(path)
    if (dir.length > MAX_MODEL_PATH)
      throw new HandlerError(
        'invalid-payload',
        `${dir.slice(0, 200)}…: the folder's path is ${dir.length} characters; the studio takes model folders with paths up to ${MAX_MODEL_PATH}. Move the folder (or link it) to a shorter path and add that`,
      )
    if (!existsSync(dir)) throw new HandlerError('invalid-payload', `${dir}: no such folder`)
    try {
      openModelFolder(dir)
    } catch (err) {
      if (err instanceof ModelFolderError) throw new HandlerError('invalid-payload', err.message)
      throw err
    }
    // a folder already listed (the user's, or built in) is not added again, and says so
    const added = !this.dirs().includes(dir)
    if (added) this.save({ ...this.stored, paths: [...this.stored.paths, dir] })
    return { ...this.summary(dir), added }
  }

  remove(id: string): { removed: boolean } {
    const before = this.stored.paths.length
    const paths = this.stored.paths.filter((p) => resolve(p) !== id && modelId(resolve(p)) !== id)
    this.save({ paths, defaultId: this.stored.defaultId === id ? null : this.stored.defaultId })
    return { removed: paths.length < before }
  }

  setDefault(id: string): { defaultId: string } {
    if (!this.dirs().includes(id))
      throw new HandlerError('invalid-payload', `no model "${id}" in the list`)
    this.save({ ...this.stored, defaultId: id })
    return { defaultId: id }
  }

  get defaultId(): string | null {
    return this.stored.defaultId
  }

  summary(dir: string): ModelSummary {
    const free = this.freeVramMiB()
    try {
      const m = openModelFolder(dir)
      // each plan's need at the model's own size, frames and guidance (shared/vram.ts)
      const mem = memoryModel(m)
      const call = {
        width: m.defaults.width,
        height: m.defaults.height,
        frames: m.defaults.frames,
        guidance: m.defaults.guidance,
      }
      const vram = vramEstimate(mem, call)
      const precisions = new Set(Object.values(m.components).map((c) => c.precision))
      return {
        id: m.dir,
        label: m.label,
        pipeline: m.pipeline,
        input: PIPELINES[m.pipeline].input,
        demo: m.demo,
        camera: m.camera,
        cameraConvention: cameraConvention(m),
        motion: motionControlFor({ motion: m.motion, camera: m.camera }),
        frames: m.defaults.frames,
        maxFrames: m.maxFrames,
        defaults: m.defaults,
        width: m.defaults.width,
        height: m.defaults.height,
        cameraFov: m.camera === 'cameractrl-plucker' ? (m.dolly.cameraFov ?? VIDEOX_FUN_FOV) : null,
        sizes: sizesOf(m),
        error: null,
        sizeBytes: m.totalBytes,
        precision: precisions.size === 1 ? [...precisions][0]! : 'mixed',
        vram,
        // what auto would pick (fewer frames per VAE call first)
        fits: free === null ? null : (fittingPlan(mem, call, free, this.device())?.plan ?? null),
        isDefault: this.stored.defaultId === m.dir,
        removable: !this.builtIn.map((b) => resolve(b)).includes(m.dir),
      }
    } catch (err) {
      // the full path as its id: list() turns an entry whose id is too long into one that says so
      return {
        ...this.refused(dir, err instanceof Error ? err.message : String(err)),
        id: resolve(dir),
      }
    }
  }

  /**
   * Every model, as the contract carries it. One entry that does not fit (a path longer than
   * ids may be, a label or message too long) is shown as a refused entry that says why and can
   * be removed; it used to fail every models.list, across restarts, so it could not be removed.
   */
  list(): ModelSummary[] {
    const out: ModelSummary[] = []
    for (const dir of this.dirs()) {
      const s = this.summary(dir)
      const checked = ModelSummary.safeParse(s)
      if (checked.success) {
        out.push(checked.data)
        continue
      }
      const issue = checked.error.issues[0]
      const why =
        dir.length > MAX_MODEL_PATH
          ? `the folder's path is ${dir.length} characters; the studio takes paths up to ${MAX_MODEL_PATH}. Remove this entry, move the folder to a shorter path and add it again`
          : `this entry cannot be shown (${issue?.path.join('.')}: ${issue?.message}); remove it from the list`
      const fallback = ModelSummary.safeParse({
        ...this.refused(dir, why),
        label: clampText(s.label, 256),
      })
      if (fallback.success) out.push(fallback.data)
      else console.error(`models: skipped ${dir.slice(0, 300)}: ${why}`)
    }
    if (out.length > 256) console.error(`models: ${out.length} models; the first 256 are listed`)
    return out.slice(0, 256)
  }

  /** The summary of a folder the studio cannot use, with the reason. */
  private refused(dir: string, error: string): ModelSummary {
    const facts = PIPELINES.animatediff
    return {
      id: modelId(resolve(dir)),
      label: dir.split(/[\\/]/).pop() ?? dir,
      pipeline: 'animatediff',
      input: 'text',
      demo: false,
      camera: 'none',
      cameraConvention: null,
      motion: { kind: 'none', label: 'unavailable', reason: 'the model folder was refused' },
      frames: facts.frames,
      maxFrames: null,
      defaults: {
        frames: facts.frames,
        steps: facts.steps,
        guidance: facts.guidance,
        fps: facts.fps,
        width: facts.width,
        height: facts.height,
        decodeChunk: null,
      },
      width: null,
      height: null,
      sizes: [],
      error: clampText(error),
      sizeBytes: 0,
      precision: 'fp32',
      vram: null,
      fits: null,
      isDefault: false,
      removable: !this.builtIn.map((b) => resolve(b)).includes(resolve(dir)),
    }
  }
}

export type DownloadEvent = ModelDownloadEvent

/**
 * Downloads into the models folder, one per repository at a time, with progress events. At
 * start it removes what downloads of a studio that was killed left in the models folder.
 */
export class ModelDownloads {
  private running = new Map<string, AbortController>()
  constructor(
    private readonly registry: ModelRegistry,
    private readonly modelsDir: string,
    private readonly emit: (e: DownloadEvent) => void,
    /**
     * The hub and the stall timeout, when not the defaults (HF_ENDPOINT, 30 s), and the hub's
     * access token with where it was found, asked at each download (compose.ts hubToken).
     */
    private readonly options: Pick<DownloadOptions, 'endpoint' | 'stallTimeoutMs'> & {
      hubToken?: () => { token: string; from: string } | null
    } = {},
  ) {
    const { removed, problems } = removeLeftoverDownloads(modelsDir)
    for (const dir of removed) console.error(`models: removed an interrupted download, ${dir}`)
    for (const p of problems)
      console.error(`models: could not remove an interrupted download: ${p}`)
  }

  start(repo: string, revision: string): { started: boolean } {
    if (this.running.has(repo)) return { started: false }
    const ac = new AbortController()
    this.running.set(repo, ac)
    let last: DownloadEvent = {
      repo,
      state: 'running',
      bytes: 0,
      totalBytes: 0,
      etaS: null,
      file: null,
      message: null,
    }
    this.emit(last)
    const { hubToken, ...options } = this.options
    const auth = hubToken?.() ?? null
    void downloadModel({
      ...options,
      ...(auth ? { token: auth.token, tokenFrom: auth.from } : {}),
      repo,
      revision,
      modelsDir: this.modelsDir,
      signal: ac.signal,
      onProgress: (p) => {
        last = {
          repo,
          state: 'running',
          bytes: p.bytes,
          totalBytes: p.totalBytes,
          etaS: p.etaS,
          file: p.file,
          message: null,
        }
        this.emit(last)
      },
    })
      .then((dir) => {
        const m = this.registry.add(dir)
        this.emit({ ...last, state: 'done', file: null, message: `added ${m.label}` })
      })
      .catch((err: Error) =>
        this.emit({
          ...last,
          state: ac.signal.aborted ? 'cancelled' : 'failed',
          message: err.message,
        }),
      )
      .finally(() => this.running.delete(repo))
    return { started: true }
  }

  cancel(repo: string): { cancelled: boolean } {
    const ac = this.running.get(repo)
    ac?.abort()
    return { cancelled: !!ac }
  }
}

/** The sizes the panel offers: the export's fixed size, or the model's own and its aspects. */
function sizesOf(m: ModelFolder): SizeChoice[] {
  const fixed = fixedLatentSize(m)
  const k = m.vae.scaleFactor
  return sizeChoices({
    native: { width: m.defaults.width, height: m.defaults.height },
    multiple: m.sizeMultiple ?? PIPELINES[m.pipeline].sizeMultiple,
    fixed: fixed ? { width: fixed.w * k, height: fixed.h * k } : null,
  })
}

/** The words the camera editor shows for how this model takes the path. */
function cameraConvention(m: ModelFolder): string | null {
  if (m.camera === 'motionctrl-rt') {
    const s = m.dolly.cameraTranslationScale ?? 1
    const scale = typeof s === 'number' ? `${s}` : `[${s.join(', ')}]`
    return `MotionCtrl RT: each frame's world-to-camera rotation and translation, relative to the first frame, translation scaled by ${scale}; field of view is not seen`
  }
  if (m.camera === 'cameractrl-plucker')
    return "Plücker rays: each pixel's ray from the camera, relative to the first frame; the field of view and aspect shape them"
  return null
}
