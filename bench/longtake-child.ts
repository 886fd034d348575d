// One render in a fresh process for bench/longtake.ts: prints its peak RSS, time, windows and
// how long after the last decoded frame the clip was complete (JSON, last line of stdout).
import { readdirSync } from 'node:fs'
import { encodeFromFrames } from '../src/main/engine/media/ffmpeg'
import { renderClip, type RenderSpec } from '../src/main/engine/jobs/render'
import { Runtime } from '../src/main/engine/runtime/session'

const { reencode, ...spec } = JSON.parse(process.argv[2]!) as RenderSpec & { reencode?: boolean }
const runtime = new Runtime({ preferCuda: false })
const t = performance.now()
const r = await renderClip(spec, { runtime })
const ms = performance.now() - t
await runtime.releaseAll()
let reencodeAfterMs: number | null = null
if (reencode && spec.framesOut) {
  // the old way: the whole clip encoded after the decode (same frames, same settings)
  const n = readdirSync(spec.framesOut).filter((f) => f.endsWith('.png')).length
  const t0 = performance.now()
  await encodeFromFrames(spec.framesOut, n, { out: `${spec.out}.after.mp4`, fps: r.fps })
  reencodeAfterMs = Math.round(performance.now() - t0)
}
console.log(
  JSON.stringify({
    maxRssMiB: process.resourceUsage().maxRSS / 1024,
    ms: Math.round(ms),
    frames: r.frames,
    windows: r.longTake?.windows ?? null,
    drift: r.settings.context?.drift ?? null,
    lastFrameToFileMs: r.timingsMs['lastFrameToFile'] ?? null,
    reencodeAfterMs,
  }),
)
