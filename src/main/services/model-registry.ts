// The model manager's list: the demo model plus folders the user added or downloaded. The
// studio stores only paths (models live where the user keeps them) in state/models.json.
import { existsSync, readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { ModelSummary } from '../../shared/contract'
import { motionControlFor } from '../../shared/motion'
import { PIPELINES } from '../../shared/render'
import { sizeChoices, type SizeChoice } from '../../shared/sizes'
import { planThatFits, vramEstimate } from '../../shared/vram'
import { HandlerError } from './dispatch'
import {
  fixedLatentSize,
  memoryModel,
  openModelFolder,
  ModelFolderError,
  type ModelFolder,
} from '../engine/models/model-folder'
import { atomicWrite } from './projects'
import { downloadModel } from '../engine/models/download'

type Stored = { paths: string[]; defaultId: string | null }

export class ModelRegistry {
  private stored: Stored

  constructor(
    private readonly stateDir: string,
    private readonly builtIn: string[],
    private readonly freeVramMiB: () => number | null,
  ) {
    this.stored = { paths: [], defaultId: null }
    try {
      const s = JSON.parse(readFileSync(this.file, 'utf8')) as Stored
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

  private save(): void {
    atomicWrite(this.file, JSON.stringify(this.stored, null, 2), false)
  }

  /** Every model folder, built-in first, then the default first among the user's. */
  dirs(): string[] {
    const user = this.stored.paths.map((p) => resolve(p))
    return [
      ...this.builtIn.map((p) => resolve(p)),
      ...user.filter((p) => !this.builtIn.map((b) => resolve(b)).includes(p)),
    ]
  }

  add(path: string): ModelSummary {
    const dir = resolve(path)
    if (!existsSync(dir)) throw new HandlerError('invalid-payload', `${dir}: no such folder`)
    try {
      openModelFolder(dir)
    } catch (err) {
      if (err instanceof ModelFolderError) throw new HandlerError('invalid-payload', err.message)
      throw err
    }
    if (!this.stored.paths.map((p) => resolve(p)).includes(dir)) {
      this.stored.paths.push(dir)
      this.save()
    }
    return this.summary(dir)
  }

  remove(id: string): { removed: boolean } {
    const before = this.stored.paths.length
    this.stored.paths = this.stored.paths.filter((p) => resolve(p) !== id)
    if (this.stored.defaultId === id) this.stored.defaultId = null
    this.save()
    return { removed: this.stored.paths.length < before }
  }

  setDefault(id: string): { defaultId: string } {
    if (!this.dirs().includes(id))
      throw new HandlerError('invalid-payload', `no model "${id}" in the list`)
    this.stored.defaultId = id
    this.save()
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
      const vram = vramEstimate(memoryModel(m), {
        width: m.defaults.width,
        height: m.defaults.height,
        frames: m.defaults.frames,
        guidance: m.defaults.guidance,
      })
      const precisions = new Set(Object.values(m.components).map((c) => c.precision))
      return {
        id: m.dir,
        label: m.label,
        pipeline: m.pipeline,
        input: PIPELINES[m.pipeline].input,
        demo: m.demo,
        camera: m.camera,
        motion: motionControlFor({ motion: m.motion, camera: m.camera }),
        frames: m.defaults.frames,
        maxFrames: m.maxFrames,
        defaults: m.defaults,
        width: m.defaults.width,
        height: m.defaults.height,
        sizes: sizesOf(m),
        error: null,
        sizeBytes: m.totalBytes,
        precision: precisions.size === 1 ? [...precisions][0]! : 'mixed',
        vram,
        fits: free === null ? null : planThatFits(vram, free),
        isDefault: this.stored.defaultId === m.dir,
        removable: !this.builtIn.map((b) => resolve(b)).includes(m.dir),
      }
    } catch (err) {
      return {
        id: resolve(dir),
        label: dir.split(/[\\/]/).pop() ?? dir,
        pipeline: 'animatediff',
        input: 'text',
        demo: false,
        camera: 'none',
        motion: { kind: 'none', label: 'unavailable', reason: 'the model folder was refused' },
        frames: PIPELINES.animatediff.frames,
        maxFrames: null,
        defaults: {
          frames: PIPELINES.animatediff.frames,
          steps: PIPELINES.animatediff.steps,
          guidance: PIPELINES.animatediff.guidance,
          fps: PIPELINES.animatediff.fps,
          width: PIPELINES.animatediff.width,
          height: PIPELINES.animatediff.height,
          decodeChunk: null,
        },
        width: null,
        height: null,
        sizes: [],
        error: err instanceof Error ? err.message : String(err),
        sizeBytes: 0,
        precision: 'fp32',
        vram: null,
        fits: null,
        isDefault: false,
        removable: !this.builtIn.map((b) => resolve(b)).includes(resolve(dir)),
      }
    }
  }

  list(): ModelSummary[] {
    return this.dirs().map((d) => this.summary(d))
  }
}

export type DownloadEvent = {
  repo: string
  state: 'running' | 'done' | 'failed' | 'cancelled'
  bytes: number
  totalBytes: number
  etaS: number | null
  file: string | null
  message: string | null
}

/** Downloads into the models folder, one per repository at a time, with progress events. */
export class ModelDownloads {
  private running = new Map<string, AbortController>()
  constructor(
    private readonly registry: ModelRegistry,
    private readonly modelsDir: string,
    private readonly emit: (e: DownloadEvent) => void,
  ) {}

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
    void downloadModel({
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
    multiple: PIPELINES[m.pipeline].sizeMultiple,
    fixed: fixed ? { width: fixed.w * k, height: fixed.h * k } : null,
  })
}
