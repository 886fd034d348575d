// Downloading a model folder from a Hugging Face repository (or a mirror: HF_ENDPOINT).
// The file list comes from the hub API (@huggingface/hub's listFiles, over our transport) and
// is checked for an ONNX model folder before anything is fetched; each file is fetched with resume (Range) when a
// connection drops, checked against the hub's sha256 (LFS files) or git blob id (small
// files), and the whole folder is assembled in a staging folder that becomes the model only
// when every file is verified and the engine accepts the folder. A cancel or failure leaves
// nothing in the models directory; what a killed process left is removed when the model
// manager starts (removeLeftoverDownloads), and a leftover file is reused only if its hash checks.
import { createHash } from 'node:crypto'
import {
  createReadStream,
  createWriteStream,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  statfsSync,
  utimesSync,
  writeFileSync,
  type Dirent,
} from 'node:fs'
import { get as httpGet, type IncomingMessage } from 'node:http'
import { get as httpsGet } from 'node:https'
import { hostname } from 'node:os'
import { dirname, join, normalize, resolve, sep } from 'node:path'
import { HubApiError, listFiles } from '@huggingface/hub'
import { CATALOG, exportCommand } from '../../../shared/catalog'
import { openModelFolder } from './model-folder'
import { windowsDeviceName } from '../files'
import { HUB_REPO } from '../../../shared/contract'

export class DownloadError extends Error {
  constructor(
    message: string,
    /** False when trying again cannot help (a redirect loop): the download stops at once. */
    readonly retryable = true,
  ) {
    super(message)
    this.name = 'DownloadError'
  }
}

/** Errors that mean the server cannot be reached at all (no name, no route, nothing listening). */
const UNREACHABLE = new Set([
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'ENETUNREACH',
  'EHOSTUNREACH',
])

/** A request's failure in a person's words: an unreachable host says so and what to do. */
function networkProblem(url: string, err: NodeJS.ErrnoException): string {
  if (!UNREACHABLE.has(err.code ?? '')) return `${url}: ${err.message}`
  let host = url
  try {
    host = new URL(url).host
  } catch {
    // the address as given
  }
  return `${host} cannot be reached (${err.code}): check the internet connection, or set HF_ENDPOINT to a mirror you can reach`
}

/** Redirects followed per request; a redirect loop once made 28,523 requests in 10 s. */
export const MAX_REDIRECTS = 10
/** A connection that sends nothing for this long is given up (a hub that never answers). */
export const STALL_TIMEOUT_MS = 30_000

export type HubFile = { path: string; size: number; sha256: string | null; gitOid: string | null }

export type DownloadProgress = {
  file: string
  fileIndex: number
  files: number
  bytes: number
  totalBytes: number
  /** bytes per second over the run */
  speed: number
  etaS: number | null
}

export type DownloadOptions = {
  repo: string
  revision?: string
  /** The models directory; the model lands in <modelsDir>/<owner>--<name>. */
  modelsDir: string
  endpoint?: string
  /** A Hugging Face access token, sent to the hub's own origin only. */
  token?: string
  /** Where the token came from (HF_TOKEN, a token file), named when the hub refuses access. */
  tokenFrom?: string
  signal?: AbortSignal
  onProgress?: (p: DownloadProgress) => void
  /** Retries per file after a dropped connection. */
  retries?: number
  /** How long a connection may send nothing before it is given up (default 30 s). */
  stallTimeoutMs?: number
}

const REPO = HUB_REPO

/**
 * The request's Authorization header: the token goes to the hub's own origin only, never to a
 * listing page (Link: next) or a file on another one (redirects drop it in `request`).
 */
function authFor(url: string, endpoint: string, token?: string): Record<string, string> {
  return token && sameOrigin(url, endpoint) ? { authorization: `Bearer ${token}` } : {}
}

function sameOrigin(a: string, b: string): boolean {
  return new URL(a).origin === new URL(b).origin
}

/**
 * What a 401 or 403 from the hub tells the person: whether a token was sent (`sent`: it was on
 * the refused request), and what to do.
 */
function accessDenied(
  status: number,
  what: string,
  o: Pick<DownloadOptions, 'repo' | 'token' | 'tokenFrom'>,
  sent: boolean,
  url: string,
): string {
  const denied = `${o.repo}: access denied (${status}) to ${what}; the repository may be gated or private.`
  if (o.token && !sent)
    return `${denied} No token was sent to ${new URL(url).origin}: the token goes to the hub's own address only`
  return sent
    ? `${denied} A token was sent (${o.tokenFrom ? `from ${o.tokenFrom}` : 'given by the caller'}) and the hub refused it for this repository: check that it is valid and may read ${o.repo} (a gated repository's terms must be accepted on its page by the token's account), or set HF_TOKEN to another`
    : `${denied} No token was sent: set HF_TOKEN to a Hugging Face access token that may read it (huggingface.co: Settings, Access Tokens; the token file \`hf auth login\` writes is read too) and try again`
}

/** A response, and the address that sent it (the last of any redirects). */
type HubResponse = IncomingMessage & { finalUrl: string }

function request(
  url: string,
  headers: Record<string, string>,
  signal?: AbortSignal,
  stallMs = STALL_TIMEOUT_MS,
  redirects = 0,
): Promise<HubResponse> {
  return new Promise((resolve, reject) => {
    const get = url.startsWith('https:') ? httpsGet : httpGet
    // a fresh connection per request: a dropped one must never be reused
    const req = get(url, { headers, signal, agent: false }, (res) => {
      const loc = res.headers.location
      if (res.statusCode && res.statusCode >= 300 && res.statusCode < 400 && loc) {
        res.resume()
        if (redirects >= MAX_REDIRECTS) {
          reject(
            new DownloadError(
              `${url}: more than ${MAX_REDIRECTS} redirects (a redirect loop?); the server sent it to ${loc.slice(0, 200)} again. Check the hub address (HF_ENDPOINT)`,
              false,
            ),
          )
          return
        }
        // credentials go to the host they were meant for only (a CDN or another host gets none)
        const next = new URL(loc, url)
        const onward =
          next.origin === new URL(url).origin
            ? headers
            : Object.fromEntries(
                Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'),
              )
        request(next.href, onward, signal, stallMs, redirects + 1).then(resolve, reject)
        return
      }
      response = res
      resolve(Object.assign(res, { finalUrl: url }))
    })
    // The socket's idle timer: no bytes for stallMs, before the answer or within the body (a
    // hub that never answers kept a download running for good), ends it with the reason.
    let response: IncomingMessage | null = null
    req.setTimeout(stallMs, () => {
      const err = new DownloadError(
        `${new URL(url).host} sent nothing for ${stallMs >= 1000 ? `${Math.round(stallMs / 1000)} s` : `${stallMs} ms`}; the download stopped (the hub or the network stalled)`,
      )
      if (response) response.destroy(err)
      else req.destroy(err)
    })
    req.on('error', (err) =>
      reject(
        signal?.aborted
          ? new DownloadError('cancelled')
          : err instanceof DownloadError
            ? err
            : new DownloadError(networkProblem(url, err)),
      ),
    )
  })
}

/**
 * A `fetch` for @huggingface/hub's calls that goes through `request`: the same redirect cap,
 * stall timeout and cancel as the file downloads, and the token sent as given (the hub
 * client itself would refuse one without the "hf_" prefix, which mirrors do not use), to the
 * hub's origin only: the client follows a listing's Link: next wherever it points.
 */
function hubFetch(o: {
  endpoint: string
  token?: string
  signal?: AbortSignal
  stallTimeoutMs?: number
  /** Set per request: its address and whether the token went with it. */
  last?: { url: string; sent: boolean }
}) {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input)
    const headers: Record<string, string> = {}
    new Headers(init?.headers).forEach((v, k) => (headers[k] = v))
    const auth = authFor(url, o.endpoint, o.token)
    Object.assign(headers, auth)
    const res = await request(url, headers, o.signal, o.stallTimeoutMs)
    // a redirect to another origin drops the token (request)
    if (o.last) {
      o.last.url = res.finalUrl
      o.last.sent = 'authorization' in auth && sameOrigin(res.finalUrl, url)
    }
    const chunks: Buffer[] = []
    try {
      for await (const c of res) chunks.push(c as Buffer)
    } catch (err) {
      if (o.signal?.aborted) throw new DownloadError('cancelled')
      throw err instanceof DownloadError
        ? err
        : new DownloadError(`${url}: ${(err as Error).message}`)
    }
    const h = new Headers()
    for (const [k, v] of Object.entries(res.headers))
      if (v !== undefined) h.set(k, Array.isArray(v) ? v.join(', ') : v)
    const status = res.statusCode ?? 500
    return new Response(status === 204 || status === 304 ? null : Buffer.concat(chunks), {
      status: status < 200 || status > 599 ? 502 : status,
      headers: h,
    })
  }) as typeof fetch
}

/**
 * The repository's files (recursive, every page) through @huggingface/hub's `listFiles`,
 * over our own transport (see `hubFetch`).
 */
export async function listRepoFiles(
  o: Pick<
    DownloadOptions,
    'repo' | 'revision' | 'endpoint' | 'token' | 'tokenFrom' | 'signal' | 'stallTimeoutMs'
  >,
): Promise<HubFile[]> {
  const endpoint = (o.endpoint ?? process.env['HF_ENDPOINT'] ?? 'https://huggingface.co').replace(
    /\/+$/,
    '',
  )
  const out: HubFile[] = []
  const last = { url: endpoint, sent: false }
  try {
    for await (const e of listFiles({
      repo: { type: 'model', name: o.repo },
      revision: encodeURIComponent(o.revision ?? 'main'),
      recursive: true,
      hubUrl: endpoint,
      fetch: hubFetch({ ...o, endpoint, last }),
    })) {
      if (e.type !== 'file') continue
      if (typeof e.path !== 'string' || !Number.isFinite(e.lfs?.size ?? e.size))
        throw new DownloadError(
          `${o.repo}: the hub's file list has an entry without a path or size`,
        )
      out.push({
        path: e.path,
        size: e.lfs?.size ?? e.size,
        sha256: e.lfs?.oid ?? null,
        gitOid: e.lfs ? null : (e.oid ?? null),
      })
    }
  } catch (err) {
    if (err instanceof DownloadError) throw err
    if (err instanceof HubApiError) {
      if (err.statusCode === 401 || err.statusCode === 403)
        throw new DownloadError(
          accessDenied(err.statusCode, 'the file list', o, last.sent, last.url),
          false,
        )
      if (err.statusCode === 404)
        throw new DownloadError(`${o.repo}: no such repository or revision on ${endpoint}`)
      throw new DownloadError(`${o.repo}: the hub answered ${err.statusCode} for the file list`)
    }
    // the hub client iterates what the API sent: anything but a list lands here
    throw new DownloadError(
      `${o.repo}: the hub's file list could not be read (${(err as Error).message})`,
    )
  }
  return out
}

/** Why one segment of a listed path cannot be a file or folder name, or null. */
function segmentProblem(seg: string): string | null {
  if (seg === '') return 'it has an empty segment'
  if (seg === '..') return 'it has a ".." segment'
  if (seg === '.') return 'it has a "." segment'
  // Windows drops a name's trailing dots and spaces: "unet." would be written as "unet"
  if (/[. ]$/.test(seg)) return `"${seg}" ends in a dot or a space`
  const reserved = windowsDeviceName(seg)
  if (reserved) return `"${reserved}" is a name Windows reserves for a device`
  return null
}

/**
 * Why a repository's listed file names cannot be written as one model folder, or null. Every
 * name is checked before any file is fetched (a bad name used to be seen only when its turn
 * came, after gigabytes of good files): each must be a relative path of plain names that is the
 * same file on every disk the studio runs on, so no "..", no absolute path, no backslash, no
 * ":" (an NTFS stream), no control character, no Windows device name, no name ending in a dot
 * or space, and no two names that a case-insensitive disk takes for one.
 */
export function repoPathProblem(repo: string, files: { path: string }[]): string | null {
  const expected =
    'expected relative paths of plain names inside the repository (folders separated by "/"; no "..", "\\", ":", control characters, Windows device names such as CON or NUL, names ending in a dot or space, or names that differ only in letter case). Nothing was downloaded.'
  const refuse = (path: string, why: string) =>
    `${repo}: the hub lists ${JSON.stringify(path.slice(0, 300))}: ${why}; ${expected}`
  // every file and folder by its case-folded spelling: a second spelling is the same entry on
  // Windows and macOS, and a name that is a file and a folder cannot be both
  const seen = new Map<string, { spelling: string; folder: boolean }>()
  for (const { path } of files) {
    if (/^[/\\]/.test(path)) return refuse(path, 'it is an absolute path')
    if (path.includes('\\')) return refuse(path, 'it has a backslash')
    // eslint-disable-next-line no-control-regex
    if (/[\u0000-\u001f\u007f-\u009f]/.test(path)) return refuse(path, 'it has a control character')
    if (path.includes(':'))
      return refuse(path, 'it has a ":" (a drive or an NTFS stream on Windows)')
    if (/[<>"|?*]/.test(path))
      return refuse(path, 'it has a character Windows refuses in names (<>"|?*)')
    const segs = path.split('/')
    for (const seg of segs) {
      const why = segmentProblem(seg)
      if (why) return refuse(path, why)
    }
    for (let i = 1; i <= segs.length; i++) {
      const spelling = segs.slice(0, i).join('/')
      const folder = i < segs.length
      const key = spelling.normalize('NFC').toLowerCase()
      const was = seen.get(key)
      if (!was) {
        seen.set(key, { spelling, folder })
        continue
      }
      if (was.spelling !== spelling)
        return refuse(
          path,
          spelling.toLowerCase() === was.spelling.toLowerCase()
            ? `"${spelling}" and "${was.spelling}" differ only in letter case (one name on Windows and macOS)`
            : `"${spelling}" and "${was.spelling}" are one name in two Unicode forms (one name on macOS)`,
        )
      if (!folder || !was.folder)
        return refuse(
          path,
          was.folder || folder
            ? `"${spelling}" is both a file and a folder`
            : `"${spelling}" is listed twice`,
        )
    }
  }
  return null
}

const WEIGHTS = /\.(safetensors|bin|ckpt|pt|pth)$/i

/**
 * Why a repository with these files cannot become a model folder, or null when it can: the
 * studio runs ONNX model folders (model_index.json beside component folders holding
 * model.onnx), so a diffusers repository of PyTorch weights is refused before any byte is
 * fetched, with the conversion that would make it one.
 */
export function repoLayoutProblem(repo: string, files: { path: string }[]): string | null {
  const onnx = files.filter((f) => /(^|\/)model\.onnx$/.test(f.path))
  const index = files.some((f) => f.path === 'model_index.json')
  if (index && onnx.length > 0) return null
  const weights = files.filter((f) => WEIGHTS.test(f.path))
  if (weights.length > 0 && onnx.length === 0) {
    const entry = CATALOG.find((e) => e.sources.some((s) => s.role === 'base' && s.repo === repo))
    const command = entry
      ? exportCommand(entry, `models/${repo.replace('/', '--')}`).text
      : `python tools/export/export_model.py KIND --base ${repo} --out models/${repo.replace('/', '--')}`
    return (
      `${repo}: a PyTorch-only repository (${weights.length} weight file${weights.length === 1 ? '' : 's'}` +
      ` such as ${weights[0]!.path}, no model.onnx); the studio runs ONNX model folders, so nothing` +
      ` was downloaded. Convert it once with the exporter (the models dialog's catalog lists the` +
      ` supported checkpoints): ${command}`
    )
  }
  if (!index)
    return `${repo}: no model_index.json; it is not a model folder in the studio's layout (diffusers/Optimum ONNX)`
  return `${repo}: model_index.json but no component with a model.onnx; it is not an ONNX model folder`
}

/**
 * A download is assembled in `<models>/.dolly-download-<owner>--<name>/`, and the studio filling
 * it says so in `<that folder>.owner` beside it (never inside: a repository may hold any name):
 * its pid, its host, and a heartbeat (the file's mtime, renewed every HEARTBEAT_MS). A pid
 * alone proves nothing across containers or machines sharing a models folder, or once the pid
 * is reused after a crash, so a folder is another's only while its heartbeat is fresh.
 */
const STAGING = /^\.dolly-download-[A-Za-z0-9][A-Za-z0-9._-]*--[A-Za-z0-9][A-Za-z0-9._-]*$/
const HEARTBEAT_MS = 10_000
/** A heartbeat older than this is a download nothing runs any more (a crash, a kill -9). */
export const STALE_OWNER_MS = 120_000
/** The staging folders this process is filling now (resolved paths). */
const filling = new Set<string>()

type Owner = { pid: number; host: string; ageMs: number }

const ownerFile = (staging: string) => `${staging}.owner`

/** Who says they fill `staging` (the owner file beside it: a small regular file), or null. */
function ownerOf(staging: string): Owner | null {
  try {
    const f = ownerFile(staging)
    const st = lstatSync(f)
    if (!st.isFile() || st.size > 1024) return null
    const o = JSON.parse(readFileSync(f, 'utf8')) as { pid?: unknown; host?: unknown }
    if (!Number.isSafeInteger(o.pid) || typeof o.host !== 'string') return null
    return { pid: o.pid as number, host: o.host, ageMs: Date.now() - st.mtimeMs }
  } catch {
    return null
  }
}

/** Whether the process named is gone (only this host's processes can be asked). */
function pidGone(pid: number): boolean {
  if (pid === process.pid) return true // a folder of ours is in `filling`; this is an earlier life
  try {
    process.kill(pid, 0) // signal 0: only asks whether the process exists
    return false
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'EPERM'
  }
}

/** The owner of `staging` while it is filling it (a fresh heartbeat, its process there), or null. */
function liveOwner(staging: string): Owner | null {
  const o = ownerOf(staging)
  if (!o || o.ageMs > STALE_OWNER_MS) return null
  if (o.host === hostname() && pidGone(o.pid)) return null // killed: no need to wait out the beat
  return o
}

/** A staging folder no one has touched for a heartbeat's span (one without an owner file). */
function quietFor(dir: string): boolean {
  try {
    return Date.now() - lstatSync(dir).mtimeMs > STALE_OWNER_MS
  } catch {
    return false
  }
}

/**
 * Removes the staging folders of downloads that nothing runs any more: a studio killed
 * mid-download (kill -9, a power cut) left `.dolly-download-<owner>--<name>/` and its partial
 * files in the models folder for good. Only real folders of that name directly inside
 * `modelsDir` are touched (a link of that name is neither followed nor removed), and a folder
 * this process or another one is filling (a fresh heartbeat) is kept. Returns what was removed
 * and what could not be.
 */
export function removeLeftoverDownloads(modelsDir: string): {
  removed: string[]
  problems: string[]
} {
  const out = { removed: [] as string[], problems: [] as string[] }
  let entries: Dirent[]
  try {
    entries = readdirSync(modelsDir, { withFileTypes: true })
  } catch {
    return out // no models folder yet
  }
  for (const e of entries) {
    // an owner file whose folder is gone (a crash between the two removals), once it is stale
    if (e.isFile() && e.name.endsWith('.owner') && STAGING.test(e.name.slice(0, -6))) {
      const dir = resolve(modelsDir, e.name.slice(0, -6))
      if (!existsSync(dir) && !filling.has(dir) && !liveOwner(dir))
        rmSync(ownerFile(dir), { force: true })
      continue
    }
    if (!STAGING.test(e.name) || !e.isDirectory()) continue // a Dirent does not follow links
    const dir = resolve(modelsDir, e.name)
    if (filling.has(dir) || liveOwner(dir) !== null) continue
    if (!ownerOf(dir) && !quietFor(dir)) continue // being set up just now, or in use
    try {
      if (!lstatSync(dir).isDirectory()) continue
      rmSync(dir, { recursive: true, force: true }) // removes links inside, never their targets
      rmSync(ownerFile(dir), { force: true })
      out.removed.push(dir)
    } catch (err) {
      out.problems.push(`${dir}: ${(err as Error).message}`)
    }
  }
  return out
}

/**
 * Takes the staging folder for this process: refused while another studio fills it (a fresh
 * heartbeat) or this one does; a folder a dead download left is taken over, its files reused
 * only if they verify. The owner file is written before the folder is made, so a model manager
 * starting meanwhile never finds the folder without it. Returns the heartbeat's stop.
 */
function claimStaging(staging: string, repo: string): () => void {
  const key = resolve(staging)
  if (filling.has(key))
    throw new DownloadError(`${repo} is being downloaded already (into ${staging})`, false)
  const me = JSON.stringify({ pid: process.pid, host: hostname() })
  try {
    writeFileSync(ownerFile(staging), me, { flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    const other = liveOwner(staging)
    if (other)
      throw new DownloadError(
        `${repo} is being downloaded by another studio (pid ${other.pid} on ${other.host}, seen ${Math.round(other.ageMs / 1000)} s ago) into ${staging}; wait for it to finish, then try again`,
        false,
      )
    rmSync(ownerFile(staging), { force: true }) // a dead download's: taken over
    writeFileSync(ownerFile(staging), me, { flag: 'wx' })
  }
  let st = null
  try {
    st = lstatSync(staging)
  } catch {
    // none yet
  }
  // a link or a file where the folder goes is removed, never written through
  if (st && !st.isDirectory()) rmSync(staging, { force: true })
  mkdirSync(staging, { recursive: true })
  filling.add(key)
  const beat = setInterval(() => {
    try {
      const now = new Date()
      utimesSync(ownerFile(staging), now, now)
    } catch {
      // the file is gone (the download is ending): nothing to renew
    }
  }, HEARTBEAT_MS)
  beat.unref()
  return () => {
    clearInterval(beat)
    filling.delete(key)
    rmSync(ownerFile(staging), { force: true })
  }
}

/** Removes everything under `dir` that is not one of `keep` (files) or a folder on their way. */
function pruneUnlisted(dir: string, keep: Set<string>): void {
  let entries: Dirent[]
  try {
    entries = readdirSync(dir, { withFileTypes: true })
  } catch {
    return
  }
  for (const e of entries) {
    const p = join(dir, e.name)
    if (e.isDirectory() && [...keep].some((k) => k.startsWith(p + sep))) pruneUnlisted(p, keep)
    else if (!keep.has(p)) rmSync(p, { recursive: true, force: true }) // a link: the link only
  }
}

/** The size of a file a killed download left at `dest` (0 when none; anything but a file is removed). */
function leftoverSize(dest: string): number {
  try {
    const st = lstatSync(dest)
    if (st.isFile()) return st.size
    rmSync(dest, { recursive: true, force: true })
  } catch {
    // none
  }
  return 0
}

async function hashFile(path: string, algo: 'sha256' | 'sha1', prefix?: Buffer): Promise<string> {
  const h = createHash(algo)
  if (prefix) h.update(prefix)
  for await (const c of createReadStream(path)) h.update(c as Buffer)
  return h.digest('hex')
}

/** Why `dest` is not the hub's file (its sha256, or its git blob id for small files), or null. */
async function hashProblem(dest: string, f: HubFile): Promise<string | null> {
  if (f.sha256) {
    const got = await hashFile(dest, 'sha256')
    return got === f.sha256
      ? null
      : `${f.path}: sha256 ${got} does not match the hub's ${f.sha256}; the file was discarded`
  }
  if (f.gitOid) {
    const got = await hashFile(dest, 'sha1', Buffer.from(`blob ${f.size}\0`))
    return got === f.gitOid
      ? null
      : `${f.path}: content does not match the hub's git id ${f.gitOid}; the file was discarded`
  }
  return null
}

/** Downloads one file into `dest`, resuming from what is there after a dropped connection. */
async function fetchFile(
  url: string,
  dest: string,
  f: HubFile,
  o: DownloadOptions & { endpoint: string },
  onBytes: (n: number) => void,
): Promise<void> {
  const retries = o.retries ?? 5
  for (let attempt = 0; ; attempt++) {
    const have = existsSync(dest) ? statSync(dest).size : 0
    if (have === f.size) return
    if (have > f.size) rmSync(dest)
    const headers: Record<string, string> = {}
    if (have > 0 && have < f.size) headers['Range'] = `bytes=${have}-`
    Object.assign(headers, authFor(url, o.endpoint, o.token))
    try {
      const res = await request(url, headers, o.signal, o.stallTimeoutMs)
      // the hub refuses a gated file (a gated repository's listing is public): trying again
      // cannot help. A CDN's refusal (a signed address that expired) is retried as any error.
      if (
        (res.statusCode === 401 || res.statusCode === 403) &&
        sameOrigin(res.finalUrl, o.endpoint)
      ) {
        res.resume()
        throw new DownloadError(
          accessDenied(res.statusCode, f.path, o, !!o.token, res.finalUrl),
          false,
        )
      }
      if (res.statusCode !== 200 && res.statusCode !== 206) {
        res.resume()
        throw new DownloadError(`${f.path}: the server answered ${res.statusCode}`)
      }
      // a 200 to a Range request means the server sent the whole file again
      const append = res.statusCode === 206 && have > 0
      await new Promise<void>((resolve, reject_) => {
        const out = createWriteStream(dest, { flags: append ? 'a' : 'w' })
        // never more than the listing says: a server that keeps sending would fill the disk
        let got = append ? have : 0
        let stopped = false
        const reject = (e: unknown) => (stopped ? undefined : reject_(e))
        res.on('data', (c: Buffer) => {
          got += c.length
          if (got > f.size && !stopped) {
            stopped = true
            const err = new DownloadError(
              `${f.path}: the server sent more than the ${f.size} bytes the repository lists; stopped`,
              false,
            )
            // the file is closed before the error goes up (the staging folder is removed then);
            // the drop this causes is not reported as one
            res.unpipe(out)
            res.destroy()
            out.once('close', () => reject_(err))
            out.destroy()
            return
          }
          onBytes(c.length)
        })
        res.on('error', reject)
        // a stall ends the response with its own reason (res.errored), not a plain drop
        const dropped = () =>
          res.errored instanceof DownloadError
            ? res.errored
            : new DownloadError(`${f.path}: the connection dropped`)
        res.on('aborted', () => reject(dropped()))
        res.pipe(out)
        out.on('finish', resolve)
        out.on('error', (e) =>
          reject(
            new DownloadError(
              `${dest}: ${(e as NodeJS.ErrnoException).code === 'ENOSPC' ? 'the disk is full' : e.message}`,
            ),
          ),
        )
        res.on('close', () => {
          if (!res.complete) reject(dropped())
        })
      })
      if (statSync(dest).size === f.size) return
      throw new DownloadError(`${f.path}: received ${statSync(dest).size} of ${f.size} bytes`)
    } catch (err) {
      if (o.signal?.aborted) throw new DownloadError('cancelled')
      if (err instanceof DownloadError && !err.retryable) throw err
      if (attempt >= retries) {
        const msg = err instanceof Error ? err.message : String(err)
        throw new DownloadError(
          `${msg.startsWith(f.path) ? '' : `${f.path}: `}${msg} (gave up after ${attempt + 1} tries)`,
        )
      }
      await new Promise((r) => setTimeout(r, Math.min(200 * 2 ** attempt, 5000)))
    }
  }
}

export async function downloadModel(o: DownloadOptions): Promise<string> {
  if (!REPO.test(o.repo)) throw new DownloadError(`"${o.repo}" is not a repository id (owner/name)`)
  if (/--|\.\./.test(o.repo))
    throw new DownloadError(
      `"${o.repo}" is not a repository id: the hub allows no "--" or ".." in one`,
    )
  const endpoint = (o.endpoint ?? process.env['HF_ENDPOINT'] ?? 'https://huggingface.co').replace(
    /\/+$/,
    '',
  )
  const revision = o.revision ?? 'main'
  // owner--name (the hub's own cache spelling, unambiguous since ids have no "--"): two repos
  // of one name from different owners used to share a folder and mix their files
  const [owner, repoName] = o.repo.split('/') as [string, string]
  const name = `${owner}--${repoName}`
  const target = join(o.modelsDir, name)
  if (existsSync(target))
    throw new DownloadError(`${target} exists already; remove it or pick another models folder`)
  mkdirSync(o.modelsDir, { recursive: true })
  const files = await listRepoFiles({ ...o, endpoint, revision })
  const badPath = repoPathProblem(o.repo, files)
  if (badPath) throw new DownloadError(badPath, false)
  const problem = repoLayoutProblem(o.repo, files)
  if (problem) throw new DownloadError(problem, false)
  const total = files.reduce((a, f) => a + f.size, 0)
  const free = (() => {
    try {
      const s = statfsSync(o.modelsDir)
      return s.bavail * s.bsize
    } catch {
      return Infinity
    }
  })()
  if (free < total * 1.02 + 64 * 1024 * 1024) {
    throw new DownloadError(
      `${o.repo} needs ${(total / 1024 ** 3).toFixed(2)} GiB but ${o.modelsDir} has ${(free / 1024 ** 3).toFixed(2)} GiB free`,
    )
  }
  const staging = join(o.modelsDir, `.dolly-download-${name}`)
  const release = claimStaging(staging, o.repo)
  // a dead download's folder taken over keeps only what this listing names (the model is the
  // repository's files, nothing a torn earlier attempt or another revision left)
  pruneUnlisted(staging, new Set(files.map((f) => normalize(join(staging, f.path)))))
  const started = Date.now()
  let done = 0
  try {
    for (let i = 0; i < files.length; i++) {
      const f = files[i]!
      const dest = normalize(join(staging, f.path))
      if (!dest.startsWith(staging + sep))
        throw new DownloadError(`${f.path}: a path outside the model folder`)
      mkdirSync(dirname(dest), { recursive: true })
      const url = `${endpoint}/${o.repo}/resolve/${encodeURIComponent(revision)}/${f.path.split('/').map(encodeURIComponent).join('/')}`
      // A file here already is what a killed download left (claimStaging took its folder over).
      // Its size says nothing about its bytes, so it is kept only where a hash will check it.
      let leftover = leftoverSize(dest)
      if (leftover > f.size || (leftover > 0 && !f.sha256 && !f.gitOid)) {
        rmSync(dest, { force: true })
        leftover = 0
      }
      done += leftover
      const onBytes = (n: number) => {
        done += n
        const speed = done / Math.max((Date.now() - started) / 1000, 1e-3)
        o.onProgress?.({
          file: f.path,
          fileIndex: i,
          files: files.length,
          bytes: done,
          totalBytes: total,
          speed,
          etaS: speed > 0 ? (total - done) / speed : null,
        })
      }
      await fetchFile(url, dest, f, { ...o, endpoint }, onBytes)
      let wrong = await hashProblem(dest, f)
      if (wrong && leftover > 0) {
        // the leftover's bytes were not the hub's (another revision, a torn write): fetch it whole
        rmSync(dest, { force: true })
        done -= f.size
        await fetchFile(url, dest, f, { ...o, endpoint }, onBytes)
        wrong = await hashProblem(dest, f)
      }
      if (wrong) {
        rmSync(dest, { force: true })
        throw new DownloadError(wrong)
      }
    }
    openModelFolder(staging) // the engine must accept it before it becomes a model
    renameSync(staging, target)
    return target
  } catch (err) {
    rmSync(staging, { recursive: true, force: true })
    throw err
  } finally {
    release() // the owner file goes with the staging folder
  }
}
