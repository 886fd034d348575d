// `dolly render` end to end: diffusers' frames from the reference AnimateDiff export, the demo
// model to every clip format (checked with ffprobe), camera and seed behaviour, and cancel.
import { execFileSync, spawn } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { renderClip } from '../../src/main/engine/jobs/render'
import { Runtime } from '../../src/main/engine'
import { missing, referenceMeta, sharedPath } from './engine/reference'
import { readPng } from './engine/png'
import { ffprobeStream } from '../fixtures/ffprobe'

const root = resolve(__dirname, '../..')
const cli = join(root, 'bin/dolly.mjs')
const built =
  existsSync(join(root, 'out/main/cli.js')) &&
  existsSync(join(root, 'resources/demo-model/model_index.json'))
const notBuilt = built ? null : 'the CLI and demo model are not built (npm run build)'
const tmp = mkdtempSync(join(tmpdir(), 'dolly-cli-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function render(args: string[]): { code: number; stdout: string; stderr: string } {
  try {
    const stdout = execFileSync(process.execPath, [cli, 'render', ...args], {
      cwd: tmp,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    return { code: 0, stdout, stderr: '' }
  } catch (err) {
    const e = err as { status: number; stdout: string; stderr: string }
    return { code: e.status, stdout: e.stdout, stderr: e.stderr }
  }
}

const probe = (file: string) =>
  ffprobeStream(file, ['width', 'height', 'r_frame_rate', 'nb_read_frames'])

const ref = sharedPath('reference/models/animatediff-tiny')
describe.skipIf(notBuilt ?? missing(ref))(
  'dolly render on diffusers’ AnimateDiff export (Optimum names, no dolly.json)',
  () => {
    it('reproduces the reference frames within 1/255', () => {
      const meta = referenceMeta(ref)
      const out = join(tmp, 'ref-frames')
      const r = render([
        '--model',
        ref,
        '--prompt',
        meta.prompt,
        '--negative',
        meta.negative_prompt,
        '--seed',
        String(meta.seed),
        '--steps',
        String(meta.num_inference_steps),
        '--guidance',
        String(meta.guidance_scale),
        '--frames',
        String(meta.num_frames),
        '--width',
        String(meta.width),
        '--height',
        String(meta.height),
        '--out',
        out,
        '--json',
        '--cpu',
      ])
      expect(r.code, r.stderr).toBe(0)
      const result = JSON.parse(r.stdout) as {
        frames: number
        seed: number
        plan: { final: string }
        timingsMs: Record<string, number>
      }
      expect(result.frames).toBe(meta.num_frames)
      expect(result.seed).toBe(meta.seed)
      expect(Object.keys(result.timingsMs)).toEqual(
        expect.arrayContaining(['encode', 'denoise', 'decode', 'export', 'total']),
      )
      for (let f = 0; f < meta.num_frames; f++) {
        const ours = readPng(join(out, `frame_${String(f).padStart(4, '0')}.png`)).rgb
        const theirs = readPng(`${ref}/reference/frame_${String(f).padStart(3, '0')}.png`).rgb
        let d = 0
        for (let i = 0; i < ours.length; i++) d = Math.max(d, Math.abs(ours[i]! - theirs[i]!))
        expect(d, `frame ${f}`).toBeLessThanOrEqual(1)
      }
    })
  },
)

describe.skipIf(notBuilt)('dolly render with the demo model', () => {
  for (const [ext, fps] of [
    ['mp4', 8],
    ['gif', 10],
    ['webm', 12],
  ] as const) {
    it(`writes ${ext}: 16 frames at ${fps} fps and 256x256`, () => {
      const out = join(tmp, `clip.${ext}`)
      const r = render([
        '--prompt',
        'a lighthouse at dusk',
        '--camera',
        'orbit-left',
        '--frames',
        '16',
        '--fps',
        String(fps),
        '--steps',
        '4',
        '--out',
        out,
        '--cpu',
      ])
      expect(r.code, r.stderr).toBe(0)
      const s = probe(out)
      expect(Number(s['nb_read_frames'])).toBe(16)
      expect(s['r_frame_rate']).toBe(`${fps}/1`)
      expect([s['width'], s['height']]).toEqual([256, 256])
    })
  }

  it('writes a PNG folder', () => {
    const out = join(tmp, 'demo-pngs')
    expect(
      render([
        '--prompt',
        'a lighthouse at dusk',
        '--camera',
        'orbit-left',
        '--frames',
        '16',
        '--steps',
        '3',
        '--out',
        out,
        '--cpu',
      ]).code,
    ).toBe(0)
    expect(readdirSync(out).filter((f) => f.endsWith('.png'))).toHaveLength(16)
  })

  it('renders a seamless long take past the window with prompt travel (--seamless, --prompt-at, --window)', () => {
    const out = join(tmp, 'long.mp4')
    const r = render([
      '--prompt',
      'a lighthouse at dusk',
      '--prompt-at',
      '20:a lighthouse at night',
      '--camera',
      'orbit-left',
      '--frames',
      '40',
      '--window',
      '16',
      '--overlap',
      '4',
      '--seamless',
      '--steps',
      '2',
      '--out',
      out,
      '--json',
      '--cpu',
    ])
    expect(r.code, r.stderr).toBe(0)
    const meta = JSON.parse(r.stdout) as {
      frames: number
      loopScore: number | null
      longTake: { windows: number; window: number; overlap: number; loop: boolean }
      timingsMs: Record<string, number>
    }
    expect(meta.frames).toBe(40)
    // frames streamed into ffmpeg as they were decoded: the file was complete well within
    // seconds of the last decoded frame (the bench measures it: npm run bench)
    expect(meta.timingsMs['lastFrameToFile']).toBeLessThan(3000)
    // 40 frames, windows of 16 every 12 frames all the way round: starts 0, 12, 24, 36
    expect(meta.longTake).toMatchObject({ windows: 4, window: 16, overlap: 4, loop: true })
    expect(meta.loopScore).toBeGreaterThan(0)
    expect(Number(probe(out)['nb_read_frames'])).toBe(40)
    const bad = render(['--prompt', 'x', '--out', join(tmp, 'c.mp4'), '--prompt-at', 'soon:x'])
    expect(bad.code).toBe(2)
    expect(bad.stderr).toMatch(/--prompt-at needs FRAME:TEXT/)
  })

  it('gives clear usage errors with exit code 2', () => {
    const r = render(['--prompt', 'x'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/--out is required/)
    expect(
      render(['--prompt', 'x', '--out', join(tmp, 'a.mp4'), '--camera', 'spin']).stderr,
    ).toMatch(/--camera "spin": unknown camera preset "spin"; known presets: static, pan-left/)
    expect(render(['--prompt', 'x', '--out', join(tmp, 'a.mp4'), '--frames', '0']).stderr).toMatch(
      /--frames must be an integer from 1/,
    )
    expect(
      render(['--prompt', 'x', '--out', join(tmp, 'a.mp4'), '--camera', 'motionctrl:Spin']).stderr,
    ).toMatch(/--camera "motionctrl:Spin": unknown MotionCtrl preset "Spin"; known: L, R/)
    const xyz = render(['--prompt', 'x', '--out', join(tmp, 'a.xyz')])
    expect(xyz.code).toBe(2)
    expect(xyz.stderr).toMatch(/unknown clip format "\.xyz"/)
  })

  it("renders MotionCtrl's own presets on a MotionCtrl model (the demo), each its own path", () => {
    const a = join(tmp, 'mc-ri')
    const b = join(tmp, 'mc-l')
    const common = ['--prompt', 'x', '--frames', '8', '--steps', '2', '--seed', '5']
    expect(render([...common, '--camera', 'motionctrl:Round-RI', '--out', `${a}/`]).code).toBe(0)
    expect(render([...common, '--camera', 'motionctrl:L', '--out', `${b}/`]).code).toBe(0)
    expect(readFileSync(join(a, 'frame_0007.png'))).not.toEqual(
      readFileSync(join(b, 'frame_0007.png')),
    )
  })

  it('refuses a broken model folder with exit code 3', () => {
    const r = render(['--model', tmp, '--prompt', 'x', '--out', join(tmp, 'b.mp4')])
    expect(r.code).toBe(3)
    expect(r.stderr).toMatch(/model_index\.json: missing/)
  })

  it('Ctrl-C mid-denoise cancels: exit 130, no output, no temp files', async () => {
    const out = join(tmp, 'cancel.mp4')
    const child = spawn(
      process.execPath,
      [cli, 'render', '--prompt', 'x', '--steps', '1000', '--frames', '16', '--out', out, '--cpu'],
      { cwd: tmp, stdio: ['ignore', 'ignore', 'pipe'] },
    )
    let err = ''
    await new Promise<void>((ok) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString()
        if (/denoise [1-9]/.test(err)) ok()
      })
    })
    child.kill('SIGINT')
    const code = await new Promise<number | null>((ok) => child.on('exit', (c) => ok(c)))
    expect(code).toBe(130)
    expect(err).toMatch(/cancelled; nothing was written/)
    expect(existsSync(out)).toBe(false)
    expect(readdirSync(tmp).filter((f) => f.includes('.dolly-'))).toEqual([])
  })
})

describe.skipIf(notBuilt)('renderClip (the API the studio uses)', () => {
  const model = join(root, 'resources/demo-model')
  const base = {
    model,
    prompt: 'a lighthouse at dusk',
    frames: 8,
    steps: 3,
    seed: 11,
    fps: 8,
    plan: 'offload' as const,
  }

  it('same seed twice gives identical frames; only changing the camera changes them', async () => {
    const runtime = new Runtime({ preferCuda: false })
    const frames = async (camera: string, name: string) => {
      const out = join(tmp, name)
      await renderClip({ ...base, camera: { preset: camera }, out }, { runtime })
      return readdirSync(out)
        .sort()
        .map((f) => readPng(join(out, f)).rgb)
    }
    const a = await frames('orbit-left', 'seed-a')
    const b = await frames('orbit-left', 'seed-b')
    const c = await frames('zoom-in', 'seed-c')
    expect(b).toEqual(a)
    expect(c).not.toEqual(a)
    expect(runtime.liveSessions).toBe(0)
  })

  it('a cancel through the API leaves no file and zero live sessions, at any stage', async () => {
    for (const stage of ['denoise', 'decode', 'export'] as const) {
      const runtime = new Runtime({ preferCuda: false })
      const ac = new AbortController()
      const out = join(tmp, `api-cancel-${stage}.mp4`)
      const run = renderClip(
        { ...base, frames: 16, steps: 6, out, plan: 'resident' },
        { runtime },
        { signal: ac.signal, onProgress: (p) => p.stage === stage && p.step >= 1 && ac.abort() },
      )
      await expect(run).rejects.toThrow(/cancelled/)
      expect(existsSync(out), stage).toBe(false)
      expect(runtime.liveSessions, stage).toBe(0)
    }
    expect(readdirSync(tmp).filter((f) => f.includes('.dolly-'))).toEqual([])
  })

  it('emits progress with it/s and ETA, and a live preview each step', async () => {
    const runtime = new Runtime({ preferCuda: false })
    const progress: { stage: string; itPerSec: number | null; etaS: number | null }[] = []
    const previews: { step: number; width: number; rgb: Uint8Array }[] = []
    await renderClip(
      // frames decoded two at a time: the decode reports its pace chunk by chunk
      { ...base, out: join(tmp, 'progress.gif'), fps: 10, decodeChunkSize: 2 },
      { runtime },
      { onProgress: (p) => progress.push(p), onPreview: (p) => previews.push(p) },
    )
    const denoise = progress.filter((p) => p.stage === 'denoise' && p.itPerSec !== null)
    expect(denoise.length).toBe(3)
    expect(denoise.at(-1)!.etaS).toBe(0)
    // the decode says how long it has left at its own pace (the ETA ended with the denoising),
    // from its second report on: its first comes with a chunk already done, no pace yet
    const decodeAll = progress.filter((p) => p.stage === 'decode')
    expect(decodeAll[0]!.etaS).toBeNull()
    const decode = decodeAll.filter((p) => p.etaS !== null)
    expect(decode.length).toBeGreaterThan(0)
    expect(decode.every((p) => p.itPerSec === null)).toBe(true)
    expect(decode.at(-1)!.etaS).toBe(0)
    expect(new Set(progress.map((p) => p.stage))).toEqual(
      new Set(['load', 'encode', 'denoise', 'decode', 'export']),
    )
    expect(previews.map((p) => p.step)).toEqual([0, 1, 2])
    expect(previews[0]!.width).toBe(32)
    expect(previews[0]!.rgb).not.toEqual(previews[2]!.rgb) // the preview changes as it denoises
  })
})
