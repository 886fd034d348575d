import { describe, expect, it } from 'vitest'
import { parseNvidiaSmi, queryGpu } from '../../src/main/services/gpu'

describe('nvidia-smi', () => {
  it('parses the csv,noheader,nounits query (one line per GPU)', () => {
    const out =
      'NVIDIA GeForce RTX 3060, 12288, 11051, 550.54.14\nNVIDIA H100 80GB HBM3, 81559, 80927, 560.35.03\n'
    expect(parseNvidiaSmi(out)).toEqual([
      {
        name: 'NVIDIA GeForce RTX 3060',
        vramTotalMiB: 12288,
        vramFreeMiB: 11051,
        driverVersion: '550.54.14',
      },
      {
        name: 'NVIDIA H100 80GB HBM3',
        vramTotalMiB: 81559,
        vramFreeMiB: 80927,
        driverVersion: '560.35.03',
      },
    ])
  })

  it('skips lines it cannot read', () => {
    expect(parseNvidiaSmi('No devices were found\n')).toEqual([])
    expect(parseNvidiaSmi('GPU, [N/A], [N/A], 1\n')).toEqual([])
  })

  it('gives a reason instead of a GPU when nvidia-smi is missing', async () => {
    const r = await queryGpu(0, '/nonexistent/nvidia-smi')
    expect(r.gpu).toBeNull()
    expect(r.reason).toMatch(/nvidia-smi not found/)
  })

  it('gives the failure as the reason when nvidia-smi fails', async () => {
    const r = await queryGpu(0, 'false')
    expect(r.gpu).toBeNull()
    expect(r.reason).toMatch(/^nvidia-smi failed/)
  })
})
