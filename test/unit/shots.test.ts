// Shot operations: split keeps the path's poses at both ends of each part and every original
// keyframe where it was; add continues the camera; move and delete keep the active shot.
import { describe, expect, it } from 'vitest'
import { presetPoses, sampleTrajectory, trajectoryFromPoses } from '../../src/shared/camera'
import {
  addShot,
  changedSinceRender,
  deleteShot,
  FRESH_SHOT_PIPELINE,
  initialShot,
  moveShot,
  renderFingerprint,
  shotOfJob,
  shownRender,
  splitShot,
  withNewRender,
} from '../../src/shared/shots'
import { PIPELINES } from '../../src/shared/render'

/** One shot with the orbit-left preset and keyframes at frames 0, 5, 10, 15 (like the editor). */
function orbitProject(frames: number) {
  const poses = presetPoses([{ name: 'orbit-left' }], { frames })
  const idx = poses.map((_, i) => i).filter((i) => i % 5 === 0 || i === frames - 1)
  const camera = trajectoryFromPoses(
    idx.map((i) => poses[i]!),
    frames,
    [0, 0, -4],
  )
  camera.keyframes.forEach((k, i) => (k.frame = idx[i]!))
  return {
    shots: [
      {
        id: 'shot-a',
        settings: { frames, seed: 1, seedLocked: false },
        camera,
        preset: null,
        clip: { jobId: 'j1' } as { jobId: string } | null,
      },
    ],
    active: 0,
  }
}

const close = (a: number[], b: number[]) => a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 9))

describe('shots', () => {
  it('split at frame p: p + (n - p) frames, both cut poses exact, keyframes kept, render dropped', () => {
    const doc = orbitProject(16)
    const whole = sampleTrajectory(doc.shots[0]!.camera, 16)
    const split = splitShot(doc, 7)
    expect(split.shots).toHaveLength(2)
    const [a, b] = split.shots as [(typeof split.shots)[0], (typeof split.shots)[0]]
    expect([a.settings.frames, b.settings.frames]).toEqual([7, 9])
    expect(a.clip).toBeNull()
    expect(b.clip).toBeNull()
    expect(a.id).not.toBe(b.id)
    // neither part is the whole shot: a part's render must not be recorded on the shot an undo
    // brings back (renders are attached by shot id through the history)
    expect([a.id, b.id]).not.toContain(doc.shots[0]!.id)
    const pa = sampleTrajectory(a.camera, 7)
    const pb = sampleTrajectory(b.camera, 9)
    close(pa[0]!.position, whole[0]!.position)
    close(pa[6]!.position, whole[6]!.position)
    close(pa[6]!.rotation, whole[6]!.rotation)
    close(pb[0]!.position, whole[7]!.position)
    close(pb[0]!.rotation, whole[7]!.rotation)
    close(pb[8]!.position, whole[15]!.position)
    // the preset's keyframes at frames 0, 5, 10, 15 stay on their frames: 0 and 5 in the first
    // part, 10 and 15 in the second (as frames 3 and 8)
    close(pa[5]!.position, whole[5]!.position)
    close(pb[3]!.position, whole[10]!.position)
  })

  it('split keeps prompt keyframes with their part; the second starts on the prompt at the cut', () => {
    const doc = orbitProject(32)
    const shot = doc.shots[0]!
    const withKeys = {
      ...doc,
      shots: [
        {
          ...shot,
          settings: {
            ...shot.settings,
            prompt: 'dawn',
            promptKeys: [
              { id: 'a', frame: 8, prompt: 'noon' },
              { id: 'b', frame: 20, prompt: 'dusk' },
            ],
          },
        },
      ],
    }
    const [a, b] = splitShot(withKeys, 12).shots
    expect(a!.settings.prompt).toBe('dawn')
    expect(a!.settings.promptKeys).toEqual([{ id: 'a', frame: 8, prompt: 'noon' }])
    expect(b!.settings.prompt).toBe('noon')
    expect(b!.settings.promptKeys).toEqual([{ id: 'b', frame: 8, prompt: 'dusk' }])
    // a shot without keys gets none
    expect('promptKeys' in splitShot(orbitProject(16), 7).shots[1]!.settings).toBe(false)
  })

  it('refuses a split that would leave a part under 2 frames', () => {
    expect(() => splitShot(orbitProject(16), 1)).toThrow(/each part needs at least 2 frames/)
    expect(() => splitShot(orbitProject(16), 15)).toThrow(/this shot has 16/)
  })

  it('add continues the camera from the end of the active shot', () => {
    const doc = orbitProject(16)
    const end = sampleTrajectory(doc.shots[0]!.camera, 16).at(-1)!
    const next = addShot(doc)
    expect(next.active).toBe(1)
    expect(next.shots[1]!.clip).toBeNull()
    const start = sampleTrajectory(next.shots[1]!.camera, 16)[0]!
    close(start.position, end.position)
    close(start.rotation, end.rotation)
  })

  it('move keeps the active shot active; delete never removes the last shot', () => {
    let doc = addShot(addShot(orbitProject(8)))
    const ids = doc.shots.map((s) => s.id)
    doc = { ...doc, active: 0 }
    const moved = moveShot(doc, 0, 2)
    expect(moved.shots.map((s) => s.id)).toEqual([ids[1], ids[2], ids[0]])
    expect(moved.shots[moved.active]!.id).toBe(ids[0])
    expect(moveShot(doc, 0, -1)).toBe(doc)
    const d1 = deleteShot(moved, 2)
    expect(d1.shots.map((s) => s.id)).toEqual([ids[1], ids[2]])
    expect(d1.active).toBe(1)
    const single = deleteShot(deleteShot(d1, 0), 0)
    expect(single.shots).toHaveLength(1)
  })
})

describe("a shot's render and the finished one it keeps (cancelled re-renders lost the clip)", () => {
  const states: Record<string, string> = { a: 'done', b: 'running' }
  const finished = (id: string) => states[id] === 'done'
  const stateOf = (id: string) => states[id]

  it('a new render keeps the last finished one to fall back on', () => {
    expect(withNewRender(null, 'a', finished)).toEqual({ jobId: 'a' })
    const clip = withNewRender({ jobId: 'a' }, 'b', finished)
    expect(clip).toEqual({ jobId: 'b', previous: 'a' })
    // a third render while b runs: a is still the last finished one
    expect(withNewRender(clip, 'c', finished)).toEqual({ jobId: 'c', previous: 'a' })
    // retrying the same job id never names itself
    expect(withNewRender({ jobId: 'a' }, 'a', finished)).toEqual({ jobId: 'a' })
  })

  it('shows the newest render, or the finished one when the newest failed or was cancelled', () => {
    const clip = { jobId: 'b', previous: 'a' }
    expect(shownRender(clip, stateOf)).toBe('b') // running: its progress is on show
    for (const s of ['cancelled', 'failed']) {
      states['b'] = s
      expect(shownRender(clip, stateOf)).toBe('a')
    }
    states['b'] = 'done'
    expect(shownRender(clip, stateOf)).toBe('b')
    // a reopened project: main kept only finished renders, the newest is unknown
    expect(shownRender({ jobId: 'gone', previous: 'a' }, stateOf)).toBe('a')
    expect(shownRender({ jobId: 'x' }, () => 'cancelled')).toBe('x') // nothing to fall back on
    expect(shownRender(null, stateOf)).toBeNull()
  })

  it('a render belongs to the shot that holds it as its newest or its kept one', () => {
    const shots = [
      { clip: null },
      { clip: { jobId: 'b', previous: 'a' } },
      { clip: { jobId: 'c' } },
    ]
    expect(shotOfJob(shots, 'a')).toBe(1)
    expect(shotOfJob(shots, 'b')).toBe(1)
    expect(shotOfJob(shots, 'c')).toBe(2)
    expect(shotOfJob(shots, 'z')).toBe(-1) // an older render no shot holds any more
  })
})

describe('a shot edited since its render says so (it read "rendered" with the old clip)', () => {
  const base = initialShot('model-a')
  const states: Record<string, string> = { r1: 'done', r2: 'done', r3: 'failed' }
  const stateOf = (id: string) => states[id]
  const done = (id: string) => states[id] === 'done'

  it('the fingerprint covers the settings and the camera, not an unlocked seed', () => {
    const f = renderFingerprint(base)
    expect(renderFingerprint(structuredClone(base))).toBe(f)
    // key order does not matter, only values
    const reordered = {
      ...base,
      settings: Object.fromEntries(Object.entries(base.settings).reverse()),
    }
    expect(renderFingerprint(reordered as typeof base)).toBe(f)
    // the seed box shows the next seed once a render starts: the seed is compared apart
    // (changedSinceRender, with the render's own seed), and locking it is no edit either
    expect(renderFingerprint({ ...base, settings: { ...base.settings, seed: 99 } })).toBe(f)
    expect(renderFingerprint({ ...base, settings: { ...base.settings, seedLocked: true } })).toBe(f)
    expect(renderFingerprint({ ...base, settings: { ...base.settings, frames: 24 } })).not.toBe(f)
    const moved = structuredClone(base)
    moved.camera.keyframes[0]!.position = [0.5, 0, 0]
    expect(renderFingerprint(moved)).not.toBe(f)
  })

  it('changed since the render shown: the newest, or the finished one kept when the newest failed', () => {
    const rendered = { ...base, clip: withNewRender(null, 'r1', done, renderFingerprint(base)) }
    expect(changedSinceRender(rendered, stateOf)).toBe(false)
    const edited = { ...rendered, settings: { ...rendered.settings, frames: 24 } }
    expect(changedSinceRender(edited, stateOf)).toBe(true)
    // re-rendered as edited, the render failed: the clip shown is r1's, of the old settings
    const failed = {
      ...edited,
      clip: withNewRender(edited.clip, 'r3', done, renderFingerprint(edited)),
    }
    expect(failed.clip).toEqual({
      jobId: 'r3',
      made: renderFingerprint(edited),
      previous: 'r1',
      previousMade: renderFingerprint(base),
    })
    expect(changedSinceRender(failed, stateOf)).toBe(true)
    states['r3'] = 'done'
    expect(changedSinceRender(failed, stateOf)).toBe(false)
    // a locked seed other than the one rendered is an edit; unlocking it is not
    const seedOf = (id: string) => (id === 'r1' ? base.settings.seed : undefined)
    const locked = { ...rendered, settings: { ...rendered.settings, seedLocked: true } }
    expect(changedSinceRender(locked, stateOf, seedOf)).toBe(false)
    const reseeded = { ...locked, settings: { ...locked.settings, seed: base.settings.seed + 1 } }
    expect(changedSinceRender(reseeded, stateOf, seedOf)).toBe(true)
    const unlocked = { ...reseeded, settings: { ...reseeded.settings, seedLocked: false } }
    expect(changedSinceRender(unlocked, stateOf, seedOf)).toBe(false)
    // a render from before fingerprints, or none: nothing said
    expect(changedSinceRender({ ...edited, clip: { jobId: 'r2' } }, stateOf)).toBe(false)
    expect(changedSinceRender(base, stateOf)).toBe(false)
  })
})

describe('a fresh shot', () => {
  it("takes its settings from the fresh-shot family's facts (the demo model's, AnimateDiff)", () => {
    const f = PIPELINES[FRESH_SHOT_PIPELINE]
    const shot = initialShot()
    expect(FRESH_SHOT_PIPELINE).toBe('animatediff')
    expect(shot.settings).toMatchObject({
      steps: f.steps,
      guidance: f.guidance,
      frames: f.frames,
      fps: f.fps,
    })
    expect(shot.camera.keyframes.at(-1)!.frame).toBe(f.frames - 1)
  })
})
