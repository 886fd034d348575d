// One measurement for bench/wan-decode.ts, in its own process (peak RSS is per process): decode
// `latentFrames` latent frames with the chunked Wan VAE decoder fixture, either one latent frame
// per call (the engine's way) or the first alone and the rest in one call, and print the peak.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { wanVaeDecoder } from '../src/demo-model/wan-models'
import { decodeWanLatents, forEachChunk, wanTiling } from '../src/main/engine/pipelines/wan'
import { Runtime } from '../src/main/engine/runtime/session'

const [latentFrames, mode, h, w, hidden] = process.argv
  .slice(2)
  .map((v, i) => (i === 1 ? v : Number(v))) as [number, string, number, number, number]
const z = 16
const dir = mkdtempSync(join(tmpdir(), 'dolly-wan-bench-'))
const path = join(dir, 'vae_decoder.onnx')
writeFileSync(path, wanVaeDecoder({ z, hidden, scale: 8 }))
const rt = new Runtime({ preferCuda: false })
const s = await rt.load(path, 'vae_decoder')
const lat = new Float32Array(z * latentFrames * h * w).map((_, i) => Math.sin(i * 0.37))
const dims: [number, number, number, number, number] = [1, z, latentFrames, h, w]
const mib = (b: number) => b / 1024 ** 2
const baseline = process.memoryUsage().rss
const t0 = performance.now()
let outBytes = 0
if (mode === 'chunked' || mode === 'tiled') {
  // tiled: the minimal plan's 256-pixel tiles, each the whole clip with its own cache
  const tiles = mode === 'tiled' ? wanTiling(8, 1) : undefined
  const out = await decodeWanLatents(s, 'latent_sample', lat, dims, {
    temporal: 4,
    scale: 8,
    tiles,
  })
  outBytes = out.frames.byteLength
} else {
  await forEachChunk(s, { name: 'latent_sample', data: lat, dims }, [1, latentFrames - 1], (o) => {
    outBytes += o.byteLength
  })
}
const ms = performance.now() - t0
const peak = process.resourceUsage().maxRSS * 1024
await s.release()
rmSync(dir, { recursive: true, force: true })
console.log(
  JSON.stringify({
    latentFrames,
    frames: 1 + 4 * (latentFrames - 1),
    mode,
    peakRssMiB: Number(mib(peak).toFixed(1)),
    baselineRssMiB: Number(mib(baseline).toFixed(1)),
    framesMiB: Number(mib(outBytes).toFixed(1)),
    // what the decode itself held beyond the process before it and the frames it returns
    workingMiB: Number(mib(peak - baseline - outBytes).toFixed(1)),
    ms: Math.round(ms),
  }),
)
