// The render queue: one GPU job at a time, in order; cancel a queued or running job at any
// point; every change is an event (state, progress with it/s and ETA, live previews).
import { EventEmitter } from 'node:events'
import { randomUUID } from 'node:crypto'
import type { JobState } from '../../../shared/render'
import { trajectoryProblem } from '../../../shared/camera/limits'
import { MediaError } from '../media/ffmpeg'
import { ImageInputError } from '../media/image'
import { ModelFolderError } from '../models/model-folder'
import { CancelledError, PipelineError } from '../pipelines/common'
import { isOutOfMemoryError } from '../runtime/session'
import type { PreviewImage } from './preview'
import {
  renderClip,
  type JobProgress,
  type RenderContext,
  type RenderResult,
  type RenderSpec,
} from './render'

export type { JobState } from '../../../shared/render'

export type JobInfo = {
  id: string
  state: JobState
  spec: RenderSpec
  progress: JobProgress | null
  result: RenderResult | null
  error: { message: string; advice: string } | null
  createdAt: number
  startedAt: number | null
  endedAt: number | null
}

/** What to tell a person about a failure, besides its message. */
export function adviceFor(err: unknown): string {
  if (err instanceof ModelFolderError)
    return 'Check the model folder: the message names the file and what was expected. Re-export or re-download that component.'
  if (err instanceof ImageInputError)
    return 'Check the input image: the message says what is wrong with it. Drop another one, or save this one again as PNG or JPEG.'
  if (err instanceof MediaError)
    return 'The export failed: check there is disk space at the destination and that ffmpeg works (FFMPEG_PATH).'
  if (isOutOfMemoryError(err))
    return 'Out of memory even with the smallest plan: lower the size or frame count, or close other GPU programs.'
  if (err instanceof PipelineError) return 'Change the settings the message names and retry.'
  return 'Retry the render; if it fails again, restart the engine from the status bar.'
}

export class JobQueue {
  private readonly jobs = new Map<string, JobInfo>()
  private readonly order: string[] = []
  private readonly controllers = new Map<string, AbortController>()
  private running: string | null = null
  private readonly emitter = new EventEmitter()

  constructor(
    private readonly ctx: RenderContext,
    private readonly render: typeof renderClip = renderClip,
  ) {}

  on(event: 'update', fn: (job: JobInfo) => void): () => void
  on(
    event: 'preview',
    fn: (p: { id: string; image: PreviewImage & { step: number } }) => void,
  ): () => void
  on(event: string, fn: (...args: never[]) => void): () => void {
    this.emitter.on(event, fn as (...a: unknown[]) => void)
    return () => this.emitter.off(event, fn as (...a: unknown[]) => void)
  }

  submit(spec: RenderSpec, id: string = randomUUID()): JobInfo {
    if (this.jobs.has(id)) throw new Error(`job ${id} exists already`)
    const job: JobInfo = {
      id,
      state: 'queued',
      spec,
      progress: null,
      result: null,
      error: null,
      createdAt: Date.now(),
      startedAt: null,
      endedAt: null,
    }
    this.jobs.set(job.id, job)
    this.order.push(job.id)
    this.emit(job)
    queueMicrotask(() => void this.pump())
    return job
  }

  get(id: string): JobInfo | undefined {
    return this.jobs.get(id)
  }

  list(): JobInfo[] {
    return this.order.map((id) => this.jobs.get(id)!)
  }

  /** Cancels a queued or running job; false when it already ended or does not exist. */
  cancel(id: string): boolean {
    const job = this.jobs.get(id)
    if (!job || job.state === 'done' || job.state === 'failed' || job.state === 'cancelled')
      return false
    if (job.state === 'queued') {
      this.finish(job, 'cancelled')
      return true
    }
    this.controllers.get(id)?.abort()
    return true
  }

  /** Resolves when no job is queued or running. */
  idle(): Promise<void> {
    if (!this.running && !this.list().some((j) => j.state === 'queued')) return Promise.resolve()
    return new Promise((resolve) => this.emitter.once('idle', resolve))
  }

  private emit(job: JobInfo): void {
    this.emitter.emit('update', { ...job })
  }

  private finish(job: JobInfo, state: JobState, patch: Partial<JobInfo> = {}): void {
    Object.assign(job, patch, { state, endedAt: Date.now() })
    this.emit(job)
  }

  private async pump(): Promise<void> {
    if (this.running) return
    const next = this.order.map((id) => this.jobs.get(id)!).find((j) => j.state === 'queued')
    if (!next) {
      this.emitter.emit('idle')
      return
    }
    this.running = next.id
    const ac = new AbortController()
    this.controllers.set(next.id, ac)
    Object.assign(next, { state: 'running', startedAt: Date.now() })
    this.emit(next)
    try {
      // the engine checks the camera too (main's schema does, but a job may come from elsewhere):
      // values past what the math carries rendered an all-black clip that was marked done
      const camera = next.spec.camera
      const cameraIssue =
        camera && 'trajectory' in camera
          ? trajectoryProblem(camera.trajectory, next.spec.frames ?? camera.trajectory.frames)
          : null
      if (cameraIssue) throw new PipelineError(`camera path: ${cameraIssue}`)
      const { budgetMiB, budgetSource, budgetDevice } = next.spec
      const ctx = budgetMiB ? { ...this.ctx, budgetMiB, budgetSource, budgetDevice } : this.ctx
      const result = await this.render(next.spec, ctx, {
        signal: ac.signal,
        onProgress: (p) => {
          next.progress = p
          this.emit(next)
        },
        onPreview: (image) => this.emitter.emit('preview', { id: next.id, image }),
      })
      this.finish(next, 'done', { result })
    } catch (err) {
      const cancelled = ac.signal.aborted || err instanceof CancelledError
      if (cancelled) this.finish(next, 'cancelled')
      else
        this.finish(next, 'failed', {
          error: {
            message: err instanceof Error ? err.message : String(err),
            advice: adviceFor(err),
          },
        })
    } finally {
      this.controllers.delete(next.id)
      this.running = null
      queueMicrotask(() => void this.pump())
    }
  }
}
