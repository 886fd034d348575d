// The memory figure plans decide by, per provider the engine uses: nvidia-smi on CUDA, the
// registry's dedicated memory (or the user's setting) on DirectML, a share of unified memory on
// Apple silicon, free system memory on the CPU.
import { describe, expect, it } from 'vitest'
import {
  deviceBudget,
  parseAdapterRegistry,
  userVramMiB,
  type DeviceFacts,
} from '../../src/main/services/device-memory'

const gpu = {
  name: 'NVIDIA RTX 4090',
  vramTotalMiB: 24564,
  vramFreeMiB: 23000,
  driverVersion: '560',
}
const p = (...names: ('cuda' | 'dml' | 'coreml' | 'cpu')[]) =>
  names.map((name) => ({ name, available: true, reason: null }))

function facts(o: Partial<DeviceFacts>): DeviceFacts {
  return {
    providers: [{ name: 'cpu', available: true, reason: null }],
    gpu: null,
    platform: 'linux',
    arch: 'x64',
    totalMemMiB: 32768,
    freeMemMiB: 20000,
    ...o,
  }
}

describe('device budget', () => {
  it('CUDA: free VRAM from nvidia-smi', () => {
    expect(deviceBudget(facts({ providers: p('cuda', 'cpu'), gpu }))).toEqual({
      budgetMiB: 23000,
      source: 'NVIDIA RTX 4090, free VRAM from nvidia-smi',
      provider: 'cuda',
      device: 'discrete',
    })
  })

  it('an unavailable GPU provider is skipped: the CPU plans by free system memory', () => {
    const providers = [
      { name: 'cuda' as const, available: false, reason: 'no library' },
      { name: 'cpu' as const, available: true, reason: null },
    ]
    expect(deviceBudget(facts({ providers, gpu }))).toMatchObject({
      budgetMiB: 20000,
      source: 'free system memory',
      provider: 'cpu',
      device: 'shared',
    })
  })

  it('DirectML: the user setting, else nvidia-smi, else 90% of the registry figure, else none', () => {
    const base = { platform: 'win32' as const, providers: p('dml', 'cpu') }
    const adapter = { name: 'AMD Radeon RX 7900 XTX', dedicatedMiB: 24560 }
    expect(deviceBudget(facts({ ...base, adapter, gpu, userMiB: 8000 }))).toMatchObject({
      budgetMiB: 8000,
      source: 'your DOLLY_VRAM_MIB setting',
    })
    expect(deviceBudget(facts({ ...base, adapter, gpu }))).toMatchObject({ budgetMiB: 23000 })
    const reg = deviceBudget(facts({ ...base, adapter }))!
    expect(reg.budgetMiB).toBe(Math.floor(24560 * 0.9))
    expect(reg.source).toMatch(
      /AMD Radeon RX 7900 XTX's 24\.0 GiB dedicated memory \(Windows registry/,
    )
    expect(deviceBudget(facts(base))).toBeNull()
  })

  it('CoreML on Apple silicon: two thirds of the unified memory; on Intel, free system memory', () => {
    const mac = { platform: 'darwin' as const, providers: p('coreml', 'cpu'), totalMemMiB: 36864 }
    expect(deviceBudget(facts({ ...mac, arch: 'arm64' }))).toMatchObject({
      budgetMiB: 24576,
      source: 'two thirds of 36.0 GiB unified memory (what macOS lets the GPU use)',
      provider: 'coreml',
      // one pool: the text encoder moved to the CPU would still take from it
      device: 'shared',
    })
    expect(deviceBudget(facts({ ...mac, arch: 'x64' }))).toMatchObject({ budgetMiB: 20000 })
  })

  it('reads the adapters’ dedicated memory from reg query output, each with its name', () => {
    const out = [
      'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Class\\{4d36e968-e325-11ce-bfc1-08002be10318}\\0000',
      '    HardwareInformation.qwMemorySize    REG_QWORD    0x600000000',
      '    DriverDesc    REG_SZ    AMD Radeon RX 7800 XT',
      '',
      'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Class\\{4d36e968-e325-11ce-bfc1-08002be10318}\\0001',
      '    DriverDesc    REG_SZ    Intel(R) UHD Graphics 770',
      '    HardwareInformation.qwMemorySize    REG_QWORD    0x8000000',
      '',
      'HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Control\\Class\\{4d36e968-e325-11ce-bfc1-08002be10318}\\Properties',
    ].join('\r\n')
    expect(parseAdapterRegistry(out)).toEqual([
      { name: 'AMD Radeon RX 7800 XT', dedicatedMiB: 24576 },
      { name: 'Intel(R) UHD Graphics 770', dedicatedMiB: 128 },
    ])
    expect(
      parseAdapterRegistry('ERROR: The system was unable to find the specified registry key'),
    ).toEqual([])
  })

  it('DOLLY_VRAM_MIB is the user’s figure when it is a positive number', () => {
    expect(userVramMiB({ DOLLY_VRAM_MIB: '12288' })).toBe(12288)
    expect(userVramMiB({ DOLLY_VRAM_MIB: 'lots' })).toBeNull()
    expect(userVramMiB({})).toBeNull()
  })
})
