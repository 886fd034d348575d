// What the pipelines feed their denoisers for two facts of ../shared/DOMAIN.md that no reference
// run covers: MotionCtrl's camera poses per guidance half (AnimateDiff branch: zeros for the
// unconditional half; SVD branch: the same RT for both), and older AnimateDiff exports that take
// one prompt embedding per video instead of one per frame (dolly.json textEmbeddings).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  AnimateDiffPipeline,
  ModelSessions,
  openModelFolder,
  StableVideoDiffusionPipeline,
  type Runtime,
} from '../../../src/main/engine'
import * as tiny from '../../../src/demo-model/tiny-models'
import { writeAnimateDiffFolder, writeSvdFolder } from '../../fixtures/model-folders'
import { missing, sharedPath } from './reference'
import { spyRuntime, type Call } from './spy-runtime'

const clipTok = sharedPath('fixtures/tokenizers/clip')
const tmp = mkdtempSync(join(tmpdir(), 'dolly-feeds-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const F = 4
/** A recognisable RT per frame: no entry is 0, so a zeroed half cannot pass for it. */
const poses = Float32Array.from({ length: F * 12 }, (_, i) => 0.25 + i / 8)

function sessionsFor(dir: string, runtime: Runtime, plan: 'offload' | 'minimal') {
  const model = openModelFolder(dir)
  const paths = Object.fromEntries(Object.entries(model.components).map(([k, c]) => [k, c.path]))
  return { model, sessions: new ModelSessions(runtime, paths, plan) }
}

/** Each denoiser call's camera_poses as [batch][frame * 12]. */
function posesPerBatch(calls: Call[], component: string): number[][][] {
  return calls
    .filter((c) => c.component === component)
    .map((c) => {
      const p = c.feeds['camera_poses']!
      expect(p.dims.slice(1)).toEqual([F, 12])
      const per = F * 12
      return Array.from({ length: p.dims[0]! }, (_, b) =>
        Array.from(p.data.slice(b * per, (b + 1) * per)),
      )
    })
}

describe.skipIf(missing(clipTok))('MotionCtrl camera poses per guidance half', () => {
  for (const plan of ['offload', 'minimal'] as const) {
    it(`AnimateDiff: zeros for the unconditional half, the path for the conditional one (${plan})`, async () => {
      const dir = writeAnimateDiffFolder(join(tmp, `ad-${plan}`), {
        cameraPoses: true,
        tokenizerFrom: clipTok,
      })
      const { runtime, calls } = spyRuntime()
      const { model, sessions } = sessionsFor(dir, runtime, plan)
      expect(model.camera).toBe('motionctrl-rt')
      await sessions.job(() =>
        new AnimateDiffPipeline(model, sessions).call({
          prompt: 'a lighthouse',
          numFrames: F,
          width: 32,
          height: 32,
          numInferenceSteps: 2,
          guidanceScale: 7.5,
          seed: 1,
          cameraPoses: poses,
        }),
      )
      // offload: one batch-2 call per step, [uncond, cond]; minimal: two batch-1 calls, uncond first
      const halves = posesPerBatch(calls, 'unet').flat()
      expect(halves).toHaveLength(2 * 2)
      for (let i = 0; i < halves.length; i += 2) {
        expect(halves[i]!.every((v) => v === 0)).toBe(true)
        expect(halves[i + 1]).toEqual(Array.from(poses))
      }
    })
  }

  it('SVD: the same poses for both halves', async () => {
    const dir = writeSvdFolder(join(tmp, 'svd'), { cameraPoses: true })
    const { runtime, calls } = spyRuntime()
    const { model, sessions } = sessionsFor(dir, runtime, 'offload')
    expect(model.camera).toBe('motionctrl-rt')
    const rgb = new Uint8Array(32 * 32 * 3).map((_, i) => (i * 29) % 256)
    await sessions.job(() =>
      new StableVideoDiffusionPipeline(model, sessions).call({
        image: { width: 32, height: 32, rgb },
        numFrames: F,
        width: 32,
        height: 32,
        numInferenceSteps: 2,
        seed: 1,
        cameraPoses: poses,
      }),
    )
    const steps = posesPerBatch(calls, 'unet')
    expect(steps).toHaveLength(2)
    for (const batch of steps) {
      expect(batch).toHaveLength(2)
      expect(batch[0]).toEqual(Array.from(poses))
      expect(batch[1]).toEqual(Array.from(poses))
    }
  })
})

describe.skipIf(missing(clipTok))('AnimateDiff exports with one prompt embedding per video', () => {
  it('feed [2, 77, D] (negative, positive) where dolly.json says per-video, [2F, 77, D] by default', async () => {
    const perVideo = writeAnimateDiffFolder(join(tmp, 'ad-per-video'), {
      tokenizerFrom: clipTok,
      dolly: { textEmbeddings: 'per-video' },
    })
    writeFileSync(
      join(perVideo, 'unet', 'model.onnx'),
      tiny.animateDiffUNet({ perFrameText: false }),
    )
    const perFrame = writeAnimateDiffFolder(join(tmp, 'ad-per-frame'), { tokenizerFrom: clipTok })
    const fed = async (dir: string) => {
      const { runtime, calls } = spyRuntime()
      const { model, sessions } = sessionsFor(dir, runtime, 'offload')
      const out = await sessions.job(() =>
        new AnimateDiffPipeline(model, sessions).call({
          prompt: 'a lighthouse',
          negativePrompt: 'blurry',
          numFrames: F,
          width: 32,
          height: 32,
          numInferenceSteps: 1,
          guidanceScale: 7.5,
          seed: 1,
        }),
      )
      const te = calls.filter((c) => c.component === 'text_encoder')
      const unet = calls.find((c) => c.component === 'unet')!
      return { te, ehs: unet.feeds['encoder_hidden_states']!, frames: out.numFrames }
    }
    const video = await fed(perVideo)
    const frame = await fed(perFrame)
    expect(video.frames).toBe(F)
    const D = video.ehs.dims[2]!
    expect(video.ehs.dims).toEqual([2, 77, D])
    expect(frame.ehs.dims).toEqual([2 * F, 77, D])
    // the same two embeddings: per frame, each repeated F times ([neg x F, pos x F])
    const row = 77 * D
    for (let b = 0; b < 2; b++) {
      const once = Array.from(video.ehs.data.slice(b * row, (b + 1) * row))
      for (let f = 0; f < F; f++) {
        const at = (b * F + f) * row
        expect(Array.from(frame.ehs.data.slice(at, at + row))).toEqual(once)
      }
    }
  })
})

describe.skipIf(missing(clipTok))("AnimateDiff's timestep as diffusers' UNet embeds it", () => {
  const render = async (dir: string, scheduler: 'EulerDiscreteScheduler' | 'DDIMScheduler') => {
    const { runtime, calls } = spyRuntime()
    const { model, sessions } = sessionsFor(dir, runtime, 'offload')
    const out = await sessions.job(() =>
      new AnimateDiffPipeline(model, sessions).call({
        prompt: 'a lighthouse',
        numFrames: F,
        width: 32,
        height: 32,
        numInferenceSteps: 5,
        guidanceScale: 7.5,
        seed: 1,
        scheduler,
      }),
    )
    const fed = calls.filter((c) => c.component === 'unet').map((c) => c.feeds['timestep']!)
    return { fed, warnings: out.warnings }
  }

  it("a float timestep input gets Euler's fractional timesteps as they are", async () => {
    const dir = writeAnimateDiffFolder(join(tmp, 'ad-float-t'), { tokenizerFrom: clipTok })
    writeFileSync(
      join(dir, 'unet', 'model.onnx'),
      tiny.animateDiffUNet({ timestep: { dtype: 'float32', rank: 1 } }),
    )
    const { fed, warnings } = await render(dir, 'EulerDiscreteScheduler')
    // diffusers 0.40's EulerDiscreteScheduler on this config (linspace, 5 steps), torch float32:
    // tensor([999.0000, 749.2500, 499.5000, 249.7500, 0.0000])
    expect(fed.map((f) => Array.from(f.data))).toEqual([[999], [749.25], [499.5], [249.75], [0]])
    expect(warnings.filter((w) => /whole-number timesteps/.test(w))).toEqual([])
  })

  it('an integer timestep input with Euler says the rounding; with DDIM (whole timesteps) says nothing', async () => {
    const dir = writeAnimateDiffFolder(join(tmp, 'ad-int-t'), { tokenizerFrom: clipTok })
    const euler = await render(dir, 'EulerDiscreteScheduler')
    const ddim = await render(dir, 'DDIMScheduler')
    expect(euler.fed.map((f) => Array.from(f.data))).toEqual([[999], [749], [500], [250], [0]])
    expect(euler.warnings.filter((w) => /whole-number timesteps/.test(w))).toEqual([
      "this export's UNet takes whole-number timesteps, so EulerDiscreteScheduler's fractional ones (749.25) are rounded and the clip differs from diffusers'; re-export the model (tools/export writes a float timestep) or pick DDIMScheduler, DPMSolverMultistepScheduler or LCMScheduler",
    ])
    expect(ddim.warnings.filter((w) => /whole-number timesteps/.test(w))).toEqual([])
  })
})
