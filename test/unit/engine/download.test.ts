// Downloading a model from a hub-like server on 127.0.0.1 (built from the tiny fixture
// models): resume after a dropped connection, sha256 rejection, cancel, disk check.
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { downloadModel, openModelFolder } from '../../../src/main/engine'
import { writeAnimateDiffFolder } from '../../fixtures/model-folders'
import { missing, sharedPath } from './reference'

const clipTok = sharedPath('fixtures/tokenizers/clip')
const tmp = mkdtempSync(join(tmpdir(), 'dolly-dl-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  )
}

type Behaviour = { dropOnce?: Set<string>; corrupt?: Set<string>; slow?: boolean }

let server: Server
let endpoint = ''
let behaviour: Behaviour = {}
const requests: { path: string; range: string | undefined }[] = []
const src = join(tmp, 'hub', 'tiny-animatediff')

beforeAll(async () => {
  if (missing(clipTok)) return
  writeAnimateDiffFolder(src, { tokenizerFrom: clipTok, cameraPoses: true })
  const files = walk(src).map((p) => relative(src, p).split('\\').join('/'))
  const data = new Map(files.map((f) => [f, readFileSync(join(src, f))]))
  // LFS for .onnx files (sha256), git blob ids for the rest, as the hub reports them
  const tree = files.map((f) => {
    const b = data.get(f)!
    return f.endsWith('.onnx')
      ? {
          type: 'file',
          path: f,
          size: b.length,
          oid: 'x',
          lfs: {
            oid: createHash('sha256').update(b).digest('hex'),
            size: b.length,
            pointerSize: 130,
          },
        }
      : {
          type: 'file',
          path: f,
          size: b.length,
          oid: createHash('sha1')
            .update(Buffer.concat([Buffer.from(`blob ${b.length}\0`), b]))
            .digest('hex'),
        }
  })
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x')
    requests.push({ path: url.pathname, range: req.headers.range })
    if (url.pathname === '/api/models/dolly/tiny-animatediff/tree/main') {
      res
        .writeHead(200, { 'Content-Type': 'application/json' })
        .end(JSON.stringify([{ type: 'directory', path: 'unet' }, ...tree]))
      return
    }
    // the hub pages long listings with a Link header; this one comes in two pages
    if (url.pathname === '/api/models/dolly/tiny-paged/tree/main') {
      const half = Math.ceil(tree.length / 2)
      const second = url.searchParams.get('cursor') === '2'
      res.writeHead(200, {
        'Content-Type': 'application/json',
        ...(second
          ? {}
          : {
              Link: `<${endpoint}/api/models/dolly/tiny-paged/tree/main?recursive=true&cursor=2>; rel="next"`,
            }),
      })
      res.end(JSON.stringify(second ? tree.slice(half) : tree.slice(0, half)))
      return
    }
    // a diffusers repository of PyTorch weights, as the hub lists stabilityai's or THUDM's
    const torchOnly = /^\/api\/models\/(dolly\/torch-only|THUDM\/CogVideoX-2b)\/tree\/main$/.exec(
      url.pathname,
    )
    if (torchOnly) {
      const lfs = (path: string, size: number) => ({
        type: 'file',
        path,
        size,
        oid: 'x',
        lfs: { oid: 'a'.repeat(64), size, pointerSize: 133 },
      })
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(
        JSON.stringify([
          { type: 'file', path: 'model_index.json', size: 420, oid: 'b'.repeat(40) },
          { type: 'directory', path: 'transformer' },
          lfs('transformer/diffusion_pytorch_model.safetensors', 3_300_000_000),
          lfs('vae/diffusion_pytorch_model.safetensors', 431_000_000),
          lfs('text_encoder/model-00001-of-00002.safetensors', 4_990_000_000),
          {
            type: 'file',
            path: 'scheduler/scheduler_config.json',
            size: 300,
            oid: 'c'.repeat(40),
          },
        ]),
      )
      return
    }
    const m = /^\/dolly\/tiny-(?:animatediff|paged)\/resolve\/main\/(.+)$/.exec(url.pathname)
    const file = m ? decodeURIComponent(m[1]!) : ''
    let body = data.get(file)
    if (!body) return void res.writeHead(404).end()
    if (behaviour.corrupt?.has(file))
      body = Buffer.concat([
        body.subarray(0, body.length - 1),
        Buffer.from([body[body.length - 1]! ^ 1]),
      ])
    let start = 0
    const r = /^bytes=(\d+)-$/.exec(req.headers.range ?? '')
    if (r) start = Number(r[1])
    const part = body.subarray(start)
    res.writeHead(start ? 206 : 200, {
      'Content-Length': part.length,
      ...(start ? { 'Content-Range': `bytes ${start}-${body.length - 1}/${body.length}` } : {}),
    })
    if (behaviour.dropOnce?.has(file) && !start) {
      behaviour.dropOnce.delete(file)
      res.write(part.subarray(0, Math.floor(part.length / 2)))
      setTimeout(() => res.socket?.destroy(), 20) // the connection drops mid-file
      return
    }
    if (behaviour.slow) {
      let o = 0
      const t = setInterval(() => {
        if (res.destroyed) return clearInterval(t)
        res.write(part.subarray(o, o + 512))
        o += 512
        if (o >= part.length) {
          clearInterval(t)
          res.end()
        }
      }, 10)
      return
    }
    res.end(part)
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const addr = server.address() as { port: number }
  endpoint = `http://127.0.0.1:${addr.port}`
})
afterAll(() => server?.close())

describe.skipIf(missing(clipTok))('downloading a model from a hub', () => {
  it('downloads every file, resumes a dropped connection with a Range request, and the engine opens it', async () => {
    const unet = 'unet/model.onnx'
    behaviour = { dropOnce: new Set([unet]) }
    const models = join(tmp, 'models1')
    const seen: number[] = []
    const out = await downloadModel({
      repo: 'dolly/tiny-animatediff',
      modelsDir: models,
      endpoint,
      onProgress: (p) => seen.push(p.bytes),
    })
    expect(out).toBe(join(models, 'dolly--tiny-animatediff'))
    const m = openModelFolder(out)
    expect(m.camera).toBe('motionctrl-rt')
    for (const f of walk(src))
      expect(readFileSync(join(out, relative(src, f))).equals(readFileSync(f)), f).toBe(true)
    const unetRequests = requests.filter((r) => r.path.endsWith(unet))
    expect(unetRequests.length).toBe(2)
    expect(unetRequests[1]!.range).toMatch(/^bytes=\d+-$/)
    expect(Number(/\d+/.exec(unetRequests[1]!.range!)![0])).toBeGreaterThan(0)
    expect(seen.at(-1)).toBe(walk(src).reduce((a, f) => a + statSync(f).size, 0))
    expect(readdirSync(models)).toEqual(['dolly--tiny-animatediff'])
  })

  it('rejects a file whose sha256 does not match and leaves nothing behind', async () => {
    behaviour = { corrupt: new Set(['vae_decoder/model.onnx']) }
    const models = join(tmp, 'models2')
    await expect(
      downloadModel({ repo: 'dolly/tiny-animatediff', modelsDir: models, endpoint }),
    ).rejects.toThrow(
      /vae_decoder\/model\.onnx: sha256 [0-9a-f]{64} does not match the hub's [0-9a-f]{64}/,
    )
    expect(readdirSync(models)).toEqual([])
  })

  it('a cancel mid-download leaves nothing in the models directory', async () => {
    behaviour = { slow: true }
    const models = join(tmp, 'models3')
    const ac = new AbortController()
    const run = downloadModel({
      repo: 'dolly/tiny-animatediff',
      modelsDir: models,
      endpoint,
      signal: ac.signal,
      onProgress: (p) => p.bytes > 2000 && ac.abort(),
    })
    await expect(run).rejects.toThrow(/cancelled/)
    expect(readdirSync(models)).toEqual([])
  })

  it('refuses what is not a model repository, and unknown repositories, clearly', async () => {
    behaviour = {}
    await expect(
      downloadModel({ repo: 'dolly/nothing-here', modelsDir: join(tmp, 'models4'), endpoint }),
    ).rejects.toThrow(/dolly\/nothing-here: no such repository or revision/)
    await expect(
      downloadModel({ repo: '../../etc', modelsDir: join(tmp, 'models4'), endpoint }),
    ).rejects.toThrow(/is not a repository id/)
    expect(readdirSync(join(tmp, 'models4'))).toEqual([])
  })

  it('refuses a PyTorch-only repository from its file list alone, with the conversion to run', async () => {
    behaviour = {}
    const models = join(tmp, 'models6')
    requests.length = 0
    await expect(
      downloadModel({ repo: 'dolly/torch-only', modelsDir: models, endpoint }),
    ).rejects.toThrow(
      /dolly\/torch-only: a PyTorch-only repository \(3 weight files such as transformer\/diffusion_pytorch_model\.safetensors, no model\.onnx\).*nothing was downloaded.*export_model\.py KIND --base dolly\/torch-only --out models\/dolly--torch-only/,
    )
    // a checkpoint the catalog knows gets its exact command
    await expect(
      downloadModel({ repo: 'THUDM/CogVideoX-2b', modelsDir: models, endpoint }),
    ).rejects.toThrow(
      /THUDM\/CogVideoX-2b: a PyTorch-only repository.*export_model\.py cogvideox --base THUDM\/CogVideoX-2b .*--out models\/THUDM--CogVideoX-2b/,
    )
    // only the listings were asked for: not one file, and nothing on disk
    expect(requests.map((r) => r.path)).toEqual([
      '/api/models/dolly/torch-only/tree/main',
      '/api/models/THUDM/CogVideoX-2b/tree/main',
    ])
    expect(readdirSync(models)).toEqual([])
  })

  it('reads a file list the hub sends in pages', async () => {
    behaviour = {}
    const out = await downloadModel({
      repo: 'dolly/tiny-paged',
      modelsDir: join(tmp, 'models7'),
      endpoint,
    })
    for (const f of walk(src))
      expect(readFileSync(join(out, relative(src, f))).equals(readFileSync(f)), f).toBe(true)
    expect(openModelFolder(out).pipeline).toBe('animatediff')
  })

  it('honours HF_ENDPOINT', async () => {
    behaviour = {}
    const before = process.env['HF_ENDPOINT']
    process.env['HF_ENDPOINT'] = endpoint
    try {
      const out = await downloadModel({
        repo: 'dolly/tiny-animatediff',
        modelsDir: join(tmp, 'models5'),
      })
      expect(openModelFolder(out).pipeline).toBe('animatediff')
    } finally {
      if (before === undefined) delete process.env['HF_ENDPOINT']
      else process.env['HF_ENDPOINT'] = before
    }
  })
})
