// The model manager's downloads against a hub that loops its redirects and one that stalls
// (before answering and mid-file): every download ends, failed with a message that says why,
// and nothing half-downloaded is left in the models folder.
import { createHash } from 'node:crypto'
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ModelDownloads,
  ModelRegistry,
  type DownloadEvent,
} from '../../../src/main/services/model-registry'
import { Tally, type Outcome } from './tally'

const tally = new Tally('downloads')
const tmp = mkdtempSync(join(tmpdir(), 'dolly-rel-dl-'))
let server: Server
let endpoint = ''
const held: Socket[] = []
let requests = 0

beforeAll(async () => {
  const index = Buffer.from(JSON.stringify({ _class_name: 'AnimateDiffPipeline' }))
  const oid = createHash('sha1')
    .update(Buffer.concat([Buffer.from(`blob ${index.length}\0`), index]))
    .digest('hex')
  server = createServer((req, res) => {
    requests++
    const path = new URL(req.url!, 'http://x').pathname
    if (path.startsWith('/api/models/hub/loop/'))
      return void res.writeHead(307, { Location: path }).end()
    if (path.startsWith('/api/models/hub/silent/')) return void held.push(res.socket!)
    if (path.startsWith('/api/models/hub/'))
      return void res.writeHead(200).end(
        JSON.stringify([
          { type: 'file', path: 'model_index.json', size: index.length, oid },
          // an ONNX model folder (a PyTorch-only listing is refused before any file)
          {
            type: 'file',
            path: 'unet/model.onnx',
            size: 10,
            lfs: { oid: 'a'.repeat(64), size: 10, pointerSize: 130 },
          },
        ]),
      )
    if (path.includes('/resolve/main/') && path.startsWith('/hub/redirects-file/'))
      return void res.writeHead(302, { Location: `${path}?r=${requests}` }).end()
    // the listing says model_index.json is a few bytes; this hub sends 64 MiB and keeps going
    if (path.includes('/resolve/main/') && path.startsWith('/hub/oversends/')) {
      res.writeHead(200)
      const chunk = Buffer.alloc(1024 * 1024, 32)
      let sent = 0
      const more = () => {
        while (sent < 64 && !res.destroyed && res.write(chunk)) sent++
        if (sent < 64 && !res.destroyed) res.once('drain', () => (sent++, more()))
        else res.end()
      }
      more()
      return
    }
    if (path.includes('/resolve/main/')) {
      res.writeHead(200, { 'Content-Length': index.length })
      res.write(index.subarray(0, 5)) // then nothing more
      held.push(res.socket!)
      return
    }
    res.writeHead(404).end()
  })
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  endpoint = `http://127.0.0.1:${(server.address() as { port: number }).port}`
})
afterAll(() => {
  tally.report()
  for (const s of held) s.destroy()
  server?.close()
  rmSync(tmp, { recursive: true, force: true })
})

/** Starts one download through the model manager and waits for its last event. */
async function download(
  repo: string,
): Promise<{ last: DownloadEvent | null; ms: number; models: string }> {
  const models = mkdtempSync(join(tmp, 'models-'))
  const registry = new ModelRegistry(join(tmp, 'state'), [], () => null)
  let last: DownloadEvent | null = null
  const downloads = new ModelDownloads(registry, models, (e) => (last = e), {
    endpoint,
    stallTimeoutMs: 400,
  })
  const t0 = Date.now()
  expect(downloads.start(repo, 'main')).toEqual({ started: true })
  while (Date.now() - t0 < 20_000 && (!last || (last as DownloadEvent).state === 'running'))
    await new Promise((r) => setTimeout(r, 20))
  return { last, ms: Date.now() - t0, models }
}

const cases: [string, string, RegExp][] = [
  ['a redirect loop on the file list', 'hub/loop', /more than 10 redirects \(a redirect loop\?\)/],
  ['a redirect loop on a file', 'hub/redirects-file', /more than 10 redirects/],
  ['a hub that never answers', 'hub/silent', /sent nothing for 400 ms; the download stopped/],
  [
    'a file that stops mid-way',
    'hub/stalls-mid-file',
    /model_index\.json: .*sent nothing for 400 ms.*\(gave up after 6 tries\)/,
  ],
  [
    'a server that sends more than the file it lists (once, not retried)',
    'hub/oversends',
    /model_index\.json: the server sent more than the \d+ bytes the repository lists; stopped$/,
  ],
]

describe('downloads from a misbehaving hub end with the reason', () => {
  for (const [name, repo, message] of cases)
    it(
      name,
      async () => {
        const { last, models } = await download(repo)
        const ended = !!last && last.state !== 'running'
        const leftovers = readdirSync(models)
        const outcome: Outcome = !ended
          ? 'stuck'
          : leftovers.length
            ? 'lost'
            : last!.state === 'failed' && message.test(last!.message ?? '')
              ? 'clear-error'
              : 'ok'
        tally.record(name, outcome, last?.message ?? 'no final event')
        expect(outcome).toBe('clear-error')
      },
      30_000,
    )
})
