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

export async function handleMediaRequest(
  request: Request,
  cacheDir: string,
  inputs: InputStore,
): Promise<Response> {
  const url = new URL(request.url)
  if (url.hostname === 'inputs' && request.method === 'POST') {
    const declared = Number(request.headers.get('content-length') ?? NaN)
    if (declared > MAX_INPUT_BYTES)
      return json(413, { error: `images up to ${MAX_INPUT_BYTES / 2 ** 20} MiB are accepted` })
    try {
      const bytes = new Uint8Array(await request.arrayBuffer())
      return json(200, inputs.add(bytes, url.searchParams.get('name') ?? ''))
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
