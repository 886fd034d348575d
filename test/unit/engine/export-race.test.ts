// Two exports to one PNG folder at once (a second Export while the first runs, the same folder
// chosen both times): the one that finishes second used to fail with Node's bare "ENOTEMPTY:
// directory not empty, rmdir" and leave its whole temp folder of frames beside the target.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { encodeClip } from '../../../src/main/engine'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-export-race-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const W = 16
const H = 16
const N = 4
const frames = new Uint8Array(W * H * 3 * N).fill(100)

describe('two PNG exports into one folder at once', () => {
  it('one writes the frames; the other says the folder was filled and leaves no temp', async () => {
    const out = join(tmp, 'frames')
    const o = { out, format: 'png' as const, width: W, height: H, fps: 8 }
    const results = await Promise.allSettled([encodeClip(frames, N, o), encodeClip(frames, N, o)])
    const ok = results.filter((r) => r.status === 'fulfilled')
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []))
    expect(ok).toHaveLength(1)
    expect(failed).toHaveLength(1)
    expect(failed[0]!.message).not.toMatch(/ENOTEMPTY/)
    expect(failed[0]!.message).toContain(out)
    expect(failed[0]!.message).toMatch(/left as it was/)
    expect(readdirSync(out)).toHaveLength(N)
    // nothing beside the target but the target
    expect(readdirSync(tmp)).toEqual(['frames'])
  })
})
