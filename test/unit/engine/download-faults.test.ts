// Downloads against a misbehaving hub on 127.0.0.1: a redirect loop is cut off after a few
// redirects (one made 28,523 requests in 10 s), a hub that never answers (or stops mid-file)
// ends the download with a message instead of leaving it running for good, and repositories
// of one name from different owners land in different folders (they mixed their files), and a
// listing with a file name that would escape the folder or not be one file on every disk is
// refused before a byte is fetched (good files were downloaded before a bad name was seen). A
// token goes to the hub's origin only (a listing's next page elsewhere got it too), and a gated
// repository's refusal says whether one was sent and how to set it (HF_TOKEN).
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { createServer, get, type Server } from 'node:http'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { downloadModel, MAX_REDIRECTS } from '../../../src/main/engine/models/download'
import {
  ModelDownloads,
  ModelRegistry,
  type DownloadEvent,
} from '../../../src/main/services/model-registry'
import { writeAnimateDiffFolder } from '../../fixtures/model-folders'
import { missing, sharedPath } from './reference'

const clipTok = sharedPath('fixtures/tokenizers/clip')
const tmp = mkdtempSync(join(tmpdir(), 'dolly-dl-faults-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  )
}

let server: Server
let endpoint = ''
const hits = new Map<string, number>()
const held: { destroy(): void }[] = []

/** Listings of repositories `bad/<i>`: the good files, then one of these names. */
const BAD_NAMES: [string, RegExp][] = [
  ['unet/../../../../escape.txt', /a "\.\." segment/],
  ['/etc/passwd', /an absolute path/],
  ['unet\\model.onnx', /a backslash/],
  ['unet/model.onnx:hidden', /a ":"/],
  ['unet/a\u0007b.txt', /a control character/],
  ['unet/CON', /"CON" is a name Windows reserves/],
  ['nul.txt', /"nul" is a name Windows reserves/],
  ['scheduler/Com1.json', /"Com1" is a name Windows reserves/],
  ['LPT9', /"LPT9" is a name Windows reserves/],
  ['unet/name.', /ends in a dot or a space/],
  ['unet /x.txt', /ends in a dot or a space/],
  ['unet//x.txt', /an empty segment/],
  ['MODEL_INDEX.json', /and "model_index\.json" differ only in letter case/],
  ['UNet/extra.txt', /"UNet" and "unet" differ only in letter case/],
  ['model_index.json/x', /both a file and a folder/],
]

beforeAll(async () => {
  if (missing(clipTok)) return
  const src = join(tmp, 'hub', 'tiny')
  writeAnimateDiffFolder(src, { tokenizerFrom: clipTok, cameraPoses: true })
  const base = new Map(walk(src).map((p) => [relative(src, p), readFileSync(p)]))
  // each owner's copy has a file of its own, so mixed folders show
  const filesOf = (owner: string) => new Map([...base, [`${owner}.txt`, Buffer.from(owner)]])
  const tree = (files: Map<string, Buffer>) =>
    [...files].map(([path, b]) => ({
      type: 'file',
      path,
      size: b.length,
      oid: createHash('sha1')
        .update(Buffer.concat([Buffer.from(`blob ${b.length}\0`), b]))
        .digest('hex'),
    }))
  // gated/*: only the token hf_good may read (the listing too for gated/list, as for a
  // private repository; gated/files' listing is public, as a gated repository's is)
  const refused = (req: { headers: Record<string, unknown> }) =>
    !req.headers['authorization'] ? 401 : req.headers['authorization'] !== 'Bearer hf_good' && 403
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x')
    const path = url.pathname
    hits.set(path, (hits.get(path) ?? 0) + 1)
    let m = /^\/api\/models\/([^/]+)\/([^/]+)\/tree\/main$/.exec(path)
    if (m?.[1] === 'gated' && m[2] === 'list' && refused(req))
      return void res.writeHead(refused(req) as number).end('{"error":"gated"}')
    // a listing in two pages, the second on another origin (the CDN passes it on to the hub)
    if (m?.[2] === 'paged') {
      const all = tree(filesOf(m[1]!))
      const half = all.length >> 1
      if (url.searchParams.get('cursor') === '2')
        return void res.writeHead(200).end(JSON.stringify(all.slice(half)))
      return void res
        .writeHead(200, { Link: `<${cdn}${path}?recursive=true&cursor=2>; rel="next"` })
        .end(JSON.stringify(all.slice(0, half)))
    }
    if (m?.[1] === 'bad') {
      const bad = { type: 'file', path: BAD_NAMES[Number(m[2])]![0], size: 4 }
      return void res.writeHead(200).end(JSON.stringify([...tree(base), bad]))
    }
    if (m) {
      const [, owner, name] = m
      if (name === 'loop') return void res.writeHead(302, { Location: path }).end()
      if (name === 'silent') return void held.push(res.socket!) // accepts, never answers
      return void res.writeHead(200).end(JSON.stringify(tree(filesOf(owner!))))
    }
    m = /^\/([^/]+)\/([^/]+)\/resolve\/main\/(.+)$/.exec(path)
    if (!m) return void res.writeHead(404).end()
    const [, owner, name, file] = m
    const body = filesOf(owner!).get(decodeURIComponent(file!))
    if (!body) return void res.writeHead(404).end()
    if (owner === 'gated' && refused(req)) return void res.writeHead(refused(req) as number).end()
    // a CDN that refuses its signed address (expired): not the hub's refusal, so tried again
    if (name === 'expired')
      return void res.writeHead(302, { Location: `${cdn}/expired/${file}` }).end()
    // the hub hands files to a CDN on another origin (as huggingface.co does for LFS files)
    if (name === 'cdn')
      return void res
        .writeHead(302, { Location: `${cdn}/${owner}/tiny/resolve/main/${file}` })
        .end()
    if (name === 'fileloop' && file === 'model_index.json')
      return void res
        .writeHead(301, { Location: `/${owner}/${name}/resolve/main/${file}?again` })
        .end()
    if (name === 'stalls' && file === 'model_index.json') {
      res.writeHead(200, { 'Content-Length': body.length })
      res.write(body.subarray(0, 10)) // then nothing, and the connection stays open
      held.push(res.socket!)
      return
    }
    // a slow start for alice, so the two downloads of "tiny" overlap
    setTimeout(
      () => res.writeHead(200, { 'Content-Length': body.length }).end(body),
      owner === 'alice' ? 5 : 0,
    )
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`
  // the CDN: serves what the hub has, and notes whether a token reached it
  cdnServer = createServer((req, res) => {
    cdnAuth.push(req.headers['authorization'] ?? null)
    if (req.url!.startsWith('/expired/')) return void res.writeHead(403).end()
    get(`${endpoint}${req.url}`, (up) => {
      res.writeHead(up.statusCode ?? 502, up.headers)
      up.pipe(res)
    })
  })
  await new Promise<void>((r) => cdnServer.listen(0, '127.0.0.1', r))
  cdn = `http://127.0.0.1:${(cdnServer.address() as { port: number }).port}`
})
let cdnServer: Server
let cdn = ''
const cdnAuth: (string | null)[] = []
afterAll(() => {
  for (const s of held) s.destroy()
  server?.close()
  cdnServer?.close()
})

describe.skipIf(missing(clipTok))('a token stays with the hub', () => {
  it('a redirect to another origin (a CDN) gets no Authorization header; the hub does', async () => {
    const hubAuth: (string | null)[] = []
    const count = (req: { headers: Record<string, unknown> }) =>
      hubAuth.push((req.headers['authorization'] as string | undefined) ?? null)
    server.prependListener('request', count)
    try {
      const dir = await downloadModel({
        repo: 'bob/cdn',
        modelsDir: join(tmp, 'm-cdn'),
        endpoint,
        token: 'hf_secret',
      })
      expect(readdirSync(dir)).toContain('model_index.json')
    } finally {
      server.removeListener('request', count)
    }
    expect(cdnAuth.length).toBeGreaterThan(3)
    expect(cdnAuth.every((a) => a === null)).toBe(true)
    // the hub's own requests (listing, the redirecting file URLs) carry it
    expect(hubAuth.filter((a) => a === 'Bearer hf_secret').length).toBeGreaterThan(3)
  })
})

describe.skipIf(missing(clipTok))('a token stays with the hub', () => {
  it("a listing's next page on another origin gets no Authorization header", async () => {
    const hubAuth: string[] = []
    const count = (req: { url?: string; headers: Record<string, unknown> }) =>
      hubAuth.push(`${req.url} ${req.headers['authorization'] ?? 'none'}`)
    server.prependListener('request', count)
    cdnAuth.length = 0
    try {
      const dir = await downloadModel({
        repo: 'bob/paged',
        modelsDir: join(tmp, 'm-paged'),
        endpoint,
        token: 'hf_secret',
      })
      expect(readdirSync(dir)).toContain('bob.txt') // from the second page
    } finally {
      server.removeListener('request', count)
    }
    expect(cdnAuth).toEqual([null]) // the second page, through the other origin
    expect(hubAuth).toContain(
      '/api/models/bob/paged/tree/main?recursive=true&expand=false Bearer hf_secret',
    )
  })
})

describe.skipIf(missing(clipTok))('a gated or private repository', () => {
  it('says when no token was sent, and how to set one', async () => {
    const models = join(tmp, 'm-gated1')
    await expect(
      downloadModel({ repo: 'gated/list', modelsDir: models, endpoint }),
    ).rejects.toThrow(
      /^gated\/list: access denied \(401\) to the file list; the repository may be gated or private\. No token was sent: set HF_TOKEN to a Hugging Face access token/,
    )
    // a gated file (its listing is public): at once, not after retries, and nothing left
    const before = [...hits].filter(([p]) => p.startsWith('/gated/files/resolve/')).length
    await expect(
      downloadModel({ repo: 'gated/files', modelsDir: models, endpoint, retries: 3 }),
    ).rejects.toThrow(
      /^gated\/files: access denied \(401\) to [^;]+; .*No token was sent: set HF_TOKEN/,
    )
    expect([...hits].filter(([p]) => p.startsWith('/gated/files/resolve/'))).toHaveLength(
      before + 1,
    )
    expect(readdirSync(models)).toEqual([])
  })

  it('says that a token was sent, and where it came from, when the hub refuses it', async () => {
    const models = join(tmp, 'm-gated2')
    const o = { modelsDir: models, endpoint, token: 'hf_wrong', tokenFrom: 'HF_TOKEN' }
    await expect(downloadModel({ ...o, repo: 'gated/list' })).rejects.toThrow(
      /^gated\/list: access denied \(403\) to the file list; .*A token was sent \(from HF_TOKEN\) and the hub refused it/,
    )
    await expect(downloadModel({ ...o, repo: 'gated/files', retries: 3 })).rejects.toThrow(
      /^gated\/files: access denied \(403\) to [^;]+; .*A token was sent \(from HF_TOKEN\)/,
    )
    const dir = await downloadModel({ ...o, repo: 'gated/list', token: 'hf_good' })
    expect(readdirSync(dir)).toContain('gated.txt')
  })

  it("a CDN's refusal is not the hub's: tried again, and not blamed on the token", async () => {
    await expect(
      downloadModel({
        repo: 'bob/expired',
        modelsDir: join(tmp, 'm-expired'),
        endpoint,
        token: 'hf_good',
        retries: 1,
      }),
    ).rejects.toThrow(/: the server answered 403 \(gave up after 2 tries\)$/)
  })

  it('the model manager sends the token it is given (compose.ts reads HF_TOKEN)', async () => {
    const models = join(tmp, 'm-gated3')
    let last: DownloadEvent | null = null
    const downloads = new ModelDownloads(
      new ModelRegistry(join(tmp, 'state'), [], () => null),
      models,
      (e) => (last = e),
      { endpoint, hubToken: () => ({ token: 'hf_good', from: 'HF_TOKEN' }) },
    )
    downloads.start('gated/files', 'main')
    const t0 = Date.now()
    while ((last as DownloadEvent | null)?.state === 'running' && Date.now() - t0 < 20_000)
      await new Promise((r) => setTimeout(r, 20))
    expect(last).toMatchObject({ state: 'done', message: 'added gated--files' })
  })
})

describe.skipIf(missing(clipTok))('a misbehaving hub', () => {
  it('stops a redirect loop on the file list after a few redirects, saying so', async () => {
    const t0 = Date.now()
    await expect(
      downloadModel({ repo: 'dolly/loop', modelsDir: join(tmp, 'm1'), endpoint }),
    ).rejects.toThrow(new RegExp(`more than ${MAX_REDIRECTS} redirects \\(a redirect loop\\?\\)`))
    expect(hits.get('/api/models/dolly/loop/tree/main')).toBe(MAX_REDIRECTS + 1)
    expect(Date.now() - t0).toBeLessThan(5000)
  })

  it('stops a redirect loop on a file at once (no retries) and leaves nothing', async () => {
    const models = join(tmp, 'm2')
    await expect(
      downloadModel({ repo: 'dolly/fileloop', modelsDir: models, endpoint }),
    ).rejects.toThrow(/more than 10 redirects/)
    expect(hits.get('/dolly/fileloop/resolve/main/model_index.json')).toBe(MAX_REDIRECTS + 1)
    expect(readdirSync(models)).toEqual([])
  })

  it('gives up on a hub that accepts the connection and never answers', async () => {
    await expect(
      downloadModel({
        repo: 'dolly/silent',
        modelsDir: join(tmp, 'm3'),
        endpoint,
        stallTimeoutMs: 300,
      }),
    ).rejects.toThrow(
      /127\.0\.0\.1:\d+ sent nothing for 300 ms; the download stopped \(the hub or the network stalled\)/,
    )
  })

  it('a hub that cannot be reached says so in words, with what to do (not a raw ECONNREFUSED)', async () => {
    // a port nothing listens on: the offline case's answer, without the network
    const closed = await new Promise<number>((r) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const port = (s.address() as { port: number }).port
        s.close(() => r(port))
      })
    })
    await expect(
      downloadModel({
        repo: 'dolly/tiny',
        modelsDir: join(tmp, 'm-offline'),
        endpoint: `http://127.0.0.1:${closed}`,
      }),
    ).rejects.toThrow(
      `127.0.0.1:${closed} cannot be reached (ECONNREFUSED): check the internet connection, or set HF_ENDPOINT to a mirror you can reach`,
    )
  })

  it('gives up on a file that stops mid-way, after its retries, and leaves nothing', async () => {
    const models = join(tmp, 'm4')
    await expect(
      downloadModel({
        repo: 'dolly/stalls',
        modelsDir: models,
        endpoint,
        stallTimeoutMs: 300,
        retries: 1,
      }),
    ).rejects.toThrow(
      /^model_index\.json: 127\.0\.0\.1:\d+ sent nothing for 300 ms; .* \(gave up after 2 tries\)$/,
    )
    expect(readdirSync(models)).toEqual([])
  })

  it('keeps two repositories of one name from different owners apart, even at once', async () => {
    const models = join(tmp, 'm5')
    const [a, b] = await Promise.all([
      downloadModel({ repo: 'alice/tiny', modelsDir: models, endpoint }),
      downloadModel({ repo: 'bob/tiny', modelsDir: models, endpoint }),
    ])
    expect(a).toBe(join(models, 'alice--tiny'))
    expect(b).toBe(join(models, 'bob--tiny'))
    expect(readdirSync(a)).toContain('alice.txt')
    expect(readdirSync(a)).not.toContain('bob.txt')
    expect(readdirSync(b)).toContain('bob.txt')
    expect(readdirSync(b)).not.toContain('alice.txt')
    await expect(
      downloadModel({ repo: 'al--ice/tiny', modelsDir: models, endpoint }),
    ).rejects.toThrow(/not a repository id: the hub allows no "--" or "\.\." in one/)
  })
})

describe.skipIf(missing(clipTok))('a listing with a bad file name', () => {
  for (const [i, [name, why]] of BAD_NAMES.entries())
    it(`refuses ${JSON.stringify(name)} before any file is fetched`, async () => {
      const models = join(tmp, `m-bad-${i}`)
      const run = downloadModel({ repo: `bad/${i}`, modelsDir: models, endpoint, retries: 0 })
      await expect(run).rejects.toThrow(why)
      const msg = await run.catch((e: Error) => e.message)
      expect(msg).toContain(`bad/${i}: the hub lists ${JSON.stringify(name)}`)
      expect(msg).toMatch(/expected .*relative paths.*Nothing was downloaded\.$/)
      // not one file was asked for, and nothing is on disk
      expect([...hits.keys()].filter((p) => p.startsWith(`/bad/${i}/`))).toEqual([])
      expect(readdirSync(models)).toEqual([])
    })
})
