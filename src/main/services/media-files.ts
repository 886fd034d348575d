// Serving cached render files (clips, frames, exports) with HTTP Range support, for the web
// host's /media route and Electron's dolly-media:// protocol. Only files inside a job's
// folder under the cache, by names this code accepts.
import { createReadStream, statSync } from 'node:fs'
import { extname, join, normalize, resolve, sep } from 'node:path'
import type { Readable } from 'node:stream'
import { EXPORT_FILE_EXTENSIONS } from '../../shared/render'

const JOB_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/
const FILE = new RegExp(
  `^(clip\\.mp4|export-\\d{1,6}\\.(${EXPORT_FILE_EXTENSIONS.join('|')})|frames\\/frame_\\d{4}\\.png)$`,
)

export const MEDIA_TYPES: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.gif': 'image/gif',
  '.webm': 'video/webm',
  '.png': 'image/png',
  '.zip': 'application/zip',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.bmp': 'image/bmp',
  '.tif': 'image/tiff',
}

/** The cached file for (jobId, file), or null when the name is not one we serve. */
export function mediaPath(cacheDir: string, jobId: string, file: string): string | null {
  if (!JOB_ID.test(jobId) || !FILE.test(file)) return null
  const root = resolve(cacheDir)
  const p = normalize(join(root, jobId, file))
  return p.startsWith(root + sep) ? p : null
}

export type MediaResponse = {
  status: number
  headers: Record<string, string>
  body: Readable | null
}

/** 200 for the whole file, 206 for `Range: bytes=a-b`, 416 for a range past the end, 404 otherwise. */
export function mediaResponse(path: string | null, range: string | undefined): MediaResponse {
  if (!path) return { status: 404, headers: {}, body: null }
  let size: number
  try {
    const st = statSync(path)
    if (!st.isFile()) return { status: 404, headers: {}, body: null }
    size = st.size
  } catch {
    return { status: 404, headers: {}, body: null }
  }
  const type = MEDIA_TYPES[extname(path)] ?? 'application/octet-stream'
  const base = {
    'Content-Type': type,
    'Accept-Ranges': 'bytes',
    'Cache-Control': 'no-cache',
    'X-Content-Type-Options': 'nosniff',
  }
  const m = range ? /^bytes=(\d*)-(\d*)$/.exec(range.trim()) : null
  if (range && m && (m[1] || m[2])) {
    let start = m[1] ? Number(m[1]) : size - Number(m[2])
    let end = m[1] ? (m[2] ? Number(m[2]) : size - 1) : size - 1
    if (start < 0) start = 0
    if (end >= size) end = size - 1
    if (start > end || start >= size) {
      return { status: 416, headers: { ...base, 'Content-Range': `bytes */${size}` }, body: null }
    }
    return {
      status: 206,
      headers: {
        ...base,
        'Content-Range': `bytes ${start}-${end}/${size}`,
        'Content-Length': String(end - start + 1),
      },
      body: createReadStream(path, { start, end }),
    }
  }
  return {
    status: 200,
    headers: { ...base, 'Content-Length': String(size) },
    body: createReadStream(path),
  }
}
