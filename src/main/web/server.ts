// The web host: the renderer build over HTTP and the contract over a WebSocket, both on
// loopback only. The WebSocket (and the auth check) require this run's token; Host and
// Origin are checked so another site or a DNS-rebinding page cannot drive the engine.
import { createReadStream, readFileSync, statSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { randomBytes, timingSafeEqual } from 'node:crypto'
import { extname, join, normalize, resolve, sep } from 'node:path'
import type { Duplex, Readable } from 'node:stream'
import { WebSocketServer, type WebSocket } from 'ws'
import {
  events,
  isEventName,
  MAX_PROJECT_BYTES,
  type EventName,
  type EventPayload,
} from '../../shared/contract'
import type { Dispatch } from '../services/dispatch'
import { InputError, MAX_INPUT_BYTES, type InputStore } from '../services/inputs'
import { mediaPath, mediaResponse } from '../services/media-files'

export type WebHostOptions = {
  rendererDir: string
  dispatch: Dispatch
  /** Cached renders, served under /media/<job>/<file>?token=… (with Range). */
  cacheDir?: string
  /** Dropped input images: POST /inputs?token=…&name=… with the file as the body. */
  inputs?: InputStore
  /** 0 picks a free port. */
  port?: number
  token?: string
}

export type WebHost = {
  url: string
  port: number
  token: string
  broadcast<E extends EventName>(event: E, payload: EventPayload<E>): void
  /** Whether a page that named itself (a `page` in a payload) is still connected. */
  isLivePage(page: string): boolean
  close(): Promise<void>
}

/**
 * The largest WebSocket message the host reads. Every valid command fits well below it (the
 * biggest, a project save, is bounded by MAX_PROJECT_BYTES and refused with a message that
 * names the size); a bigger frame closes that connection with 1009, nothing else.
 */
export const MAX_FRAME_BYTES = 2 * MAX_PROJECT_BYTES

/** Bytes a socket may have waiting before live previews to it are skipped (a 4 MiB preview each). */
const MAX_QUEUED_BYTES = 16 * 1024 * 1024

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
}

export function contentSecurityPolicy(port: number): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    "media-src 'self' blob:",
    `connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'none'",
  ].join('; ')
}

function tokenMatches(expected: string, given: string | null): boolean {
  if (!given) return false
  const a = Buffer.from(expected)
  const b = Buffer.from(given)
  return a.length === b.length && timingSafeEqual(a, b)
}

export function startWebHost(opts: WebHostOptions): Promise<WebHost> {
  const token = opts.token ?? randomBytes(24).toString('base64url')
  const root = resolve(opts.rendererDir)
  const sockets = new Set<WebSocket>()
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES })
  let port = 0

  const allowedHosts = () => new Set([`127.0.0.1:${port}`, `localhost:${port}`])
  const allowedOrigins = () => new Set([`http://127.0.0.1:${port}`, `http://localhost:${port}`])

  const hostOk = (req: IncomingMessage) => allowedHosts().has(req.headers.host ?? '')
  const originOk = (req: IncomingMessage) =>
    !req.headers.origin || allowedOrigins().has(req.headers.origin)

  function serveStatic(req: IncomingMessage, res: ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname === '/auth-check') {
      const auth = req.headers.authorization ?? ''
      const given = auth.startsWith('Bearer ') ? auth.slice(7) : null
      res.writeHead(tokenMatches(token, given) ? 204 : 401, { 'Cache-Control': 'no-store' })
      res.end()
      return
    }
    if (url.pathname.startsWith('/media/') && opts.cacheDir) {
      if (!tokenMatches(token, url.searchParams.get('token'))) {
        res.writeHead(401, { 'Cache-Control': 'no-store' }).end()
        return
      }
      const [, , jobId = '', ...rest] = url.pathname.split('/')
      const r = mediaResponse(mediaPath(opts.cacheDir, jobId, rest.join('/')), req.headers.range)
      const download = url.searchParams.get('download')
      if (download && r.status === 200)
        r.headers['Content-Disposition'] =
          `attachment; filename="${download.replace(/[^A-Za-z0-9._-]/g, '_')}"`
      res.writeHead(r.status, r.headers)
      sendBody(r.body, req, res)
      return
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end()
      return
    }
    let rel: string
    try {
      rel = decodeURIComponent(url.pathname)
    } catch {
      res.writeHead(400).end()
      return
    }
    if (rel.includes('\0')) {
      res.writeHead(400).end()
      return
    }
    if (rel === '/' || rel === '') rel = '/index.html'
    const file = normalize(join(root, rel))
    if (file !== root && !file.startsWith(root + sep)) {
      res.writeHead(403).end()
      return
    }
    let size: number
    try {
      const st = statSync(file)
      if (!st.isFile()) throw new Error('not a file')
      size = st.size
    } catch {
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' }).end('not found')
      return
    }
    const type = MIME[extname(file).toLowerCase()] ?? 'application/octet-stream'
    // the page's own meta policy says connect-src 'self' (the desktop window's); here it names
    // this host's WebSocket too, as the header does (browsers where 'self' does not cover ws:)
    let html: Buffer | null = null
    if (type.startsWith('text/html')) {
      html = Buffer.from(
        readFileSync(file, 'utf8').replace(
          "connect-src 'self' dolly-media:;",
          `connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port};`,
        ),
      )
      size = html.length
    }
    res.writeHead(200, {
      'Content-Type': type,
      'Content-Length': size,
      'Content-Security-Policy': contentSecurityPolicy(port),
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cache-Control': type.startsWith('text/html') ? 'no-store' : 'no-cache',
    })
    if (html) return void res.end(req.method === 'HEAD' ? undefined : html)
    sendBody(req.method === 'HEAD' ? null : createReadStream(file), req, res)
  }

  /** Streams a file; one that vanished or failed mid-way ends that response, not the host. */
  function sendBody(body: Readable | null, req: IncomingMessage, res: ServerResponse): void {
    if (!body || req.method === 'HEAD') {
      body?.destroy()
      res.end()
      return
    }
    body.on('error', (err) => {
      console.error(`web host: ${req.url?.replace(/token=[^&]*/, 'token=…')}: ${err.message}`)
      res.destroy()
    })
    body.pipe(res)
  }

  function refuseUpgrade(socket: Duplex, status: number, text: string): void {
    socket.write(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`)
    socket.destroy()
  }

  const livePages = new Map<string, number>()

  function onConnection(ws: WebSocket): void {
    sockets.add(ws)
    // the pages this connection named (project commands carry the page's id): another tab's
    // recovery offer leaves a page's autosave alone while the page is open
    const pages = new Set<string>()
    ws.on('close', () => {
      sockets.delete(ws)
      for (const p of pages) {
        const n = (livePages.get(p) ?? 1) - 1
        if (n > 0) livePages.set(p, n)
        else livePages.delete(p)
      }
    })
    // A protocol violation (a frame over the limit, invalid UTF-8, an unmasked frame, RSV1, a
    // bad close code, an unknown opcode, an oversized ping) arrives here after ws has closed the
    // connection with the matching code. Without a listener it would be thrown and end the host.
    ws.on('error', (err) => console.error(`web host: a WebSocket was closed: ${err.message}`))
    ws.on('message', async (data, isBinary) => {
      if (isBinary) return void ws.close(1003, 'text frames only')
      let msg: unknown
      try {
        msg = JSON.parse(data.toString())
      } catch {
        return void ws.close(1007, 'not JSON')
      }
      const m = msg as { id?: unknown; command?: unknown; payload?: unknown }
      if (typeof msg !== 'object' || msg === null || !Number.isSafeInteger(m.id)) {
        return void ws.close(1008, 'each message needs a numeric id')
      }
      const page = (m.payload as { page?: unknown } | null | undefined)?.page
      if (typeof page === 'string' && /^[A-Za-z0-9-]{8,64}$/.test(page) && !pages.has(page)) {
        pages.add(page)
        livePages.set(page, (livePages.get(page) ?? 0) + 1)
      }
      const result = await opts.dispatch(m.command, m.payload)
      try {
        if (ws.readyState === ws.OPEN) ws.send(JSON.stringify({ id: m.id, result }))
      } catch (err) {
        console.error(`web host: could not answer ${String(m.command).slice(0, 64)}: ${err}`)
      }
    })
  }

  /** GET /inputs/<id>?token=…: a stored input image (the editor shows it as the subject). */
  function serveInput(req: IncomingMessage, res: ServerResponse, store: InputStore): void {
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (!tokenMatches(token, url.searchParams.get('token')))
      return void res.writeHead(401, { 'Cache-Control': 'no-store' }).end()
    let file: string | null = null
    try {
      file = store.path(decodeURIComponent(url.pathname.slice('/inputs/'.length)))
    } catch {
      file = null
    }
    const r = mediaResponse(file, req.headers.range)
    res.writeHead(r.status, r.headers)
    sendBody(r.body, req, res)
  }

  function receiveInput(req: IncomingMessage, res: ServerResponse, store: InputStore): void {
    const url = new URL(req.url ?? '/', 'http://localhost')
    const reply = (status: number, body: unknown) =>
      res
        .writeHead(status, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' })
        .end(JSON.stringify(body))
    if (req.method !== 'POST') return void res.writeHead(405, { Allow: 'POST' }).end()
    // a page on another origin must not be able to push files into the studio
    if (!originOk(req)) return void reply(403, { error: 'wrong Origin' })
    if (!tokenMatches(token, url.searchParams.get('token')))
      return void reply(401, { error: 'missing or wrong token' })
    const declared = Number(req.headers['content-length'] ?? NaN)
    const tooBig = () => {
      res.setHeader('Connection', 'close')
      reply(413, { error: `images up to ${MAX_INPUT_BYTES / 2 ** 20} MiB are accepted` })
      res.on('finish', () => req.destroy())
    }
    if (declared > MAX_INPUT_BYTES) return tooBig()
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_INPUT_BYTES) {
        if (!res.headersSent) tooBig()
      } else chunks.push(c)
    })
    req.on('end', () => {
      if (res.headersSent) return
      store.add(Buffer.concat(chunks), url.searchParams.get('name') ?? '').then(
        (stored) => reply(200, stored),
        (err: unknown) => {
          if (err instanceof InputError) reply(err.status, { error: err.message })
          else reply(500, { error: err instanceof Error ? err.message : String(err) })
        },
      )
    })
  }

  const server: Server = createServer((req, res) => {
    if (!hostOk(req)) {
      res.writeHead(421, { 'Content-Type': 'text/plain' }).end('wrong Host header')
      return
    }
    const path = new URL(req.url ?? '/', 'http://localhost').pathname
    if (path === '/inputs' && opts.inputs) return receiveInput(req, res, opts.inputs)
    if (path.startsWith('/inputs/') && opts.inputs) return serveInput(req, res, opts.inputs)
    serveStatic(req, res)
  })

  server.on('upgrade', (req, socket, head) => {
    // a peer that resets the connection during the handshake must not end the host
    socket.on('error', () => socket.destroy())
    const url = new URL(req.url ?? '/', 'http://localhost')
    if (url.pathname !== '/ws') return refuseUpgrade(socket, 404, 'Not Found')
    if (!hostOk(req) || !originOk(req)) return refuseUpgrade(socket, 403, 'Forbidden')
    if (!tokenMatches(token, url.searchParams.get('token')))
      return refuseUpgrade(socket, 401, 'Unauthorized')
    wss.handleUpgrade(req, socket, head, onConnection)
  })

  return new Promise((resolveStart, rejectStart) => {
    server.once('error', rejectStart)
    server.listen(opts.port ?? 0, '127.0.0.1', () => {
      const addr = server.address()
      port = typeof addr === 'object' && addr ? addr.port : 0
      const url = `http://127.0.0.1:${port}/?token=${token}`
      resolveStart({
        url,
        port,
        token,
        isLivePage: (page) => livePages.has(page),
        broadcast(event, payload) {
          if (!isEventName(event)) return
          const checked = events[event].safeParse(payload)
          if (!checked.success) return
          const text = JSON.stringify({ event, payload: checked.data })
          for (const ws of sockets) {
            if (ws.readyState !== ws.OPEN) continue
            // a page that does not read its socket gets no more live previews (the next one
            // replaces them anyway) once MAX_QUEUED_BYTES wait for it: the host's memory stays
            // bounded; every other event still goes out, in order
            if (event === 'job.preview' && ws.bufferedAmount > MAX_QUEUED_BYTES) continue
            ws.send(text)
          }
        },
        close: () =>
          new Promise<void>((done) => {
            for (const ws of sockets) ws.terminate()
            wss.close()
            server.close(() => done())
            server.closeAllConnections()
          }),
      })
    })
  })
}
