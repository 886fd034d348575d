// Finding ffmpeg and encoding clips by piping raw RGB frames into it (no temp PNGs). The
// output is written to a temp file beside the target and renamed into place only when
// ffmpeg succeeds; a cancel, a failure or a killed ffmpeg leaves nothing at the target.
import { execFileSync, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import {
  existsSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmdirSync,
  rmSync,
  statSync,
} from 'node:fs'
import { createRequire } from 'node:module'
import { basename, dirname, extname, join } from 'node:path'
import { ProgressParser, type FfmpegProgress } from './ffmpeg-progress'
import {
  CLIP_FILE_FORMATS,
  EXPORT_QUALITY,
  GIF_LOOP,
  gifRateProblem,
  interpolatedCount,
  type ClipFormat,
} from '../../../shared/render'

const requireHere = createRequire(import.meta.url)

export class MediaError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'MediaError'
  }
}

export type FfmpegInfo = { path: string; source: string; version: string }

function versionOf(path: string): string | null {
  try {
    const out = execFileSync(path, ['-hide_banner', '-version'], {
      encoding: 'utf8',
      timeout: 10_000,
      stdio: ['ignore', 'pipe', 'ignore'],
    })
    return (
      out
        .split('\n')[0]
        ?.replace(/^ffmpeg version\s*/, '')
        .split(' ')[0] ?? 'unknown'
    )
  } catch {
    return null
  }
}

function onPath(name: string): string | null {
  const dirs = (process.env['PATH'] ?? '').split(process.platform === 'win32' ? ';' : ':')
  const exe = process.platform === 'win32' ? `${name}.exe` : name
  for (const d of dirs) {
    const p = join(d, exe)
    if (d && existsSync(p)) return p
  }
  return null
}

let cached: FfmpegInfo | null = null

/**
 * ffmpeg, in this order: FFMPEG_PATH, ffmpeg-static's binary (downloaded at install when
 * there is internet), ffmpeg on PATH (Debian's), @ffmpeg-installer/ffmpeg (ships in npm).
 */
export function findFfmpeg(refresh = false): FfmpegInfo {
  if (cached && !refresh) return cached
  const candidates: [string, () => string | null][] = [
    ['FFMPEG_PATH', () => process.env['FFMPEG_PATH'] ?? null],
    [
      'ffmpeg-static',
      () => {
        try {
          return requireHere('ffmpeg-static') as string | null
        } catch {
          return null
        }
      },
    ],
    ['PATH', () => onPath('ffmpeg')],
    [
      '@ffmpeg-installer/ffmpeg',
      () => {
        try {
          return (requireHere('@ffmpeg-installer/ffmpeg') as { path: string }).path
        } catch {
          return null
        }
      },
    ],
  ]
  const tried: string[] = []
  for (const [source, get] of candidates) {
    const path = get()
    if (!path) continue
    if (!existsSync(path)) {
      tried.push(`${source}: ${path} does not exist`)
      continue
    }
    const version = versionOf(path)
    if (!version) {
      tried.push(`${source}: ${path} does not run`)
      continue
    }
    cached = { path, source, version }
    return cached
  }
  throw new MediaError(
    `ffmpeg not found (${tried.join('; ') || 'no candidates'}). Set FFMPEG_PATH, or install ffmpeg (apt-get install ffmpeg)`,
  )
}

/** ffprobe for checking an output: FFPROBE_PATH, beside the ffmpeg in use, or on PATH. */
function findFfprobe(ffmpegPath: string): string | null {
  const exe = process.platform === 'win32' ? 'ffprobe.exe' : 'ffprobe'
  for (const p of [process.env['FFPROBE_PATH'], join(dirname(ffmpegPath), exe), onPath('ffprobe')])
    if (p && existsSync(p)) return p
  return null
}

/** Video packets (one per frame for our formats) in `file`, or null when it cannot be read. */
function countFrames(file: string, ffmpegPath: string): Promise<number | null> {
  const probe = findFfprobe(ffmpegPath)
  // ffprobe counts packets without decoding; without it, ffmpeg copies them to nowhere
  const [bin, args] = probe
    ? [
        probe,
        [
          '-v',
          'error',
          '-count_packets',
          '-select_streams',
          'v:0',
          '-show_entries',
          'stream=nb_read_packets',
          '-of',
          'csv=p=0',
          file,
        ],
      ]
    : [
        ffmpegPath,
        [
          '-v',
          'error',
          '-nostats',
          '-i',
          file,
          '-map',
          '0:v:0',
          '-c',
          'copy',
          '-f',
          'null',
          '-',
          '-progress',
          'pipe:1',
        ],
      ]
  return new Promise((resolve) => {
    const child = spawn(bin, args, { stdio: ['ignore', 'pipe', 'ignore'] })
    let out = ''
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d))
    child.on('error', () => resolve(null))
    child.on('close', (code) => {
      clearTimeout(timer)
      if (code !== 0) return resolve(null)
      if (probe) {
        const m = /^(\d+)$/.exec(out.trim())
        return resolve(m ? Number(m[1]) : null)
      }
      const last = [...out.matchAll(/^frame=(\d+)$/gm)].at(-1)
      resolve(last && /^progress=end$/m.test(out) ? Number(last[1]) : null)
    })
  })
}

/**
 * What ffmpeg wrote, checked before it replaces anything: on a full disk Debian's ffmpeg 5.1
 * can exit 0 after writing an empty GIF or WebM. Null when the output holds every frame;
 * otherwise why it is in doubt (the caller keeps the old file and says so).
 */
export async function outputProblem(
  tmp: string,
  format: ClipFormat,
  numFrames: number,
  ffmpegPath: string,
): Promise<string | null> {
  const hint = 'the disk may be full'
  if (format === 'png') {
    const names = readdirSync(tmp).filter((f) => f.endsWith('.png'))
    if (names.length !== numFrames)
      return `ffmpeg wrote ${names.length} PNG frames; expected ${numFrames}`
    const empty = names.find((f) => statSync(join(tmp, f)).size === 0)
    return empty ? `ffmpeg wrote ${empty} empty (0 bytes; ${hint})` : null
  }
  const size = statSync(tmp).size
  if (size === 0) return `ffmpeg reported success but wrote an empty file (0 bytes; ${hint})`
  const frames = await countFrames(tmp, ffmpegPath)
  if (frames === null)
    return `ffmpeg reported success but what it wrote (${size} bytes) cannot be read back as a video (${hint})`
  if (frames < numFrames)
    return `ffmpeg reported success but what it wrote holds ${frames} of ${numFrames} frames (${hint})`
  return null
}

/** Refuses a doubtful output: removes the temp file, keeps whatever is at the target. */
async function checkBeforeRename(
  tmp: string,
  out: string,
  format: ClipFormat,
  numFrames: number,
  ffmpegPath: string,
): Promise<void> {
  let problem: string | null
  try {
    problem = await outputProblem(tmp, format, numFrames, ffmpegPath)
  } catch (err) {
    problem = `its output could not be checked (${(err as NodeJS.ErrnoException).code ?? err})`
  }
  if (!problem) return
  dropTemp(tmp)
  const kept = existsSync(out) ? `${out} was left as it was` : `nothing was written to ${out}`
  throw new MediaError(`${problem}; ${kept}. Free some space and export again.`)
}

/** Checks the temp output and moves it over the target in one rename (the write is atomic). */
async function commitTemp(
  tmp: string,
  out: string,
  format: ClipFormat,
  numFrames: number,
  ffmpegPath: string,
): Promise<string> {
  await checkBeforeRename(tmp, out, format, numFrames, ffmpegPath)
  try {
    // an empty folder the user chose is replaced; one with files in it is never touched (it
    // can have filled while this export ran: another export into the same folder)
    if (format === 'png' && existsSync(out)) rmdirSync(out)
    renameSync(tmp, out)
  } catch (err) {
    dropTemp(tmp)
    const code = (err as NodeJS.ErrnoException).code
    throw new MediaError(
      code === 'ENOTEMPTY' || code === 'EEXIST'
        ? `${out} got files while this export ran (another export into the same folder?); it was left as it was. Choose a new folder for the PNG frames and export again.`
        : `the export could not be moved to ${out} (${code ?? (err as Error).message}); ${existsSync(out) ? `${out} was left as it was` : `nothing was written to ${out}`}.`,
    )
  }
  liveTemps.delete(tmp)
  return out
}

// --- temp files: named .<target>.dolly-<pid>-<tag>.tmp[.ext] beside the target -------------

/** Temp outputs this process is writing now (a second Ctrl-C or a SIGTERM removes them). */
const liveTemps = new Set<string>()

/** A temp path beside `out`, recognisable by cleanStaleTemps, remembered until it is gone. */
function tempFor(out: string, format: ClipFormat): string {
  const tag = randomBytes(4).toString('hex')
  const name = basename(out.replace(/[\\/]+$/, ''))
  const dir = format === 'png' ? dirname(out.replace(/[\\/]+$/, '')) : dirname(out)
  const tmp = join(
    dir,
    `.${name}.dolly-${process.pid}-${tag}.tmp${format === 'png' ? '' : `.${format}`}`,
  )
  liveTemps.add(tmp)
  return tmp
}

function dropTemp(tmp: string): void {
  rmSync(tmp, { recursive: true, force: true })
  liveTemps.delete(tmp)
}

/** Removes the temp outputs this process is writing (on exit after a signal). */
export function removeLiveTemps(): void {
  for (const t of liveTemps) dropTemp(t)
}

const TEMP_NAME = new RegExp(
  `^\\..+\\.dolly-(?:(\\d+)-)?[0-9a-f]{8}\\.tmp(?:\\.(?:${CLIP_FILE_FORMATS.join('|')}))?$`,
)

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Removes temp outputs a killed run left in `dir`: our naming only, written before `before`
 * (this process's start), and not by a process still running. Returns what it removed.
 */
export function cleanStaleTemps(dir: string, before: number): string[] {
  let names: string[]
  try {
    names = readdirSync(dir)
  } catch {
    return []
  }
  const removed: string[] = []
  for (const name of names) {
    const m = TEMP_NAME.exec(name)
    if (!m) continue
    const pid = m[1] ? Number(m[1]) : null
    if (pid !== null && (pid === process.pid || alive(pid))) continue
    const path = join(dir, name)
    try {
      if (statSync(path).mtimeMs >= before) continue
      rmSync(path, { recursive: true, force: true })
      removed.push(name)
    } catch {
      // gone already, or not ours to remove
    }
  }
  return removed
}

export type { ClipFormat } from '../../../shared/render'

export type EncodeOptions = {
  /** Target file (.mp4/.gif/.webm) or, for PNG, a folder. */
  out: string
  format?: ClipFormat
  width: number
  height: number
  fps: number
  /** GIF: 0 = forever, -1 = play once, N = play N+1 times (ffmpeg's -loop). */
  loop?: number
  /** 0 (best) .. 100 (smallest); mapped to CRF per codec. */
  quality?: number
  /** Output size as a whole multiple of the frames' size (Lanczos upscale); 1 = as rendered. */
  scale?: number
  signal?: AbortSignal
  onProgress?: (p: { frames: number; totalFrames: number; fraction: number }) => void
  /** The ffmpeg process's pid, once it started. */
  onSpawn?: (pid: number) => void
  /**
   * Motion-compensated frame interpolation (ffmpeg's minterpolate): `factor` times the frames
   * per second. A straight clip of n frames gives (n - 1) * factor + 1 (its first and last
   * frames stay); a loop gives n * factor, the last in-betweens leading back into the first.
   */
  interpolate?: Interpolation
  /**
   * Frames arrive while ffmpeg encodes (openClipEncoder during a decode): the encoder looks
   * fewer frames ahead (x264 rc-lookahead 10 instead of 40, VP9 lag 10 instead of 25), so less
   * is left to encode once the last frame is in. The dialog's exports keep the defaults.
   */
  streaming?: boolean
}

export type Interpolation = { factor: number; loop?: boolean }

/** Frames an interpolated clip of `n` frames has (see EncodeOptions.interpolate). */
export function interpolatedFrames(n: number, i: Interpolation): number {
  if (!Number.isInteger(i.factor) || i.factor < 1 || i.factor > 8)
    throw new MediaError(`interpolation factor ${i.factor}: expected a whole number from 1 to 8`)
  return interpolatedCount(n, i.factor, i.loop)
}

/** minterpolate refuses a frame narrower or lower than this ("Height or width < 32"). */
const MINTERPOLATE_MIN = 32
const MINTERPOLATE_WORDS = `ffmpeg's motion-compensated interpolation (minterpolate) needs frames at least ${MINTERPOLATE_MIN} pixels wide and high; export without in-betweens, or render a larger clip`

/**
 * The filters that interpolate: the last frame held one frame longer (tpad) so minterpolate
 * reaches it, then minterpolate to fps x factor (motion-compensated: bidirectional motion
 * estimation, overlapped block compensation, variable-size blocks).
 */
function interpolationFilter(fps: number, factor: number, single = false): string {
  if (factor === 1) return ''
  // one frame has nothing to interpolate between (minterpolate makes nothing of it): the frame
  // repeated at the new rate, cut to the count like the rest
  if (single) return `tpad=stop_mode=clone:stop=1,fps=${fps * factor},`
  return `tpad=stop_mode=clone:stop=1,minterpolate=fps=${fps * factor}:mi_mode=mci:mc_mode=aobmc:me_mode=bidir:vsbmc=1,`
}

/** Whether `out` ends in a path separator: the person named a folder (PNG frames). */
export function namesFolder(out: string): boolean {
  return /[\\/]$/.test(out)
}

export function formatFromPath(out: string): ClipFormat {
  const ext = extname(out).toLowerCase()
  const file: ClipFormat | null =
    ext === '.mp4' || ext === '.m4v' || ext === '.mov'
      ? 'mp4'
      : ext === '.gif'
        ? 'gif'
        : ext === '.webm'
          ? 'webm'
          : null
  // a trailing slash names a folder, and a folder holds PNG frames; a clip file's extension
  // before it is a contradiction, refused rather than guessed (the slash used to be dropped
  // and x.gif/ wrote the file x.gif)
  if (namesFolder(out)) {
    if (file)
      throw new MediaError(
        `${out}: ends in "/", which names a folder, but ${ext} is a clip file; drop the "/" to write the ${file.toUpperCase()} file, or name a folder for PNG frames`,
      )
    return 'png'
  }
  if (file) return file
  if (ext === '' || (existsSync(out) && statSync(out).isDirectory())) return 'png'
  throw new MediaError(
    `${out}: unknown clip format "${ext}"; use .mp4, .gif, .webm or a folder for PNG frames`,
  )
}

/** ffmpeg's output arguments per format (after the rawvideo input). */
export function outputArgs(
  format: ClipFormat,
  o: {
    fps: number
    loop: number
    quality: number
    scale?: number
    /**
     * Interpolate (minterpolate) to `frames` output frames at fps x factor; `single`: the
     * input is one frame (repeated, there being nothing to interpolate between).
     */
    interpolate?: { factor: number; frames: number; single?: boolean }
    /** See EncodeOptions.streaming. */
    streaming?: boolean
  },
): string[] {
  const q = Math.min(100, Math.max(0, o.quality))
  const rate = o.fps * (o.interpolate?.factor ?? 1)
  const gif = format === 'gif' ? gifRateProblem(rate) : null
  if (gif) throw new MediaError(`GIF at ${rate} fps: ${gif}`)
  const k = o.scale ?? 1
  if (!Number.isInteger(k) || k < 1 || k > 8)
    throw new MediaError(`export scale ${k}: expected a whole number from 1 to 8`)
  // in-betweens first (at the rendered size: cheaper), then the upscale; nearest would keep
  // pixels sharp but Lanczos is what editors use
  const interp = o.interpolate
    ? interpolationFilter(o.fps, o.interpolate.factor, o.interpolate.single)
    : ''
  const count = o.interpolate ? ['-frames:v', String(o.interpolate.frames)] : []
  const up = `${interp}${k === 1 ? '' : `scale=iw*${k}:ih*${k}:flags=lanczos,`}`
  const even = `${up}pad=ceil(iw/2)*2:ceil(ih/2)*2`
  const args = formatArgs(format, q, up, even, o.loop)
  if (o.streaming && format === 'mp4')
    args.splice(args.indexOf('-f'), 0, '-x264-params', 'rc-lookahead=10')
  if (o.streaming && format === 'webm') args.splice(args.indexOf('-f'), 0, '-lag-in-frames', '10')
  return [...count, ...args]
}

function formatArgs(
  format: ClipFormat,
  q: number,
  up: string,
  even: string,
  loop: number,
): string[] {
  switch (format) {
    case 'mp4':
      // H.264 needs even sizes and yuv420p for players; faststart puts the index first
      return [
        '-vf',
        even,
        '-c:v',
        'libx264',
        '-pix_fmt',
        'yuv420p',
        '-crf',
        String(Math.round(12 + q * 0.28)),
        '-preset',
        'medium',
        '-movflags',
        '+faststart',
        '-f',
        'mp4',
      ]
    case 'webm':
      return [
        '-vf',
        even,
        '-c:v',
        'libvpx-vp9',
        '-pix_fmt',
        'yuv420p',
        '-b:v',
        '0',
        '-crf',
        String(Math.round(15 + q * 0.35)),
        '-row-mt',
        '1',
        '-f',
        'webm',
      ]
    case 'gif':
      return [
        '-filter_complex',
        `${up}split[a][b];[a]palettegen=stats_mode=diff[p];[b][p]paletteuse=dither=sierra2_4a`,
        '-loop',
        String(loop),
        '-f',
        'gif',
      ]
    case 'png':
      return [
        ...(up ? ['-vf', up.slice(0, -1)] : []),
        '-c:v',
        'png',
        '-f',
        'image2',
        '-start_number',
        '0',
      ]
  }
}

/**
 * Encodes frames ([F, H, W, 3] uint8 RGB) to `o.out`. Resolves with the final path when
 * ffmpeg exits 0; rejects (leaving nothing at the target) otherwise.
 */
export async function encodeClip(
  frames: Uint8Array,
  numFrames: number,
  o: EncodeOptions,
): Promise<string> {
  const frameBytes = o.width * o.height * 3
  if (frames.length !== frameBytes * numFrames) {
    throw new MediaError(
      `frames hold ${frames.length} bytes; expected ${numFrames} x ${o.width}x${o.height}x3`,
    )
  }
  const enc = openClipEncoder(numFrames, o)
  try {
    for (let i = 0; i < numFrames; i++)
      await enc.write(frames.subarray(i * frameBytes, (i + 1) * frameBytes))
  } catch (err) {
    enc.abort()
    throw err
  }
  return enc.finish()
}

/** A clip being encoded while its frames are still coming (see openClipEncoder). */
export type ClipEncoder = {
  /** Hands ffmpeg the next frame [H, W, 3] (or several); resolves once ffmpeg can take more. */
  write(frames: Uint8Array): Promise<void>
  /** No more frames: waits for ffmpeg, checks what it wrote, renames it into place. */
  finish(): Promise<string>
  /** Stops ffmpeg and removes what it wrote so far (the target is left as it was). */
  abort(): void
}

/**
 * Starts ffmpeg on `o.out` for `numFrames` raw RGB frames that arrive over time, so a clip is
 * complete moments after its last frame is decoded instead of being encoded after the whole
 * decode. Same rules as encodeClip: a temp file beside the target, checked, then renamed; a
 * cancel, a failure or a killed ffmpeg leaves nothing at the target.
 */
export function openClipEncoder(numFrames: number, o: EncodeOptions): ClipEncoder {
  const frameBytes = o.width * o.height * 3
  if (
    o.interpolate &&
    o.interpolate.factor > 1 &&
    numFrames > 1 &&
    Math.min(o.width, o.height) < MINTERPOLATE_MIN
  )
    throw new MediaError(`in-betweens for ${o.width}x${o.height} frames: ${MINTERPOLATE_WORDS}`)
  const { format, ff, tmp, target, outFrames, output } = prepareEncode(numFrames, o)
  const input = ['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', `${o.width}x${o.height}`]
  const args = [...QUIET, ...input, '-r', String(o.fps), '-i', 'pipe:0', ...output, target]
  let run: ReturnType<typeof startFfmpeg>
  try {
    run = startFfmpeg(ff.path, args, outFrames, o)
  } catch (err) {
    // spawn can throw at once (bad arguments, a throwing onSpawn): leave nothing behind
    dropTemp(tmp)
    throw err
  }
  let written = 0
  let done = false
  // an interpolated loop ends on in-betweens towards the first frame: it is fed once more
  let first: Uint8Array | null = null
  return {
    async write(frames) {
      if (done) throw new MediaError('the encoder was finished or stopped')
      if (frames.length % frameBytes !== 0)
        throw new MediaError(`${frames.length} bytes are not whole ${o.width}x${o.height} frames`)
      if (o.interpolate?.loop && written === 0) first = frames.slice(0, frameBytes)
      written += frames.length / frameBytes
      if (written > numFrames)
        throw new MediaError(`more than the ${numFrames} frames this clip was opened for`)
      await run.write(frames)
    },
    async finish() {
      if (done) throw new MediaError('the encoder was finished or stopped')
      done = true
      try {
        if (written !== numFrames)
          throw new MediaError(`the clip got ${written} of its ${numFrames} frames`)
        if (first) await run.write(first)
        await run.end()
      } catch (err) {
        run.kill()
        dropTemp(tmp)
        throw err
      }
      return await commitTemp(tmp, o.out, format, outFrames, ff.path)
    },
    abort() {
      if (done) return
      done = true
      run.kill()
      dropTemp(tmp)
    },
  }
}

/** ffmpeg reading raw frames on stdin: write (with backpressure), end, kill. */
function startFfmpeg(
  bin: string,
  args: string[],
  numFrames: number,
  o: Pick<EncodeOptions, 'signal' | 'onSpawn' | 'onProgress'>,
): { write(b: Uint8Array): Promise<void>; end(): Promise<void>; kill(): void } {
  let settled = false
  let failure: Error | null = null
  let resolveDone: () => void = () => undefined
  let rejectDone: (e: Error) => void = () => undefined
  const done = new Promise<void>((res, rej) => {
    resolveDone = res
    rejectDone = rej
  })
  // a failure before anyone awaits `done` must not be an unhandled rejection
  done.catch(() => undefined)
  const finish = (err?: Error) => {
    if (settled) return
    settled = true
    o.signal?.removeEventListener('abort', onAbort)
    if (err) {
      failure = err
      rejectDone(err)
    } else resolveDone()
  }
  const onAbort = () => {
    child.kill('SIGKILL')
    finish(new MediaError('cancelled'))
  }
  if (o.signal?.aborted) {
    finish(new MediaError('cancelled'))
    return {
      write: () => Promise.reject(new MediaError('cancelled')),
      end: () => Promise.reject(new MediaError('cancelled')),
      kill: () => undefined,
    }
  }
  const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true })
  if (child.pid) o.onSpawn?.(child.pid)
  let stderr = ''
  o.signal?.addEventListener('abort', onAbort)
  const parser = new ProgressParser((p: FfmpegProgress) => {
    if (p.frame !== null)
      o.onProgress?.({
        frames: p.frame,
        totalFrames: numFrames,
        fraction: Math.min(1, p.frame / numFrames),
      })
  })
  child.stdout.setEncoding('utf8').on('data', (d: string) => parser.push(d))
  child.stderr.setEncoding('utf8').on('data', (d: string) => {
    stderr = (stderr + d).slice(-4000)
  })
  child.on('error', (err) => finish(new MediaError(`ffmpeg could not start: ${err.message}`)))
  child.on('close', (code, signal) => {
    if (code === 0) finish()
    else if (signal)
      finish(
        new MediaError(`ffmpeg was killed (${signal}) before it finished; nothing was written`),
      )
    else if (/Height or width < 32/.test(stderr))
      // the filter's own line comes before the three that stderr's tail keeps
      finish(new MediaError(`in-betweens for these frames: ${MINTERPOLATE_WORDS}`))
    else
      finish(
        new MediaError(
          `ffmpeg failed (exit ${code}): ${stderr.trim().split('\n').slice(-3).join(' | ') || 'no message'}`,
        ),
      )
  })
  child.stdin.on('error', () => undefined) // EPIPE when ffmpeg dies; 'close' reports it
  return {
    write(b) {
      if (failure) return Promise.reject(failure)
      if (child.stdin.write(b)) return Promise.resolve()
      // backpressure: wait until ffmpeg drained its input (or stopped)
      return new Promise<void>((res, rej) => {
        const onDrain = () => res()
        child.stdin.once('drain', onDrain)
        done.then(res, (e: Error) => {
          child.stdin.off('drain', onDrain)
          rej(e)
        })
      })
    },
    end() {
      if (!settled) child.stdin.end()
      return done
    },
    kill() {
      if (!settled) child.kill('SIGKILL')
      finish(new MediaError('stopped'))
    },
  }
}

/**
 * Re-encodes a folder of frame_NNNN.png (as encodeClip writes them) into another clip, with
 * ffmpeg reading the PNGs itself. Same temp-then-rename rule as encodeClip.
 */
export async function encodeFromFrames(
  framesDir: string,
  numFrames: number,
  o: Omit<EncodeOptions, 'width' | 'height'>,
): Promise<string> {
  const { format, ff, tmp, target, outFrames, output } = prepareEncode(numFrames, o)
  const frames = ['-framerate', String(o.fps), '-start_number', '0', '-i']
  // an interpolated loop reads the first frame once more after the last (concat), so its
  // last in-betweens lead back into the first
  const loopBack = o.interpolate?.loop
    ? [
        '-framerate',
        String(o.fps),
        '-f',
        'image2',
        '-pattern_type',
        'none',
        '-i',
        join(framesDir, 'frame_0000.png'),
      ]
    : []
  const args = [
    ...QUIET,
    ...frames,
    join(literalPercent(framesDir), 'frame_%04d.png'),
    ...loopBack,
    ...(loopBack.length ? lapThen(output) : output),
    target,
  ]
  let run: ReturnType<typeof startFfmpeg> | null = null
  try {
    run = startFfmpeg(ff.path, args, outFrames, o)
    await run.end()
  } catch (err) {
    run?.kill()
    dropTemp(tmp)
    throw err
  }
  return commitTemp(tmp, o.out, format, outFrames, ff.path)
}

/**
 * A folder in an image2 frame pattern: ffmpeg reads "%" there as the start of the frame number
 * ("50% off", "take %d"), and "%%" as a "%".
 */
function literalPercent(dir: string): string {
  return dir.replace(/%/g, '%%')
}

/** Quiet but for errors, progress on stdout, and the temp target overwritten. */
const QUIET = ['-hide_banner', '-loglevel', 'error', '-nostats', '-progress', 'pipe:1', '-y']

/** The highest frame rate a clip is encoded at (the CLI's --fps takes up to this). */
export const MAX_ENCODE_FPS = 240

/**
 * What both encoders check and set up before ffmpeg starts: the frame count, the rate, the
 * destination (a PNG folder must be new or empty), the temp target beside it that is renamed
 * into place when done, the output's frame count and ffmpeg's output arguments.
 */
function prepareEncode(numFrames: number, o: Omit<EncodeOptions, 'width' | 'height'>) {
  const format = o.format ?? formatFromPath(o.out)
  if (!Number.isInteger(numFrames) || numFrames < 1)
    throw new MediaError(`a clip needs at least one frame, got ${numFrames}`)
  if (!(o.fps > 0 && o.fps <= MAX_ENCODE_FPS))
    throw new MediaError(`fps must be between 0 and ${MAX_ENCODE_FPS}, got ${o.fps}`)
  if (
    format === 'png' &&
    existsSync(o.out) &&
    (!statSync(o.out).isDirectory() || readdirSync(o.out).length > 0)
  ) {
    throw new MediaError(
      `${o.out}: already exists and is not an empty folder; choose a new folder for the PNG frames`,
    )
  }
  const ff = findFfmpeg()
  const dir = format === 'png' ? dirname(o.out.replace(/[\\/]+$/, '')) : dirname(o.out)
  if (!existsSync(dir)) throw new MediaError(`${dir}: the destination folder does not exist`)
  const outFrames = o.interpolate ? interpolatedFrames(numFrames, o.interpolate) : numFrames
  const output = outputArgs(format, {
    fps: o.fps,
    loop: o.loop ?? GIF_LOOP.default,
    quality: o.quality ?? EXPORT_QUALITY.default,
    scale: o.scale ?? 1,
    ...(o.interpolate
      ? {
          interpolate: {
            factor: o.interpolate.factor,
            frames: outFrames,
            ...(numFrames === 1 ? { single: true } : {}),
          },
        }
      : {}),
    ...(o.streaming ? { streaming: true } : {}),
  })
  const tmp = tempFor(o.out, format)
  if (format === 'png') mkdirSync(tmp)
  const target = format === 'png' ? join(literalPercent(tmp), 'frame_%04d.png') : tmp
  return { format, ff, tmp, target, outFrames, output }
}

/**
 * The output arguments with the loop's concatenation in front: one -filter_complex graph
 * (ffmpeg takes one per output) that reads [lap], whatever -vf or -filter_complex they had.
 */
function lapThen(out: string[]): string[] {
  const args = [...out]
  const i = args.findIndex((a) => a === '-vf' || a === '-filter_complex')
  const concat = '[0:v][1:v]concat=n=2:v=1:a=0[lap]'
  if (i < 0) return ['-filter_complex', `${concat};[lap]null[v]`, '-map', '[v]', ...args]
  const chain = args[i + 1]!
  args.splice(i, 2)
  // a -vf chain, or a graph whose first filter reads the input unnamed
  return ['-filter_complex', `${concat};[lap]${chain}`, ...args]
}
