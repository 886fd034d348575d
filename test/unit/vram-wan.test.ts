// Wan's memory plans: its causal VAE decodes one latent frame per call (the feature cache carried
// between calls), so the decode stage's need does not grow with the clip, under any plan; its
// transformers (2.2 A14B: two experts) are denoisers called with the guidance batch.
import { describe, expect, it } from 'vitest'
import { PIPELINES } from '../../src/shared/render'
import { planNeeds, stageCalls, type MemoryModel } from '../../src/shared/vram'

const GiB = 1024 ** 3
const P0 = 832 * 480
// rules as wan.py writes them (dolly.json "memory"): the transformer's over the clip's frames
// (F0 = 81) and pixels, the VAE's for one call of one latent frame (F0 = 1, no frame terms)
const transformer = {
  F0: 81,
  P0,
  constant: 0.05 * GiB,
  terms: [[1, 1, 3 * GiB]] as [number, number, number][],
}
const vae = {
  F0: 1,
  P0,
  constant: 0.01 * GiB,
  terms: [[0, 1, 9 * GiB]] as [number, number, number][],
}

const wan = (extra: MemoryModel['components'] = {}): MemoryModel => ({
  pipeline: 'wan',
  decodeChunk: null,
  vaeScale: 8,
  components: {
    text_encoder: { bytes: 11 * GiB, activations: { F0: 1, P0, constant: 0.1 * GiB, terms: [] } },
    transformer: { bytes: 5.7 * GiB, activations: transformer },
    vae_decoder: { bytes: 0.5 * GiB, activations: vae },
    ...extra,
  },
})

const call = (frames: number, width = 832, height = 480) => ({ width, height, frames, guidance: 5 })

describe('wan memory plans', () => {
  it('the facts say the VAE decodes one latent frame per call', () => {
    for (const k of ['wan', 'wan-i2v', 'wan-fun-camera'] as const) {
      expect(PIPELINES[k].decodeChunk).toBeNull()
      expect(PIPELINES[k].decodeCall).toBe('latent-frame')
    }
    expect(PIPELINES.cogvideox.decodeCall).toBe('clip')
  })

  it('the VAE stage needs the same for any clip length, under every plan', () => {
    const vaeNeed = (frames: number, plan: 'resident' | 'offload' | 'minimal') => {
      const s = stageCalls(wan(), plan, call(frames)).find((c) => c.component === 'vae_decoder')!
      // minimal decodes in diffusers' 256-pixel tiles, each tile the whole clip with its cache
      const side = plan === 'minimal' ? { width: 256, height: 256 } : { width: 832, height: 480 }
      expect(s).toMatchObject({ batch: 1, frames: 1, ...side })
      return planNeeds(
        { ...wan(), components: { vae_decoder: wan().components['vae_decoder']! } },
        call(frames),
      )[plan].needMiB
    }
    for (const plan of ['resident', 'offload', 'minimal'] as const) {
      const short = vaeNeed(5, plan)
      expect(vaeNeed(81, plan)).toBe(short)
      expect(vaeNeed(241, plan)).toBe(short)
      // one call at 832x480 (a tile of 256x256): 0.01 + 9 GiB of activations per 832x480 x 1.25,
      // 0.5 GiB of weights, the runtime
      const pixels = plan === 'minimal' ? (256 * 256) / P0 : 1
      expect(short).toBe(Math.ceil(512 + (0.01 * 1024 + 9 * 1024 * pixels) * 1.25 + 768))
    }
    // the size still counts: twice the pixels, twice the per-call activations
    const big = planNeeds(wan(), call(81, 1280, 720)).offload
    expect(big.largest.component).toBe('vae_decoder')
    expect(big.largest.activationMiB).toBeCloseTo(
      (0.01 * 1024 + 9 * 1024 * ((1280 * 720) / P0)) * 1.25,
      3,
    )
  })

  it('the transformer stage grows with the clip and takes over from the VAE', () => {
    const stage = (frames: number, name: string) =>
      planNeeds(wan(), call(frames)).resident.largest.component === name
    const at = (frames: number) =>
      stageCalls(wan(), 'offload', call(frames)).find((s) => s.component === 'transformer')!
    expect(at(161)).toMatchObject({ batch: 2, frames: 161 })
    expect(stage(5, 'vae_decoder')).toBe(true)
    expect(stage(241, 'transformer')).toBe(true)
  })

  it('the vae decoder as the whole clip would wrongly grow with frames (CogVideoX-style call)', () => {
    // the same rule read as a 3D VAE decoding the clip in one call: this is what a missing fact gave
    const cog: MemoryModel = { ...wan(), pipeline: 'cogvideox' }
    const s = stageCalls(cog, 'offload', call(81)).find((c) => c.component === 'vae_decoder')!
    expect(s.frames).toBe(81)
  })

  it("A14B's second expert is a denoiser too: the guidance batch and the clip's frames", () => {
    const m = wan({ transformer_2: { bytes: 28 * GiB, activations: transformer } })
    const t2 = stageCalls(m, 'offload', call(81)).find((s) => s.component === 'transformer_2')!
    expect(t2).toMatchObject({ batch: 2, frames: 81 })
    expect(
      stageCalls(m, 'minimal', call(81)).find((s) => s.component === 'transformer_2')!.batch,
    ).toBe(1)
    expect(planNeeds(m, call(81)).offload.largest.component).toBe('transformer_2')
  })
})

describe('the text encoder under minimal', () => {
  // UMT5-XXL in float32: 21 GiB of weights, more than the transformer and the VAE
  const big = (): MemoryModel => ({
    ...wan(),
    components: {
      ...wan().components,
      text_encoder: { bytes: 21 * GiB, activations: { F0: 1, P0, constant: 0.2 * GiB, terms: [] } },
    },
  })
  const c = call(81)

  it('on a discrete GPU it runs on the CPU: the VAE or transformer decides the VRAM', () => {
    const n = planNeeds(big(), c, 'discrete')
    expect(n.offload.largest.component).toBe('text_encoder')
    expect(n.minimal.largest.component).not.toBe('text_encoder')
    expect(n.minimal.needMiB).toBeLessThan(n.offload.needMiB - 8 * 1024)
    // what it takes instead: system memory, its weights and activations (no GPU runtime)
    expect(n.minimal.host).toMatchObject({ component: 'text_encoder', onHost: true })
    expect(n.minimal.host!.needMiB).toBe(Math.ceil(21 * 1024 + 0.2 * 1024 * 1.25))
    expect(stageCalls(big(), 'minimal', c).find((s) => s.component === 'transformer')!.onHost).toBe(
      undefined,
    )
    // resident and offload keep it on the GPU
    expect(n.offload.host).toBeUndefined()
    expect(stageCalls(big(), 'offload', c).some((s) => s.onHost)).toBe(false)
  })

  it('with one memory pool (the CPU, unified memory) nothing moves', () => {
    const n = planNeeds(big(), c, 'shared')
    expect(n.minimal.largest.component).toBe('text_encoder')
    expect(n.minimal.host).toBeUndefined()
    expect(n.minimal.needMiB).toBe(n.offload.needMiB)
  })
})
