// Regressions of the render path (issue 12), each against the real engine on the reference
// model folders: the camera a render uses is the one the editor shows; a model switch brings
// the new model's settings; `minimal` behaves the same in every pipeline; the run's metadata
// reports what really ran; sessions of a model no longer rendered are released; a motion
// module's frame window is refused clearly; a camera conditioning no pipeline feeds is refused.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, cpSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { afterAll, describe, expect, it } from 'vitest'
import { presetPoses, presetTrajectory, sampleTrajectory } from '../../src/shared/camera'
import { settingsForModel } from '../../src/shared/render'
import { initialShot, renderRequest } from '../../src/shared/shots'
import { cameraPoses, renderClip, type RenderContext } from '../../src/main/engine/jobs/render'
import { openModelFolder, ModelFolderError } from '../../src/main/engine/models/model-folder'
import { Runtime } from '../../src/main/engine/runtime/session'
import { ModelSessions } from '../../src/main/engine/runtime/memory'
import { CogVideoXPipeline } from '../../src/main/engine/pipelines/cogvideox'
import { writeCogVideoXFolder, writeWanFolder } from '../fixtures/model-folders'
import { ModelRegistry } from '../../src/main/services/model-registry'
import { missing, sharedPath } from './engine/reference'

const ref = (m: string) => sharedPath('reference/models', m)
const image = sharedPath('fixtures/images/chelsea.png')
const skip = missing(ref('animatediff-tiny'), ref('svd-tiny'), ref('cogvideox-tiny'), image)
const tmp = mkdtempSync(join(tmpdir(), 'dolly-defects-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

/** A runtime whose sessions record every call's input shapes, by component folder. */
function recordingRuntime() {
  const calls: { component: string; dims: Record<string, readonly number[]> }[] = []
  const runtime = new Runtime({
    preferCuda: false,
    createSession: async (path, options) => {
      const s = await ort.InferenceSession.create(path, options)
      const run = s.run.bind(s)
      const component = path.split(/[\\/]/).at(-2)!
      ;(s as { run: typeof s.run }).run = ((
        feeds: Record<string, ort.Tensor>,
        ...rest: never[]
      ) => {
        calls.push({
          component,
          dims: Object.fromEntries(Object.entries(feeds).map(([k, v]) => [k, v.dims])),
        })
        return run(feeds, ...rest)
      }) as typeof s.run
      return s
    },
  })
  return { runtime, calls }
}

const out = (name: string) => join(tmp, name)

describe('the render request carries the camera path the editor shows', () => {
  it('changing the frame count after a preset keeps the whole move (no hold at the end)', () => {
    const shot = initialShot('m')
    shot.camera = presetTrajectory('pan-left', 1, 16)
    shot.settings.frames = 24
    const req = renderRequest(shot)
    expect(req.frames).toBe(24)
    const rendered = cameraPoses(req.camera!, 24).poses!
    // exactly what the editor samples for 24 frames
    expect(rendered).toEqual(sampleTrajectory(shot.camera, 24))
    // the move ends on the last frame (before: it ended at frame 15 and held)
    const end = presetPoses([{ name: 'pan-left' }], { frames: 16 }).at(-1)!.position
    rendered[23]!.position.forEach((v, i) => expect(v).toBeCloseTo(end[i]!, 6))
    expect(Math.abs(rendered[15]!.position[0] - end[0])).toBeGreaterThan(0.2)
  })
})

describe.skipIf(skip)('render path regressions on the reference models', () => {
  it("switching models brings the new model's settings (SVD, CogVideoX, MotionCtrl-SVD)", () => {
    const mcSvd = join(tmp, 'motionctrl-svd')
    cpSync(ref('svd-tiny'), mcSvd, { recursive: true })
    writeFileSync(join(mcSvd, 'dolly.json'), JSON.stringify({ defaults: { guidance: 2.5 } }))
    const registry = new ModelRegistry(
      join(tmp, 'state'),
      [ref('animatediff-tiny'), ref('svd-tiny'), ref('cogvideox-tiny'), mcSvd],
      () => null,
    )
    const [ad, svd, cog, mc] = registry.list()
    const shot = initialShot(ad!.id)
    const fromAd = settingsForModel(shot.settings, ad!)
    expect(fromAd).toMatchObject({ guidance: 7.5, steps: 25, fps: 8, frames: 16 })

    // SVD: max guidance 3 and fps 7 (conditioning fps - 1 = 6), as diffusers' defaults
    const toSvd = settingsForModel({ ...fromAd, frames: 16, guidance: 7.5 }, svd!)
    expect(toSvd).toMatchObject({ guidance: 3, fps: 7, steps: 25, scheduler: '', motion: 0.5 })
    // the folder's UNet config says 25 frames (SVD-XT style)
    expect(toSvd.frames).toBe(25)
    // CogVideoX: 50 steps, guidance 6, and the frames its fixed export takes (2 latent frames)
    const toCog = settingsForModel(fromAd, cog!)
    expect(toCog).toMatchObject({ steps: 50, guidance: 6, fps: 8 })
    expect(cog!.maxFrames).toBe(8)
    expect(toCog.frames).toBeLessThanOrEqual(cog!.maxFrames!)
    // MotionCtrl-SVD's own guidance from its dolly.json
    expect(settingsForModel(fromAd, mc!).guidance).toBe(2.5)
    // what the creator wrote stays
    expect(toSvd.prompt).toBe(shot.settings.prompt)
    // a long take keeps its prompt keys, loop and blend; the window size was the model's
    const long = settingsForModel(
      {
        ...fromAd,
        promptKeys: [{ id: 'k', frame: 8, prompt: 'later' }],
        loop: true,
        context: { window: 16, overlap: 4, weighting: 'flat' as const },
      },
      ad!,
    )
    expect(long).toMatchObject({ promptKeys: [{ frame: 8 }], loop: true })
    expect(long.context).toEqual({ overlap: 4, weighting: 'flat' })
    expect(toSvd.negativePrompt).toBe(shot.settings.negativePrompt)
  })

  it('it/s and ETA count from before the first step (they counted from after it: 332889 it/s, ETA 0:00)', async () => {
    const seen: { step: number; itPerSec: number | null }[] = []
    await renderClip(
      {
        model: ref('animatediff-tiny'),
        prompt: 'waves',
        frames: 6,
        steps: 3,
        seed: 1,
        out: out('progress.gif'),
      },
      { runtime: new Runtime({ preferCuda: false }) },
      { onProgress: (p) => p.stage === 'denoise' && seen.push(p) },
    )
    expect(seen.map((p) => p.step)).toEqual([0, 1, 2, 3])
    expect(seen[0]!.itPerSec).toBeNull()
    // a step of the tiny UNet takes milliseconds: far fewer than 10000 steps a second
    for (const p of seen.slice(1)) expect(p.itPerSec!).toBeLessThan(1e4)
  })

  it('minimal runs batch-1 guidance in every pipeline, and SVD decodes in small chunks', async () => {
    const { runtime, calls } = recordingRuntime()
    await renderClip(
      {
        model: ref('svd-tiny'),
        prompt: '',
        image,
        width: 32,
        height: 32,
        frames: 4,
        steps: 2,
        seed: 1,
        plan: 'minimal',
        out: out('svd-minimal.gif'),
      },
      { runtime },
    )
    const unet = calls.filter((c) => c.component === 'unet')
    expect(unet).toHaveLength(2 * 2) // two steps, two batch-1 calls each
    expect(unet.every((c) => c.dims['sample']![0] === 1)).toBe(true)
    const vae = calls.filter((c) => c.component === 'vae_decoder')
    // diffusers' default decodes all 4 frames in one call; minimal caps the chunk at 2
    expect(vae.map((c) => c.dims['latent_sample']![0])).toEqual([2, 2])

    const cog = recordingRuntime()
    await renderClip(
      {
        model: ref('cogvideox-tiny'),
        prompt: 'waves',
        frames: 8,
        steps: 2,
        seed: 1,
        plan: 'minimal',
        out: out('cog-minimal.gif'),
      },
      { runtime: cog.runtime },
    )
    const tr = cog.calls.filter((c) => c.component === 'transformer')
    expect(tr).toHaveLength(4)
    expect(tr.every((c) => c.dims['hidden_states']![0] === 1)).toBe(true)
  })

  it('minimal decodes CogVideoX in spatial tiles that blend to nearly the whole decode', async () => {
    const dir = writeCogVideoXFolder(join(tmp, 'cog-8x8'), {
      latentSize: 8,
      tokenizerFrom: sharedPath('fixtures/tokenizers/t5'),
    })
    const model = openModelFolder(dir)
    const decode = async (plan: 'resident' | 'minimal') => {
      const { runtime, calls } = recordingRuntime()
      const paths = Object.fromEntries(
        Object.entries(model.components).map(([k, c]) => [k, c.path]),
      )
      const sessions = new ModelSessions(runtime, paths, plan)
      const o = { prompt: 'waves', numFrames: 5, numInferenceSteps: 1, seed: 2, vaeTileSize: 4 }
      const r = await sessions.job(() => new CogVideoXPipeline(model, sessions).call(o))
      return { r, vae: calls.filter((c) => c.component === 'vae_decoder') }
    }
    const whole = await decode('resident')
    const tiled = await decode('minimal')
    expect(whole.vae).toHaveLength(1)
    // 8x8 latents in 4-latent tiles every 3: 3x3 tiles, each over every frame
    expect(tiled.vae).toHaveLength(9)
    expect(tiled.vae.every((c) => c.dims['latent_sample']![2] === 2)).toBe(true)
    expect(tiled.r.frames.length).toBe(whole.r.frames.length)
    let diff = 0
    for (let i = 0; i < whole.r.frames.length; i++)
      diff += Math.abs(whole.r.frames[i]! - tiled.r.frames[i]!)
    expect(diff / whole.r.frames.length).toBeLessThan(0.05)
  })

  it("the run's metadata reports the guidance and decode chunk that ran", async () => {
    const runtime = new Runtime({ preferCuda: false })
    const svd = await renderClip(
      {
        model: ref('svd-tiny'),
        prompt: '',
        image,
        width: 32,
        height: 32,
        frames: 4,
        steps: 1,
        seed: 1,
        plan: 'resident',
        out: out('svd-meta.gif'),
      },
      { runtime },
    )
    // not 7.5 and 16 (what every run reported before)
    expect(svd.settings).toMatchObject({
      guidanceScale: 3,
      minGuidanceScale: 1,
      decodeChunkSize: 4,
    })
    expect(svd.settings).toMatchObject({ fps: 7, motionBucketId: 127, noiseAugStrength: 0.02 })
    const cog = await renderClip(
      {
        model: ref('cogvideox-tiny'),
        prompt: 'waves',
        frames: 8,
        steps: 1,
        seed: 1,
        out: out('cog-meta.gif'),
      },
      { runtime },
    )
    expect(cog.settings).toMatchObject({
      guidanceScale: 6,
      numInferenceSteps: 1,
      decodeChunkSize: null,
    })
    await runtime.releaseAll()
  })

  it('rendering another model releases the sessions the first one kept (resident)', async () => {
    const runtime = new Runtime({ preferCuda: false })
    const ctx: RenderContext = { runtime, cache: new Map() }
    await renderClip(
      {
        model: ref('animatediff-tiny'),
        prompt: 'a fox',
        frames: 2,
        steps: 1,
        seed: 1,
        plan: 'resident',
        out: out('ad-resident.gif'),
      },
      ctx,
    )
    expect(runtime.liveSessions).toBe(3)
    await renderClip(
      {
        model: ref('cogvideox-tiny'),
        prompt: 'waves',
        frames: 8,
        steps: 1,
        seed: 1,
        plan: 'resident',
        out: out('cog-resident.gif'),
      },
      ctx,
    )
    // only CogVideoX's three sessions are alive, and only it is cached
    expect(runtime.liveLabels.sort()).toEqual(['text_encoder', 'transformer', 'vae_decoder'])
    expect([...ctx.cache!.keys()]).toEqual([openModelFolder(ref('cogvideox-tiny')).dir])
    await runtime.releaseAll()
  })

  it("AnimateDiff beyond its motion module's 32 frames runs in context windows; a pipeline without windows is refused by name before loading", async () => {
    const runtime = new Runtime({ preferCuda: false })
    expect(openModelFolder(ref('animatediff-tiny')).maxFrames).toBe(32)
    const r = await renderClip(
      {
        model: ref('animatediff-tiny'),
        prompt: 'a fox',
        frames: 33,
        steps: 1,
        out: out('long.gif'),
      },
      { runtime },
    )
    expect(r.frames).toBe(33)
    expect(r.settings.context).toMatchObject({ windows: 2, window: 32, overlap: 8 })
    await runtime.releaseAll()
    // CogVideoX (this export fixes 2 latent frames: 8 frames at most) has no context windows
    const cog = openModelFolder(ref('cogvideox-tiny'))
    expect(cog.maxFrames).toBe(8)
    await expect(
      renderClip(
        { model: ref('cogvideox-tiny'), prompt: 'a fox', frames: 9, steps: 1, out: out('x.gif') },
        { runtime },
      ),
    ).rejects.toThrow(/at most 8 frames in one render .*9 were asked for/)
    expect(runtime.liveSessions).toBe(0)
    expect(existsSync(out('x.gif'))).toBe(false)
  })

  it('a folder declaring a camera conditioning its pipeline cannot feed is refused by name', () => {
    const dir = join(tmp, 'plucker-animatediff')
    cpSync(ref('animatediff-tiny'), dir, { recursive: true })
    writeFileSync(join(dir, 'dolly.json'), JSON.stringify({ camera: 'cameractrl-plucker' }))
    expect(() => openModelFolder(dir)).toThrow(ModelFolderError)
    expect(() => openModelFolder(dir)).toThrow(
      /"cameractrl-plucker", which AnimateDiff cannot take/,
    )
    expect(JSON.parse(readFileSync(join(dir, 'dolly.json'), 'utf8')).camera).toBe(
      'cameractrl-plucker',
    )
  })
})

describe('a loop only where the model loops (issue 12 follow-up, found in a UX audit)', () => {
  it("a model without context windows gets no loop, prompt keys or windows in the shot's request", () => {
    const shot = initialShot('m')
    shot.settings.loop = true
    shot.settings.promptKeys = [{ id: 'k', frame: 8, prompt: 'later' }]
    shot.settings.context = { overlap: 4 }
    expect(renderRequest(shot)).toMatchObject({
      loop: true,
      promptKeys: [{ frame: 8 }],
      context: { overlap: 4 },
    })
    const req = renderRequest(shot, false)
    expect(['loop', 'promptKeys', 'context'].filter((k) => k in req)).toEqual([])
    // the shot keeps them for a model that has windows
    expect(shot.settings.loop).toBe(true)
  })

  it.skipIf(missing(sharedPath('fixtures/tokenizers/t5')))(
    'the engine does not close the camera path of a one-window camera model (Wan-Fun), and says the clip does not loop',
    async () => {
      const dir = writeWanFolder(join(tmp, 'wan-fun'), {
        kind: 'camera',
        tokenizerFrom: sharedPath('fixtures/tokenizers/t5'),
      })
      const cameraFeeds: Float32Array[] = []
      const runtime = new Runtime({
        preferCuda: false,
        createSession: async (path, options) => {
          const s = await ort.InferenceSession.create(path, options)
          const run = s.run.bind(s)
          s.run = (async (feeds: Record<string, ort.Tensor>, ...rest: never[]) => {
            const c = feeds['control_camera']
            if (c) cameraFeeds.push(new Float32Array(c.data as Float32Array))
            return run(feeds, ...rest)
          }) as typeof s.run
          return s
        },
      })
      const render = (closedLoop: boolean) =>
        renderClip(
          {
            model: dir,
            prompt: 'a fox',
            image,
            width: 32,
            height: 32,
            frames: 9,
            steps: 1,
            seed: 3,
            // as the studio sends it: the path's keyframes (a loop closes it with a way back)
            camera: { trajectory: presetTrajectory('orbit-left', 1, 9) },
            ...(closedLoop ? { closedLoop: true } : {}),
            out: out(`fun-loop-${closedLoop}.gif`),
          },
          { runtime },
        )
      const open = await render(false)
      const n = cameraFeeds.length
      const loop = await render(true)
      expect(n).toBeGreaterThan(0)
      expect(cameraFeeds.slice(n)).toEqual(cameraFeeds.slice(0, n))
      expect(loop.warnings.join(' ')).toMatch(/not made to loop/)
      expect(open.warnings.join(' ')).not.toMatch(/loop/)
      await runtime.releaseAll()
    },
  )
})
