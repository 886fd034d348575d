// `dolly render`'s options: how numbers are read, options given twice, and what a usage error
// prints (the parser directly, and the built CLI for exit codes and output).
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { main, parseArgs, type CliArgs } from '../../src/main/cli/index'

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
