// The memory figure the `auto` plan and the models dialog decide by, for the provider the engine
// will really use (the first available one in its probe's order):
//   cuda    free VRAM from nvidia-smi
//   dml     the user's setting (DOLLY_VRAM_MIB) if given; else nvidia-smi's free VRAM on an NVIDIA
//           card; else 90% of the adapter's dedicated memory from the Windows registry
//           (HardwareInformation.qwMemorySize: DirectML reports no free figure)
//   coreml  on Apple silicon, two thirds of the unified memory (about what macOS lets the GPU
//           wire: Metal's recommendedMaxWorkingSetSize); on an Intel Mac, free system memory
//   cpu     free system memory
import { execFile } from 'node:child_process'
import { freemem, totalmem } from 'node:os'
import type { EngineStatus, GpuInfo } from '../../shared/contract'
import { deviceKind, type DeviceKind } from '../../shared/vram'

export type DeviceBudget = {
  budgetMiB: number
  source: string
  provider: string
  /** A GPU with its own memory, or one pool (CPU, unified memory): shared/vram.ts. */
  device: DeviceKind
}

export type DeviceFacts = {
  providers: EngineStatus['providers']
  gpu: GpuInfo | null
  platform: NodeJS.Platform
  arch: string
  totalMemMiB: number
  freeMemMiB: number
  /** Windows: the largest display adapter's dedicated memory (registry), when known. */
  adapter?: { name: string; dedicatedMiB: number } | null
  /** The user's figure (DOLLY_VRAM_MIB), for providers that cannot report one. */
  userMiB?: number | null
}

const gib = (m: number) => `${(m / 1024).toFixed(1)} GiB`

/** The budget for the provider that runs the next job, or null when no figure can be had. */
export function deviceBudget(f: DeviceFacts): DeviceBudget | null {
  const b = providerBudget(f)
  return b && { ...b, device: deviceKind(b.provider) }
}

function providerBudget(f: DeviceFacts): Omit<DeviceBudget, 'device'> | null {
  const used = f.providers.find((p) => p.available)?.name ?? 'cpu'
  const system = {
    budgetMiB: f.freeMemMiB,
    source: 'free system memory',
    provider: used,
  }
  switch (used) {
    case 'cuda':
      return f.gpu
        ? {
            budgetMiB: f.gpu.vramFreeMiB,
            source: `${f.gpu.name}, free VRAM from nvidia-smi`,
            provider: used,
          }
        : f.userMiB
          ? { budgetMiB: f.userMiB, source: 'your DOLLY_VRAM_MIB setting', provider: used }
          : null
    case 'dml':
      if (f.userMiB)
        return { budgetMiB: f.userMiB, source: 'your DOLLY_VRAM_MIB setting', provider: used }
      if (f.gpu)
        return {
          budgetMiB: f.gpu.vramFreeMiB,
          source: `${f.gpu.name}, free VRAM from nvidia-smi`,
          provider: used,
        }
      if (f.adapter)
        return {
          budgetMiB: Math.floor(f.adapter.dedicatedMiB * 0.9),
          source: `90% of ${f.adapter.name}'s ${gib(f.adapter.dedicatedMiB)} dedicated memory (Windows registry; DirectML reports no free figure; set DOLLY_VRAM_MIB to override)`,
          provider: used,
        }
      return null
    case 'coreml':
      if (f.arch === 'arm64')
        return {
          budgetMiB: Math.floor((f.totalMemMiB * 2) / 3),
          source: `two thirds of ${gib(f.totalMemMiB)} unified memory (what macOS lets the GPU use)`,
          provider: used,
        }
      return system
    default:
      return system
  }
}

/** Parses `reg query <display adapters class> /s`: each adapter key's DriverDesc and HardwareInformation.qwMemorySize. */
export function parseAdapterRegistry(stdout: string): { name: string; dedicatedMiB: number }[] {
  const out: { name: string; dedicatedMiB: number }[] = []
  let name: string | null = null
  let bytes = 0
  const flush = () => {
    if (bytes > 0)
      out.push({ name: name ?? 'the display adapter', dedicatedMiB: Math.round(bytes / 2 ** 20) })
    name = null
    bytes = 0
  }
  for (const line of stdout.split(/\r?\n/)) {
    if (/^HKEY_/.test(line.trim())) {
      flush()
      continue
    }
    const desc = /^\s*DriverDesc\s+REG_SZ\s+(.+?)\s*$/.exec(line)
    if (desc) name = desc[1]!
    const mem = /^\s*HardwareInformation\.qwMemorySize\s+REG_QWORD\s+(0x[0-9a-fA-F]+|\d+)\s*$/.exec(
      line,
    )
    if (mem) bytes = Number(BigInt(mem[1]!))
  }
  flush()
  return out
}

const ADAPTERS_KEY =
  'HKLM\\SYSTEM\\CurrentControlSet\\Control\\Class\\{4d36e968-e325-11ce-bfc1-08002be10318}'

/** Windows: the display adapter with the most dedicated memory, from the registry; null elsewhere or on failure. */
export function queryAdapterMemory(
  platform: NodeJS.Platform = process.platform,
): Promise<{ name: string; dedicatedMiB: number } | null> {
  if (platform !== 'win32') return Promise.resolve(null)
  return new Promise((resolve) => {
    execFile(
      'reg',
      ['query', ADAPTERS_KEY, '/s', '/v', 'HardwareInformation.qwMemorySize'],
      { timeout: 5000, windowsHide: true },
      (err, stdout) => {
        if (err) return resolve(null)
        // names come from a second query (DriverDesc); without them the figure still stands
        execFile(
          'reg',
          ['query', ADAPTERS_KEY, '/s'],
          { timeout: 5000, windowsHide: true, maxBuffer: 16 * 2 ** 20 },
          (err2, all) => {
            const list = parseAdapterRegistry(err2 ? stdout : all)
            resolve(list.sort((a, b) => b.dedicatedMiB - a.dedicatedMiB)[0] ?? null)
          },
        )
      },
    )
  })
}

/** The user's figure for providers that report none: DOLLY_VRAM_MIB (MiB), when set. */
export function userVramMiB(env: NodeJS.ProcessEnv = process.env): number | null {
  const v = Number(env['DOLLY_VRAM_MIB'])
  return Number.isFinite(v) && v > 0 ? Math.floor(v) : null
}

/** This machine's facts with the engine's providers and nvidia-smi's GPU. */
export function deviceFacts(
  status: Pick<EngineStatus, 'providers' | 'gpu'>,
  adapter: { name: string; dedicatedMiB: number } | null = null,
): DeviceFacts {
  return {
    providers: status.providers,
    gpu: status.gpu,
    platform: process.platform,
    arch: process.arch,
    totalMemMiB: Math.round(totalmem() / 2 ** 20),
    freeMemMiB: Math.round(freemem() / 2 ** 20),
    adapter,
    userMiB: userVramMiB(),
  }
}
