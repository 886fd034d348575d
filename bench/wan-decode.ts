// Peak memory of the Wan VAE decode against the clip's length: the chunked decoder (one latent
// frame per call, the causal cache carried between calls) should hold the same working memory
// for 9 frames as for 81; decoding every later latent frame in one call grows with the clip.
// Each point runs in its own process (peak RSS is per process); the decoder is the test
// fixture's (src/demo-model/wan-models.ts: causal conv, two temporal doublings, 8x upsample) at
// 480x832 output, so the figures are the engine's and onnxruntime's, not a real Wan VAE's.
import { spawnSync } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const here = fileURLToPath(new URL('.', import.meta.url))

type Point = {
  latentFrames: number
  frames: number
  mode: string
  peakRssMiB: number
  workingMiB: number
  framesMiB: number
  ms: number
}

function measure(
  latentFrames: number,
  mode: 'chunked' | 'one-call' | 'tiled',
  h: number,
  w: number,
  hidden: number,
): Point {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      join(here, 'wan-decode-child.ts'),
      String(latentFrames),
      mode,
      String(h),
      String(w),
      String(hidden),
    ],
    { encoding: 'utf8' },
  )
  if (r.status !== 0)
    throw new Error(`wan decode bench (${latentFrames}, ${mode}) failed: ${r.stderr.slice(-2000)}`)
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Point
}

export function wanDecodeMemory(): Record<string, unknown> {
  const [h, w, hidden] = [60, 104, 8] // 480x832 frames
  const latentFrames = [3, 6, 11, 21] // 9, 21, 41, 81 frames
  const chunked = latentFrames.map((f) => measure(f, 'chunked', h, w, hidden))
  const oneCall = latentFrames.map((f) => measure(f, 'one-call', h, w, hidden))
  // the minimal plan: per call one 256x256 tile, but every tile's frames are held until the blend
  const tiled = latentFrames.map((f) => measure(f, 'tiled', h, w, hidden))
  const spread = (ps: Point[]) =>
    Number(
      (Math.max(...ps.map((p) => p.workingMiB)) - Math.min(...ps.map((p) => p.workingMiB))).toFixed(
        1,
      ),
    )
  return {
    size: '480x832',
    frames: chunked.map((p) => p.frames),
    chunked_working_mib: chunked.map((p) => p.workingMiB),
    chunked_peak_rss_mib: chunked.map((p) => p.peakRssMiB),
    chunked_ms: chunked.map((p) => p.ms),
    chunked_working_spread_mib: spread(chunked),
    one_call_working_mib: oneCall.map((p) => p.workingMiB),
    one_call_working_spread_mib: spread(oneCall),
    tiled_working_mib: tiled.map((p) => p.workingMiB),
    tiled_ms: tiled.map((p) => p.ms),
  }
}
