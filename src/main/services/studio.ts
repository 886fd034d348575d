// Main's studio service: which models exist, the job list (main keeps it, so a crashed engine
// loses no history), render requests turned into engine jobs with paths main chose, clip
// URLs, and exports. Shared by Electron IPC and the web host.
import { randomUUID } from 'node:crypto'
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs'
import { basename, join } from 'node:path'
import { isPresetName } from '../../shared/camera'
import { JobPreview, JobView, type ModelSummary, type RenderRequest } from '../../shared/contract'
import { mapMotion } from '../../shared/motion'
import { PIPELINES, type ClipFormat } from '../../shared/render'
import { deviceBudget, deviceFacts, type DeviceBudget } from './device-memory'
import { HandlerError } from './dispatch'
import type { EngineHost } from './engine-host'
import { openModelFolder, type ModelFolder } from '../engine/models/model-folder'
import type { EngineEvent, RenderSpec } from '../engine/protocol'
import type { ModelRegistry } from './model-registry'
import { atomicWrite } from './projects'
import type { InputStore } from './inputs'
import { writeStoredZip } from './zip'

export type StudioOptions = {
  engine: EngineHost
  /** Where renders are cached (one folder per job). */
  cacheDir: string
  /** The model folders the studio offers (the demo model first). */
  registry: ModelRegistry
  /** URL of a file in a job's folder, as the renderer loads it (media protocol or HTTP). */
  mediaUrl: (jobId: string, file: string) => string
  /** Dropped input images (image-to-video); renders name them by id. */
  inputs?: InputStore
  /** Where an export goes: a path (desktop, after a save dialog) or null to cancel. */
  exportTarget?: (jobId: string, format: string) => Promise<string | null>
  /** The memory figure `auto` plans by (device-memory.ts; default: from the engine's status). */
  deviceBudget?: () => DeviceBudget | null
}

export class StudioService {
  private readonly jobs = new Map<string, JobView>()
  private readonly listeners = new Set<
    (name: 'job.update' | 'job.preview', data: unknown) => void
  >()
  private exportCounter = 0

  constructor(private readonly o: StudioOptions) {
    mkdirSync(o.cacheDir, { recursive: true })
    this.restore()
    o.engine.onEngineEvent((e) => this.onEngineEvent(e))
    o.engine.onState((s) => {
      // a crash loses the engine's queue: every job it held fails with the reason
      if (s.state !== 'crashed') return
      for (const job of this.jobs.values()) {
        if (job.state === 'running' || job.state === 'queued') {
          this.update({
            ...job,
            state: 'failed',
            error: {
              message: `the engine stopped during the render: ${s.lastError ?? 'it exited'}`,
              advice: 'The engine restarts by itself; press Retry when it is ready.',
            },
          })
        }
      }
    })
  }

  on(fn: (name: 'job.update' | 'job.preview', data: unknown) => void): () => void {
    this.listeners.add(fn)
    return () => this.listeners.delete(fn)
  }

  private emit(name: 'job.update' | 'job.preview', data: unknown): void {
    for (const fn of this.listeners) fn(name, data)
  }

  private update(job: JobView): void {
    this.jobs.set(job.id, job)
    this.emit('job.update', job)
    // a finished render outlives the session: its record sits beside its frames
    if (job.state === 'done' && job.result) {
      try {
        atomicWrite(join(this.o.cacheDir, job.id, 'job.json'), JSON.stringify(job), false)
      } catch (err) {
        console.error(`studio: could not record job ${job.id}: ${(err as Error).message}`)
      }
    }
  }

  /** Finished renders of earlier sessions, from their records in the cache. */
  private restore(): void {
    let dirs: string[] = []
    try {
      dirs = readdirSync(this.o.cacheDir)
    } catch {
      return
    }
    for (const id of dirs) {
      const dir = join(this.o.cacheDir, id)
      if (!/^[0-9a-f-]{36}$/.test(id) || !existsSync(join(dir, 'clip.mp4'))) continue
      try {
        const parsed = JobView.safeParse(JSON.parse(readFileSync(join(dir, 'job.json'), 'utf8')))
        if (!parsed.success || parsed.data.id !== id || parsed.data.state !== 'done') continue
        const job = parsed.data
        this.jobs.set(id, {
          ...job,
          // the URL scheme belongs to the host that serves it now
          result: job.result ? { ...job.result, clipUrl: this.o.mediaUrl(id, 'clip.mp4') } : null,
        })
      } catch {
        // no record (an older render, or one that never finished): not offered
      }
    }
  }

  listModels(): ModelSummary[] {
    return this.o.registry.list()
  }

  private model(id: string): ModelFolder {
    // only folders the studio lists: a page cannot make the engine open an arbitrary path
    const dir = this.o.registry.dirs().find((d) => d === id)
    if (!dir) throw new HandlerError('invalid-payload', `no model "${id}" in the studio's list`)
    return openModelFolder(dir)
  }

  async submit(req: RenderRequest): Promise<JobView> {
    const model = this.model(req.modelId)
    const facts = PIPELINES[model.pipeline]
    let image: string | undefined
    if (facts.input === 'image') {
      if (!req.image)
        throw new HandlerError(
          'invalid-payload',
          `${model.label} animates an image: drop one on the generation panel first`,
        )
      if (!this.o.inputs)
        throw new HandlerError('internal', 'this host has no store for input images')
      try {
        image = this.o.inputs.path(req.image.id)
      } catch (err) {
        throw new HandlerError('invalid-payload', err instanceof Error ? err.message : String(err))
      }
    }
    if (req.camera && 'preset' in req.camera) {
      const first = req.camera.preset.split(/[+,]/)[0]!.trim()
      if (!isPresetName(first))
        throw new HandlerError('invalid-payload', `unknown camera preset "${first}"`)
    }
    const frames = req.frames ?? model.defaults.frames
    if (model.maxFrames !== null && frames > model.maxFrames)
      throw new HandlerError(
        'invalid-payload',
        `${model.label} takes at most ${model.maxFrames} frames in one render; ${frames} were asked for`,
      )
    const id = randomUUID()
    const dir = join(this.o.cacheDir, id)
    mkdirSync(dir, { recursive: true })
    const motion = mapMotion({ motion: model.motion, camera: model.camera }, req.motion)
    // the figure auto plans by, for the provider that runs the job (device-memory.ts)
    const budget = this.o.deviceBudget
      ? this.o.deviceBudget()
      : deviceBudget(deviceFacts(this.o.engine.status()))
    const spec: RenderSpec = {
      ...(budget ? { budgetMiB: budget.budgetMiB, budgetSource: budget.source } : {}),
      model: model.dir,
      prompt: req.prompt,
      negativePrompt: req.negativePrompt,
      width: req.width,
      height: req.height,
      frames,
      steps: req.steps,
      guidance: req.guidance,
      seed: req.seed,
      scheduler: req.scheduler || undefined,
      decodeChunkSize: req.decodeChunk,
      fps: req.fps,
      camera: req.camera ?? undefined,
      plan: req.plan,
      ...(image ? { image, fit: req.image!.fit } : {}),
      out: join(dir, 'clip.mp4'),
      framesOut: join(dir, 'frames'),
      ...(motion.kind === 'motion_scale' ? { motionScale: motion.motionScale } : {}),
      ...(motion.kind === 'camera_scale' ? { cameraScale: motion.cameraScale } : {}),
      ...(motion.kind === 'motion_bucket_id' ? { motionBucketId: motion.motionBucketId } : {}),
    }
    const job: JobView = {
      id,
      state: 'queued',
      request: req,
      progress: null,
      error: null,
      result: null,
      createdAt: Date.now(),
    }
    this.update(job)
    try {
      await this.o.engine.request('jobs.submit', { id, spec })
    } catch (err) {
      this.update({
        ...job,
        state: 'failed',
        error: {
          message: err instanceof Error ? err.message : String(err),
          advice: 'Wait for the engine to be ready, then retry.',
        },
      })
    }
    return this.jobs.get(id)!
  }

  async cancel(id: string): Promise<{ cancelled: boolean }> {
    const job = this.jobs.get(id)
    if (!job || (job.state !== 'queued' && job.state !== 'running')) return { cancelled: false }
    return this.o.engine.request('jobs.cancel', { id })
  }

  list(): JobView[] {
    return [...this.jobs.values()].sort((a, b) => a.createdAt - b.createdAt)
  }

  /**
   * Encodes finished clips, in order, into one file: one job exports its clip; several (the
   * project's shots) are joined frame by frame. Desktop: to the path the save dialog gives;
   * web: into the first job's cache folder, for the browser to download.
   */
  async exportClip(req: {
    jobIds: string[]
    format: ClipFormat
    fps?: number
    quality: number
    loop: number
    scale: number
  }): Promise<{ url: string | null; path: string | null }> {
    const parts = req.jobIds.map((id, i) => {
      const which = req.jobIds.length > 1 ? `shot ${i + 1} (job ${id})` : `job ${id}`
      const job = this.jobs.get(id)
      if (!job || job.state !== 'done' || !job.result)
        throw new HandlerError(
          'invalid-payload',
          `${which} has no finished clip to export${req.jobIds.length > 1 ? '; render every shot first' : ''}`,
        )
      const framesDir = join(this.o.cacheDir, id, 'frames')
      const numFrames = existsSync(framesDir)
        ? readdirSync(framesDir).filter((f) => /^frame_\d{4}\.png$/.test(f)).length
        : 0
      if (!numFrames)
        throw new HandlerError('internal', `the frames of ${which} are no longer in the cache`)
      return { id, which, result: job.result, framesDir, numFrames }
    })
    const first = parts[0]!
    for (const p of parts.slice(1))
      if (p.result.width !== first.result.width || p.result.height !== first.result.height)
        throw new HandlerError(
          'invalid-payload',
          `${p.which} is ${p.result.width}x${p.result.height} but ${first.which} is ${first.result.width}x${first.result.height}; render the shots at one size to export them as one clip`,
        )
    const total = parts.reduce((n, p) => n + p.numFrames, 0)
    if (total > 9999)
      throw new HandlerError('invalid-payload', `${total} frames: at most 9999 export as one clip`)
    const dir = join(this.o.cacheDir, first.id)
    const ext = req.format === 'png' ? '' : `.${req.format}`
    let out: string
    let url: string | null = null
    if (this.o.exportTarget) {
      const chosen = await this.o.exportTarget(first.id, req.format)
      if (!chosen) return { url: null, path: null }
      out = chosen
    } else {
      out = join(dir, `export-${++this.exportCounter}${ext}`)
      url = this.o.mediaUrl(first.id, `export-${this.exportCounter}${ext}`)
      if (req.format === 'png') rmSync(out, { recursive: true, force: true })
    }
    // several clips: one numbered sequence of links to their frames (copies where links fail)
    let framesDir = first.framesDir
    let numFrames = first.numFrames
    let joined: string | null = null
    if (parts.length > 1) {
      joined = join(dir, `joined-${++this.exportCounter}`)
      mkdirSync(joined, { recursive: true })
      numFrames = 0
      for (const p of parts)
        for (let f = 0; f < p.numFrames; f++) {
          const src = join(p.framesDir, `frame_${String(f).padStart(4, '0')}.png`)
          const dst = join(joined, `frame_${String(numFrames++).padStart(4, '0')}.png`)
          try {
            linkSync(src, dst)
          } catch {
            copyFileSync(src, dst)
          }
        }
      framesDir = joined
    }
    try {
      await this.o.engine.request(
        'clip.export',
        {
          framesDir,
          numFrames,
          out,
          format: req.format,
          fps: req.fps ?? first.result.fps,
          quality: req.quality,
          loop: req.loop,
          scale: req.scale,
        },
        10 * 60_000,
      )
    } finally {
      if (joined) rmSync(joined, { recursive: true, force: true })
    }
    if (req.format === 'png' && url) {
      // a browser downloads one file: the frames folder goes as a ZIP
      const names = readdirSync(out)
        .filter((f) => /^frame_\d{4}\.png$/.test(f))
        .sort()
      writeStoredZip(
        `${out}.zip`,
        names.map((name) => ({ name, path: join(out, name) })),
      )
      rmSync(out, { recursive: true, force: true })
      url = this.o.mediaUrl(first.id, `${basename(out)}.zip`)
    }
    return { url, path: this.o.exportTarget ? out : null }
  }

  private onEngineEvent(e: EngineEvent): void {
    if (e.name === 'job.update') {
      const u = e.data
      const job = this.jobs.get(u.id)
      if (!job) return
      const r = u.result
      this.update({
        ...job,
        state: u.state,
        progress: u.progress,
        error: u.error,
        result: r
          ? {
              clipUrl: this.o.mediaUrl(job.id, 'clip.mp4'),
              frames: r.frames,
              width: r.width,
              height: r.height,
              fps: r.fps,
              seed: r.seed,
              plan: r.plan,
              planReason: r.planReason.slice(0, 2000),
              warnings: r.warnings.slice(0, 32),
            }
          : null,
      })
    } else {
      const d = e.data
      if (!this.jobs.has(d.id)) return
      const p = JobPreview.safeParse({
        id: d.id,
        step: d.step,
        width: d.width,
        height: d.height,
        rgb: Buffer.from(d.rgb).toString('base64'),
      })
      if (p.success) this.emit('job.preview', p.data)
    }
  }
}
