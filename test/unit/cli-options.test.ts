// `dolly render`'s options: how numbers are read, options given twice, and what a usage error
// prints (the parser directly, and the built CLI for exit codes and output).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { main, parseArgs, SETTING_OPTIONS, type CliArgs } from '../../src/main/cli/index'
import { renderClip, unusedSettings, type RenderSpec } from '../../src/main/engine/jobs/render'
import { Runtime } from '../../src/main/engine'
import { writeWanFolder } from '../fixtures/model-folders'
import { missing, sharedPath } from './engine/reference'
import { openModelFolder, type ModelFolder } from '../../src/main/engine/models/model-folder'
import { familyTakes, FAMILY_SETTINGS } from '../../src/main/engine/pipelines/registry'
import {
  EXPORT_QUALITY,
  GIF_LOOP,
  PIPELINE_KINDS,
  PIPELINES,
  SCHEDULER_NAMES,
} from '../../src/shared/render'
import { ExportRequest } from '../../src/shared/contract'
import { CONTEXT_DEFAULTS, FIRST_PROMPT_KEY_FRAME } from '../../src/shared/longtake'
import {
  DEFAULT_MOTION_BUCKET,
  DEFAULT_NOISE_AUG_STRENGTH,
  MAX_MOTION_BUCKET,
} from '../../src/shared/motion'

const root = resolve(__dirname, '../..')
const cli = join(root, 'bin/dolly.mjs')
const built =
  existsSync(join(root, 'out/main/cli.js')) &&
  existsSync(join(root, 'resources/demo-model/model_index.json'))
const tmp = mkdtempSync(join(tmpdir(), 'dolly-cli-opts-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function render(args: string[]) {
  const r = spawnSync(process.execPath, [cli, 'render', '--cpu', ...args], {
    cwd: tmp,
    encoding: 'utf8',
  })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

const out = () => join(tmp, 'clip.gif')
const parse = (...args: string[]) =>
  parseArgs(['--prompt', 'x', '--out', out(), ...args]) as CliArgs
const refusal = (...args: string[]) => {
  try {
    parse(...args)
  } catch (err) {
    return (err as Error).message
  }
  return null
}

describe('--model demo beside a folder named demo', () => {
  it('says which one runs (the built-in model) and how to name the folder', () => {
    const here = process.cwd()
    const dir = mkdtempSync(join(tmpdir(), 'dolly-demo-name-'))
    try {
      process.chdir(dir)
      expect(parse('--model', 'demo').notes).toBeUndefined()
      writeFileSync('demo', '') // a file of that name is no model folder: nothing to say
      expect(parse('--model', 'demo').notes).toBeUndefined()
      rmSync('demo')
      mkdirSync('demo')
      const a = parse('--model', 'demo')
      expect(a.spec.model).not.toBe(join(dir, 'demo'))
      expect(a.notes).toEqual([expect.stringMatching(/built-in demo model.*--model \.\/demo/)])
      expect(parse('--model', './demo').spec.model).toBe(join(dir, 'demo'))
      expect(parse('--model', './demo').notes).toBeUndefined()
    } finally {
      process.chdir(here)
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('dolly render: numbers are plain digits', () => {
  it('refuses hex, binary, exponent and padded forms that Number() reads (0x10 rendered 16 frames, 1e3 was seed 1000)', () => {
    for (const [opt, v] of [
      ['--frames', '0x10'],
      ['--frames', '0b101'],
      ['--frames', '1e1'],
      ['--frames', ' 16'],
      ['--frames', '16.0'],
      ['--seed', '1e3'],
      ['--seed', '0o7'],
      ['--steps', '+4'],
      ['--quality', 'Infinity'],
    ] as const)
      expect(refusal(opt, v), `${opt} ${v}`).toBe(
        `${opt} must be an integer from ${opt === '--frames' ? '1 to 512' : opt === '--seed' ? `0 to ${Number.MAX_SAFE_INTEGER}` : opt === '--steps' ? '1 to 1000' : '0 to 100'} in plain digits (such as 16), got "${v}"`,
      )
    for (const [opt, v] of [
      ['--guidance', '0x8'],
      ['--guidance', '7.5e0'],
      ['--fps', '1e1'],
      ['--noise-aug', '.'],
      ['--motion-scale', '1,5'],
    ] as const)
      expect(refusal(opt, v), `${opt} ${v}`).toMatch(
        new RegExp(`^${opt} must be a number from .* in plain digits \\(such as 7\\.5\\), got "`),
      )
  })

  it('still takes plain integers and decimals, and checks their range', () => {
    const a = parse('--frames', '16', '--seed', '1000', '--loop', '-1', '--guidance', '7.5')
    expect(a.spec).toMatchObject({ frames: 16, seed: 1000, loop: -1, guidance: 7.5 })
    expect(parse('--guidance', '.5', '--fps', '12.').spec).toMatchObject({ guidance: 0.5, fps: 12 })
    expect(refusal('--frames', '0')).toMatch(/^--frames must be an integer from 1 to 512/)
    expect(refusal('--guidance', '-1')).toMatch(/^--guidance must be a number from 0 to 100/)
  })

  it.skipIf(!built)('exits 2 naming the option', () => {
    const r = render(['--prompt', 'x', '--frames', '0x10', '--out', out()])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--frames must be an integer from 1 to 512 in plain digits')
    expect(existsSync(out())).toBe(false)
  })
})

describe('dolly render: an option given twice', () => {
  it('is refused, naming it and both values (the last one silently won)', () => {
    expect(refusal('--prompt', 'b')).toBe(
      '--prompt is given twice ("x", then "b"); give it once (only --prompt-at repeats)',
    )
    expect(refusal('--seed', '1', '--frames', '8', '--seed', '2')).toBe(
      '--seed is given twice ("1", then "2"); give it once (only --prompt-at repeats)',
    )
    expect(refusal('--out', join(tmp, 'other.mp4'))).toMatch(/^--out is given twice/)
  })

  it('--prompt-at takes frames from the first a prompt key may take (frame 2, 1-based), as the studio', () => {
    expect(parse('--prompt-at', `${FIRST_PROMPT_KEY_FRAME + 1}:y`).spec.promptKeys).toEqual([
      { frame: FIRST_PROMPT_KEY_FRAME, prompt: 'y' },
    ])
    expect(() =>
      parseArgs(['--prompt', 'x', '--prompt-at', `${FIRST_PROMPT_KEY_FRAME}:y`, '--out', 'a.mp4']),
    ).toThrow(`FRAME from ${FIRST_PROMPT_KEY_FRAME + 1} (1-based)`)
  })

  it('--prompt-at still repeats, and flags may be given again', () => {
    const a = parse('--prompt-at', '5:y', '--prompt-at', '9:z', '--cpu', '--cpu')
    expect(a.spec.promptKeys).toEqual([
      { frame: 4, prompt: 'y' },
      { frame: 8, prompt: 'z' },
    ])
    expect(a.cpu).toBe(true)
  })

  it.skipIf(!built)('exits 2', () => {
    const r = render(['--prompt', 'a', '--prompt', 'b', '--out', out()])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--prompt is given twice ("a", then "b")')
  })
})

describe.skipIf(!built)('dolly render: what a usage error prints', () => {
  it('the message and where the help is, not the whole help after it (which scrolled it away)', () => {
    for (const args of [
      ['--prompt', 'x'],
      ['--prompt', 'x', '--out', out(), '--frobnicate'],
      ['--prompt', 'x', '--out', out(), '--steps', 'many'],
    ]) {
      const r = render(args)
      expect(r.code, args.join(' ')).toBe(2)
      const lines = r.stderr.trimEnd().split('\n')
      expect(lines, args.join(' ')).toHaveLength(2)
      expect(lines[0]).toMatch(/^dolly render: .*--/)
      expect(lines[1]).toBe('see dolly render --help')
      expect(r.stdout).toBe('')
    }
    // the help itself is where it said
    const help = spawnSync(process.execPath, [cli, 'render', '--help'], { encoding: 'utf8' })
    expect(help.status).toBe(0)
    expect(help.stdout).toMatch(/^usage: dolly render \[options\]/)
  })
})

describe.skipIf(!built)('dolly render: SIGTERM is not Ctrl-C', () => {
  it('mid-denoise: cancels with its own words and exits 143; nothing written, no temp files', async () => {
    const dir = mkdtempSync(join(tmp, 'term-'))
    const clip = join(dir, 'term.mp4')
    const child = spawn(
      process.execPath,
      [cli, 'render', '--cpu', '--prompt', 'x', '--steps', '1000', '--frames', '16', '--out', clip],
      { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
    )
    let err = ''
    await new Promise<void>((ok) => {
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString()
        if (/denoise [1-9]/.test(err)) ok()
      })
    })
    child.kill('SIGTERM')
    const code = await new Promise<number | null>((ok) => child.on('exit', (c) => ok(c)))
    expect(code).toBe(143)
    expect(err).toContain('terminating on SIGTERM… (a second signal quits at once)')
    expect(err).toContain('dolly render: terminated (SIGTERM); nothing was written')
    expect(err).not.toMatch(/Ctrl-C|cancelling/)
    expect(existsSync(clip)).toBe(false)
    expect(readdirSync(dir)).toEqual([])
  })

  it('after the clip is complete: the clip is kept and said so, naming SIGTERM (exit 0, as for Ctrl-C)', async () => {
    const clip = join(tmp, 'kept.gif')
    // the test's process is the CLI's here: its own signal listeners stand aside meanwhile
    const others = process.listeners('SIGTERM')
    process.removeAllListeners('SIGTERM')
    const write = process.stderr.write.bind(process.stderr)
    let err = ''
    process.stderr.write = ((chunk: string | Uint8Array) => {
      err += String(chunk)
      // the last progress line comes once ffmpeg has the whole clip, before the render returns
      if (String(chunk).includes('export 2/2')) process.emit('SIGTERM', 'SIGTERM')
      return true
    }) as typeof process.stderr.write
    let code: number
    try {
      // (the demo by its folder: imported from src/, main's own default points elsewhere)
      code = await main([
        ...['render', '--cpu', '--model', join(root, 'resources/demo-model')],
        ...['--prompt', 'x', '--frames', '2', '--steps', '1', '--out', clip],
      ])
    } finally {
      process.stderr.write = write
      for (const l of others) process.on('SIGTERM', l)
    }
    expect(code, err).toBe(0)
    expect(err).toContain('terminating on SIGTERM')
    expect(err).toContain('note: the clip was already complete when SIGTERM arrived; it is kept')
    expect(err).toMatch(/wrote .*kept\.gif/)
    expect(existsSync(clip)).toBe(true)
    // main's own listeners are gone once it returns
    expect(process.listeners('SIGTERM')).toEqual(others)
  })
})

describe.skipIf(!built)('dolly render: an image given to a text model', () => {
  it('is not read: a file that is no image does not fail the render the warning says ignores it', () => {
    const notes = join(tmp, 'notes.txt')
    writeFileSync(notes, 'not an image')
    const clip = join(tmp, 'text-model.gif')
    const r = render([
      ...['--prompt', 'x', '--image', notes, '--frames', '2', '--steps', '1'],
      ...['--out', clip],
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain('makes a clip from text; the image is not used')
    expect(existsSync(clip)).toBe(true)
  })
})

describe('which family takes which family setting (read from the registry rows)', () => {
  it('SVD its ramp, bucket and noise; AnimateDiff a motion scale; CogVideoX dynamic guidance; Wan guidance 2', () => {
    const takes = Object.fromEntries(
      PIPELINE_KINDS.map((k) => [k, FAMILY_SETTINGS.filter((f) => familyTakes(k, f))]),
    )
    expect(takes).toEqual({
      animatediff: ['motionScale'],
      svd: ['minGuidance', 'motionBucketId', 'noiseAugStrength'],
      cogvideox: ['dynamicCfg'],
      'cogvideox-i2v': ['dynamicCfg'],
      wan: ['guidance2'],
      'wan-i2v': ['guidance2'],
      'wan-fun-camera': ['guidance2'],
    })
  })
})

describe.skipIf(!built)('options the model does not take are named in a warning', () => {
  const demo = () => openModelFolder(join(root, 'resources/demo-model'))
  const spec = (s: Partial<RenderSpec>): RenderSpec => ({ model: '', prompt: 'x', out: '', ...s })
  const cliNames = (k: keyof typeof SETTING_OPTIONS) => SETTING_OPTIONS[k]

  it("another family's settings, a fit without an image, on the demo (AnimateDiff)", () => {
    const w = unusedSettings(
      spec({
        minGuidance: 1,
        motionBucketId: 100,
        noiseAugStrength: 0.1,
        dynamicCfg: true,
        guidance2: 3,
        motionScale: 1.5,
        fit: 'crop',
        decodeChunkSize: 4,
      }),
      demo(),
      cliNames,
    )
    expect(w).toEqual([
      '--min-guidance has no effect: Demo (random weights) has no per-frame guidance ramp (Stable Video Diffusion has one)',
      '--motion-bucket has no effect: Demo (random weights) has no motion bucket (Stable Video Diffusion has one)',
      '--noise-aug has no effect: Demo (random weights) has no noise augmentation of an input image (Stable Video Diffusion has one)',
      "--motion-scale has no effect: Demo (random weights)'s denoiser has no motion_scale input",
      '--dynamic-cfg has no effect: Demo (random weights) has no dynamic guidance (CogVideoX and CogVideoX image-to-video have one)',
      '--guidance-2 has no effect: Demo (random weights) has no second, low-noise expert (Wan2.2 A14B has one)',
      '--fit has no effect: there is no image to fit',
    ])
    // AnimateDiff decodes in chunks (the decode chunk is its), dynamic guidance off is nothing
    expect(unusedSettings(spec({ decodeChunkSize: 4, dynamicCfg: false }), demo())).toEqual([])
    // the studio's words where no option names are given
    expect(unusedSettings(spec({ fit: 'pad' }), demo())).toEqual([
      'the image fit has no effect: there is no image to fit',
    ])
  })

  const t5 = sharedPath('fixtures/tokenizers/t5')
  it.skipIf(missing(t5))(
    'guidance 2 on a Wan with one transformer is warned of and dropped, as for any setting a model does not take',
    async () => {
      const dir = writeWanFolder(join(tmp, 'wan-one'), { kind: 't2v', tokenizerFrom: t5 })
      const m = openModelFolder(dir)
      expect(unusedSettings(spec({ guidance2: 3 }), m, cliNames)).toEqual([
        `--guidance-2 has no effect: ${m.label} has one transformer: no second, low-noise expert (Wan2.2 A14B has one)`,
      ])
      // and the render runs (the pipeline itself refuses guidance 2 without a second expert)
      const r = await renderClip(
        spec({
          model: dir,
          guidance2: 3,
          frames: 5,
          width: 32,
          height: 32,
          steps: 1,
          out: join(tmp, 'wan.gif'),
        }),
        { runtime: new Runtime({ preferCuda: false }) },
      )
      expect(r.warnings).toContain(
        `guidance 2 has no effect: ${m.label} has one transformer: no second, low-noise expert (Wan2.2 A14B has one)`,
      )
    },
  )

  it('context windows: none run for a clip that fits one window; a loop narrows the window; the overlap is clamped', () => {
    const m = demo()
    expect(
      unusedSettings(
        spec({ frames: 16, context: { overlap: 4, weighting: 'flat', colourAnchor: false } }),
        m,
        cliNames,
      ),
    ).toEqual([
      `--overlap, --weighting and --no-colour-anchor have no effect: the clip's 16 frames fit one window of ${m.maxFrames}, so no context windows run (they do for a longer clip or a loop)`,
    ])
    expect(
      unusedSettings(spec({ frames: 40, context: { window: 16, overlap: 20 } }), m, cliNames),
    ).toEqual(['--overlap 20 is more than windows of 16 can share: 15 is used'])
    expect(
      unusedSettings(
        spec({ frames: 8, closedLoop: true, context: { window: 16, overlap: 4 } }),
        m,
        cliNames,
      ),
    ).toEqual(["--window 16 is more than the loop's 8 frames: windows of 8 are used"])
    // windows that run as asked: nothing to say
    expect(
      unusedSettings(spec({ frames: 40, context: { window: 16, overlap: 4 } }), m, cliNames),
    ).toEqual([])
  })

  it('families without context windows or a decode chunk say so', () => {
    const wan = { ...demo(), pipeline: 'wan', label: 'Wan2.1 1.3B', motion: 'none' } as ModelFolder
    expect(
      unusedSettings(
        spec({ decodeChunkSize: 2, guidance2: 4, context: { window: 16 } }),
        wan,
        cliNames,
      ),
    ).toEqual([
      // (the demo's folder stands in: one transformer, so guidance 2 has nothing to act on)
      '--guidance-2 has no effect: Wan2.1 1.3B has one transformer: no second, low-noise expert (Wan2.2 A14B has one)',
      '--decode-chunk has no effect: Wan2.1 1.3B decodes one latent frame per call',
      "--window has no effect: Wan2.1 1.3B renders the clip in one window (context windows are AnimateDiff's)",
    ])
    const cog = { ...wan, pipeline: 'cogvideox', label: 'CogVideoX 2B' } as ModelFolder
    expect(unusedSettings(spec({ decodeChunkSize: 2 }), cog, cliNames)).toEqual([
      '--decode-chunk has no effect: CogVideoX 2B decodes the whole clip in one call',
    ])
  })

  it('--loop on a clip that is not a GIF, and --quality on a GIF or PNG frames, are warned of (they were ignored)', () => {
    expect(
      unusedSettings(spec({ loop: 3, quality: 10, out: 'clip.mp4' }), demo(), cliNames),
    ).toEqual([
      '--loop has no effect: only a GIF carries a loop count (an MP4 player decides whether to repeat)',
    ])
    expect(
      unusedSettings(spec({ loop: 3, quality: 10, out: 'clip.gif' }), demo(), cliNames),
    ).toEqual([
      '--quality has no effect: a GIF is not compressed by quality (it sets MP4 and WebM compression)',
    ])
    expect(unusedSettings(spec({ loop: -1, quality: 0, out: 'frames' }), demo())).toEqual([
      'the quality has no effect: PNG frames are lossless (it sets MP4 and WebM compression)',
      'the loop count has no effect: only a GIF carries a loop count (PNG frames have none)',
    ])
    expect(unusedSettings(spec({ quality: 50, out: 'clip.webm' }), demo())).toEqual([])
  })

  it('SVD: a minimum guidance with guidance off (--guidance <= 1) is warned of (the ramp was dropped silently)', () => {
    const svd = { ...demo(), pipeline: 'svd', label: 'SVD-XT' } as ModelFolder
    expect(
      unusedSettings(spec({ prompt: '', minGuidance: 5, guidance: 1 }), svd, cliNames),
    ).toEqual([
      '--min-guidance has no effect: guidance is off at a guidance scale of 1 or less (diffusers runs no unconditional half then)',
    ])
    expect(unusedSettings(spec({ prompt: '', minGuidance: 2, guidance: 3 }), svd)).toEqual([])
  })

  it('a prompt or negative prompt on a family that reads no text (SVD) is warned of, not dropped silently', () => {
    const svd = { ...demo(), pipeline: 'svd', label: 'SVD-XT' } as ModelFolder
    expect(
      unusedSettings(spec({ prompt: 'a fox', negativePrompt: 'blurry' }), svd, cliNames),
    ).toEqual([
      '--prompt and --negative have no effect: SVD-XT reads no text (it animates the image alone)',
    ])
    expect(unusedSettings(spec({ prompt: '', negativePrompt: 'blurry' }), svd)).toEqual([
      'the negative prompt has no effect: SVD-XT reads no text (it animates the image alone)',
    ])
    // no prompt given (the CLI passes ''): nothing to warn of; a text family reads both
    expect(unusedSettings(spec({ prompt: '' }), svd)).toEqual([])
    expect(unusedSettings(spec({ prompt: 'a fox', negativePrompt: 'blurry' }), demo())).toEqual([])
  })

  it('a prompt key one frame past the clip is warned of like any later one (it was dropped silently)', () => {
    for (const loop of [[], ['--seamless']]) {
      const r = render([
        ...['--prompt', 'x', '--frames', '4', '--steps', '1', ...loop],
        ...['--prompt-at', '3:a cat', '--prompt-at', '5:a dog', '--out', join(tmp, 'keys.gif')],
      ])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stderr, loop.join()).toContain(
        "warning: prompt keyframes at frame 5 lie past the clip's 4 frames and were left out",
      )
    }
  })

  it('the CLI prints them as warnings after the render (which runs)', () => {
    const clip = join(tmp, 'unused.gif')
    const r = render([
      ...['--prompt', 'x', '--frames', '2', '--steps', '1', '--min-guidance', '1'],
      ...['--fit', 'crop', '--overlap', '4', '--out', clip],
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toContain('warning: --min-guidance has no effect: Demo (random weights)')
    expect(r.stderr).toContain('warning: --fit has no effect: there is no image to fit')
    expect(r.stderr).toContain(
      "warning: --overlap has no effect: the clip's 2 frames fit one window",
    )
    expect(existsSync(clip)).toBe(true)
  })
})

describe('--prompt-at', () => {
  it('two keys at one frame are refused, as any option given twice is (the later one silently won)', () => {
    expect(refusal('--prompt-at', '4:a cat', '--prompt-at', '4:a dog')).toBe(
      '--prompt-at 4 is given twice ("a cat", then "a dog"); give each frame one prompt',
    )
    expect(refusal('--prompt-at', '4:a cat', '--prompt-at', '5:a dog')).toBeNull()
  })
})

describe('--guidance and --max-guidance', () => {
  it('are one setting: two different values are refused, the same value or either alone taken', () => {
    expect(refusal('--guidance', '5', '--max-guidance', '6')).toBe(
      "--guidance 5 and --max-guidance 6 set the same guidance scale (--max-guidance is SVD's name for it); give one",
    )
    expect(parse('--guidance', '5', '--max-guidance', '5.0').spec.guidance).toBe(5)
    expect(parse('--max-guidance', '2.5').spec.guidance).toBe(2.5)
    expect(parse('--guidance', '9').spec.guidance).toBe(9)
  })
})

describe.skipIf(!built)('dolly render --help', () => {
  const help = () => {
    const r = spawnSync(process.execPath, [cli, 'render', '--help'], { encoding: 'utf8' })
    expect(r.status).toBe(0)
    // the option text as one line per option (wrapped lines joined)
    return r.stdout.replace(/\n {22}/g, ' ')
  }
  const line = (text: string, opt: string) =>
    text.split('\n').find((l) => l.startsWith(`  ${opt}`))!

  it('--image names every image-to-video family (it said SVD only)', () => {
    const image = line(help(), '--image')
    for (const k of PIPELINE_KINDS.filter((k) => PIPELINES[k].input === 'image'))
      expect(image, k).toContain(PIPELINES[k].label)
    expect(image).toContain(
      'Stable Video Diffusion, CogVideoX image-to-video, Wan image-to-video and Wan-Fun Control-Camera',
    )
  })

  it("--width/--height give each family's multiple (it said 8 for all) and a folder's own", () => {
    const size = line(help(), '--width')
    expect(size).not.toMatch(/multiples of 8;/)
    for (const k of PIPELINE_KINDS) expect(size, k).toContain(String(PIPELINES[k].sizeMultiple))
    expect(size).toContain(
      'multiples of 8 (AnimateDiff and Stable Video Diffusion) or 16 (CogVideoX and Wan), or what the folder asks (Wan2.2 TI2V 5B: 32)',
    )
  })

  it('says --guidance and --max-guidance are one setting, and that unused options are warned of', () => {
    const text = help()
    expect(line(text, '--max-guidance')).toContain(
      "Stable Video Diffusion's name for --guidance (the last frame's, default 3); both with different values is an error",
    )
    expect(text).toContain('An option the model does not take is named in a warning')
    expect(text).toContain('143 terminated (SIGTERM)')
  })
  it('names the defaults the engine uses, from their one place, with no trailing spaces', () => {
    const raw = spawnSync(process.execPath, [cli, 'render', '--help'], { encoding: 'utf8' }).stdout
    expect(raw.split('\n').filter((l) => / $/.test(l))).toEqual([])
    const text = help()
    expect(line(text, '--weighting')).toContain(`(default ${CONTEXT_DEFAULTS.weighting})`)
    expect(line(text, '--noise-type')).toContain(`(default ${CONTEXT_DEFAULTS.noise})`)
    expect(line(text, '--motion-bucket')).toContain(
      `0 still .. ${MAX_MOTION_BUCKET} fast, default ${DEFAULT_MOTION_BUCKET}`,
    )
    expect(line(text, '--noise-aug')).toContain(`(default ${DEFAULT_NOISE_AUG_STRENGTH})`)
    expect(line(text, '--quality')).toContain(`default ${EXPORT_QUALITY.default}`)
    expect(line(text, '--loop')).toContain(`(default ${GIF_LOOP.default})`)
    // the studio's export request defaults to the same
    expect(ExportRequest.parse({ jobIds: ['j'], format: 'gif' })).toMatchObject({
      quality: EXPORT_QUALITY.default,
      loop: GIF_LOOP.default,
    })
    expect(line(text, '--scheduler')).toContain(
      `${SCHEDULER_NAMES.join(', ')} (default: the model's)`,
    )
  })
})
