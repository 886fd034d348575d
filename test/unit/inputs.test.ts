// Dropped input images: the web host's POST /inputs door (token, Origin, size, type) and the
// store behind it (content ids, only its own ids resolve).
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDispatcher, type Handlers } from '../../src/main/services/dispatch'
import { imageProblem } from '../../src/main/engine/media/image'
import { InputError, InputStore, MAX_INPUT_BYTES, sniffImage } from '../../src/main/services/inputs'
import { startWebHost, type WebHost } from '../../src/main/web/server'
import { INPUT_IMAGE_TYPES, InputImage, type InputImageType } from '../../src/shared/render'

const images = resolve(__dirname, '../../../shared/fixtures/images')
const dir = mkdtempSync(join(tmpdir(), 'dolly-inputs-'))
const store = new InputStore(join(dir, 'inputs'))
let host: WebHost

beforeAll(async () => {
  writeFileSync(join(dir, 'index.html'), '<!doctype html><title>t</title>')
  host = await startWebHost({
    rendererDir: dir,
    dispatch: createDispatcher({} as Handlers),
    port: 0,
    inputs: store,
  })
})
afterAll(() => host.close())

function post(
  path: string,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((ok, fail) => {
    const req = request(
      { host: '127.0.0.1', port: host.port, path, method: 'POST', headers, agent: false },
      (res) => {
        let text = ''
        res.on('data', (c: Buffer) => (text += c.toString()))
        res.on('end', () =>
          ok({ status: res.statusCode ?? 0, json: text ? (JSON.parse(text) as never) : {} }),
        )
      },
    )
    req.on('error', fail)
    req.end(body)
  })
}

describe('POST /inputs', () => {
  const png = readFileSync(join(images, 'astronaut.png'))

  it('stores a PNG by content and answers its id; the same bytes give the same id', async () => {
    const a = await post(`/inputs?token=${host.token}&name=astronaut.png`, png)
    expect(a.status).toBe(200)
    expect(a.json['id']).toMatch(/^[0-9a-f]{64}\.png$/)
    expect(a.json['name']).toBe('astronaut.png')
    const b = await post(`/inputs?token=${host.token}&name=again.png`, png)
    expect(b.json['id']).toBe(a.json['id'])
    const stored = store.path(a.json['id'] as string)
    expect(readFileSync(stored).equals(png)).toBe(true)
    expect(readdirSync(join(dir, 'inputs')).filter((f) => f.endsWith('.tmp'))).toEqual([])
  })

  it('refuses without the token, from another origin, a non-image and an oversized body', async () => {
    expect((await post(`/inputs?name=a.png`, png)).status).toBe(401)
    expect(
      (await post(`/inputs?token=${host.token}`, png, { Origin: 'http://evil.example' })).status,
    ).toBe(403)
    const text = await post(`/inputs?token=${host.token}&name=notes.png`, Buffer.from('hello'))
    expect(text.status).toBe(415)
    expect(text.json['error']).toMatch(/notes\.png: not an image this studio reads; expected PNG/)
    const big = await post(`/inputs?token=${host.token}&name=big.png`, Buffer.alloc(8), {
      'Content-Length': String(MAX_INPUT_BYTES + 1),
    }).catch(() => ({ status: 413, json: {} }))
    expect(big.status).toBe(413)
    const empty = await post(`/inputs?token=${host.token}&name=empty.png`, Buffer.alloc(0))
    expect(empty.status).toBe(400)
    expect(empty.json['error']).toMatch(/empty\.png: the file is empty/)
  })
})

function get(path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port: host.port, path, agent: false }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => ok({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }))
    })
    req.on('error', fail)
    req.end()
  })
}

describe('GET /inputs/<id>', () => {
  it('serves a stored image with the token, and nothing else', async () => {
    const jpg = readFileSync(join(images, 'rocket.jpg'))
    const { id } = await store.add(jpg, 'rocket.jpg')
    const r = await get(`/inputs/${id}?token=${host.token}`)
    expect(r.status).toBe(200)
    expect(r.body.equals(jpg)).toBe(true)
    expect((await get(`/inputs/${id}`)).status).toBe(401)
    expect((await get(`/inputs/..%2F..%2Fetc%2Fpasswd?token=${host.token}`)).status).toBe(404)
    expect((await get(`/inputs/${'b'.repeat(64)}.png?token=${host.token}`)).status).toBe(404)
  })
})

describe('InputStore', () => {
  it('knows the fixture formats by their bytes', () => {
    expect(sniffImage(readFileSync(join(images, 'rocket.jpg')))).toBe('jpg')
    expect(sniffImage(readFileSync(join(images, 'coffee.png')))).toBe('png')
    expect(sniffImage(Buffer.from('GIF89a......'))).toBeNull()
  })

  it('resolves only ids it made: no paths, no other names', () => {
    expect(() => store.path('../../etc/passwd')).toThrow(/is not one the studio made/)
    expect(() => store.path('a'.repeat(64) + '.png')).toThrow(/no longer in the studio’s inputs/)
  })
})

describe('the drop reads the image as the render will (the engine reader checks it)', () => {
  const checked = new InputStore(join(dir, 'checked'), imageProblem)
  it('takes an image that reads; refuses a cut-short one at the drop, naming it, storing nothing', async () => {
    const png = readFileSync(join(images, 'chelsea.png'))
    expect((await checked.add(png, 'cat.png')).id).toMatch(/\.png$/)
    // the PNG signature and header are there (the first bytes pass), the rest is gone
    const cut = png.subarray(0, 64)
    const err = await checked.add(cut, 'cut.png').then(
      () => null,
      (e: unknown) => e,
    )
    expect(err).toBeInstanceOf(InputError)
    expect((err as InputError).message).toBe(
      'cut.png: not an image ffmpeg can read (damaged or cut short?)',
    )
    expect(readdirSync(join(dir, 'checked'))).toHaveLength(1)
  })

  it('checks without holding the event loop: timers run while ffmpeg reads the drop', async () => {
    // the host serves the studio's socket and the render's progress from this loop; the probe
    // used to be spawnSync, so nothing else ran until ffmpeg had answered
    const jpg = readFileSync(join(images, 'rocket.jpg'))
    let ticks = 0
    let during = -1
    const timer = setInterval(() => ticks++, 1)
    // the ticks while the check itself runs (not while the file is written)
    const counted = async (path: string) => {
      const before = ticks
      const problem = await imageProblem(path)
      during = ticks - before
      return problem
    }
    try {
      const stored = await new InputStore(join(dir, 'loop'), counted).add(jpg, 'rocket.jpg')
      expect(stored.id).toMatch(/\.jpg$/)
    } finally {
      clearInterval(timer)
    }
    expect(during).toBeGreaterThan(0)
  })
})

// what main stores and what a project or render may name are the same set of types
// (shared/render.ts INPUT_IMAGE_TYPES): an id the store makes always passes the contract
describe('stored ids and the contract', () => {
  it('every type the store sniffs makes an id InputImage accepts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'dolly-input-ids-'))
    const store = new InputStore(dir)
    const heads: Record<InputImageType, number[]> = {
      png: [0x89, ...Buffer.from('PNG\r\n\x1a\n')],
      jpg: [0xff, 0xd8, 0xff, 0xe0],
      webp: [...Buffer.from('RIFF\0\0\0\0WEBP')],
      bmp: [...Buffer.from('BM'), ...Array<number>(12).fill(0)],
      tif: [...Buffer.from('II*\0')],
    }
    expect(Object.keys(heads).sort()).toEqual([...INPUT_IMAGE_TYPES].sort())
    for (const [type, head] of Object.entries(heads)) {
      const bytes = Uint8Array.from([...head, ...Array<number>(32).fill(1)])
      expect(sniffImage(bytes), type).toBe(type)
      const id = (await store.add(bytes, type)).id
      expect(store.path(id)).toBe(join(dir, id))
      expect(InputImage.safeParse({ id, name: 'x', fit: 'crop' }).success, id).toBe(true)
    }
  })
})
