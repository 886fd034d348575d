// Long takes: (1) peak memory of a render of one motion window and of three windows' worth in
// one job (context windows), each in a fresh process, beside the same three windows' worth in
// one denoiser call, which is what a long take costs without windows; (2) how long after its
// last decoded frame the clip file is complete (frames stream into ffmpeg as they are
// decoded), for 16 and 81 frames, beside re-encoding the same frames after the decode as the
// export used to.
import { spawnSync } from 'node:child_process'
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as tiny from '../src/demo-model/tiny-models'

const here = fileURLToPath(new URL('.', import.meta.url))
const root = resolve(here, '..')
const demo = join(root, 'resources/demo-model')

/**
 * The demo model with a motion window of `window` frames and a 512x512 UNet, so the UNet's
 * activations (which grow with the frames one call takes) weigh more than the runtime itself.
 */
function benchModel(dir: string, window: number): string {
  cpSync(demo, dir, { recursive: true })
  writeFileSync(
    join(dir, 'unet/model.onnx'),
    tiny.animateDiffUNet({ height: 64, width: 64, textWidth: 16, cameraPoses: true, seed: 102 }),
  )
  const d = JSON.parse(readFileSync(join(dir, 'dolly.json'), 'utf8')) as Record<string, unknown>
  writeFileSync(
    join(dir, 'dolly.json'),
    JSON.stringify({
      ...d,
      label: `bench (window ${window})`,
      maxFrames: window,
      nativeWidth: 512,
      nativeHeight: 512,
    }),
  )
  return dir
}

type Child = {
  maxRssMiB: number
  ms: number
  frames: number
  windows: number | null
  drift: { before: { mean: number; std: number }; after: { mean: number; std: number } } | null
  lastFrameToFileMs: number | null
  reencodeAfterMs: number | null
}

function child(spec: Record<string, unknown>): Child {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(here, 'longtake-child.ts'), JSON.stringify(spec)],
    { cwd: root, encoding: 'utf8', env: { ...process.env, MALLOC_MMAP_THRESHOLD_: '131072' } },
  )
  if (r.status !== 0) throw new Error(`bench child failed: ${r.stderr.slice(-2000)}`)
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as Child
}

const round = (d: { mean: number; std: number }) => ({
  mean: Number(d.mean.toFixed(4)),
  std: Number(d.std.toFixed(4)),
})

export function longTakeBench(): Record<string, unknown> {
  const tmp = mkdtempSync(join(tmpdir(), 'dolly-bench-long-'))
  try {
    const windowed = benchModel(join(tmp, 'w16'), 16)
    const oneCall = benchModel(join(tmp, 'w48'), 48)
    const base = { prompt: 'a lighthouse', steps: 2, seed: 1, decodeChunkSize: 2, plan: 'resident' }
    const one = child({ ...base, model: windowed, frames: 16, out: join(tmp, 'a.mp4') })
    const three = child({ ...base, model: windowed, frames: 48, out: join(tmp, 'b.mp4') })
    const flat = child({ ...base, model: oneCall, frames: 48, out: join(tmp, 'c.mp4') })
    const stream = (frames: number) =>
      child({
        prompt: 'a lighthouse',
        steps: 2,
        seed: 1,
        model: demo,
        frames,
        // 81 frames: the demo's layers take any count; a real motion window is 16 or 32
        ...(frames > 32 ? { context: { window: 32 } } : {}),
        out: join(tmp, `s${frames}.mp4`),
        framesOut: join(tmp, `s${frames}-frames`),
        reencode: true,
      })
    const s16 = stream(16)
    const s81 = stream(81)
    const mib = (c: Child) => Math.round(c.maxRssMiB)
    return {
      model: 'demo UNet at 512x512 (64x64 latents), motion window 16, 2 steps, CFG, CPU',
      peak_rss_mib: {
        one_window_16_frames: mib(one),
        three_windows_48_frames: mib(three),
        without_windows_48_frames_one_call: mib(flat),
      },
      windows_for_48: three.windows,
      colour_drift_48: three.drift
        ? {
            bound: 0.1,
            before: round(three.drift.before),
            after: round(three.drift.after),
          }
        : null,
      three_over_one: Number((three.maxRssMiB / one.maxRssMiB).toFixed(3)),
      last_decoded_frame_to_file_ms: {
        frames_16: s16.lastFrameToFileMs,
        frames_81: s81.lastFrameToFileMs,
      },
      reencode_after_decode_ms: { frames_16: s16.reencodeAfterMs, frames_81: s81.reencodeAfterMs },
      stream_note: 'demo model 256x256 MP4 (x264 medium); 81 frames as windows of 32',
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true })
  }
}
