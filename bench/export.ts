// ffmpeg export of 25 frames at 1024x576 to MP4 through our pipe (encodeClip), as a ratio to
// running the ffmpeg CLI with the same arguments on the same raw frames from a file.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { encodeClip, findFfmpeg } from '../src/main/engine'
import { outputArgs } from '../src/main/engine/media/ffmpeg'

export async function exportOverhead(runs = 3): Promise<Record<string, number | string>> {
  const F = 25
  const W = 1024
  const H = 576
  const frames = new Uint8Array(F * W * H * 3)
  let x = 12345
  for (let f = 0; f < F; f++)
    for (let i = 0; i < W * H; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0
      const p = (f * W * H + i) * 3
      frames[p] = ((i % W) + f * 8) & 255
      frames[p + 1] = (Math.floor(i / W) + (x >>> 28)) & 255
      frames[p + 2] = (x >>> 24) & 255
    }
  const dir = mkdtempSync(join(tmpdir(), 'dolly-bench-'))
  const raw = join(dir, 'frames.rgb')
  writeFileSync(raw, frames)
  const ff = findFfmpeg()
  const median = (a: number[]) => [...a].sort((p, q) => p - q)[Math.floor(a.length / 2)]!
  const ours: number[] = []
  const cli: number[] = []
  try {
    for (let r = 0; r < runs; r++) {
      let t = performance.now()
      await encodeClip(frames, F, { out: join(dir, `ours${r}.mp4`), width: W, height: H, fps: 8 })
      ours.push(performance.now() - t)
      t = performance.now()
      const args = [
        '-hide_banner',
        '-loglevel',
        'error',
        '-nostats',
        '-y',
        '-f',
        'rawvideo',
        '-pix_fmt',
        'rgb24',
        '-s',
        `${W}x${H}`,
        '-r',
        '8',
        '-i',
        raw,
        ...outputArgs('mp4', { fps: 8, loop: 0, quality: 30 }),
        join(dir, `cli${r}.mp4`),
      ]
      const res = spawnSync(ff.path, args, { stdio: 'ignore' })
      if (res.status !== 0) throw new Error('ffmpeg CLI run failed')
      cli.push(performance.now() - t)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  const o = median(ours)
  const c = median(cli)
  return {
    ffmpeg: `${ff.source} ${ff.version}`,
    pipe_ms: Math.round(o),
    cli_from_file_ms: Math.round(c),
    export_overhead_ratio: Number((o / c).toFixed(3)),
  }
}
