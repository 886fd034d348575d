// What picking a Wan model brings: diffusers' defaults (50 steps, guidance 5, 81 frames at 16 fps,
// 4k+1 frames as diffusers rounds them), diffusers' Wan negative prompt where the creator wrote
// none, and what the motion slider means on each Wan kind.
import { describe, expect, it } from 'vitest'
import { mapMotion, motionControlFor } from '../../src/shared/motion'
import {
  PIPELINES,
  settingsForModel,
  STUDIO_NEGATIVE_PROMPT,
  WAN_NEGATIVE_PROMPT,
  clipFrameCount,
  framesNotice,
  validFrameCount,
  type ModelDefaults,
  type RenderSettings,
} from '../../src/shared/render'
import { initialShot } from '../../src/shared/shots'

const settings: RenderSettings = {
  modelId: 'demo',
  prompt: 'a fox',
  negativePrompt: '',
  seed: 1,
  steps: 25,
  guidance: 7.5,
  frames: 16,
  fps: 8,
  scheduler: '',
  plan: 'auto',
  motion: 0.3,
}
const wan: ModelDefaults = {
  frames: 81,
  steps: 50,
  guidance: 5,
  fps: 16,
  width: 832,
  height: 480,
  decodeChunk: null,
  negativePrompt: WAN_NEGATIVE_PROMPT,
}
const animatediff: ModelDefaults = {
  ...wan,
  frames: 16,
  steps: 25,
  guidance: 7.5,
  fps: 8,
  width: 512,
  height: 512,
  negativePrompt: undefined,
}

describe('Wan defaults', () => {
  it("the facts rows carry diffusers' WanPipeline defaults and the frame rule", () => {
    for (const k of ['wan', 'wan-i2v', 'wan-fun-camera'] as const) {
      const f = PIPELINES[k]
      expect([f.frames, f.fps, f.steps, f.frameRule, f.sizeMultiple, f.width, f.height]).toEqual([
        81,
        16,
        50,
        k === 'wan-fun-camera'
          ? '4k+1 ((num_frames - 1) // 4 * 4 + 1)'
          : '4k+1 (num_frames // 4 * 4 + 1)',
        16,
        832,
        480,
      ])
      expect(f.tokenizer).toEqual({ kind: 't5', maxTokens: 512 })
    }
    expect(PIPELINES.wan.guidance).toBe(5)
    expect(PIPELINES['wan-fun-camera'].guidance).toBe(6)
    expect(PIPELINES['wan-fun-camera'].camera).toEqual(['cameractrl-plucker'])
    expect(
      WAN_NEGATIVE_PROMPT.startsWith('Bright tones, overexposed, static, blurred details'),
    ).toBe(true)
  })

  it("brings Wan's negative prompt when none was written, keeps a creator's, and takes it away again", () => {
    const onWan = settingsForModel(settings, { id: 'wan', defaults: wan })
    expect(onWan).toMatchObject({
      negativePrompt: WAN_NEGATIVE_PROMPT,
      frames: 81,
      steps: 50,
      guidance: 5,
      fps: 16,
    })
    const mine = settingsForModel(
      { ...settings, negativePrompt: 'blurry' },
      { id: 'wan', defaults: wan },
    )
    expect(mine.negativePrompt).toBe('blurry')
    // back on a model without its own: the studio's default, not Wan's left behind
    expect(settingsForModel(onWan, { id: 'ad', defaults: animatediff }).negativePrompt).toBe(
      STUDIO_NEGATIVE_PROMPT,
    )
    // a fresh shot's negative prompt (the studio's) gives way to Wan's; an emptied one stays empty
    const fresh = initialShot('').settings
    expect(fresh.negativePrompt).toBe(STUDIO_NEGATIVE_PROMPT)
    expect(settingsForModel(fresh, { id: 'wan', defaults: wan }).negativePrompt).toBe(
      WAN_NEGATIVE_PROMPT,
    )
    const emptied = { ...fresh, negativePrompt: '' }
    expect(settingsForModel(emptied, { id: 'ad', defaults: animatediff }).negativePrompt).toBe('')
  })

  it('rounds a frame count as diffusers does: num_frames // 4 * 4 + 1 unless it is 4k+1', () => {
    const wan = PIPELINES.wan.frameRule
    expect([81, 80, 82, 79, 8, 9, 1, 2].map((f) => validFrameCount(wan, f))).toEqual([
      81, 81, 81, 77, 9, 9, 1, 1,
    ])
  })

  it('CogVideoX keeps (num_frames - 1) // 4 + 1 latent frames: multiples of 4 go down, not up', () => {
    const cog = PIPELINES.cogvideox.frameRule
    expect([49, 48, 47, 50, 4, 5, 1].map((f) => validFrameCount(cog, f))).toEqual([
      49, 45, 45, 49, 1, 5, 1,
    ])
    expect(validFrameCount(PIPELINES.animatediff.frameRule, 47)).toBe(47)
  })

  it("CogVideoX's clip has the frames its VAE decodes: latent frames in pairs, an even count 4 per latent", () => {
    // diffusers' AutoencoderKLCogVideoX.decode (temporal compression 4) on 1..7 and 13 latent
    // frames returned 1, 8, 9, 16, 17, 24, 25 and 49 frames: _decode calls the decoder on two
    // latent frames at a time (the first call takes the odd one left over), and each call's
    // temporal upsampling keeps a lone or odd first frame and doubles the rest
    const latentsToFrames = { 1: 1, 2: 8, 3: 9, 4: 16, 5: 17, 6: 24, 7: 25, 13: 49 }
    for (const [latents, frames] of Object.entries(latentsToFrames)) {
      const asked = (Number(latents) - 1) * 4 + 1
      expect(clipFrameCount(PIPELINES.cogvideox, asked), `${asked} frames`).toBe(frames)
      expect(clipFrameCount(PIPELINES['cogvideox-i2v'], asked)).toBe(frames)
    }
    // 5 frames (2 latent frames) make 8; 47 keeps 12 latent frames, which make 48
    expect([5, 47, 48, 49, 81].map((f) => clipFrameCount(PIPELINES.cogvideox, f))).toEqual([
      8, 48, 48, 49, 81,
    ])
    // the other families' clips have the frames their rule keeps
    expect(clipFrameCount(PIPELINES.wan, 80)).toBe(81)
    expect(clipFrameCount(PIPELINES.animatediff, 47)).toBe(47)
    // the panel says so (it said "5 renders as 5": the frame rule alone)
    expect(framesNotice(PIPELINES.cogvideox, 5)).toBe(
      'CogVideoX decodes 8k+1 frames exactly (its VAE decodes latent frames in pairs): 5 renders as 8',
    )
    expect(framesNotice(PIPELINES.cogvideox, 49)).toBeNull()
    expect(framesNotice(PIPELINES.wan, 80)).toMatch(/decodes 4k\+1 frames: 80 renders as 81$/)
  })

  it("Wan-Fun Control-Camera rounds down, as VideoX-Fun's camera example does ((n - 1) // 4 * 4 + 1)", () => {
    const fun = PIPELINES['wan-fun-camera'].frameRule
    expect([81, 80, 82, 79, 8, 9, 1, 2].map((f) => validFrameCount(fun, f))).toEqual([
      81, 77, 81, 77, 5, 9, 1, 1,
    ])
  })

  it('the motion slider: camera travel on Wan-Fun Control-Camera, none (said so) on the others', () => {
    const cam = motionControlFor({ motion: 'none', camera: 'cameractrl-plucker' })
    expect(cam.kind).toBe('camera_scale')
    expect(mapMotion({ motion: 'none', camera: 'cameractrl-plucker' }, 0.75)).toEqual({
      kind: 'camera_scale',
      cameraScale: 1.5,
    })
    const t2v = motionControlFor({ motion: PIPELINES.wan.motion, camera: 'none' })
    expect(t2v.kind).toBe('none')
    expect(t2v.reason).toMatch(/no motion input/)
  })
})
