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
  rmSync,
  statSync,
} from 'node:fs'
import { basename, dirname, join } from 'node:path'
import { presetExpressionProblem } from '../../shared/camera'
import {
  JobPreview,
  JobView,
  MAX_LISTED_JOBS,
  type ModelSummary,
  type RenderRequest,
} from '../../shared/contract'
import { mapMotion } from '../../shared/motion'
import {
  EXPORT_FILE_EXTENSIONS,
  interpolatedCount,
  PIPELINES,
  type ClipFormat,
} from '../../shared/render'
import { deviceBudget, deviceFacts, type DeviceBudget } from './device-memory'
import { clampText, HandlerError } from './dispatch'
import type { EngineHost } from './engine-host'
import { cleanStaleTemps } from '../engine/media/ffmpeg'
import { openModelFolder, type ModelFolder } from '../engine/models/model-folder'
import type { EngineEvent, EngineParams, RenderSpec } from '../engine/protocol'
import type { ModelRegistry } from './model-registry'
import { atomicWrite } from './projects'
import type { InputStore } from './inputs'
import { writeStoredZip } from './zip'
import { readTextFile } from '../engine/files'

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
  /** The frame-interpolation model folder for exports (throws saying why there is none). */
  interpolationModel?: () => string
  /** The memory figure `auto` plans by (device-memory.ts; default: from the engine's status). */
  deviceBudget?: () => DeviceBudget | null
  /** How long one export's engine call may run before the engine stops it (EXPORT_TIMEOUT_MS). */
  exportTimeoutMs?: number
}

/**
 * How long one export may run: a long take at 4x in-betweens and 4x the size takes minutes
 * (10 was too few for a 200-frame take at 1024x576). The engine stops it then; main waits a
 * little longer for its answer, so nothing runs on after main has given up.
 */
export const EXPORT_TIMEOUT_MS = 60 * 60_000

type ExportClipRequest = {
  jobIds: string[]
  format: ClipFormat
  fps?: number
  quality: number
  loop: number
  scale: number
  interpolate?: { factor: 2 | 4; method: 'minterpolate' | 'model' } | undefined
  exportId?: string | undefined
}

/** An export under way: cancelled by the page, and the engine call it waits on now. */
type RunningExport = { cancelled: boolean; token: string | null }

/** Renders that may wait in the queue at once: each holds its request and a cache folder. */
export const MAX_WAITING = 500

/** How long the web host keeps an export for the browser to download. */
export const EXPORT_KEEP_MS = 60 * 60 * 1000

/** An export in a job's folder (a PNG export is a folder and its .zip), or a joined sequence. */
const EXPORT_NAME = new RegExp(
  `^(export-\\d+(\\.(${EXPORT_FILE_EXTENSIONS.join('|')}))?|joined-\\d+)$`,
)

export class StudioService {
  private readonly jobs = new Map<string, JobView>()
  private readonly listeners = new Set<
    (name: 'job.update' | 'job.preview', data: unknown) => void
  >()
  private exportCounter = 0
  /** Exports the page named (exportId), for cancelExport. */
  private readonly exporting = new Map<string, RunningExport>()

  private get exportTimeoutMs(): number {
    return this.o.exportTimeoutMs ?? EXPORT_TIMEOUT_MS
  }

  constructor(private readonly o: StudioOptions) {
    mkdirSync(o.cacheDir, { recursive: true })
    this.restore()
    o.engine.onEngineEvent((e) => this.onEngineEvent(e))
    o.engine.onState((s) => {
      // The engine's queue lives in its process: a crash, a restart or a stop loses it, and
      // every job it held (running or queued) fails with the reason, so none stays "running".
      // (After a crash the restart finds nothing left to fail.)
      const [what, detail] =
        s.state === 'crashed'
          ? ['the engine stopped', `: ${s.lastError ?? 'it exited'}`]
          : s.state === 'restarting'
            ? ['the engine was restarted', '']
            : s.state === 'stopped'
              ? ['the studio stopped the engine', '']
              : [null, '']
      if (!what) return
      for (const job of this.jobs.values()) {
        if (job.state === 'running' || job.state === 'queued') {
          this.update({
            ...job,
            state: 'failed',
            progress: null,
            error: {
              message: clampText(
                `${what} ${job.state === 'running' ? 'during the render' : 'before this job started'}${detail}`,
              ),
              advice:
                s.state === 'crashed'
                  ? 'The engine restarts by itself; press Retry when it is ready.'
                  : s.state === 'stopped'
                    ? 'Press Retry when the studio is running again.'
                    : 'Press Retry when the engine is ready.',
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
    // a finished render outlives the session: its record sits beside its frames, written
    // before the page hears "done" (a page that acts on it at once finds the record there)
    if (job.state === 'done' && job.result) {
      try {
        atomicWrite(join(this.o.cacheDir, job.id, 'job.json'), JSON.stringify(job), false)
      } catch (err) {
        console.error(`studio: could not record job ${job.id}: ${(err as Error).message}`)
      }
    }
    this.emit('job.update', job)
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
        const parsed = JobView.safeParse(
          JSON.parse(readTextFile(join(dir, 'job.json'), 'job.json', 16 * 1024 * 1024)),
        )
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
    let waiting = 0
    for (const j of this.jobs.values()) if (j.state === 'queued') waiting++
    if (waiting >= MAX_WAITING)
      throw new HandlerError(
        'invalid-payload',
        `${waiting} renders are waiting already (at most ${MAX_WAITING}); cancel some or let them finish`,
      )
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
      const problem = presetExpressionProblem(req.camera.preset)
      if (problem) throw new HandlerError('invalid-payload', problem)
    }
    const frames = req.frames ?? model.defaults.frames
    // a pipeline with context windows runs a longer clip as overlapping windows
    if (model.maxFrames !== null && frames > model.maxFrames && !facts.contextWindows)
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
      ...(budget
        ? { budgetMiB: budget.budgetMiB, budgetSource: budget.source, budgetDevice: budget.device }
        : {}),
      model: model.dir,
      // an image model that reads no text (SVD) is not sent the prompts the panel hides for it
      // (the engine would warn of them)
      prompt: facts.prompt ? req.prompt : '',
      ...(facts.prompt ? { negativePrompt: req.negativePrompt } : {}),
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
      ...(req.promptKeys?.length
        ? { promptKeys: req.promptKeys.map((k) => ({ frame: k.frame, prompt: k.prompt })) }
        : {}),
      // how windows blend stays with a shot across a model change; a family without context
      // windows is not sent it (the panel shows none for it, and the engine would warn of them)
      ...(req.context && facts.contextWindows ? { context: req.context } : {}),
      ...(req.loop ? { closedLoop: true } : {}),
    }
    // the job records what the model takes: no hidden text prompt on an image model's job (its
    // title), no image on a text model's
    const { image: _image, ...withoutImage } = req
    const request: RenderRequest = {
      ...(facts.input === 'image' ? req : withoutImage),
      ...(facts.prompt ? {} : { prompt: '', promptKeys: undefined }),
    }
    const job: JobView = {
      id,
      state: 'queued',
      request,
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

  /**
   * The newest MAX_LISTED_JOBS jobs, oldest first, each as the contract carries it. Over 1000
   * cached renders used to fail every jobs.list; older jobs stay in main (export and cancel
   * still find them by id). A job that does not fit the contract is skipped and logged.
   */
  list(): JobView[] {
    const all = [...this.jobs.values()].sort((a, b) => a.createdAt - b.createdAt)
    const out: JobView[] = []
    for (const job of all.slice(-MAX_LISTED_JOBS)) {
      const checked = JobView.safeParse(job)
      if (checked.success) out.push(checked.data)
      else console.error(`studio: job ${job.id} not listed: ${checked.error.issues[0]?.message}`)
    }
    return out
  }

  /** The jobs with these ids that main knows (unknown ids are left out), as jobs.list gives them. */
  get(ids: string[]): JobView[] {
    const out: JobView[] = []
    for (const id of new Set(ids)) {
      const job = this.jobs.get(id)
      const checked = job && JobView.safeParse(job)
      if (checked?.success) out.push(checked.data)
    }
    return out
  }

  /**
   * Encodes finished clips, in order, into one file: one job exports its clip; several (the
   * project's shots) are joined frame by frame. Desktop: to the path the save dialog gives;
   * web: into the first job's cache folder, for the browser to download.
   */
  /**
   * The web host's exports are files in the render cache for the browser to download; each
   * new one removes those older than EXPORT_KEEP_MS (downloaded long since), so exports do not
   * pile up beside the renders (one 4x export is tens of MB).
   */
  private sweepExports(now = Date.now()): void {
    let dirs: string[]
    try {
      dirs = readdirSync(this.o.cacheDir)
    } catch {
      return
    }
    for (const d of dirs) {
      let names: string[]
      try {
        names = readdirSync(join(this.o.cacheDir, d))
      } catch {
        continue
      }
      for (const n of names) {
        // exports (a PNG export is a folder and its .zip) and a joined sequence a crash left
        if (!EXPORT_NAME.test(n)) continue
        const p = join(this.o.cacheDir, d, n)
        try {
          if (now - statSync(p).mtimeMs > EXPORT_KEEP_MS)
            rmSync(p, { recursive: true, force: true })
        } catch {
          // gone already, or not ours to remove: left
        }
      }
    }
  }

  async exportClip(req: ExportClipRequest): Promise<{ url: string | null; path: string | null }> {
    const entry: RunningExport = { cancelled: false, token: null }
    if (req.exportId) {
      if (this.exporting.has(req.exportId))
        throw new HandlerError('invalid-payload', `export ${req.exportId} is running already`)
      this.exporting.set(req.exportId, entry)
    }
    try {
      return await this.runExport(req, entry)
    } catch (err) {
      // cancelled: answered as a cancelled save dialog is (nothing written, nothing to say)
      if (entry.cancelled) return { url: null, path: null }
      throw err
    } finally {
      if (req.exportId) this.exporting.delete(req.exportId)
    }
  }

  /** Stops the export started with `exportId`; false when none such is running. */
  async cancelExport(exportId: string): Promise<{ cancelled: boolean }> {
    const entry = this.exporting.get(exportId)
    if (!entry) return { cancelled: false }
    entry.cancelled = true
    if (entry.token)
      await this.o.engine.request('clip.cancel', { token: entry.token }).catch(() => undefined)
    return { cancelled: true }
  }

  /** One clip.export in the engine, named so cancelExport can stop it. */
  private async engineExport(
    entry: RunningExport,
    params: Omit<EngineParams<'clip.export'>, 'timeoutMs' | 'token'>,
  ): Promise<void> {
    if (entry.cancelled) throw new HandlerError('internal', 'export cancelled')
    const token = `export-${process.pid}-${++this.exportCounter}`
    entry.token = token
    try {
      await this.o.engine.request(
        'clip.export',
        { ...params, timeoutMs: this.exportTimeoutMs, token },
        this.exportTimeoutMs + 30_000,
      )
    } finally {
      entry.token = null
    }
  }

  private async runExport(
    req: ExportClipRequest,
    entry: RunningExport,
  ): Promise<{ url: string | null; path: string | null }> {
    const parts = req.jobIds.map((id, i) => {
      const which = req.jobIds.length > 1 ? `shot ${i + 1} (job ${id})` : `job ${id}`
      const job = this.jobs.get(id)
      if (!job || job.state !== 'done' || !job.result)
        throw new HandlerError(
          'invalid-payload',
          `${which} has no finished clip to export${req.jobIds.length > 1 ? '; render every shot first' : ''}`,
        )
      const framesDir = join(this.o.cacheDir, id, 'frames')
      const names = existsSync(framesDir)
        ? readdirSync(framesDir).filter((f) => /^frame_\d{4}\.png$/.test(f))
        : []
      const numFrames = names.length
      if (!numFrames)
        throw new HandlerError('internal', `the frames of ${which} are no longer in the cache`)
      // frames are numbered from 0 without gaps; name the first one missing
      const have = new Set(names)
      for (let f = 0; f < numFrames; f++) {
        const name = `frame_${String(f).padStart(4, '0')}.png`
        if (!have.has(name))
          throw new HandlerError(
            'internal',
            `${which}: frame ${f} (${name}) is missing from the cache; render that shot again, then export`,
          )
      }
      return { id, which, result: job.result, framesDir, numFrames }
    })
    const first = parts[0]!
    // in-betweens: a single loop render also gets those from its last frame into its first
    let interpolate: { factor: number; loop: boolean; model: string | null } | undefined
    if (req.interpolate) {
      if (req.interpolate.method === 'model' && !this.o.interpolationModel)
        throw new HandlerError('internal', 'this host has no frame-interpolation model slot')
      interpolate = {
        factor: req.interpolate.factor,
        loop: parts.length === 1 && (this.jobs.get(first.id)?.request.loop ?? false),
        model: req.interpolate.method === 'model' ? this.o.interpolationModel!() : null,
      }
    }
    for (const p of parts.slice(1))
      if (p.result.width !== first.result.width || p.result.height !== first.result.height)
        throw new HandlerError(
          'invalid-payload',
          `${p.which} is ${p.result.width}x${p.result.height} but ${first.which} is ${first.result.width}x${first.result.height}; render the shots at one size to export them as one clip`,
        )
      else if (p.result.fps !== first.result.fps)
        throw new HandlerError(
          'invalid-payload',
          `${p.which} plays at ${p.result.fps} fps but ${first.which} at ${first.result.fps} fps; joined at one rate one would play at the wrong speed: render the shots at one frame rate to export them as one clip`,
        )
    // the frames written, in-betweens included (each shot on its own; a single loop round)
    const total = parts.reduce(
      (n, p) =>
        n +
        (interpolate
          ? interpolatedCount(p.numFrames, interpolate.factor, interpolate.loop)
          : p.numFrames),
      0,
    )
    if (total > 9999)
      throw new HandlerError(
        'invalid-payload',
        `${total} frames${interpolate ? ' with the in-betweens' : ''}: at most 9999 export as one clip`,
      )
    const dir = join(this.o.cacheDir, first.id)
    const ext = req.format === 'png' ? '' : `.${req.format}`
    let out: string
    let url: string | null = null
    if (this.o.exportTarget) {
      const chosen = await this.o.exportTarget(first.id, req.format)
      if (!chosen) return { url: null, path: null }
      out = chosen
    } else {
      this.sweepExports()
      out = join(dir, `export-${++this.exportCounter}${ext}`)
      url = this.o.mediaUrl(first.id, `export-${this.exportCounter}${ext}`)
      if (req.format === 'png') rmSync(out, { recursive: true, force: true })
    }
    const fps = req.fps ?? first.result.fps
    // several clips: one numbered sequence of links to their frames (copies where links fail);
    // with in-betweens, each shot is interpolated on its own first (a cut is a cut: in-betweens
    // across it blended one shot into the next), and the joined sequence is encoded as it is
    let framesDir = first.framesDir
    let numFrames = first.numFrames
    let joined: string | null = null
    let exportFps = fps
    if (parts.length > 1) {
      joined = join(dir, `joined-${++this.exportCounter}`)
      mkdirSync(joined, { recursive: true })
      numFrames = 0
      try {
        const sources = interpolate
          ? await this.interpolateParts(entry, parts, joined, fps, req.quality, interpolate)
          : parts
        if (interpolate) {
          exportFps = fps * interpolate.factor
          interpolate = undefined
        }
        for (const p of sources)
          for (let f = 0; f < p.numFrames; f++) {
            const name = `frame_${String(f).padStart(4, '0')}.png`
            const src = join(p.framesDir, name)
            const dst = join(joined, `frame_${String(numFrames++).padStart(4, '0')}.png`)
            try {
              linkSync(src, dst)
            } catch {
              try {
                copyFileSync(src, dst)
              } catch (err) {
                const code = (err as NodeJS.ErrnoException).code
                throw new HandlerError(
                  'internal',
                  code === 'ENOENT'
                    ? `${p.which}: frame ${f} (${name}) is missing from the cache; render that shot again, then export`
                    : code === 'ENOSPC'
                      ? `the disk is full: ${p.which}'s frames could not be gathered for the export; free some space and export again`
                      : `${p.which}: frame ${f} could not be gathered for the export (${code ?? err})`,
                )
              }
            }
          }
      } catch (err) {
        // the joined folder is scratch: it never outlives a failed export
        rmSync(joined, { recursive: true, force: true })
        throw err
      }
      framesDir = joined
    }
    try {
      await this.engineExport(entry, {
        framesDir,
        numFrames,
        out,
        format: req.format,
        fps: exportFps,
        quality: req.quality,
        loop: req.loop,
        scale: req.scale,
        ...(interpolate ? { interpolate } : {}),
      })
    } catch (err) {
      // an engine that died mid-export left its temp output beside the target: not ours to
      // keep (cleanStaleTemps takes only temp files of processes no longer running)
      cleanStaleTemps(dirname(out.replace(/[\\/]+$/, '')), Date.now())
      throw err
    } finally {
      if (joined) rmSync(joined, { recursive: true, force: true })
    }
    if (req.format === 'png' && url) {
      // a browser downloads one file: the frames folder goes as a ZIP
      const names = readdirSync(out)
        .filter((f) => /^frame_\d{4}\.png$/.test(f))
        .sort()
      try {
        writeStoredZip(
          `${out}.zip`,
          names.map((name) => ({ name, path: join(out, name) })),
        )
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code
        throw new HandlerError(
          'internal',
          code === 'ENOSPC'
            ? 'the disk is full: the PNG frames could not be put into one .zip for the download; free some space and export again'
            : `the PNG frames could not be put into one .zip for the download (${code ?? (err as Error).message})`,
        )
      } finally {
        // the frames folder is scratch once the .zip is written, or failed
        rmSync(out, { recursive: true, force: true })
      }
      url = this.o.mediaUrl(first.id, `${basename(out)}.zip`)
    }
    return { url, path: this.o.exportTarget ? out : null }
  }

  /**
   * Each shot's frames interpolated on their own, as PNG sequences in `scratch` (removed with
   * it): (n - 1) x factor + 1 frames each, the joined clip's in-betweens never across a cut.
   */
  private async interpolateParts(
    entry: RunningExport,
    parts: { which: string; framesDir: string; numFrames: number }[],
    scratch: string,
    fps: number,
    quality: number,
    interpolate: { factor: number; loop: boolean; model: string | null },
  ): Promise<{ which: string; framesDir: string; numFrames: number }[]> {
    const out: { which: string; framesDir: string; numFrames: number }[] = []
    for (const [i, p] of parts.entries()) {
      const framesDir = join(scratch, `shot-${i + 1}`)
      await this.engineExport(entry, {
        framesDir: p.framesDir,
        numFrames: p.numFrames,
        out: framesDir,
        format: 'png',
        fps,
        quality,
        loop: 0,
        scale: 1,
        interpolate: { ...interpolate, loop: false },
      })
      out.push({
        which: p.which,
        framesDir,
        numFrames: interpolatedCount(p.numFrames, interpolate.factor),
      })
    }
    return out
  }

  private onEngineEvent(e: EngineEvent): void {
    if (e.name === 'job.update') {
      // the engine's report, cut to the contract's sizes (a 10,000-character error used to
      // fail the contract, the update was dropped and the job stayed "running" for good)
      const u = e.data
      const job = this.jobs.get(u.id)
      if (!job) return
      const r = u.result
      this.update({
        ...job,
        state: u.state,
        progress: u.progress,
        error: u.error
          ? { message: clampText(u.error.message), advice: clampText(u.error.advice) }
          : null,
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
              warnings: r.warnings.slice(0, 32).map((w) => clampText(w)),
              loopScore: r.loopScore ?? null,
              longTake: r.longTake ?? null,
            }
          : null,
      })
    } else if (e.name === 'job.preview') {
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
