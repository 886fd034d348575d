// Malformed WebSocket frames and payloads against the real web host (out/main/serve.js in its
// own process): raw bytes after a real upgrade with the token. Each one must close or refuse
// only that connection, with the protocol's code or a message, and the host must keep serving.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { MAX_PROJECT_BYTES } from '../../../src/shared/contract'
import { serializeProject } from '../../../src/shared/project'
import { project } from './fixtures'
import { hostMissing, removeDirs, startHost, type Host } from './host'
import { ask, frame, openRaw, text } from './raw-ws'
import { Tally, type Outcome } from './tally'

const tally = new Tally('websocket')
let host: Host
beforeAll(async () => {
  if (!hostMissing) host = await startHost()
})
afterAll(async () => {
  tally.report(hostMissing)
  if (host) {
    await host.stop()
    removeDirs(host)
  }
})

/** The host still answers a command on a new connection. */
async function serving(): Promise<boolean> {
  if (!host.alive()) return false
  const r = await host.call('app.info', {}, 5000).catch(() => null)
  return r?.ok === true
}

const within = <T>(p: Promise<T>, ms: number) =>
  Promise.race([p, new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), ms))])

/** Sends raw bytes, then says how the connection ended and whether the host survived. */
async function trial(name: string, bytes: Buffer, expectCode: number): Promise<Outcome> {
  const raw = await openRaw(host.port, host.token)
  raw.write(bytes)
  const closed = await within(raw.closed, 10_000)
  raw.socket.destroy()
  let outcome: Outcome
  if (!(await serving())) outcome = 'crash'
  else if (closed === 'timeout') outcome = 'stuck'
  else if (closed.code === expectCode) outcome = 'clear-error'
  else outcome = 'ok'
  return tally.record(name, outcome, closed === 'timeout' ? 'no close' : `close ${closed.code}`)
}

const big = 2 * MAX_PROJECT_BYTES + 1

describe.skipIf(hostMissing)(
  'WebSocket protocol violations end one connection, not the host',
  () => {
    const cases: [string, () => Buffer, number][] = [
      ['a frame over the size limit', () => text('x', { declaredLength: big }), 1009],
      [
        'invalid UTF-8 in a text frame',
        () => frame(0x1, Buffer.from([0x7b, 0xff, 0xfe, 0x7d])),
        1007,
      ],
      ['an unmasked client frame', () => text('{}', { mask: false }), 1002],
      ['RSV1 without an extension', () => text('{}', { rsv1: true }), 1002],
      ['a close frame with an invalid code', () => frame(0x8, Buffer.from([0x03, 0xe7])), 1002],
      ['a close frame with a one-byte body', () => frame(0x8, Buffer.from([0x03])), 1002],
      ['an unknown opcode', () => frame(0x3, Buffer.from('x')), 1002],
      ['a ping over 125 bytes', () => frame(0x9, Buffer.alloc(126, 1)), 1002],
      ['a fragmented ping', () => frame(0x9, Buffer.from('x'), { fin: false }), 1002],
      ['a continuation with nothing to continue', () => frame(0x0, Buffer.from('x')), 1002],
      [
        'a new text frame inside a fragmented one',
        () => Buffer.concat([text('{"id"', { fin: false }), text('{}')]),
        1002,
      ],
    ]
    for (const [name, bytes, code] of cases) {
      it(name, async () => {
        expect(await trial(name, bytes(), code)).toBe('clear-error')
      })
    }

    it('a connection reset in the middle of a frame', async () => {
      const raw = await openRaw(host.port, host.token)
      raw.write(text('x'.repeat(1000)).subarray(0, 500))
      raw.socket.resetAndDestroy()
      expect(tally.record('reset mid-frame', (await serving()) ? 'ok' : 'crash')).toBe('ok')
    })

    it('a handshake that resets before the answer', async () => {
      const { connect } = await import('node:net')
      await new Promise<void>((done) => {
        const s = connect(host.port, '127.0.0.1', () => {
          s.write(
            `GET /ws?token=${host.token} HTTP/1.1\r\nHost: 127.0.0.1:${host.port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
          )
          s.resetAndDestroy()
          done()
        })
        s.on('error', () => done())
      })
      expect(tally.record('reset during the handshake', (await serving()) ? 'ok' : 'crash')).toBe(
        'ok',
      )
    })
  },
)

describe.skipIf(hostMissing)('malformed messages get a close code or a typed error', () => {
  const closes: [string, () => Buffer, number][] = [
    ['a binary frame', () => frame(0x2, Buffer.from('{}')), 1003],
    ['text that is not JSON', () => text('{"id": 1,'), 1007],
    ['a message without an id', () => text('{"command":"app.info"}'), 1008],
    ['JSON that is not an object', () => text('[1,2,3]'), 1008],
  ]
  for (const [name, bytes, code] of closes)
    it(name, async () => {
      expect(await trial(name, bytes(), code)).toBe('clear-error')
    })

  const refused: [string, string, unknown][] = [
    ['an unknown command', 'fs.readFile', {}],
    ['a prototype-pollution key', 'app.info', JSON.parse('{"__proto__": {"x": 1}}')],
    ['a payload nested too deep', 'app.info', JSON.parse('['.repeat(40) + ']'.repeat(40))],
    ['a string over the limit', 'project.open', { name: 'x'.repeat(5000) }],
    ['a wrong type', 'jobs.cancel', { id: 42 }],
    ['extra keys', 'engine.status', { extra: true }],
    ['a project that is not a project', 'project.autosave', { doc: { shots: [] }, name: null }],
  ]
  for (const [name, command, payload] of refused)
    it(name, async () => {
      const raw = await openRaw(host.port, host.token)
      const r = await within(ask(raw, 7, command, payload), 10_000)
      raw.socket.destroy()
      const clear =
        r !== 'timeout' &&
        !r.ok &&
        /invalid-payload|unknown-command/.test(r.error!.code) &&
        r.error!.message.length > 10
      const outcome: Outcome = !(await serving())
        ? 'crash'
        : r === 'timeout'
          ? 'stuck'
          : clear
            ? 'clear-error'
            : 'ok'
      expect(
        tally.record(name, outcome, r === 'timeout' ? '' : JSON.stringify(r).slice(0, 200)),
      ).toBe('clear-error')
    })
})

describe.skipIf(hostMissing)('large projects over the WebSocket', () => {
  it('autosaves a 1.1 MB project (many shots, long prompts), and again after recovery', async () => {
    const doc = project(140, 4000)
    expect(JSON.stringify(doc).length).toBeGreaterThan(1_100_000)
    const raw = await openRaw(host.port, host.token)
    const first = await ask(raw, 1, 'project.autosave', { doc, name: null })
    // what an earlier session (that crashed) autosaved is what the banner offers
    mkdirSync(join(host.dirs.state, 'recovery'), { recursive: true })
    writeFileSync(
      join(host.dirs.state, 'recovery', '1-1-1.dolly'),
      JSON.stringify({ name: null, savedAt: 1, project: serializeProject(doc) }),
    )
    const recovered = await ask(raw, 2, 'project.recovery', {})
    const again = await ask(raw, 3, 'project.autosave', {
      doc: (recovered.value as { doc: unknown }).doc,
      name: null,
    })
    raw.socket.destroy()
    const ok = first.ok && recovered.ok && again.ok
    const outcome = !(await serving()) ? 'crash' : ok ? 'ok' : 'lost'
    expect(
      tally.record('1.1 MB project autosave', outcome, JSON.stringify(first).slice(0, 200)),
    ).toBe('ok')
    expect((recovered.value as { doc: unknown }).doc).toEqual(doc)
  })

  it('refuses a project over the limit with its size and the limit, and keeps the connection', async () => {
    // 500 shots of two 4000-character prompts and 48 keyframes: over 8 MiB, under the frame limit
    const doc = project(500, 4000, 48)
    const bytes = Buffer.byteLength(JSON.stringify(doc))
    expect(bytes).toBeGreaterThan(MAX_PROJECT_BYTES)
    const raw = await openRaw(host.port, host.token)
    const r = await ask(raw, 1, 'project.save', { name: 'Big', doc })
    const small = await ask(raw, 2, 'project.save', { name: 'Small', doc: project(2) })
    raw.socket.destroy()
    const clear =
      !r.ok &&
      /the project is \d+\.\d MiB; projects up to 8\.0 MiB can be saved/.test(r.error!.message)
    const outcome = !(await serving()) ? 'crash' : clear && small.ok ? 'clear-error' : 'lost'
    expect(tally.record('oversized project save', outcome, r.error?.message)).toBe('clear-error')
  })
})
