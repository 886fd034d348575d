// The models dialog's catalog: the public checkpoints the studio can convert (shared/catalog.ts),
// what the Hugging Face cache already holds of them (nothing is downloaded twice), the exact
// export commands, and, when a Python with the exporter's requirements is found, the export
// itself as a job whose result joins the model list.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import {
  CATALOG,
  catalogBytes,
  catalogMemory,
  downloadCommand,
  exportCommand,
  type CatalogEntry,
} from '../../shared/catalog'
import { PIPELINE_REGISTRY } from '../engine/pipelines/registry'
import { fittingPlan, vramEstimate } from '../../shared/vram'
import { HandlerError } from './dispatch'
import { ExportRunner, findExportPython, type ExportEvent, type PythonProbe } from './exporter'
import { scanHubCache, type CacheScan, type CachedModel } from './hf-cache'
import type { ModelRegistry } from './model-registry'

export type CatalogOptions = {
  registry: ModelRegistry
  modelsDir: string
  /** tools/export/export_model.py as this install has it (null: not shipped). */
  exporterScript: string | null
  freeVramMiB: () => number | null
  emit: (e: ExportEvent) => void
  /** Injected in tests. */
  findPython?: () => PythonProbe
  scanCache?: () => Promise<CacheScan>
}

/** What the exporter's first argument is for a pipeline class found in the cache. */
const EXPORT_KIND: Record<string, CatalogEntry['exportKind']> = {
  AnimateDiffPipeline: 'animatediff',
  StableVideoDiffusionPipeline: 'svd',
  CogVideoXPipeline: 'cogvideox',
  CogVideoXImageToVideoPipeline: 'cogvideox',
  WanPipeline: 'wan',
  WanImageToVideoPipeline: 'wan',
}

export class ModelCatalog {
  private python: PythonProbe | null = null
  private readonly runner: ExportRunner

  constructor(private readonly o: CatalogOptions) {
    this.runner = new ExportRunner(o.emit)
  }

  private probe(refresh = false): PythonProbe {
    if (!this.python || refresh) this.python = (this.o.findPython ?? findExportPython)()
    return this.python
  }

  private folderFor(id: string): string {
    return join(this.o.modelsDir, id)
  }

  async list() {
    const cache = await (this.o.scanCache ?? scanHubCache)().catch((err: Error): CacheScan => ({
      dir: '',
      models: [],
      warnings: [err.message],
    }))
    const byRepo = new Map(cache.models.map((m) => [m.repo, m]))
    const python = this.probe(true)
    const listed = new Set(this.o.registry.dirs())
    const free = this.o.freeVramMiB()
    const entries = CATALOG.map((e) => {
      const paths: Record<string, string> = {}
      const sources = e.sources.map((s) => {
        const cached = byRepo.get(s.repo)
        let cachedPath: string | null = null
        if (cached && s.file && cached.checkpoints.includes(s.file)) {
          cachedPath = join(cached.path, s.file)
          paths[`${s.repo}/${s.file}`] = cachedPath
        } else if (cached && !s.file && cached.kind === 'diffusers') cachedPath = cached.path
        return { repo: s.repo, file: s.file ?? null, role: s.role, cachedPath }
      })
      const mem = catalogMemory(e)
      const vram = vramEstimate(mem.model, mem.call)
      const out = this.folderFor(e.id)
      return {
        id: e.id,
        title: e.title,
        pipeline: e.pipeline,
        description: e.description,
        license: e.license,
        sizeBytes: catalogBytes(e),
        vram,
        // what auto would pick (fewer frames per VAE call first)
        fits: free === null ? null : (fittingPlan(mem.model, mem.call, free)?.plan ?? null),
        command: exportCommand(e, out, paths).text,
        sources,
        installed: listed.has(out),
        exporting: this.runner.isRunning(e.id),
      }
    })
    return {
      entries,
      python: python.ok
        ? { ready: true, python: python.python, reason: null }
        : { ready: false, python: python.python, reason: python.reason },
      cache: {
        dir: cache.dir,
        models: cache.models.map((m) => ({
          repo: m.repo,
          path: m.path,
          kind: m.kind,
          className: m.className,
          pipeline: m.pipeline,
          sizeBytes: m.sizeBytes,
          listed: listed.has(m.path),
        })),
        warnings: cache.warnings.slice(0, 20),
      },
    }
  }

  /**
   * Starts an export: a catalog entry by id, or a diffusers checkpoint found in the cache (by
   * repository). Answers at once; progress and the end come as events.
   */
  async startExport(
    source: { catalog: string } | { cached: string },
  ): Promise<{ started: boolean }> {
    const python = this.probe()
    if (!python.ok)
      throw new HandlerError('invalid-payload', `the studio cannot export here: ${python.reason}`)
    if (!this.o.exporterScript || !existsSync(this.o.exporterScript))
      throw new HandlerError(
        'internal',
        'this install has no exporter (tools/export/export_model.py)',
      )
    let id: string
    let args: string[]
    let steps: number
    if ('catalog' in source) {
      const e = CATALOG.find((x) => x.id === source.catalog)
      if (!e) throw new HandlerError('invalid-payload', `no catalog entry "${source.catalog}"`)
      const cache = await (this.o.scanCache ?? scanHubCache)().catch(() => null)
      const paths: Record<string, string> = {}
      for (const s of e.sources) {
        const c = cache?.models.find((m) => m.repo === s.repo)
        if (s.file && c?.checkpoints.includes(s.file))
          paths[`${s.repo}/${s.file}`] = join(c.path, s.file)
      }
      const missing = e.sources.find((s) => s.file && !paths[`${s.repo}/${s.file}`])
      if (missing)
        throw new HandlerError(
          'invalid-payload',
          `${missing.repo}/${missing.file} is not in the Hugging Face cache: download it first (${downloadCommand(missing.repo, missing.file!)})`,
        )
      id = e.id
      args = exportCommand(e, '', paths).args
      steps = Object.keys(e.components).length
    } else {
      const cache = await (this.o.scanCache ?? scanHubCache)()
      const m: CachedModel | undefined = cache.models.find((x) => x.repo === source.cached)
      if (!m)
        throw new HandlerError(
          'invalid-payload',
          `${source.cached} is not in the Hugging Face cache`,
        )
      const kind = m.className ? EXPORT_KIND[m.className] : undefined
      if (m.kind !== 'diffusers' || !kind || !m.pipeline)
        throw new HandlerError(
          'invalid-payload',
          `${m.repo} is ${m.className ?? 'not a diffusers pipeline'}; the exporter converts ${Object.keys(EXPORT_KIND).join(', ')}`,
        )
      id = m.repo.replace('/', '--')
      args = [kind, '--base', m.path, '--fp16']
      steps = PIPELINE_REGISTRY[m.pipeline].components.filter((c) => !c.optional).length
    }
    const out = this.folderFor(id)
    void this.runner
      .start({ id, python: python.python, script: this.o.exporterScript, args, out, steps })
      .then((dir) => this.o.registry.add(dir))
      .catch(() => undefined) // the event said why
    return { started: true }
  }

  cancelExport(id: string): { cancelled: boolean } {
    return { cancelled: this.runner.cancel(id) }
  }
}
