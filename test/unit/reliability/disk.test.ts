// A full disk (a small tmpfs, mounted when the suite runs as root; CI does): exports, project
// saves, autosaves and dropped images fail with a message that says the disk is full, and
// whatever the person had there before is still there, whole.
import { spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
  writeSync,
  closeSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { encodeClip } from '../../../src/main/engine/media/ffmpeg'
import { InputStore } from '../../../src/main/services/inputs'
import { ProjectStore } from '../../../src/main/services/projects'
import { project } from './fixtures'
import { Tally, type Outcome } from './tally'

const tally = new Tally('disk-full')
const dir = mkdtempSync(join(tmpdir(), 'dolly-rel-disk-'))
const why: string | null =
  process.getuid?.() !== 0
    ? 'needs root to mount a small tmpfs (CI runs as root)'
    : spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=8m', 'tmpfs', dir]).status !== 0
      ? 'mount -t tmpfs failed here'
      : null

afterAll(() => {
  tally.report(why)
  if (!why) spawnSync('umount', [dir])
  rmSync(dir, { recursive: true, force: true })
})

/** Fills the disk to the last byte. */
function fill(): void {
  const fd = openSync(join(dir, 'filler'), 'a')
  const block = Buffer.alloc(64 * 1024, 1)
  try {
    for (;;) writeSync(fd, block)
  } catch {
    // ENOSPC: full
  }
  try {
    for (;;) writeSync(fd, block.subarray(0, 512))
  } catch {
    // and the last few blocks
  }
  closeSync(fd)
}
const unfill = () => rmSync(join(dir, 'filler'), { force: true })

function judge(name: string, err: unknown, intact: boolean, clear: RegExp): Outcome {
  const message = err instanceof Error ? err.message : ''
  const outcome: Outcome = !intact
    ? 'lost'
    : err && clear.test(message)
      ? 'clear-error'
      : err
        ? 'ok'
        : 'ok'
  return tally.record(name, outcome, message)
}

describe.skipIf(why)('a full disk', () => {
  beforeAll(() => mkdirSync(join(dir, 'out'), { recursive: true }))

  const W = 64
  const H = 64
  const frames = new Uint8Array(W * H * 3 * 24)
  for (let i = 0; i < frames.length; i++) frames[i] = (i * 7919) & 255
  for (const format of ['gif', 'webm', 'mp4'] as const) {
    it(`an export to ${format} keeps the clip already there`, async () => {
      const out = join(dir, 'out', `clip.${format}`)
      await encodeClip(frames.subarray(0, W * H * 3 * 4), 4, { out, width: W, height: H, fps: 8 })
      const before = readFileSync(out)
      fill()
      let err: unknown = null
      try {
        await encodeClip(frames, 24, { out, width: W, height: H, fps: 8 })
      } catch (e) {
        err = e
      }
      unfill()
      const intact = existsSync(out) && readFileSync(out).equals(before)
      expect(
        judge(
          `export ${format}`,
          err,
          intact,
          /disk may be full|No space left|ffmpeg failed|nothing was written|left as it was/i,
        ),
      ).toBe('clear-error')
    })
  }

  it('a project save keeps the saved project and says the disk is full', () => {
    const store = new ProjectStore(join(dir, 'projects'), join(dir, 'state'))
    store.save('Lighthouse', project(2))
    fill()
    let err: unknown = null
    try {
      store.save('Lighthouse', project(40, 4000))
    } catch (e) {
      err = e
    }
    unfill()
    const reopened = store.open('Lighthouse').doc
    expect(
      judge(
        'project save',
        err,
        reopened.shots.length === 2,
        /the disk is full; nothing was changed/,
      ),
    ).toBe('clear-error')
  })

  it('an autosave keeps the previous recovery file', () => {
    const store = new ProjectStore(join(dir, 'projects'), join(dir, 'state'))
    store.autosave(project(3), 'Draft')
    fill()
    let err: unknown = null
    try {
      store.autosave(project(40, 4000), 'Draft')
    } catch (e) {
      err = e
    }
    unfill()
    expect(
      judge(
        'autosave',
        err,
        // the next session is offered the autosave from before the disk filled
        new ProjectStore(join(dir, 'projects'), join(dir, 'state')).recovery()?.doc.shots.length ===
          3,
        /the disk is full/,
      ),
    ).toBe('clear-error')
  })

  it('a dropped image is refused with a message, not a raw ENOSPC', async () => {
    const inputs = new InputStore(join(dir, 'inputs'))
    const png = Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      Buffer.alloc(256 * 1024, 3),
    ])
    fill()
    const err = await inputs.add(png, 'photo.png').then(
      () => null,
      (e: unknown) => e,
    )
    unfill()
    expect(
      judge(
        'input image',
        err,
        true,
        /photo\.png: the disk holding the studio's inputs .* is full/,
      ),
    ).toBe('clear-error')
  })

  it('nothing half-written is left on the disk', () => {
    const leftovers = spawnSync('find', [dir, '-name', '*.tmp*'], {
      encoding: 'utf8',
    }).stdout.trim()
    expect(tally.record('no temp files left', leftovers ? 'lost' : 'ok', leftovers)).toBe('ok')
    writeFileSync(join(dir, 'probe'), 'the disk takes writes again')
  })
})
