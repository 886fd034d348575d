// What a download killed mid-way (kill -9 of the host) leaves in the models folder: the model
// manager removes those staging folders when it starts (they stayed, with partial files, for
// good), leaves alone the ones a running download fills and anything that only looks like one,
// never following a link; and a later download of the same repository reuses a leftover file
// only when its hash checks (one with no hash was accepted on its size alone).
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { createServer, type Server } from 'node:http'
import { hostname, tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { downloadModel, STALE_OWNER_MS } from '../../src/main/engine/models/download'
import {
  ModelDownloads,
  ModelRegistry,
  type DownloadEvent,
} from '../../src/main/services/model-registry'
import { writeAnimateDiffFolder } from '../fixtures/model-folders'
import { missing, sharedPath } from './engine/reference'

const clipTok = sharedPath('fixtures/tokenizers/clip')
const tmp = mkdtempSync(join(tmpdir(), 'dolly-dl-leftovers-'))

function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? walk(join(dir, e.name)) : [join(dir, e.name)],
  )
}

/** A pid no process has: one that ran and exited (the studio that was killed). */
const deadPid = spawnSync(process.execPath, ['-e', '']).pid!
/** A pid that is running and is not this process (another studio on the same folder). */
const livePid = process.ppid

let server: Server
let endpoint = ''
const data = new Map<string, Buffer>()
const requests: { path: string; range: string | undefined }[] = []
let release: () => void = () => {}

beforeAll(async () => {
  if (missing(clipTok)) return
  const src = join(tmp, 'hub')
  writeAnimateDiffFolder(src, { tokenizerFrom: clipTok, cameraPoses: true })
  writeFileSync(join(src, 'notes.txt'), 'the hub lists this file without a hash')
  for (const p of walk(src)) data.set(relative(src, p).split('\\').join('/'), readFileSync(p))
  // LFS (sha256) for the graphs, git blob ids for the rest, and notes.txt with neither
  const tree = [...data].map(([path, b]) =>
    path.endsWith('.onnx')
      ? {
          type: 'file',
          path,
          size: b.length,
          oid: 'x',
          lfs: { oid: createHash('sha256').update(b).digest('hex'), size: b.length },
        }
      : path === 'notes.txt'
        ? { type: 'file', path, size: b.length }
        : {
            type: 'file',
            path,
            size: b.length,
            oid: createHash('sha1')
              .update(Buffer.concat([Buffer.from(`blob ${b.length}\0`), b]))
              .digest('hex'),
          },
  )
  const held = new Promise<void>((r) => (release = r))
  server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x')
    requests.push({ path: url.pathname, range: req.headers.range })
    if (/^\/api\/models\/dolly\/(tiny|slow)\/tree\/main$/.test(url.pathname))
      return void res.writeHead(200).end(JSON.stringify(tree))
    const m = /^\/dolly\/(tiny|slow)\/resolve\/main\/(.+)$/.exec(url.pathname)
    const body = m ? data.get(decodeURIComponent(m[2]!)) : undefined
    if (!body) return void res.writeHead(404).end()
    const start = Number(/^bytes=(\d+)-$/.exec(req.headers.range ?? '')?.[1] ?? 0)
    const send = () =>
      res
        .writeHead(start ? 206 : 200, { 'Content-Length': body.length - start })
        .end(body.subarray(start))
    // dolly/slow's model_index.json comes when the test says so
    if (m![1] === 'slow' && m![2] === 'model_index.json') void held.then(send)
    else send()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})
afterAll(() => {
  release()
  server?.close()
  rmSync(tmp, { recursive: true, force: true })
})

/** Writes a file under `dir`, making its folders. */
function put(dir: string, rel: string, content: string | Buffer): void {
  mkdirSync(dirname(join(dir, rel)), { recursive: true })
  writeFileSync(join(dir, rel), content)
}

/**
 * What a download left: its staging folder with these files, and the owner file beside it (the
 * studio's pid and host; its mtime is the heartbeat, `ageMs` old).
 */
function leftover(
  models: string,
  name: string,
  pid: number,
  files: Record<string, Buffer>,
  o: { host?: string; ageMs?: number } = {},
) {
  const staging = join(models, `.dolly-download-${name}`)
  for (const [rel, b] of Object.entries(files)) put(staging, rel, b)
  const owner = `${staging}.owner`
  writeFileSync(owner, JSON.stringify({ pid, host: o.host ?? hostname() }))
  const at = (Date.now() - (o.ageMs ?? 0)) / 1000
  utimesSync(owner, at, at)
  return staging
}

/** A time past the heartbeat's span (STALE_OWNER_MS): nothing renews the owner file any more. */
const STALE = STALE_OWNER_MS + 60_000

const registry = () => new ModelRegistry(join(tmp, 'state'), [], () => null)
/** The same bytes with the last one changed: the right size, the wrong content. */
const spoiled = (b: Buffer) => Buffer.concat([b.subarray(0, -1), Buffer.from([b.at(-1)! ^ 1])])

describe.skipIf(missing(clipTok))('a download killed mid-way', () => {
  it('the model manager removes its staging folder when it starts, and nothing else', () => {
    const models = join(tmp, 'm1')
    const outside = join(tmp, 'outside1')
    put(outside, 'keep.txt', 'not the studio’s')
    const unet = data.get('unet/model.onnx')!
    const dead = leftover(models, 'dolly--tiny', deadPid, {
      'unet/model.onnx': unet.subarray(0, unet.length >> 1),
    })
    symlinkSync(outside, join(dead, 'unet', 'linked')) // removed as a link, never followed
    // a staging folder with no owner file, untouched for longer than a heartbeat's span
    put(join(models, '.dolly-download-old--layout'), 'a.bin', 'partial')
    const long = (Date.now() - STALE) / 1000
    utimesSync(join(models, '.dolly-download-old--layout'), long, long)
    // another studio on the same models folder is filling this one (a fresh heartbeat)
    leftover(models, 'alive--other', livePid, { 'a.bin': Buffer.from('partial') })
    // ... and one on another machine sharing the folder: its pid means nothing here
    leftover(models, 'remote--live', 1, { 'a.bin': Buffer.from('partial') }, { host: 'other-box' })
    // a crash whose pid a new, unrelated process has taken: alive, but its heartbeat is stale
    leftover(models, 'reused--pid', livePid, { 'a.bin': Buffer.from('p') }, { ageMs: STALE })
    leftover(models, 'remote--dead', 1, { 'a.bin': Buffer.from('p') }, { host: 'x', ageMs: STALE })
    // only real folders of the staging name directly in the models folder are touched
    symlinkSync(outside, join(models, '.dolly-download-link--x'))
    put(models, '.dolly-download-file--y', 'a file, not a folder')
    put(join(models, 'dolly--done'), 'model_index.json', '{}')
    put(join(models, 'notes'), '.dolly-download-nested--z/a.bin', 'not at the top')

    new ModelDownloads(registry(), models, () => {})

    expect(readdirSync(models).sort()).toEqual([
      '.dolly-download-alive--other',
      '.dolly-download-alive--other.owner',
      '.dolly-download-file--y',
      '.dolly-download-link--x',
      '.dolly-download-remote--live',
      '.dolly-download-remote--live.owner',
      'dolly--done',
      'notes',
    ])
    expect(readFileSync(join(outside, 'keep.txt'), 'utf8')).toBe('not the studio’s')
    expect(existsSync(join(models, 'notes', '.dolly-download-nested--z', 'a.bin'))).toBe(true)
    expect(readdirSync(join(models, '.dolly-download-alive--other'))).toEqual(['a.bin'])
    // a models folder that is not there yet is no error
    expect(() => new ModelDownloads(registry(), join(tmp, 'none'), () => {})).not.toThrow()
  })

  it('keeps the staging folder of a download this process is running', async () => {
    const models = join(tmp, 'm2')
    let last: DownloadEvent | null = null
    const downloads = new ModelDownloads(registry(), models, (e) => (last = e), { endpoint })
    expect(downloads.start('dolly/slow', 'main')).toEqual({ started: true })
    const t0 = Date.now()
    while (!requests.some((r) => r.path === '/dolly/slow/resolve/main/model_index.json')) {
      expect(Date.now() - t0).toBeLessThan(20_000)
      await new Promise((r) => setTimeout(r, 10))
    }
    // a second model manager on the same folder (the other host) starts meanwhile
    new ModelDownloads(registry(), models, () => {})
    expect(readdirSync(models).sort()).toEqual([
      '.dolly-download-dolly--slow',
      '.dolly-download-dolly--slow.owner',
    ])
    release()
    while ((last as DownloadEvent | null)?.state !== 'done') {
      expect((last as DownloadEvent | null)?.state).not.toBe('failed')
      expect(Date.now() - t0).toBeLessThan(20_000)
      await new Promise((r) => setTimeout(r, 10))
    }
    expect(readdirSync(models)).toEqual(['dolly--slow']) // the owner file went with the staging
  })

  it('fetches again a leftover file with no hash to check it by (its size said nothing)', async () => {
    const models = join(tmp, 'm3')
    const notes = data.get('notes.txt')!
    leftover(models, 'dolly--tiny', deadPid, {
      'notes.txt': Buffer.from('x'.repeat(notes.length)), // the right size, not the hub's bytes
      'unet/model.onnx': data.get('unet/model.onnx')!, // whole and right: its sha256 checks
    })
    requests.length = 0
    const out = await downloadModel({ repo: 'dolly/tiny', modelsDir: models, endpoint })
    expect(readFileSync(join(out, 'notes.txt')).equals(notes)).toBe(true)
    const asked = requests.map((r) => r.path)
    expect(asked).toContain('/dolly/tiny/resolve/main/notes.txt')
    expect(asked).not.toContain('/dolly/tiny/resolve/main/unet/model.onnx')
    expect(readdirSync(models)).toEqual(['dolly--tiny'])
  })

  it('fetches again a leftover file whose hash does not check, and resumes a partial one', async () => {
    const models = join(tmp, 'm4')
    const vae = data.get('vae_decoder/model.onnx')!
    leftover(models, 'dolly--tiny', deadPid, {
      'model_index.json': spoiled(data.get('model_index.json')!), // its git blob id fails
      'text_encoder/model.onnx': spoiled(data.get('text_encoder/model.onnx')!), // its sha256 fails
      'vae_decoder/model.onnx': vae.subarray(0, vae.length >> 1), // half of it, right so far
    })
    requests.length = 0
    const out = await downloadModel({ repo: 'dolly/tiny', modelsDir: models, endpoint })
    for (const [rel, b] of data) expect(readFileSync(join(out, rel)).equals(b), rel).toBe(true)
    const asked = (f: string) => requests.filter((r) => r.path === `/dolly/tiny/resolve/main/${f}`)
    expect(asked('vae_decoder/model.onnx').map((r) => r.range)).toEqual([
      `bytes=${vae.length >> 1}-`,
    ])
    // the spoiled ones had their full size (nothing to resume): fetched once, whole
    expect(asked('model_index.json').map((r) => r.range)).toEqual([undefined])
    expect(asked('text_encoder/model.onnx').map((r) => r.range)).toEqual([undefined])
    expect(readdirSync(models)).toEqual(['dolly--tiny'])
  })

  it('leaves alone a download another running studio fills, saying so', async () => {
    const models = join(tmp, 'm5')
    const staging = leftover(models, 'dolly--tiny', livePid, { 'a.bin': Buffer.from('partial') })
    await expect(
      downloadModel({ repo: 'dolly/tiny', modelsDir: models, endpoint }),
    ).rejects.toThrow(
      new RegExp(
        `dolly/tiny is being downloaded by another studio \\(pid ${livePid} on ${hostname()}, seen \\d+ s ago\\).*wait for it to finish, then try again`,
      ),
    )
    expect(readdirSync(staging)).toEqual(['a.bin'])
    // once its heartbeat is stale (a crash; the pid now someone else's) the folder is taken over
    const long = (Date.now() - STALE) / 1000
    utimesSync(`${staging}.owner`, long, long)
    const out = await downloadModel({ repo: 'dolly/tiny', modelsDir: models, endpoint })
    expect(readdirSync(models)).toEqual(['dolly--tiny'])
    expect(readdirSync(out)).not.toContain('a.bin')
  })
})
