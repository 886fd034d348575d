// The Wan pipelines on tiny ONNX fixtures with the exports' signatures (src/demo-model/wan-models.ts):
// what goes into each model call and how the calls chain. The numbers they are checked against
// come from diffusers: the UniPC timesteps and the A14B expert boundaries of
// test/data/schedulers (tools/reference/flow_schedulers.py), the scheduler itself (replayed
// against diffusers in flow-schedulers.test.ts). Equality of whole renders with diffusers'
// WanPipeline / WanImageToVideoPipeline is tools/export/test_export.py's (ExportWan).
import { mkdtempSync, rmSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  ModelFolderError,
  ModelSessions,
  openModelFolder,
  Runtime,
  type MemoryPlan,
} from '../../../src/main/engine'
import { resizeLanczosPil, resizePil, type RgbImage } from '../../../src/main/engine/media/image'
import {
  poseRowsFromPath,
  presetTrajectory,
  sampleTrajectory,
  videoxFunControlCamera,
} from '../../../src/shared/camera'
import { UniPCMultistepScheduler } from '../../../src/main/engine/schedulers/unipc'
import * as engine from '../../../src/main/engine'
import { PromptTokenizer } from '../../../src/main/engine/tokenizers'
import { promptClean } from '../../../src/main/engine/tokenizers/prompt-clean'
import {
  clipProcessorPixels,
  firstFrameMask,
  latentStats,
  normalizeLatents,
  WanFunControlPipeline,
  WanImageToVideoPipeline,
  WanPipeline,
} from '../../../src/main/engine/pipelines/wan'
import { toSignedCHW } from '../../../src/main/engine/pipelines/svd-image'
import { classifierFreeGuidance } from '../../../src/main/engine/pipelines/common'
import { floatTensor } from '../../../src/main/engine/runtime/tensor'
import * as tiny from '../../../src/demo-model/tiny-models'
import * as wan from '../../../src/demo-model/wan-models'
import { wanVaeConfig, writeWanFolder } from '../../fixtures/model-folders'
import { maxAbs, missing, readJson, sharedPath } from './reference'
import { spyRuntime } from './spy-runtime'
import { renderClip } from '../../../src/main/engine/jobs/render'
import { WAN_NEGATIVE_PROMPT } from '../../../src/shared/render'

const t5Tok = sharedPath('fixtures/tokenizers/t5')
const skip = missing(t5Tok)
const tmp = mkdtempSync(join(tmpdir(), 'dolly-wan-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
let n = 0
const fresh = () => join(tmp, `m${n++}`)

function open(dir: string, runtime: Runtime, plan: MemoryPlan = 'offload') {
  const model = openModelFolder(dir)
  const sessions = new ModelSessions(
    runtime,
    Object.fromEntries(Object.entries(model.components).map(([k, c]) => [k, c.path])),
    plan,
  )
  return { model, sessions }
}

/** diffusers' recorded UniPC runs (tools/reference/flow_schedulers.py). */
function schedulerCase(name: string): {
  resolved_config: Record<string, unknown>
  timesteps: { values: number[] }
  boundaries?: { boundary_ratio: number; high_noise: boolean[] }[]
} {
  return readJson(join(__dirname, '../../data/schedulers', `${name}.json`))
}

const image: RgbImage = {
  width: 48,
  height: 40,
  rgb: new Uint8Array(48 * 40 * 3).map((_, i) => (i * 37 + (i >> 5) * 11) % 256),
}

describe.skipIf(skip)('WanPipeline (text-to-video) on a tiny fixture', () => {
  it("UMT5 with its mask and zeroed padding, CFG over [negative, positive] at diffusers' 20 UniPC timesteps, one decoder call per latent frame with the cache carried", async () => {
    const dir = writeWanFolder(fresh(), { kind: 't2v', tokenizerFrom: t5Tok })
    const { runtime, calls } = spyRuntime()
    const { model, sessions } = open(dir, runtime)
    const traced = new Map<string, Float32Array>()
    const prompt = 'a “red” fox ﬁnds   snow'
    const out = await sessions.job(() =>
      new WanPipeline(model, sessions).call(
        {
          prompt,
          negativePrompt: 'blurry',
          numFrames: 9,
          width: 32,
          height: 32,
          numInferenceSteps: 20,
          guidanceScale: 5,
          seed: 3,
        },
        { onTrace: (name, data) => traced.set(name, Float32Array.from(data)) },
      ),
    )
    expect([out.numFrames, out.width, out.height]).toEqual([9, 32, 32])

    // the text encoder: the cleaned prompt, mask = its tokens + </s>, rows past them zeroed
    const te = calls.filter((c) => c.component === 'text_encoder')
    expect(te).toHaveLength(2)
    const tok = PromptTokenizer.fromFolder(join(dir, 'tokenizer'), 't5', 512).encode(
      promptClean(prompt),
    )
    expect(te[0]!.feeds['input_ids']!.data).toEqual(tok.list)
    const seqLen = tok.promptTokens + 1
    expect((te[0]!.feeds['attention_mask']!.data as number[]).reduce((a, b) => a + b, 0)).toBe(
      seqLen,
    )
    const pe = traced.get('prompt_embeds')!
    const raw = te[0]!.outputs['last_hidden_state']!.data
    expect(maxAbs(pe.subarray(0, seqLen * 8), raw.subarray(0, seqLen * 8))).toBe(0)
    expect(pe.subarray(seqLen * 8).every((v) => v === 0)).toBe(true)
    expect(raw.subarray(seqLen * 8).some((v) => v !== 0)).toBe(true)

    // the transformer: batch 2, [negative, positive], diffusers' timesteps
    const tr = calls.filter((c) => c.component === 'transformer')
    const ref = schedulerCase('unipc_flow_shift3_20')
    expect(tr.map((c) => c.feeds['timestep']!.data[0])).toEqual(ref.timesteps.values)
    const ehs = tr[0]!.feeds['encoder_hidden_states']!
    expect(ehs.dims).toEqual([2, 512, 8])
    expect(maxAbs(ehs.data.slice(0, 512 * 8), traced.get('negative_prompt_embeds')!)).toBe(0)
    expect(maxAbs(ehs.data.slice(512 * 8), pe)).toBe(0)

    // CFG: u + 5 (c - u) is what the scheduler steps with
    const o0 = tr[0]!.outputs['out_hidden_states']!.data
    const sched = UniPCMultistepScheduler.fromConfig(model.schedulerConfig)
    sched.setTimesteps(20)
    sched.setBeginIndex(0)
    const dims = [1, 16, 3, 4, 4]
    const x1 = sched.step(
      floatTensor(classifierFreeGuidance(o0, 5), dims),
      ref.timesteps.values[0]!,
      floatTensor(traced.get('init_latents')!, dims),
    ).prevSample.data
    expect(maxAbs(x1, traced.get('step0_latents_after')!)).toBe(0)

    // the decoder: one latent frame per call, first_chunk 1 then 0, each cache from the call before
    const dec = calls.filter((c) => c.component === 'vae_decoder')
    expect(dec).toHaveLength(3)
    expect(dec.map((c) => c.feeds['first_chunk']!.data[0])).toEqual([1, 0, 0])
    expect(dec[0]!.feeds['cache_in_0']!.dims).toEqual([1, 8, 2, 1, 1])
    expect(dec[0]!.feeds['cache_in_0']!.data.every((v) => v === 0)).toBe(true)
    for (const k of [1, 2])
      for (const i of [0, 1, 2])
        expect(
          maxAbs(dec[k]!.feeds[`cache_in_${i}`]!.data, dec[k - 1]!.outputs[`cache_out_${i}`]!.data),
        ).toBe(0)
    const lat = traced.get('vae_latents')!
    const plane = 16
    for (let k = 0; k < 3; k++) {
      const want = new Float32Array(16 * plane)
      for (let c = 0; c < 16; c++)
        want.set(lat.subarray((c * 3 + k) * plane, (c * 3 + k + 1) * plane), c * plane)
      expect(maxAbs(dec[k]!.feeds['latent_sample']!.data, want)).toBe(0)
    }
    expect(dec.map((c) => c.outputs['sample']!.dims[2])).toEqual([1, 4, 4])
    // frame 0 of the clip is the first call's frame, (x / 2 + 0.5) clamped, channels last
    const s0 = dec[0]!.outputs['sample']!.data
    const f = Math.fround
    expect(out.frames[0]).toBe(Math.min(1, Math.max(0, f(f(s0[0]! / 2) + 0.5))))
    expect(out.frames[1]).toBe(Math.min(1, Math.max(0, f(f(s0[32 * 32]! / 2) + 0.5))))
  })

  it('a frame count that is not 4k+1 is rounded down, as diffusers does, and said so', async () => {
    const dir = writeWanFolder(fresh(), { kind: 't2v', tokenizerFrom: t5Tok })
    const { runtime } = spyRuntime()
    const { model, sessions } = open(dir, runtime)
    const out = await sessions.job(() =>
      new WanPipeline(model, sessions).call({
        prompt: 'x',
        numFrames: 11,
        width: 32,
        height: 32,
        numInferenceSteps: 2,
        seed: 1,
      }),
    )
    expect(out.numFrames).toBe(9)
    expect(out.warnings.join(' ')).toContain(
      '11 frames were asked for, so the clip has 9 (diffusers takes num_frames // 4 * 4 + 1)',
    )
  })

  it("streams each decoder call's frames to the export as it returns, equal to the clip decoded whole", async () => {
    const dir = writeWanFolder(fresh(), { kind: 't2v', tokenizerFrom: t5Tok })
    const call = {
      prompt: 'a boat',
      numFrames: 9,
      width: 32,
      height: 32,
      numInferenceSteps: 3,
      seed: 5,
    }
    const whole = await (async () => {
      const { model, sessions } = open(dir, spyRuntime().runtime)
      return sessions.job(() => new WanPipeline(model, sessions).call(call))
    })()
    expect(whole.streamed).toBe(false)
    const { model, sessions } = open(dir, spyRuntime().runtime)
    const got: { first: number; count: number; total: number; frames: Float32Array }[] = []
    const streamed = await sessions.job(() =>
      new WanPipeline(model, sessions).call(call, {
        streamOnly: true,
        onFrames: async (frames, at) => {
          got.push({ ...at, frames: Float32Array.from(frames) })
        },
      }),
    )
    // one call per latent frame: 1 frame, then 4 and 4; nothing kept beyond what was handed on
    expect(got.map((g) => [g.first, g.count, g.total])).toEqual([
      [0, 1, 9],
      [1, 4, 9],
      [5, 4, 9],
    ])
    expect(streamed.streamed).toBe(true)
    expect(streamed.frames.length).toBe(0)
    const joined = new Float32Array(whole.frames.length)
    for (const g of got) joined.set(g.frames, g.first * 32 * 32 * 3)
    expect(maxAbs(joined, whole.frames)).toBe(0)
  })

  it("under minimal the VAE decodes in diffusers' 256-pixel tiles, each tile the whole clip from a fresh cache", async () => {
    const dir = writeWanFolder(fresh(), { kind: 't2v', tokenizerFrom: t5Tok })
    const call = {
      prompt: 'a boat',
      numFrames: 5,
      width: 320,
      height: 256,
      numInferenceSteps: 2,
      seed: 5,
    }
    const untiled = spyRuntime()
    const a = open(dir, untiled.runtime)
    const whole = await a.sessions.job(() => new WanPipeline(a.model, a.sessions).call(call))
    const spy = spyRuntime()
    const b = open(dir, spy.runtime, 'minimal')
    const progress: { step: number; steps: number }[] = []
    const tiled = await b.sessions.job(() =>
      new WanPipeline(b.model, b.sessions).call(call, {
        onProgress: (p) => p.stage === 'decode' && progress.push({ step: p.step, steps: p.steps }),
      }),
    )
    // latent 40x32: tiles of 32 every 24 (rows at 0 and 24, columns at 0 and 24), tile by tile,
    // each over the clip's 2 latent frames, the first of each from first_chunk and zero caches
    const dec = spy.calls.filter((c) => c.component === 'vae_decoder')
    expect(dec.map((c) => c.feeds['latent_sample']!.dims.slice(2))).toEqual([
      [1, 32, 32],
      [1, 32, 32],
      [1, 32, 16],
      [1, 32, 16],
      [1, 8, 32],
      [1, 8, 32],
      [1, 8, 16],
      [1, 8, 16],
    ])
    expect(dec.map((c) => c.feeds['first_chunk']!.data[0])).toEqual([1, 0, 1, 0, 1, 0, 1, 0])
    for (const c of dec.filter((_, i) => i % 2 === 0))
      expect(Math.max(...Array.from(c.feeds['cache_in_0']!.data, Math.abs))).toBe(0)
    expect(progress.at(-1)).toEqual({ step: 8, steps: 8 })
    // the untiled run: one call per latent frame at full size
    expect(
      untiled.calls
        .filter((c) => c.component === 'vae_decoder')
        .map((c) => c.feeds['latent_sample']!.dims.slice(3)),
    ).toEqual([
      [32, 40],
      [32, 40],
    ])
    // the top-left tile's own 192x192 (blended with nothing, away from its cut edges) is the
    // untiled frame; the blended overlaps are not
    const F = 5
    let inside = 0
    let seams = 0
    for (let f = 0; f < F; f++)
      for (let y = 0; y < 256; y++)
        for (let x = 0; x < 320; x++)
          for (let c = 0; c < 3; c++) {
            const i = ((f * 256 + y) * 320 + x) * 3 + c
            const d = Math.abs(tiled.frames[i]! - whole.frames[i]!)
            if (y < 192 && x < 192) inside = Math.max(inside, d)
            else seams = Math.max(seams, d)
          }
    expect(inside).toBeLessThan(1e-5)
    expect(seams).toBeGreaterThan(1e-3)
  })

  it("Wan2.2 A14B: transformer_2 with guidance_scale_2 below boundary_ratio x 1000, at diffusers' steps, one expert loaded at a time", async () => {
    const dir = writeWanFolder(fresh(), { kind: 't2v', tokenizerFrom: t5Tok, boundaryRatio: 0.875 })
    const { runtime, calls } = spyRuntime()
    const { model, sessions } = open(dir, runtime)
    const traced = new Map<string, Float32Array>()
    const out = await sessions.job(() =>
      new WanPipeline(model, sessions).call(
        {
          prompt: 'a fox',
          negativePrompt: '',
          numFrames: 9,
          width: 32,
          height: 32,
          numInferenceSteps: 40,
          guidanceScale: 5,
          guidanceScale2: 2,
          seed: 4,
        },
        { onTrace: (name, data) => traced.set(name, Float32Array.from(data)) },
      ),
    )
    const ref = schedulerCase('unipc_flow_shift3_40_a14b')
    const high = ref.boundaries!.find((b) => b.boundary_ratio === 0.875)!.high_noise
    const experts = calls.filter((c) => c.component.startsWith('transformer'))
    expect(experts.map((c) => c.component === 'transformer')).toEqual(high)
    expect(out.settings.expertSwitchStep).toBe(high.indexOf(false))
    expect(out.settings.guidanceScale2).toBe(2)
    // under offload the other expert is released before one loads
    for (const c of experts)
      expect(c.live.filter((l) => l.startsWith('transformer'))).toEqual([c.component])
    // replaying the recorded outputs with guidance 5 before the switch and 2 after gives the run's latents
    const sched = UniPCMultistepScheduler.fromConfig(model.schedulerConfig)
    sched.setTimesteps(40)
    sched.setBeginIndex(0)
    const dims = [1, 16, 3, 4, 4]
    let x = traced.get('init_latents')!
    experts.forEach((c, i) => {
      const g = high[i] ? 5 : 2
      x = sched.step(
        floatTensor(classifierFreeGuidance(c.outputs['out_hidden_states']!.data, g), dims),
        sched.timesteps[i]!,
        floatTensor(x, dims),
      ).prevSample.data
    })
    expect(maxAbs(x, traced.get('step39_latents_after')!)).toBe(0)
  })

  it('guidance 2 on a Wan with one transformer is a setting to change (SettingsError), before any step', async () => {
    const dir = writeWanFolder(fresh(), { kind: 't2v', tokenizerFrom: t5Tok })
    const { runtime, calls } = spyRuntime()
    const { model, sessions } = open(dir, runtime)
    const run = sessions.job(() =>
      new WanPipeline(model, sessions).call({
        prompt: 'a fox',
        numFrames: 5,
        width: 32,
        height: 32,
        numInferenceSteps: 2,
        guidanceScale: 5,
        guidanceScale2: 2,
        seed: 4,
      }),
    )
    await expect(run).rejects.toBeInstanceOf(engine.SettingsError)
    await expect(run).rejects.toThrow(/has one transformer: leave guidance 2 unset/)
    expect(calls.filter((c) => c.component === 'transformer')).toEqual([])
  })
})

describe.skipIf(skip)('WanImageToVideoPipeline on tiny fixtures', () => {
  it('Wan2.1: CLIP pixels, 36 channels (latents, the first-frame mask, the image latents normalised), the image then zero frames encoded 1 + 4 + 4', async () => {
    const dir = writeWanFolder(fresh(), { kind: 'i2v', tokenizerFrom: t5Tok })
    const { runtime, calls } = spyRuntime()
    const { model, sessions } = open(dir, runtime)
    await sessions.job(() =>
      new WanImageToVideoPipeline(model, sessions).call({
        prompt: 'a fox',
        image,
        numFrames: 9,
        width: 32,
        height: 32,
        numInferenceSteps: 2,
        guidanceScale: 5,
        seed: 5,
      }),
    )
    const clip = calls.find((c) => c.component === 'image_encoder')!
    expect(clip.feeds['pixel_values']!.dims).toEqual([1, 3, 224, 224])
    expect(maxAbs(clip.feeds['pixel_values']!.data, clipProcessorPixels(image))).toBe(0)
    const enc = calls.filter((c) => c.component === 'vae_encoder')
    expect(enc.map((c) => c.feeds['sample']!.dims[2])).toEqual([1, 4, 4])
    expect(enc.map((c) => c.feeds['first_chunk']!.data[0])).toEqual([1, 0, 0])
    const px = toSignedCHW(resizeLanczosPil(image, 32, 32).rgb, 32, 32)
    expect(maxAbs(enc[0]!.feeds['sample']!.data, px)).toBe(0)
    expect(enc[1]!.feeds['sample']!.data.every((v) => v === 0)).toBe(true)
    expect(maxAbs(enc[1]!.feeds['cache_in_0']!.data, enc[0]!.outputs['cache_out_0']!.data)).toBe(0)
    // the condition: 4 mask channels (ones on latent frame 0), then the encoded frames normalised
    const tr = calls.find((c) => c.component === 'transformer')!
    const hs = tr.feeds['hidden_states']!
    expect(hs.dims).toEqual([2, 36, 3, 4, 4])
    const per = 36 * 3 * 16
    const plane = 3 * 16
    expect(maxAbs(hs.data.slice(16 * plane, 20 * plane), firstFrameMask(3, 16))).toBe(0)
    const latents = new Float32Array(16 * plane)
    for (let i = 0; i < 3; i++) {
      const o = enc[i]!.outputs['latent_sample']!.data // [1, 16, 1, 4, 4]
      for (let c = 0; c < 16; c++) latents.set(o.subarray(c * 16, (c + 1) * 16), (c * 3 + i) * 16)
    }
    const stats = latentStats(wanVaeConfig(), 16, 'test')
    expect(maxAbs(hs.data.slice(20 * plane, per), normalizeLatents(latents, stats, plane))).toBe(0)
    expect(maxAbs(hs.data.slice(per, per + per), hs.data.slice(0, per))).toBe(0) // both guidance halves
    expect(tr.feeds['encoder_hidden_states_image']!.dims).toEqual([2, 257, 8])
  })

  it("Wan2.2 TI2V: one frame encoded, its latents stand for latent frame 0, whose tokens' timestep is 0", async () => {
    const dir = writeWanFolder(fresh(), { kind: 'ti2v', tokenizerFrom: t5Tok })
    const { runtime, calls } = spyRuntime()
    const { model, sessions } = open(dir, runtime)
    const traced = new Map<string, Float32Array>()
    await sessions.job(() =>
      new WanImageToVideoPipeline(model, sessions).call(
        {
          prompt: 'a fox',
          image,
          numFrames: 9,
          width: 64,
          height: 64,
          numInferenceSteps: 2,
          guidanceScale: 5,
          seed: 6,
        },
        { onTrace: (name, data) => traced.set(name, Float32Array.from(data)) },
      ),
    )
    const enc = calls.filter((c) => c.component === 'vae_encoder')
    expect(enc).toHaveLength(1)
    expect(enc[0]!.feeds['sample']!.dims).toEqual([1, 3, 1, 64, 64])
    const stats = latentStats(wanVaeConfig(12, 16), 12, 'test')
    const first = normalizeLatents(enc[0]!.outputs['latent_sample']!.data, stats, 16)
    const tr = calls.filter((c) => c.component === 'transformer')
    const ts = tr[0]!.feeds['timestep']!
    expect(ts.dims).toEqual([2, 3 * 4]) // 3 latent frames of 2x2 tokens
    const t0 = ts.data[4]!
    expect(t0).toBe(schedulerCase('unipc_flow_shift3_20').timesteps.values[0]) // 999
    expect(Array.from(ts.data.slice(0, 12))).toEqual([0, 0, 0, 0, ...new Array<number>(8).fill(t0)])
    const hs = tr[0]!.feeds['hidden_states']!.data
    for (let c = 0; c < 12; c++)
      expect(maxAbs(hs.slice(c * 48, c * 48 + 16), first.subarray(c * 16, (c + 1) * 16))).toBe(0)
    // the decoded latents' first frame is the image's (normalised back)
    const lat = traced.get('vae_latents')!
    const back = enc[0]!.outputs['latent_sample']!.data
    let worst = 0
    for (let c = 0; c < 12; c++)
      worst = Math.max(
        worst,
        maxAbs(lat.subarray(c * 48, c * 48 + 16), back.subarray(c * 16, (c + 1) * 16)),
      )
    expect(worst).toBeLessThan(1e-5)
  })
})

describe.skipIf(skip)('WanFunControlPipeline (Wan-Fun Control-Camera) on a tiny fixture', () => {
  it('without a camera path it is refused as a setting (CLI exit 2) before the text encoder runs', async () => {
    const dir = writeWanFolder(fresh(), { kind: 'camera', tokenizerFrom: t5Tok })
    const { runtime, calls } = spyRuntime()
    const { sessions, model } = open(dir, runtime)
    const pipe = new WanFunControlPipeline(model, sessions)
    const err = await sessions
      .job(() =>
        pipe.call({
          prompt: 'x',
          image,
          numFrames: 9,
          width: 32,
          height: 32,
          numInferenceSteps: 1,
        }),
      )
      .then(
        () => null,
        (e: Error) => e,
      )
    expect(err?.message).toMatch(/steered by a camera path: give one/)
    // a setting the person changes, not a failed render (it exited 1 after encoding the prompt)
    expect(err?.name).toBe('SettingsError')
    expect(calls.length).toBe(0)
  })

  it("the camera input as built, the original image to CLIP, the start image's latents on the first frame, the raw prompt", async () => {
    const dir = writeWanFolder(fresh(), { kind: 'camera', tokenizerFrom: t5Tok })
    const { runtime, calls } = spyRuntime()
    const { model, sessions } = open(dir, runtime)
    expect([model.pipeline, model.camera]).toEqual(['wan-fun-camera', 'cameractrl-plucker'])
    const poses = sampleTrajectory(presetTrajectory('orbit-left', 1, 9), 9)
    const camera = videoxFunControlCamera(poseRowsFromPath(poses), 32, 32)
    const prompt = 'a “red” fox'
    const pipe = new WanFunControlPipeline(model, sessions)
    await expect(
      sessions.job(() =>
        pipe.call({ prompt, image, numFrames: 9, width: 32, height: 32, numInferenceSteps: 2 }),
      ),
    ).rejects.toThrow(/steered by a camera path: give one/)
    await sessions.job(() =>
      pipe.call({
        prompt,
        image,
        cameraPoses: camera,
        numFrames: 9,
        width: 32,
        height: 32,
        numInferenceSteps: 2,
        guidanceScale: 6,
        seed: 2,
      }),
    )
    // VideoX-Fun tokenizes the prompt as written (no prompt_clean: the curly quotes stay)
    const te = calls.find((c) => c.component === 'text_encoder')!
    const raw = PromptTokenizer.fromFolder(join(dir, 'tokenizer'), 't5', 512).encode(prompt)
    expect(te.feeds['input_ids']!.data).toEqual(raw.list)
    // CLIP gets the original image in [-1, 1] (the graph resizes it)
    const clip = calls.find((c) => c.component === 'image_encoder')!
    expect(clip.feeds['pixel_values']!.dims).toEqual([1, 3, 40, 48])
    expect(maxAbs(clip.feeds['pixel_values']!.data, toSignedCHW(image.rgb, 48, 40))).toBe(0)
    // the start image: PIL bicubic to the clip's size, encoded once
    const enc = calls.filter((c) => c.component === 'vae_encoder')
    expect(enc).toHaveLength(1)
    expect(
      maxAbs(
        enc[0]!.feeds['sample']!.data,
        toSignedCHW(resizePil(image, 32, 32, 'bicubic').rgb, 32, 32),
      ),
    ).toBe(0)
    const tr = calls.filter((c) => c.component === 'transformer')
    expect(tr).toHaveLength(2)
    const cam = tr[0]!.feeds['control_camera']!
    expect(cam.dims).toEqual([1, 24, 3, 32, 32])
    expect(maxAbs(cam.data, camera)).toBe(0)
    // 32 channels: the latents, then the start latents on latent frame 0 and zeros after
    const hs = tr[0]!.feeds['hidden_states']!
    expect(hs.dims).toEqual([2, 32, 3, 4, 4])
    const start = normalizeLatents(
      enc[0]!.outputs['latent_sample']!.data,
      latentStats(wanVaeConfig(), 16, 'test'),
      16,
    )
    for (let c = 0; c < 16; c++) {
      const o = (16 + c) * 48
      expect(maxAbs(hs.data.slice(o, o + 16), start.subarray(c * 16, (c + 1) * 16))).toBe(0)
      expect(hs.data.slice(o + 16, o + 48).every((v) => v === 0)).toBe(true)
    }
    // FlowMatchEuler (VideoX-Fun's Flow sampler): float timesteps, no set_begin_index
    expect(Number.isInteger(tr[1]!.feeds['timestep']!.data[0])).toBe(false)
  })
})

describe.skipIf(skip)(
  'Wan image-to-video with more UniPC steps than its timesteps hold apart',
  () => {
    it('is refused before any work, naming the most steps that run (it failed at the last step)', async () => {
      const dir = writeWanFolder(fresh(), { kind: 'i2v', tokenizerFrom: t5Tok })
      const { runtime, calls } = spyRuntime()
      const { model, sessions } = open(dir, runtime)
      const call = (steps: number, scheduler?: string) =>
        sessions.job(() =>
          new WanImageToVideoPipeline(model, sessions).call({
            prompt: 'a fox',
            image,
            numFrames: 5,
            width: 32,
            height: 32,
            numInferenceSteps: steps,
            guidanceScale: 5,
            seed: 5,
            ...(scheduler ? { scheduler } : {}),
          }),
        )
      // flow shift 3: integer timesteps 999, 999, ... from 334 steps (diffusers' own run fails too)
      await expect(call(334)).rejects.toThrow(
        /334 steps repeat the first timestep \(999, 999\) with UniPCMultistepScheduler .* use at most 333 steps, or FlowMatchEulerDiscreteScheduler/,
      )
      expect(calls).toHaveLength(0)
      // text-to-video sets a begin index, and FlowMatchEuler's timesteps are floats: both run
      const fme = engine.FlowMatchEulerDiscreteScheduler.fromConfig({ shift: 3 })
      fme.setTimesteps(334)
      expect(fme.timesteps[0]).not.toBe(fme.timesteps[1])
      const ok = engine.UniPCMultistepScheduler.fromConfig({ ...model.schedulerConfig })
      ok.setTimesteps(333)
      expect(ok.timesteps[0]).not.toBe(ok.timesteps[1])
    })
  },
)

describe.skipIf(skip)('a Wan render without a negative prompt', () => {
  it("uses the model's default one, as the studio does (the CLI without --negative sent '')", async () => {
    const dir = writeWanFolder(fresh(), { kind: 't2v', tokenizerFrom: t5Tok })
    const tok = PromptTokenizer.fromFolder(join(dir, 'tokenizer'), 't5', 512)
    const negativeIds = async (negativePrompt: string | undefined) => {
      const { runtime, calls } = spyRuntime()
      const r = await renderClip(
        {
          model: dir,
          prompt: 'a fox in snow',
          ...(negativePrompt !== undefined ? { negativePrompt } : {}),
          frames: 5,
          width: 32,
          height: 32,
          steps: 1,
          seed: 1,
          out: join(tmp, `neg${n++}.gif`),
        },
        { runtime },
      )
      await runtime.releaseAll()
      // the text encoder's two calls: the prompt and the negative prompt
      const te = calls.filter((c) => c.component === 'text_encoder')
      expect(te).toHaveLength(2)
      const positive = tok.encode(promptClean('a fox in snow')).list
      const other = te
        .map((c) => c.feeds['input_ids']!.data)
        .filter((ids) => !sameIds(ids, positive))
      expect(other).toHaveLength(1)
      return { ids: other[0], settings: r.settings }
    }
    const sameIds = (a: ArrayLike<number>, b: ArrayLike<number>) =>
      a.length === b.length && Array.from(a).every((v, i) => v === b[i])
    const byDefault = await negativeIds(undefined)
    expect(byDefault.ids).toEqual(tok.encode(promptClean(WAN_NEGATIVE_PROMPT)).list)
    expect(byDefault.settings['negativePrompt']).toBe(WAN_NEGATIVE_PROMPT)
    const none = await negativeIds('')
    expect(none.ids).toEqual(tok.encode('').list)
    expect(none.settings['negativePrompt']).toBe('')
  })
})

describe.skipIf(skip)('Wan model folders: what a missing or wrong component says', () => {
  it('names the missing VAE decoder', () => {
    const dir = writeWanFolder(fresh(), { kind: 't2v', tokenizerFrom: t5Tok })
    unlinkSync(join(dir, 'vae_decoder', 'model.onnx'))
    expect(() => openModelFolder(dir)).toThrow(
      /vae_decoder\/model\.onnx: missing; a vae_decoder is required for this pipeline/,
    )
  })

  it('refuses a VAE decoder without the causal cache, naming the inputs it needs', () => {
    const dir = writeWanFolder(fresh(), { kind: 't2v', tokenizerFrom: t5Tok })
    writeFileSync(
      join(dir, 'vae_decoder', 'model.onnx'),
      tiny.cogVideoXVaeDecoder({ channels: 16, dynamicSize: true }),
    )
    expect(() => openModelFolder(dir)).toThrow(ModelFolderError)
    expect(() => openModelFolder(dir)).toThrow(
      /input "first_chunk" \(1 for the first chunk of a clip, else 0\) is missing/,
    )
  })

  it('refuses a text encoder without the attention mask (diffusers masks UMT5)', () => {
    const dir = writeWanFolder(fresh(), { kind: 't2v', tokenizerFrom: t5Tok })
    writeFileSync(join(dir, 'text_encoder', 'model.onnx'), tiny.clipTextEncoder({ seqLen: 512 }))
    expect(() => openModelFolder(dir)).toThrow(
      /input "attention_mask" \(attention mask \[batch, 512\]/,
    )
  })

  it('refuses an image-to-video folder without its VAE encoder, and a camera model whose transformer has no control_camera', () => {
    const i2v = writeWanFolder(fresh(), { kind: 'i2v', tokenizerFrom: t5Tok })
    rmSync(join(i2v, 'vae_encoder'), { recursive: true })
    expect(() => openModelFolder(i2v)).toThrow(
      /vae_encoder\/model\.onnx: missing; a vae_encoder is required/,
    )
    const cam = writeWanFolder(fresh(), { kind: 'camera', tokenizerFrom: t5Tok })
    writeFileSync(
      join(cam, 'transformer', 'model.onnx'),
      wan.wanTransformer({ inChannels: 32, imageWidth: 8 }),
    )
    expect(() => openModelFolder(cam)).toThrow(/input "control_camera" \(VideoX-Fun's camera input/)
  })

  it('reads the Wan VAE factors, the flow shift and the size multiple of a TI2V-5B folder', () => {
    const m = openModelFolder(writeWanFolder(fresh(), { kind: 'ti2v', tokenizerFrom: t5Tok }))
    expect(m.pipeline).toBe('wan-i2v')
    expect(m.vae.scaleFactor).toBe(16)
    expect(m.vae.temporalCompression).toBe(4)
    expect(m.sizeMultiple).toBe(32)
    expect(m.dolly.defaults?.flowShift).toBe(3)
    expect(m.defaults.negativePrompt).toMatch(/^Bright tones, overexposed/)
    expect(Object.keys(m.components).sort()).toEqual([
      'text_encoder',
      'transformer',
      'vae_decoder',
      'vae_encoder',
    ])
  })
})
