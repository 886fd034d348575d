// The web host's door: token, Host and Origin checks, static files, and the contract over
// the WebSocket with the same dispatcher as Electron IPC.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { createDispatcher, type Handlers } from '../../src/main/services/dispatch'
import { startWebHost, type WebHost } from '../../src/main/web/server'

let host: WebHost
let calls = 0
beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dolly-web-'))
  // the studio's own page, with its meta policy
  writeFileSync(
    join(dir, 'index.html'),
    readFileSync(join(__dirname, '../../src/renderer/index.html')),
  )
  const handlers = {
    'app.info': async () => {
      calls++
      return {
        name: 'Dolly Studio',
        version: '0',
        host: 'web' as const,
        platform: 'linux',
        arch: 'x64',
        versions: {},
      }
    },
  } as unknown as Handlers
  host = await startWebHost({ rendererDir: dir, dispatch: createDispatcher(handlers), port: 0 })
})
afterAll(() => host.close())

function get(
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: host.port, path, headers }, (res) => {
      res.resume()
      resolve({ status: res.statusCode ?? 0, headers: res.headers })
    })
    req.on('error', reject)
    req.end()
  })
}

function connect(
  token: string | null,
  headers: Record<string, string> = {},
): Promise<{ ws?: WebSocket; status?: number }> {
  const q = token === null ? '' : `?token=${encodeURIComponent(token)}`
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${host.port}/ws${q}`, { headers })
    ws.on('open', () => resolve({ ws }))
    ws.on('unexpected-response', (_req, res) => resolve({ status: res.statusCode }))
    ws.on('error', () => undefined)
  })
}

describe('web host', () => {
  it('listens on loopback only and prints a URL that carries the token', () => {
    expect(host.url).toBe(`http://127.0.0.1:${host.port}/?token=${host.token}`)
    expect(host.token.length).toBeGreaterThanOrEqual(32)
  })

  it('serves the renderer with a CSP', async () => {
    const r = await get('/')
    expect(r.status).toBe(200)
    expect(String(r.headers['content-security-policy'])).toContain("script-src 'self'")
  })

  it("names its own WebSocket in the page's meta policy too (the page says only 'self')", async () => {
    const body = await new Promise<{ text: string; length: number }>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: host.port, path: '/' }, (res) => {
        const chunks: Buffer[] = []
        res.on('data', (c: Buffer) => chunks.push(c))
        res.on('end', () =>
          resolve({
            text: Buffer.concat(chunks).toString('utf8'),
            length: Number(res.headers['content-length']),
          }),
        )
      })
      req.on('error', reject)
      req.end()
    })
    expect(body.text).toContain(
      `connect-src 'self' ws://127.0.0.1:${host.port} ws://localhost:${host.port};`,
    )
    expect(body.length).toBe(Buffer.byteLength(body.text))
  })

  it('knows which pages are connected (their autosaves are not offered to another tab)', async () => {
    const { ws } = await connect(host.token)
    const page = 'page-live-0123456789'
    expect(host.isLivePage(page)).toBe(false)
    const answered = new Promise((r) => ws!.once('message', r))
    ws!.send(JSON.stringify({ id: 1, command: 'project.recovery', payload: { page } }))
    await answered
    expect(host.isLivePage(page)).toBe(true)
    const closed = new Promise((r) => ws!.once('close', r))
    ws!.close()
    await closed
    await new Promise((r) => setTimeout(r, 50))
    expect(host.isLivePage(page)).toBe(false)
  })

  it('skips live previews to a page that stops reading, and still sends it every other event in order', async () => {
    const { ws } = await connect(host.token)
    const got: string[] = []
    ws!.on('message', (data) => got.push(JSON.parse(String(data)).event))
    // the page stops reading: the host's send buffer for it fills up
    const raw = (ws as unknown as { _socket: { pause(): void; resume(): void } })._socket
    raw.pause()
    await new Promise((r) => setTimeout(r, 50))
    const previews = 60
    const rgb = 'A'.repeat(3 * 1024 * 1024) // 3 MiB each, 180 MiB in all
    for (let step = 0; step < previews; step++) {
      host.broadcast('job.preview', { id: 'j1', step, width: 1024, height: 768, rgb })
      await new Promise((r) => setImmediate(r))
    }
    host.broadcast('engine.state', {
      state: 'ready',
      pid: null,
      providers: [],
      onnxruntimeVersion: null,
      gpu: null,
      gpuReason: null,
      restarts: 0,
      lastError: null,
    })
    raw.resume()
    const deadline = Date.now() + 20_000
    while (!got.includes('engine.state') && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50))
    ws!.close()
    const shown = got.filter((e) => e === 'job.preview').length
    // the first ones until 16 MiB wait (plus what the kernel holds), none after that
    expect(shown).toBeGreaterThan(0)
    expect(shown).toBeLessThan(previews / 2)
    expect(got[got.length - 1]).toBe('engine.state')
  }, 30_000)

  it('refuses paths outside the renderer folder and a foreign Host header', async () => {
    expect((await get('/../../../etc/passwd')).status).toBe(404)
    expect((await get('/%2e%2e/%2e%2e/etc/passwd')).status).toBe(404) // URL parsing folds the dots
    expect((await get('/..%2f..%2f..%2fetc%2fpasswd')).status).toBe(403)
    expect((await get('/', { Host: 'evil.example' })).status).toBe(421)
  })

  it('refuses a WebSocket with a missing or wrong token', async () => {
    expect((await connect(null)).status).toBe(401)
    expect((await connect('wrong')).status).toBe(401)
    // one character off (a different one: the token may itself end in "x")
    const off = host.token.slice(0, -1) + (host.token.endsWith('x') ? 'y' : 'x')
    expect((await connect(off)).status).toBe(401)
  })

  it('refuses a WebSocket from another origin even with the token', async () => {
    expect((await connect(host.token, { Origin: 'https://evil.example' })).status).toBe(403)
  })

  it('answers the auth check only for the token', async () => {
    expect((await get('/auth-check', { Authorization: `Bearer ${host.token}` })).status).toBe(204)
    expect((await get('/auth-check', { Authorization: 'Bearer nope' })).status).toBe(401)
  })

  it('dispatches commands with the token and returns typed errors for bad payloads', async () => {
    const { ws } = await connect(host.token)
    expect(ws).toBeDefined()
    const ask = (msg: unknown) =>
      new Promise<{ id: number; result: { ok: boolean; error?: { code: string } } }>((resolve) => {
        ws!.once('message', (d) => resolve(JSON.parse(String(d))))
        ws!.send(JSON.stringify(msg))
      })
    const before = calls
    const ok = await ask({ id: 1, command: 'app.info', payload: {} })
    expect(ok).toMatchObject({ id: 1, result: { ok: true } })
    const bad = await ask({ id: 2, command: 'app.info', payload: { __proto__: null, x: 1 } })
    expect(bad.result.error?.code).toBe('invalid-payload')
    const unknown = await ask({ id: 3, command: 'fs.readFile', payload: {} })
    expect(unknown.result.error?.code).toBe('unknown-command')
    expect(calls).toBe(before + 1)
    ws!.close()
  })
})
