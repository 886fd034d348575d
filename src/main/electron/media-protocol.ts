// dolly-media:// in the desktop app: cached renders (job/<id>/<file>, with Range so video
// seeks) and stored input images (inputs/<id>); POST inputs takes a dropped image's bytes,
// since the sandboxed page has no file paths. Same checks as the web host's HTTP routes.
import { Readable } from 'node:stream'
import { InputError, MAX_INPUT_BYTES, type InputStore } from '../services/inputs'
import { mediaPath, mediaResponse } from '../services/media-files'

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json' },
  })
}

function fileResponse(file: string | null, range: string | null): Response {
  const r = mediaResponse(file, range ?? undefined)
  const body = r.body ? (Readable.toWeb(r.body) as ReadableStream) : null
  return new Response(body, { status: r.status, headers: r.headers })
}

/** The body's bytes, or null as soon as it passes `limit` (the rest is never read). */
export async function readBodyUpTo(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
): Promise<Uint8Array | null> {
  if (!body) return new Uint8Array(0)
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > limit) {
      await reader.cancel('over the size limit').catch(() => undefined)
      return null
    }
    chunks.push(value)
  }
  const out = new Uint8Array(size)
  let o = 0
  for (const c of chunks) {
    out.set(c, o)
    o += c.byteLength
  }
  return out
}

export async function handleMediaRequest(
  request: Request,
  cacheDir: string,
  inputs: InputStore,
): Promise<Response> {
  const url = new URL(request.url)
  if (url.hostname === 'inputs' && request.method === 'POST') {
    const declared = Number(request.headers.get('content-length') ?? NaN)
    const tooBig = () =>
      json(413, { error: `images up to ${MAX_INPUT_BYTES / 2 ** 20} MiB are accepted` })
    if (declared > MAX_INPUT_BYTES) return tooBig()
    try {
      // counted while it streams: a body without (or with a false) Content-Length stops here
      const bytes = await readBodyUpTo(request.body, MAX_INPUT_BYTES)
      if (!bytes) return tooBig()
      return json(200, await inputs.add(bytes, url.searchParams.get('name') ?? ''))
    } catch (err) {
      if (err instanceof InputError) return json(err.status, { error: err.message })
      return json(500, { error: err instanceof Error ? err.message : String(err) })
    }
  }
  const [, id = '', ...rest] = url.pathname.split('/')
  if (url.hostname === 'inputs' && request.method === 'GET') {
    let file: string | null = null
    try {
      file = inputs.path(id)
    } catch {
      file = null
    }
    return fileResponse(file, request.headers.get('range'))
  }
  return fileResponse(
    url.hostname === 'job' ? mediaPath(cacheDir, id, rest.join('/')) : null,
    request.headers.get('range'),
  )
}
