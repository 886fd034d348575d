// The Hugging Face cache that Python tools have already filled (HF_HUB_CACHE, HF_HOME/hub or
// ~/.cache/huggingface/hub): which repositories are there, at which snapshot, and what each
// is to the studio (an ONNX model folder it can add as it is, a diffusers checkpoint the
// exporter can convert without downloading it again, single checkpoint files). The layout is
// read with the hub's own JavaScript client (@huggingface/hub's scanCacheDir).
import { existsSync, readdirSync, statSync, type Dirent } from 'node:fs'
import { join } from 'node:path'
import { getHFHubCachePath, scanCacheDir, type CachedRepoInfo } from '@huggingface/hub'
import { pipelineForClass, type PipelineKind } from '../../shared/render'
import { readTextFile } from '../engine/files'

export type CachedModel = {
  /** owner/name */
  repo: string
  /** The snapshot folder (the revision `main` points at, else the newest). */
  path: string
  revision: string
  sizeBytes: number
  /** onnx: a model folder the studio opens as it is; diffusers: a checkpoint to export. */
  kind: 'onnx' | 'diffusers' | 'files'
  /** model_index.json's or config.json's _class_name. */
  className: string | null
  /** The pipeline kind the class stands for (diffusers and onnx folders). */
  pipeline: PipelineKind | null
  /** Checkpoint files at the snapshot's top (MotionCtrl's .ckpt, single-file weights). */
  checkpoints: string[]
}

export type CacheScan = { dir: string; models: CachedModel[]; warnings: string[] }

/** The cache folder Python's huggingface_hub uses here. */
export function hubCacheDir(): string {
  return getHFHubCachePath()
}

function className(path: string): string | null {
  if (!existsSync(path)) return null
  try {
    const text = readTextFile(path, 'model_index.json', 1024 * 1024)
    const v = (JSON.parse(text) as Record<string, unknown>)['_class_name']
    return typeof v === 'string' ? v : null
  } catch {
    return null
  }
}

/**
 * The files of a snapshot, relative, one folder level deep (diffusers' layout: component
 * folders), with their sizes (the snapshot holds links into blobs/: stat follows them).
 * @huggingface/hub's scan lists a snapshot's top-level files only.
 */
function snapshotFiles(dir: string): { files: string[]; bytes: number } {
  const files: string[] = []
  let bytes = 0
  const visit = (rel: string, depth: number) => {
    let entries: Dirent[]
    try {
      entries = readdirSync(join(dir, rel), { withFileTypes: true })
    } catch {
      return
    }
    for (const e of entries) {
      const r = rel ? `${rel}/${e.name}` : e.name
      let st
      try {
        st = statSync(join(dir, r))
      } catch {
        continue // a dangling link (an interrupted download)
      }
      if (st.isDirectory()) {
        if (depth < 1) visit(r, depth + 1)
      } else {
        files.push(r)
        bytes += st.size
      }
    }
  }
  visit('', 0)
  return { files, bytes }
}

function describe(repo: CachedRepoInfo): CachedModel | null {
  if (repo.id.type !== 'model' || repo.revisions.length === 0) return null
  const rev =
    repo.revisions.find((r) => r.refs.includes('main')) ??
    [...repo.revisions].sort((a, b) => b.lastModifiedAt.getTime() - a.lastModifiedAt.getTime())[0]!
  const { files, bytes } = snapshotFiles(rev.path)
  const hasIndex = files.includes('model_index.json')
  const onnx = hasIndex && files.some((f) => /^[^/]+\/model\.onnx$/.test(f))
  const weights = files.some((f) => /\.(safetensors|bin)$/.test(f))
  const cls =
    className(join(rev.path, 'model_index.json')) ?? className(join(rev.path, 'config.json'))
  const checkpoints = files.filter(
    (f) => !f.includes('/') && /\.(ckpt|pt|pth|safetensors)$/.test(f),
  )
  return {
    repo: repo.id.name,
    path: rev.path,
    revision: rev.commitOid,
    sizeBytes: bytes,
    kind: onnx ? 'onnx' : (hasIndex || cls) && weights ? 'diffusers' : 'files',
    className: cls,
    pipeline: cls ? pipelineForClass(cls.replace(/^ORT/, '')) : null,
    checkpoints,
  }
}

/** Scans the cache; a missing cache is empty, not an error; unreadable repos are reported. */
export async function scanHubCache(dir = hubCacheDir()): Promise<CacheScan> {
  if (!existsSync(dir)) return { dir, models: [], warnings: [] }
  const info = await scanCacheDir(dir)
  const models = info.repos.flatMap((r) => {
    const m = describe(r)
    return m ? [m] : []
  })
  return { dir, models, warnings: info.warnings.map((w) => w.message) }
}
