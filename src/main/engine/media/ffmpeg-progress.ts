// Parsing ffmpeg's progress, both forms: the key=value blocks of `-progress pipe:1` and the
// `frame=   16 fps=... time=00:00:01.87 ...` stats lines it writes to stderr. Pure functions,
// tested on lines captured from real ffmpeg builds (test/fixtures/ffmpeg).

export type FfmpegProgress = {
  /** Frames written so far. */
  frame: number | null
  /** Output time in seconds. */
  outTimeS: number | null
  /** Encoding speed as a multiple of real time. */
  speed: number | null
  /** True on the last block (`progress=end`). */
  done: boolean
}

function num(v: string | undefined): number | null {
  if (v === undefined) return null
  const n = Number.parseFloat(v.trim())
  return Number.isFinite(n) ? n : null
}

/** hh:mm:ss.frac -> seconds. */
export function parseClock(s: string): number | null {
  const m = /^(-?)(\d+):(\d{2}):(\d{2}(?:\.\d+)?)$/.exec(s.trim())
  if (!m) return null
  const v = Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4])
  return m[1] ? -v : v
}

/**
 * Feeds `-progress` output incrementally (chunks may split lines); calls `onBlock` at each
 * `progress=continue|end` line with the block's values.
 */
export class ProgressParser {
  private buf = ''
  private block: Record<string, string> = {}

  constructor(private readonly onBlock: (p: FfmpegProgress) => void) {}

  push(chunk: string): void {
    this.buf += chunk
    let nl: number
    while ((nl = this.buf.search(/\r?\n|\r/)) >= 0) {
      const line = this.buf.slice(0, nl)
      this.buf = this.buf.slice(nl + (this.buf[nl] === '\r' && this.buf[nl + 1] === '\n' ? 2 : 1))
      this.line(line)
    }
  }

  private line(line: string): void {
    const eq = line.indexOf('=')
    if (eq <= 0) return
    const key = line.slice(0, eq).trim()
    const value = line.slice(eq + 1)
    if (key === 'progress') {
      this.onBlock(progressFromBlock(this.block, value.trim() === 'end'))
      this.block = {}
    } else this.block[key] = value
  }
}

export function progressFromBlock(b: Record<string, string>, done: boolean): FfmpegProgress {
  const us = num(b['out_time_us']) ?? num(b['out_time_ms']) // out_time_ms is microseconds too (an old ffmpeg quirk)
  const clock = b['out_time'] ? parseClock(b['out_time']) : null
  const speedText = b['speed']?.trim().replace(/x$/, '')
  return {
    frame: num(b['frame']),
    outTimeS: us !== null && us >= 0 ? us / 1e6 : clock,
    speed: speedText && speedText !== 'N/A' ? num(speedText) : null,
    done,
  }
}

/** One stderr stats line (`frame=  40 fps=0.0 q=32.0 Lsize= 283kB time=00:00:04.87 ... speed=11.3x`). */
export function parseStatsLine(line: string): FfmpegProgress | null {
  const frame = /frame=\s*(\d+)/.exec(line)
  if (!frame) return null
  const time = /time=\s*(-?[\d:.]+)/.exec(line)
  const speed = /speed=\s*([\d.]+)x/.exec(line)
  return {
    frame: Number(frame[1]),
    outTimeS: time ? parseClock(time[1]!) : null,
    speed: speed ? Number(speed[1]) : null,
    done: /Lsize=/.test(line),
  }
}
