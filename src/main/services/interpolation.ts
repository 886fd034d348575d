// The export's frame interpolation: whether this ffmpeg has minterpolate, and the model slot
// (a RIFE-style ONNX folder the person points the studio at, checked against the slot's
// contract in engine/media/interpolation-model.ts before it is kept).
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { InterpolationView } from '../../shared/contract'
import { findFfmpeg } from '../engine/media/ffmpeg'
import { openInterpolationModel } from '../engine/media/interpolation-model'
import { HandlerError } from './dispatch'
import { typedFolder } from './model-registry'
import { atomicWrite } from './projects'
import { readTextFile } from '../engine/files'

export class InterpolationSlot {
  private minterpolate: InterpolationView['minterpolate'] | null = null

  constructor(private readonly stateDir: string) {}

  private get file(): string {
    return join(this.stateDir, 'interpolation.json')
  }

  private stored(): string | null {
    try {
      const v = JSON.parse(readTextFile(this.file, 'interpolation.json', 1024 * 1024)) as {
        model?: unknown
      }
      return typeof v.model === 'string' ? v.model : null
    } catch {
      return null
    }
  }

  private ffmpegFilter(): InterpolationView['minterpolate'] {
    if (this.minterpolate) return this.minterpolate
    try {
      const ff = findFfmpeg()
      const list = execFileSync(ff.path, ['-hide_banner', '-filters'], {
        encoding: 'utf8',
        timeout: 10_000,
        stdio: ['ignore', 'pipe', 'ignore'],
      })
      this.minterpolate = / minterpolate /.test(list)
        ? { available: true, reason: null }
        : {
            available: false,
            reason: `this ffmpeg (${ff.source} ${ff.version}) has no minterpolate filter`,
          }
    } catch (err) {
      this.minterpolate = { available: false, reason: (err as Error).message }
    }
    return this.minterpolate
  }

  view(): InterpolationView {
    const path = this.stored()
    let model: InterpolationView['model'] = {
      path: null,
      label: null,
      ok: false,
      reason: 'no frame-interpolation model folder added',
    }
    if (path) {
      try {
        const m = openInterpolationModel(path)
        model = { path, label: m.label, ok: true, reason: null }
      } catch (err) {
        model = { path, label: null, ok: false, reason: (err as Error).message }
      }
    }
    return { minterpolate: this.ffmpegFilter(), model }
  }

  /** Keeps `path` once it passes the slot's checks (a refusal keeps the previous one). */
  set(path: string | null): InterpolationView {
    if (path !== null) {
      const dir = typedFolder(path)
      if (!existsSync(dir)) throw new HandlerError('invalid-payload', `${dir}: no such folder`)
      try {
        openInterpolationModel(dir)
      } catch (err) {
        throw new HandlerError('invalid-payload', (err as Error).message)
      }
      atomicWrite(this.file, JSON.stringify({ model: dir }, null, 2), false)
    } else atomicWrite(this.file, JSON.stringify({ model: null }, null, 2), false)
    return this.view()
  }

  /** The model folder an export may use now, or why not. */
  modelDir(): string {
    const v = this.view().model
    if (!v.ok || !v.path)
      throw new HandlerError(
        'invalid-payload',
        `frame interpolation by model: ${v.reason ?? 'no folder'}; add a RIFE ONNX folder in the export dialog, or use ffmpeg's minterpolate`,
      )
    return v.path
  }
}
