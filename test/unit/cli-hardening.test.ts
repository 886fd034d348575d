// `dolly render` checks that it can write the clip before it renders (it found out only after
// the whole render), removes the temp files an earlier killed run left (ours by name, older
// than the run, from no live process), such as one killed with -9 mid-export.
import { spawn, spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const root = resolve(__dirname, '../..')
const cli = join(root, 'bin/dolly.mjs')
const built =
  existsSync(join(root, 'out/main/cli.js')) &&
  existsSync(join(root, 'resources/demo-model/model_index.json'))
const tmp = mkdtempSync(join(tmpdir(), 'dolly-cli-hard-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function render(args: string[]) {
  const r = spawnSync(process.execPath, [cli, 'render', '--cpu', ...args], {
    cwd: tmp,
    encoding: 'utf8',
  })
  return { code: r.status, stderr: r.stderr }
}

describe.skipIf(!built)('dolly render: the destination, before the render', () => {
  it('a missing folder: exit 2 at once, naming it, nothing rendered', () => {
    const r = render([
      '--prompt',
      'x',
      '--steps',
      '2',
      '--out',
      join(tmp, 'no', 'such', 'clip.mp4'),
    ])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /--out .*clip\.mp4: the folder .*no\/such does not exist; create it first/,
    )
    expect(r.stderr).not.toMatch(/denoise/)
  })

  it('a file where the folder should be, and a non-empty folder for PNG frames', () => {
    writeFileSync(join(tmp, 'afile'), 'x')
    let r = render(['--prompt', 'x', '--steps', '2', '--out', join(tmp, 'afile', 'clip.gif')])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/afile is not a folder/)
    mkdirSync(join(tmp, 'full'))
    writeFileSync(join(tmp, 'full', 'keep.txt'), 'x')
    r = render(['--prompt', 'x', '--steps', '2', '--out', join(tmp, 'full')])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/already exists and is not an empty folder/)
    expect(r.stderr).not.toMatch(/denoise/)
  })

  it('a device such as /dev/null: says it is a device, not a folder for PNG frames', () => {
    const r = render(['--prompt', 'x', '--steps', '2', '--out', '/dev/null'])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /--out \/dev\/null: is a device, not a file or folder a clip can be written to/,
    )
    expect(r.stderr).not.toMatch(/not an empty folder/)
    expect(r.stderr).not.toMatch(/denoise/)
  })

  it('an existing file without an extension: says it is a file, not "not an empty folder"', () => {
    writeFileSync(join(tmp, 'plainfile'), 'x')
    const r = render(['--prompt', 'x', '--steps', '2', '--out', join(tmp, 'plainfile')])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /plainfile: is an existing file; a path without a clip extension is a folder for PNG frames/,
    )
  })

  it('a trailing slash names a folder: x.gif/ is refused (a GIF is a file), nothing written', () => {
    for (const name of ['slash.gif/', 'slash.mp4/', 'slash.webm/']) {
      const r = render(['--prompt', 'x', '--steps', '1', '--frames', '2', '--out', name])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(
        /ends in "\/", which names a folder, but \.(gif|mp4|webm) is a clip file/,
      )
      expect(r.stderr).not.toMatch(/denoise/)
      expect(existsSync(join(tmp, name.slice(0, -1)))).toBe(false)
    }
  })

  it('a trailing slash on a name with a dot is a folder of PNG frames', () => {
    const r = render(['--prompt', 'x', '--steps', '1', '--frames', '2', '--out', 'take.v1/'])
    expect(r.code).toBe(0)
    expect(statSync(join(tmp, 'take.v1')).isDirectory()).toBe(true)
    expect(readdirSync(join(tmp, 'take.v1')).filter((f) => f.endsWith('.png'))).toHaveLength(2)
  })

  it.skipIf(process.getuid?.() !== 0)('a read-only folder (a read-only tmpfs, as root)', () => {
    const ro = join(tmp, 'ro')
    mkdirSync(ro)
    const m = spawnSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro])
    if (m.status !== 0) return // no mount here: the case above covers the check
    try {
      const r = render(['--prompt', 'x', '--steps', '2', '--out', join(ro, 'clip.mp4')])
      expect(r.code).toBe(2)
      expect(r.stderr).toMatch(
        /cannot write in .*ro \(a read-only file system\); choose another folder/,
      )
    } finally {
      spawnSync('umount', [ro])
    }
  })
})

describe.skipIf(!built)('dolly render: temp files', () => {
  it('removes what a killed run left, and only that', () => {
    const dir = join(tmp, 'stale')
    mkdirSync(dir)
    const old = new Date(Date.now() - 3600_000)
    const left = [
      '.clip.mp4.dolly-1a2b3c4d.tmp.mp4', // an older studio's name (no pid)
      '.clip.gif.dolly-999999-0a0b0c0d.tmp.gif', // a pid that is not running
      '.frames.dolly-999998-0f0e0d0c.tmp', // a PNG folder in progress
    ]
    for (const f of left) {
      if (f.endsWith('.tmp')) mkdirSync(join(dir, f))
      else writeFileSync(join(dir, f), 'half a clip')
      utimesSync(join(dir, f), old, old)
    }
    const keep = [
      '.notes.txt', // not ours
      'clip.dolly-1a2b3c4d.tmp.mp4', // not hidden: not our pattern
      `.x.mp4.dolly-${process.pid}-11111111.tmp.mp4`, // a live process (this test) is writing it
    ]
    for (const f of keep) {
      writeFileSync(join(dir, f), 'x')
      utimesSync(join(dir, f), old, old)
    }
    const r = render([
      '--prompt',
      'x',
      '--steps',
      '1',
      '--frames',
      '2',
      '--out',
      join(dir, 'clip.mp4'),
    ])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/note: removed 3 temp files that an interrupted run left in/)
    expect(readdirSync(dir).sort()).toEqual([...keep, 'clip.mp4'].sort())
  })

  it('kill -9 mid-export leaves a temp file; the next run removes it and renders', async () => {
    const dir = join(tmp, 'killed')
    mkdirSync(dir)
    const out = join(dir, 'clip.webm')
    const child = spawn(
      process.execPath,
      [
        cli,
        'render',
        '--cpu',
        '--prompt',
        'x',
        '--steps',
        '1',
        '--frames',
        '256',
        '--quality',
        '0',
        '--out',
        out,
      ],
      { cwd: dir, stdio: 'ignore' },
    )
    // killed once frames are in the temp file (on a loaded machine the first poll can come
    // before ffmpeg has written anything, and an empty output is not what this test is about)
    const t0 = Date.now()
    const tempWithFrames = () =>
      readdirSync(dir).some((f) => f.includes('.dolly-') && statSync(join(dir, f)).size > 4096)
    while (!tempWithFrames() && Date.now() - t0 < 45_000)
      await new Promise((r) => setTimeout(r, 20))
    expect(tempWithFrames(), 'the render never started writing its clip').toBe(true)
    child.kill('SIGKILL')
    await new Promise((ok) => child.on('exit', ok))
    // its ffmpeg, fed no more frames, finishes its temp file and exits; the next run comes later
    while (spawnSync('pgrep', ['-f', dir]).status === 0) await new Promise((r) => setTimeout(r, 50))
    const left = readdirSync(dir)
    expect(left.filter((f) => f.includes('.dolly-'))).toHaveLength(1)
    const r = render(['--prompt', 'x', '--steps', '1', '--frames', '2', '--out', out])
    expect(r.code).toBe(0)
    expect(r.stderr).toMatch(/note: removed 1 temp file that an interrupted run left/)
    expect(readdirSync(dir)).toEqual(['clip.webm'])
  })
})

describe.skipIf(!built)('dolly render: what a careless command gets told', () => {
  it('an empty number is refused, not read as 0 (--seed "$SEED" with SEED unset)', () => {
    for (const opt of ['--seed', '--guidance', '--quality']) {
      const r = render(['--prompt', 'x', opt, '', '--out', join(tmp, 'e.gif')])
      expect(r.code, opt).toBe(2)
      expect(r.stderr).toContain(`${opt} needs a number; it was given an empty value`)
    }
  })

  it('an empty --camera or --model is refused, not read as no camera or the current folder ($CAM unset)', () => {
    for (const opt of ['--camera', '--model']) {
      const r = render(['--prompt', 'x', opt, '', '--frames', '2', '--out', join(tmp, 'empty.gif')])
      expect(r.code, `${opt}: ${r.stderr}`).toBe(2)
      expect(r.stderr).toContain(`${opt} needs a value; it was given an empty one`)
      expect(existsSync(join(tmp, 'empty.gif'))).toBe(false)
    }
  })

  it('a mistyped preset names the unknown move and the known ones; a missing pose file says so', () => {
    let r = render(['--prompt', 'x', '--camera', 'pan-left+zom-in', '--out', join(tmp, 'c.gif')])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /--camera "pan-left\+zom-in": unknown camera preset "zom-in"; known presets: .*pan-left/,
    )
    r = render(['--prompt', 'x', '--camera', 'moves/orbit.json', '--out', join(tmp, 'c.gif')])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--camera "moves/orbit.json": no such pose file')
    r = render(['--prompt', 'x', '--speed', '2', '--out', join(tmp, 'c.gif')])
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('--speed sets a preset camera move: give one with --camera')
  })

  it('a setting the model cannot take is a usage error (exit 2), before any step', () => {
    const r = render(['--prompt', 'x', '--width', '100', '--out', join(tmp, 's.gif')])
    expect(r.code).toBe(2)
    // the demo's export fixes its size: that is what it is told, not the grid's nearest
    // 104x256, which the model cannot take either
    expect(r.stderr).toContain(
      'Demo (random weights) takes 256x256 only (its export fixes the size); 100x256 is not possible',
    )
    expect(r.stderr).not.toMatch(/nearest|multiples of/)
    expect(r.stderr).not.toMatch(/denoise/)
    // on the grid but another size: the same
    const onGrid = render(['--prompt', 'x', '--width', '512', '--out', join(tmp, 's.gif')])
    expect(onGrid.code).toBe(2)
    expect(onGrid.stderr).toContain('takes 256x256 only')
  })

  it("a scheduler of another family is refused (it rendered, AnimateDiff with Wan's sampler)", () => {
    const r = render([
      ...['--prompt', 'x', '--scheduler', 'FlowMatchEulerDiscreteScheduler'],
      ...['--out', join(tmp, 'f.gif')],
    ])
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(
      /AnimateDiff runs DDIMScheduler or .*LCMScheduler; the scheduler "FlowMatchEulerDiscreteScheduler" is for other models/,
    )
  })

  it('--loop -1 writes a GIF that plays once (it was refused), and an image on a text model is said to be unused', () => {
    const out = join(tmp, 'once.gif')
    const image = resolve(root, '../shared/fixtures/images/chelsea.png')
    const r = render([
      ...['--prompt', 'x', '--frames', '2', '--steps', '1', '--loop', '-1'],
      ...(existsSync(image) ? ['--image', image] : []),
      ...['--out', out],
    ])
    expect(r.code, r.stderr).toBe(0)
    if (existsSync(image))
      expect(r.stderr).toContain('makes a clip from text; the image is not used')
    // a GIF without the NETSCAPE looping block plays once
    const bytes = readFileSync(out)
    expect(bytes.includes(Buffer.from('NETSCAPE2.0'))).toBe(false)
  })
})

describe.skipIf(!built)('dolly render: a very long prompt', () => {
  // onnxruntime-node 1.20 reads /proc/self/cmdline when it starts and overflows its stack on a
  // command line over about 28 KB: the render died of SIGSEGV with no message at all
  it.skipIf(process.platform !== 'linux')(
    'a command line onnxruntime cannot survive is refused with a reason, not a segmentation fault',
    () => {
      const long = 'a fox '.repeat(6000) // 36,000 bytes
      const r = spawnSync(
        process.execPath,
        [cli, 'render', '--cpu', '--prompt', long, '--out', join(tmp, 'long.gif')],
        { cwd: tmp, encoding: 'utf8' },
      )
      expect(r.signal, r.stderr).toBeNull()
      expect(r.status).toBe(2)
      expect(r.stderr).toMatch(/the command line is \d+ bytes/)
      expect(r.stderr).toContain('--prompt')
      expect(existsSync(join(tmp, 'long.gif'))).toBe(false)
    },
  )

  it('a long prompt under that limit still renders (the tokenizer cuts it, with a warning)', () => {
    const r = render([
      ...['--prompt', 'a fox '.repeat(3000), '--frames', '2', '--steps', '1'],
      ...['--out', join(tmp, 'long-ok.gif')],
    ])
    expect(r.code, r.stderr).toBe(0)
    expect(r.stderr).toMatch(/the prompt has \d+ tokens; CLIP reads the first 75/)
  })
})

describe.skipIf(!built)('dolly render: nothing phones home', () => {
  it("onnxruntime's telemetry is off: no device id or event store in the cache folder, no log in /tmp", () => {
    // onnxruntime 1.30 on Linux starts Microsoft's telemetry when it loads: a device id and an
    // event database under $XDG_CACHE_HOME/Microsoft/DeveloperTools/.onnxruntime (uploaded over
    // HTTPS where it can) and an empty /tmp/mat-debug-<pid>.log per process
    const started = Date.now() - 1000 // mtime granularity
    const cache = join(tmp, 'xdg-cache')
    mkdirSync(cache)
    const env: NodeJS.ProcessEnv = { ...process.env, XDG_CACHE_HOME: cache }
    delete env['ORT_DISABLE_TELEMETRY']
    const r = spawnSync(
      process.execPath,
      [
        cli,
        'render',
        '--cpu',
        '--prompt',
        'x',
        '--steps',
        '1',
        '--frames',
        '2',
        '--out',
        join(tmp, 't.gif'),
      ],
      { cwd: tmp, encoding: 'utf8', env },
    )
    expect(r.status, r.stderr).toBe(0)
    expect(readdirSync(cache)).toEqual([])
    // one left by an earlier process with the same pid is older than this run
    const log = `/tmp/mat-debug-${r.pid}.log`
    expect(existsSync(log) && statSync(log).mtimeMs >= started).toBe(false)
  })
})
