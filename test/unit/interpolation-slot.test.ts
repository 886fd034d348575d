// The export's frame-interpolation slot in main (services/interpolation.ts): a folder is kept
// only once it passes the model contract's checks, survives a restart, and an export that asks
// for the model without one is refused saying why.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { blendInterpolator } from '../../src/demo-model/tiny-models'
import { InterpolationSlot } from '../../src/main/services/interpolation'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-slot-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe('the interpolation model slot', () => {
  it('starts empty, refuses a folder without a model, keeps a good one across restarts', () => {
    const state = join(tmp, 'state')
    mkdirSync(state)
    const slot = new InterpolationSlot(state)
    const empty = slot.view()
    expect(empty.model).toMatchObject({ path: null, ok: false })
    expect(empty.minterpolate.available).toBe(true) // Debian's ffmpeg has the filter
    expect(() => slot.modelDir()).toThrow(/no frame-interpolation model folder added/)
    const bare = join(tmp, 'bare')
    mkdirSync(bare)
    expect(() => slot.set(bare)).toThrow(/no model\.onnx/)
    expect(slot.view().model.path).toBeNull() // the refusal kept nothing
    const good = join(tmp, 'rife')
    mkdirSync(good)
    writeFileSync(join(good, 'model.onnx'), blendInterpolator())
    writeFileSync(
      join(good, 'dolly.json'),
      JSON.stringify({ kind: 'frame-interpolation', label: 'RIFE stand-in' }),
    )
    expect(slot.set(good).model).toMatchObject({ path: good, ok: true, label: 'RIFE stand-in' })
    expect(new InterpolationSlot(state).modelDir()).toBe(good)
    // a folder that breaks later is reported, not used
    writeFileSync(join(good, 'model.onnx'), 'gone bad')
    expect(new InterpolationSlot(state).view().model).toMatchObject({ ok: false, path: good })
    expect(slot.set(null).model.path).toBeNull()
  })

  it("takes a folder as the model list does: a relative path is refused, not read from the host's working folder", () => {
    const slot = new InterpolationSlot(join(tmp, 'state-typed'))
    expect(() => slot.set('rife')).toThrow(
      '"rife": give the folder\'s full path (or one starting with ~)',
    )
    const good = join(tmp, 'rife-typed')
    mkdirSync(good)
    writeFileSync(join(good, 'model.onnx'), blendInterpolator())
    writeFileSync(join(good, 'dolly.json'), JSON.stringify({ kind: 'frame-interpolation' }))
    expect(slot.set(`  ${good} `).model.path).toBe(good)
  })
})
