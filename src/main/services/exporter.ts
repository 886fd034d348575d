// Running the Python exporter (tools/export/export_model.py) from the studio: find a Python
// that has the exporter's requirements, run one export as a job with progress, cancel and a
// clear error, into a staging folder that becomes the model folder (and joins the model list)
// only when the export and its own verification succeeded.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs'
import { dirname, join } from 'node:path'
import type { ModelExportEvent } from '../../shared/contract'

/** What export_model.py imports (its requirements.txt). */
export const EXPORT_MODULES = ['torch', 'diffusers', 'transformers', 'onnx', 'onnxruntime'] as const

export type PythonProbe =
  | { ok: true; python: string; version: string }
  | { ok: false; python: string | null; reason: string }

/**
 * The first Python (DOLLY_EXPORT_PYTHON, then python3, then python) that can import every
 * module the exporter needs; else why none can, naming what is missing.
 */
export function findExportPython(
  candidates: string[] = [process.env['DOLLY_EXPORT_PYTHON'] ?? '', 'python3', 'python'].filter(
    Boolean,
  ),
  timeoutMs = 15_000,
): PythonProbe {
  const script = `import importlib.util, json, sys
print(json.dumps({"version": sys.version.split()[0], "missing": [m for m in ${JSON.stringify(EXPORT_MODULES)} if importlib.util.find_spec(m) is None]}))`
  let best: PythonProbe | null = null
  for (const python of candidates) {
    const r = spawnSync(python, ['-c', script], { encoding: 'utf8', timeout: timeoutMs })
    if (r.error || r.status !== 0) continue
    let parsed: { version: string; missing: string[] }
    try {
      parsed = JSON.parse(r.stdout.trim().split('\n').pop() ?? '') as typeof parsed
    } catch {
      continue
    }
    if (parsed.missing.length === 0) return { ok: true, python, version: parsed.version }
    best ??= {
      ok: false,
      python,
      reason: `${python} (Python ${parsed.version}) lacks ${parsed.missing.join(', ')}: pip install -r tools/export/requirements.txt`,
    }
  }
  return (
    best ?? {
      ok: false,
      python: null,
      reason: `no Python found (tried ${candidates.join(', ')}); install Python 3.10+ and the exporter's requirements, or set DOLLY_EXPORT_PYTHON`,
    }
  )
}

export type ExportEvent = ModelExportEvent

export type ExportJob = {
  id: string
  python: string
  script: string
  /** export_model.py's arguments, except --out (the runner chooses the staging folder). */
  args: string[]
  /** The model folder to create (must not exist). */
  out: string
  /** How many components the export writes (its progress steps). */
  steps: number
}

/** One export at a time per id; events for progress; cancel kills the exporter's process group. */
export class ExportRunner {
  private readonly running = new Map<string, { child: ChildProcess; cancelled: boolean }>()

  constructor(private readonly emit: (e: ExportEvent) => void) {}

  isRunning(id: string): boolean {
    return this.running.has(id)
  }

  /** Starts the export; resolves with the model folder, rejects with the exporter's reason. */
  start(job: ExportJob): Promise<string> {
    if (this.running.has(job.id))
      return Promise.reject(new Error(`${job.id} is being exported already`))
    if (existsSync(job.out))
      return Promise.reject(
        new Error(`${job.out} exists already: remove it or add it from the models list`),
      )
    mkdirSync(dirname(job.out), { recursive: true })
    const staging = join(dirname(job.out), `.${job.id}.exporting-${process.pid}`)
    rmSync(staging, { recursive: true, force: true })
    const child = spawn(job.python, [job.script, ...job.args, '--out', staging], {
      cwd: dirname(job.script),
      env: { ...process.env, PYTHONUNBUFFERED: '1' },
      // its own process group, so a cancel also ends torch's workers
      detached: process.platform !== 'win32',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    const entry = { child, cancelled: false }
    this.running.set(job.id, entry)
    let step = 0
    let line: string | null = null
    const tail: string[] = []
    const send = (e: Partial<ExportEvent>) =>
      this.emit({
        id: job.id,
        state: 'running',
        step,
        steps: job.steps,
        line,
        message: null,
        out: null,
        ...e,
      })
    const onLine = (text: string) => {
      for (const l of text.split(/\r?\n/)) {
        const t = l.trim()
        if (!t) continue
        tail.push(t)
        if (tail.length > 40) tail.shift()
        line = t.slice(0, 500)
        // export_lib logs "<component>: wrote <file> ..." once per component
        if (/^export_model: \w+: wrote /.test(t)) step = Math.min(job.steps, step + 1)
        send({})
      }
    }
    child.stdout!.setEncoding('utf8').on('data', onLine)
    child.stderr!.setEncoding('utf8').on('data', onLine)
    send({})
    return new Promise<string>((resolve, reject) => {
      child.on('error', (err) => {
        this.running.delete(job.id)
        rmSync(staging, { recursive: true, force: true })
        const message = `${job.python} could not be started: ${err.message}`
        send({ state: 'failed', message })
        reject(new Error(message))
      })
      child.on('close', (code, signal) => {
        this.running.delete(job.id)
        if (entry.cancelled) {
          rmSync(staging, { recursive: true, force: true })
          send({ state: 'cancelled', message: 'export cancelled; nothing was kept' })
          return reject(new Error('cancelled'))
        }
        if (code !== 0 || !existsSync(join(staging, 'model_index.json'))) {
          rmSync(staging, { recursive: true, force: true })
          // the exporter's own message ("export_model: ...") says why; else the last lines
          const reason =
            [...tail].reverse().find((l) => /^export_model: /.test(l) && !/: wrote /.test(l)) ??
            (tail.slice(-3).join(' | ') || 'it printed nothing')
          const message = `the export failed (${signal ? `signal ${signal}` : `exit code ${code}`}): ${reason.replace(/^export_model: /, '')}`
          send({ state: 'failed', message })
          return reject(new Error(message))
        }
        try {
          renameSync(staging, job.out)
        } catch (err) {
          rmSync(staging, { recursive: true, force: true })
          const message = `the export finished but could not be moved to ${job.out}: ${(err as Error).message}`
          send({ state: 'failed', message })
          return reject(new Error(message))
        }
        step = job.steps
        send({ state: 'done', message: `exported to ${job.out}`, out: job.out })
        resolve(job.out)
      })
    })
  }

  cancel(id: string): boolean {
    const r = this.running.get(id)
    if (!r) return false
    r.cancelled = true
    const pid = r.child.pid
    try {
      if (pid && process.platform !== 'win32') process.kill(-pid, 'SIGTERM')
      else r.child.kill('SIGTERM')
    } catch {
      r.child.kill('SIGKILL')
    }
    // torch can ignore SIGTERM while it is busy: make sure it ends
    setTimeout(() => {
      try {
        if (pid && process.platform !== 'win32') process.kill(-pid, 'SIGKILL')
      } catch {
        // gone already
      }
    }, 5000).unref()
    return true
  }
}
