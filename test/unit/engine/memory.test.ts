// Memory plans on the CPU with the tiny AnimateDiff fixture: how many sessions are alive,
// out-of-memory fallback down every plan (each stage), and release after success, error and
// cancel; the plan auto chooses from a model's weights and activation rules.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, dirname, join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { afterAll, describe, expect, it } from 'vitest'
import {
  AnimateDiffPipeline,
  CancelledError,
  choosePlan,
  isOutOfMemoryError,
  ModelSessions,
  openModelFolder,
  Runtime,
  type MemoryPlan,
  type ModelFolder,
  type RenderSpec,
} from '../../../src/main/engine'
import { planFor } from '../../../src/main/engine/jobs/render'
import { memoryModel } from '../../../src/main/engine/models/model-folder'
import { planNeeds, stageCalls, type MemoryModel } from '../../../src/shared/vram'
import { writeAnimateDiffFolder } from '../../fixtures/model-folders'
import { missing, sharedPath } from './reference'

const clipTok = sharedPath('fixtures/tokenizers/clip')
const skip = missing(clipTok)
const tmp = mkdtempSync(join(tmpdir(), 'dolly-mem-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const opts = {
  prompt: 'a lighthouse at dusk',
  negativePrompt: 'blurry',
  numFrames: 4,
  numInferenceSteps: 3,
  guidanceScale: 5,
  seed: 3,
}

function setup(plan: MemoryPlan, runtimeOpts: ConstructorParameters<typeof Runtime>[0] = {}) {
  const runtime = new Runtime({ preferCuda: false, ...runtimeOpts })
  const sessions = new ModelSessions(
    runtime,
    Object.fromEntries(Object.entries(model.components).map(([k, c]) => [k, c.path])),
    plan,
  )
  return { runtime, sessions, pipe: new AnimateDiffPipeline(model, sessions) }
}

let model: ModelFolder
describe.skipIf(skip)('memory plans', () => {
  model = skip
    ? (null as never)
    : openModelFolder(
        writeAnimateDiffFolder(join(tmp, 'ad'), {
          tokenizerFrom: clipTok,
          cameraPoses: true,
          withVaeEncoder: true,
        }),
      )

  it('offload and minimal never hold more than one stage session; all gone after the job', async () => {
    for (const plan of ['offload', 'minimal'] as const) {
      let maxLive = 0
      const { runtime, sessions, pipe } = setup(plan, {
        beforeRun: () => (maxLive = Math.max(maxLive, runtime.liveSessions)),
      })
      await sessions.job(() => pipe.call(opts))
      expect(maxLive, plan).toBe(1)
      expect(runtime.liveSessions, plan).toBe(0)
    }
  })

  it('minimal runs the text encoder on the CPU provider, the other stages on the GPU one', async () => {
    for (const plan of ['offload', 'minimal'] as const) {
      const created: Record<string, string> = {}
      const reported: (string | null)[] = []
      const { runtime, sessions, pipe } = setup(plan, {
        preferCuda: true,
        providers: ['cuda'],
        beforeRun: () => reported.push(runtime.lastProvider),
        // what each session was asked to run on; here it runs on the CPU whatever it asked
        createSession: (p, o) => {
          const first = o.executionProviders![0]!
          created[basename(dirname(p))] = typeof first === 'string' ? first : first.name
          return ort.InferenceSession.create(p, { ...o, executionProviders: ['cpu'] })
        },
      })
      await sessions.job(() => pipe.call(opts))
      expect(created, plan).toEqual({
        text_encoder: plan === 'minimal' ? 'cpu' : 'cuda',
        unet: 'cuda',
        vae_decoder: 'cuda',
      })
      // the run is reported on the GPU provider, never on the CPU the text encoder was put on
      expect(reported, plan).not.toContain('cpu')
      expect(runtime.lastProvider, plan).toBe('cuda')
    }
  })

  it("says when free system memory cannot hold minimal's CPU text encoder, chosen or picked", () => {
    const spec = { plan: 'minimal' } as RenderSpec
    const runtime = new Runtime({ preferCuda: false })
    const te = planNeeds(memoryModel(model), { width: 64, height: 64, frames: 4, guidance: 7.5 })
      .minimal.host!
    expect(te.component).toBe('text_encoder')
    const short = planFor(spec, model, { runtime, hostFreeMiB: () => te.needMiB - 1 })
    expect(short.reason).toMatch(
      /^chosen by the user; warning: text_encoder on the CPU needs ~\d+\.\d GiB of system memory and \d+\.\d GiB is free/,
    )
    expect(planFor(spec, model, { runtime, hostFreeMiB: () => te.needMiB }).reason).toBe(
      'chosen by the user',
    )
    // one pool (the CPU provider, Apple silicon): nothing leaves the device, nothing to say
    const shared = { runtime, hostFreeMiB: () => 1, budgetDevice: 'shared' as const }
    expect(planFor(spec, model, shared).reason).toBe('chosen by the user')
    // auto down to minimal on a small budget says it too
    const auto = planFor({ plan: 'auto' } as RenderSpec, model, {
      runtime,
      budgetMiB: 1,
      hostFreeMiB: () => 0,
    })
    expect(auto.plan).toBe('minimal')
    expect(auto.reason).toMatch(/even the minimal plan needs.*; warning: text_encoder on the CPU/)
  })

  it('resident keeps every session between jobs and loads each once', async () => {
    const loads: string[] = []
    const { runtime, sessions, pipe } = setup('resident')
    const orig = runtime.load.bind(runtime)
    runtime.load = (p, label) => (loads.push(label), orig(p, label))
    await sessions.job(() => pipe.call(opts))
    await sessions.job(() => pipe.call(opts))
    expect(loads.sort()).toEqual(['text_encoder', 'unet', 'vae_decoder'])
    expect(runtime.liveSessions).toBe(3)
    await sessions.releaseAll()
    expect(runtime.liveSessions).toBe(0)
  })

  it('the three plans give the same frames', async () => {
    const frames = []
    for (const plan of ['resident', 'offload', 'minimal'] as const) {
      const { sessions, pipe } = setup(plan)
      frames.push((await sessions.job(() => pipe.call(opts))).frames)
      await sessions.releaseAll()
    }
    for (const f of frames.slice(1)) {
      let d = 0
      for (let i = 0; i < f.length; i++) d = Math.max(d, Math.abs(f[i]! - frames[0]![i]!))
      expect(d).toBeLessThanOrEqual(1e-5)
    }
  })

  it('an out-of-memory error moves the stage to the next plan, which completes', async () => {
    let injected = 0
    const { runtime, sessions, pipe } = setup('resident', {
      beforeRun: (s) => {
        if (s.label === 'unet' && sessions.plan === 'resident') {
          injected++
          throw new Error('CUDA failure 2: out of memory ; GPU=0 ; file=cuda_allocator.cc')
        }
      },
    })
    const events: string[] = []
    const out = await sessions.job(() => pipe.call(opts))
    events.push(...sessions.events.map((e) => `${e.stage}:${e.from}->${e.to}`))
    expect(injected).toBe(1)
    expect(events).toEqual(['denoise:resident->offload'])
    expect(out.plan).toBe('offload')
    expect(sessions.events[0]!.reason).toMatch(
      /out of memory in denoise under the resident plan; released this model's sessions and retrying with offload/,
    )
    expect(runtime.liveSessions).toBe(0)
    // the retried stage replays from the same noise: same frames as a clean offload run
    const clean = setup('offload')
    const ref = await clean.sessions.job(() => clean.pipe.call(opts))
    expect(Array.from(out.frames)).toEqual(Array.from(ref.frames))
  })

  // out of memory in each stage, under every plan but minimal: the stage walks down to minimal,
  // and each retry starts with none of the failed plan's sessions alive
  for (const [component, stage] of [
    ['text_encoder', 'encode'],
    ['unet', 'denoise'],
    ['vae_decoder', 'decode'],
  ] as const) {
    it(`out of memory in ${stage} under resident and offload walks down to minimal`, async () => {
      const liveAtRetry: string[][] = []
      let others = 0
      let failed = 0
      const { runtime, sessions, pipe } = setup('resident', {
        beforeRun: (s) => {
          if (s.label !== component) return
          if (failed > 0 && liveAtRetry.length < failed) liveAtRetry.push(runtime.liveLabels)
          if (sessions.plan !== 'minimal') {
            failed++
            throw new Error(
              `Failed to allocate memory for requested buffer of size 4294967296 (${stage})`,
            )
          }
        },
      })
      sessions.releaseOthers = async () => void others++
      const out = await sessions.job(() => pipe.call(opts))
      expect(sessions.events.map((e) => `${e.stage}:${e.from}->${e.to}`)).toEqual([
        `${stage}:resident->offload`,
        `${stage}:offload->minimal`,
      ])
      expect(out.plan).toBe('minimal')
      expect(others).toBe(2)
      // at each retry only the retried stage's own session is alive: the failed plan's are gone
      expect(liveAtRetry).toEqual([[component], [component]])
      expect(runtime.liveSessions).toBe(0)
      const clean = setup('minimal')
      const ref = await clean.sessions.job(() => clean.pipe.call(opts))
      expect(Array.from(out.frames)).toEqual(Array.from(ref.frames))
    })
  }

  it('out of memory under minimal too fails naming the stage and every plan tried', async () => {
    const { runtime, sessions, pipe } = setup('offload', {
      beforeRun: (s) => {
        if (s.label === 'unet') throw new Error('CUDNN_STATUS_ALLOC_FAILED')
      },
    })
    await expect(sessions.job(() => pipe.call(opts))).rejects.toThrow(
      /out of memory in denoise under every memory plan \(offload, minimal\)/,
    )
    expect(runtime.liveSessions).toBe(0)
  })

  it("an encoder's failure in decode is not out of memory: no plan walk, whatever its message says", async () => {
    expect(
      isOutOfMemoryError(
        new Error('ffmpeg failed (exit 1): /home/me/Living Room/clip.mp4: No space left on device'),
      ),
    ).toBe(false)
    expect(isOutOfMemoryError(new Error('[E:onnxruntime] OOM while allocating 4 GiB'))).toBe(true)
    const { runtime, sessions } = setup('resident')
    const media = Object.assign(
      new Error('ffmpeg failed: Cannot allocate memory (out of memory)'),
      {
        name: 'MediaError',
      },
    )
    let calls = 0
    await expect(
      sessions.job(() =>
        sessions.stage('decode', async () => {
          calls++
          throw media
        }),
      ),
    ).rejects.toBe(media)
    expect(calls).toBe(1)
    expect(sessions.events).toEqual([])
    expect(runtime.liveSessions).toBe(0)
  })

  it('releases every session after an error', async () => {
    const { runtime, sessions, pipe } = setup('resident', {
      beforeRun: (s) => {
        if (s.label === 'vae_decoder') throw new Error('a broken decoder')
      },
    })
    await expect(sessions.job(() => pipe.call(opts))).rejects.toThrow(/a broken decoder/)
    expect(runtime.liveSessions).toBe(0)
  })

  it('releases every session after a cancel mid-denoise', async () => {
    const { runtime, sessions, pipe } = setup('resident')
    const ac = new AbortController()
    const run = sessions.job(() =>
      pipe.call(opts, {
        signal: ac.signal,
        onProgress: (p) => p.stage === 'denoise' && p.step === 1 && ac.abort(),
      }),
    )
    await expect(run).rejects.toBeInstanceOf(CancelledError)
    expect(runtime.liveSessions).toBe(0)
  })
})

describe('choosing a plan', () => {
  const GiB = 1024 ** 3
  // an SD1.5 AnimateDiff with fused attention: activations linear in frames x pixels
  const rule = (F0: number, a: number, perItem: number, constant = 0) => ({
    F0,
    P0: 512 * 512,
    constant,
    terms: [[a, 1, perItem]] as [number, number, number][],
  })
  const model: MemoryModel = {
    pipeline: 'animatediff',
    decodeChunk: 16,
    vaeScale: 8,
    components: {
      text_encoder: { bytes: 0.25 * GiB, activations: rule(1, 0, 0, 0.01 * GiB) },
      unet: { bytes: 2.6 * GiB, activations: rule(16, 1, 1.5 * GiB) },
      vae_decoder: { bytes: 0.1 * GiB, activations: rule(1, 0, 0.4 * GiB) },
    },
  }
  // the render's own decode chunk (16, the model's default): auto keeps it as given
  const call = { width: 512, height: 512, frames: 16, guidance: 7.5, decodeChunk: 16 }
  const needs = planNeeds(model, call)
  const auto = { width: 512, height: 512, frames: 16, guidance: 7.5 }

  it('keeps everything resident when it fits', () => {
    const c = choosePlan({ budgetMiB: needs.resident.needMiB, model, call })
    expect(c.plan).toBe('resident')
  })
  it('offloads when only one stage at a time fits, naming the stage that decides', () => {
    const c = choosePlan({
      budgetMiB: needs.resident.needMiB - 1,
      model,
      call,
      source: 'nvidia-smi free memory',
    })
    expect(c.plan).toBe('offload')
    expect(c.reason).toMatch(/one stage at a time.*vae_decoder/)
    expect(c.reason).toMatch(/nvidia-smi free memory/)
  })
  it('goes minimal when even one stage at a time does not fit', () => {
    const c = choosePlan({ budgetMiB: needs.offload.needMiB - 1, model, call })
    expect(c.plan).toBe('minimal')
    expect(c.reason).toMatch(/CFG in two calls/)
    expect(choosePlan({ budgetMiB: 1024, model, call }).reason).toMatch(
      /even the minimal plan needs/,
    )
  })
  it('a bigger render needs more: the same budget picks a lower plan', () => {
    const budget = needs.resident.needMiB
    expect(choosePlan({ budgetMiB: budget, model, call }).plan).toBe('resident')
    expect(
      choosePlan({ budgetMiB: budget, model, call: { ...call, width: 1024, height: 1024 } }).plan,
    ).not.toBe('resident')
  })
  it('decodes fewer frames per VAE call before giving up a plan, when the render left the chunk to it', () => {
    // resident does not fit at 16 frames per VAE call; it does at a smaller chunk
    const c = choosePlan({ budgetMiB: needs.resident.needMiB - 1, model, call: auto })
    expect(c.plan).toBe('resident')
    expect(c.decodeChunk).toBeLessThan(16)
    const at = planNeeds(model, { ...auto, decodeChunk: c.decodeChunk })
    expect(at.resident.needMiB).toBeLessThanOrEqual(needs.resident.needMiB - 1)
    // the largest chunk that fits: twice as many frames per call would not
    const twice = planNeeds(model, { ...auto, decodeChunk: c.decodeChunk! * 2 })
    expect(twice.resident.needMiB).toBeGreaterThan(needs.resident.needMiB - 1)
    expect(c.reason).toMatch(new RegExp(`decoding ${c.decodeChunk} frames? per VAE call`))
    // resident over the budget even at one frame per call: offload, with a chunk that fits one stage
    const budget = planNeeds(model, { ...auto, decodeChunk: 1 }).resident.needMiB - 1
    const o = choosePlan({ budgetMiB: budget, model, call: auto })
    expect(o.plan).toBe('offload')
    expect(o.decodeChunk).toBeLessThan(16)
    expect(
      planNeeds(model, { ...auto, decodeChunk: o.decodeChunk }).offload.needMiB,
    ).toBeLessThanOrEqual(budget)
    // a chunk the render set is kept: no smaller one is tried
    expect(
      choosePlan({ budgetMiB: needs.resident.needMiB - 1, model, call }).decodeChunk,
    ).toBeUndefined()
  })
  it('a temporal VAE (SVD) says a smaller chunk changes the clip slightly', () => {
    const svd: MemoryModel = { ...model, pipeline: 'svd', decodeChunk: 'all' }
    const n = planNeeds(svd, auto)
    const c = choosePlan({ budgetMiB: n.resident.needMiB - 1, model: svd, call: auto })
    expect(c.decodeChunk).toBeLessThan(16)
    expect(c.reason).toMatch(/temporal decoder mixes frames/)
  })
  it('minimal halves the guidance batch and decodes one tile of one frame per call', () => {
    expect(needs.offload.largest).toMatchObject({ component: 'vae_decoder', batch: 16 })
    const unet = (plan: 'offload' | 'minimal') =>
      stageCalls(model, plan, call).find((s) => s.component === 'unet')!
    expect(unet('offload').batch).toBe(2)
    expect(unet('minimal').batch).toBe(1)
    const vae = stageCalls(model, 'minimal', { ...call, width: 1024, height: 1024 }).find(
      (s) => s.component === 'vae_decoder',
    )!
    expect(vae).toMatchObject({ batch: 1, width: 512, height: 512 })
  })
})

describe.skipIf(skip)('VAE tiling under the minimal plan', () => {
  it('decodes in overlapping tiles that blend to nearly the untiled frames', async () => {
    const o = { ...opts, numFrames: 2, numInferenceSteps: 2 }
    const whole = setup('offload')
    const a = await whole.sessions.job(() => whole.pipe.call(o))
    let calls = 0
    const tiled = setup('minimal', { beforeRun: (s) => s.label === 'vae_decoder' && calls++ })
    const b = await tiled.sessions.job(() => tiled.pipe.call({ ...o, vaeTileSize: 8 }))
    // 16x16 latents in 8-latent tiles every 6: 3x3 tiles per frame, 2 frames
    expect(calls).toBe(18)
    expect(b.frames.length).toBe(a.frames.length)
    let sum = 0
    let max = 0
    for (let i = 0; i < a.frames.length; i++) {
      const d = Math.abs(a.frames[i]! - b.frames[i]!)
      sum += d
      max = Math.max(max, d)
    }
    // The first tile's kept region (12x12 px of 16: the blend extent is cut off) sees no tile
    // edge through the decoder's 3x3 convs, so it equals the untiled frame; elsewhere the
    // tiles are blended and differ a little (tiny 8-latent tiles make the borders a large share).
    for (let y = 0; y < 12; y++)
      for (let x = 0; x < 12; x++)
        for (let c = 0; c < 3; c++) {
          const i = (y * 32 + x) * 3 + c
          expect(Math.abs(a.frames[i]! - b.frames[i]!)).toBeLessThanOrEqual(1e-5)
        }
    expect(sum / a.frames.length).toBeLessThan(0.05)
    expect(max).toBeGreaterThan(0)
  })
})
