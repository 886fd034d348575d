// GPU facts from nvidia-smi: the only source of free VRAM we have, since onnxruntime-node's
// CUDA provider exposes no memory query to JavaScript.
import { execFile } from 'node:child_process'
import type { GpuInfo } from '../../shared/contract'

export type GpuQuery = { gpu: GpuInfo | null; reason: string | null }

/** Parses `nvidia-smi --query-gpu=name,memory.total,memory.free,driver_version --format=csv,noheader,nounits`. */
export function parseNvidiaSmi(stdout: string): GpuInfo[] {
  const gpus: GpuInfo[] = []
  for (const line of stdout.split(/\r?\n/)) {
    if (!line.trim()) continue
    const cols = line.split(',').map((c) => c.trim())
    if (cols.length < 3) continue
    const total = Number(cols[1])
    const free = Number(cols[2])
    if (!Number.isFinite(total) || !Number.isFinite(free)) continue
    gpus.push({
      name: cols[0]!.slice(0, 256),
      vramTotalMiB: Math.round(total),
      vramFreeMiB: Math.round(free),
      driverVersion: cols[3] ? cols[3].slice(0, 64) : null,
    })
  }
  return gpus
}

export function queryGpu(
  deviceId = 0,
  command = process.env.DOLLY_NVIDIA_SMI ?? 'nvidia-smi',
): Promise<GpuQuery> {
  return new Promise((resolve) => {
    execFile(
      command,
      ['--query-gpu=name,memory.total,memory.free,driver_version', '--format=csv,noheader,nounits'],
      { timeout: 5000, windowsHide: true },
      (err, stdout, stderr) => {
        if (err) {
          const code = (err as NodeJS.ErrnoException).code
          if (code === 'ENOENT') {
            resolve({
              gpu: null,
              reason:
                'nvidia-smi not found: no NVIDIA driver on this machine, so the engine runs on the CPU',
            })
          } else {
            const detail = (stderr || err.message).trim().split('\n')[0]
            resolve({ gpu: null, reason: `nvidia-smi failed: ${detail}` })
          }
          return
        }
        const gpus = parseNvidiaSmi(stdout)
        const gpu = gpus[deviceId]
        if (!gpu) {
          resolve({
            gpu: null,
            reason: gpus.length ? `nvidia-smi lists no GPU ${deviceId}` : 'nvidia-smi lists no GPU',
          })
        } else {
          resolve({ gpu, reason: null })
        }
      },
    )
  })
}
