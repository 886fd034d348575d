// Keyframe edits as pure functions (the editor's toolbar, shortcuts, drags and fields use them).
import { describe, expect, it } from 'vitest'
import {
  addKeyframeAt,
  deleteKeyframe,
  duplicateKeyframe,
  fovChangeForRT,
  keyFrameAt,
  maxFrameStep,
  presetPoses,
  sampleTrajectory,
  trajectoryFromPoses,
  updateKeyframe,
} from '../../../src/shared/camera'

// a 16-frame pan, authored at 16 frames with keys at 0, 5, 10, 15
const poses = presetPoses([{ name: 'pan-left' }], { frames: 16 })
const path = trajectoryFromPoses([poses[0]!, poses[5]!, poses[10]!, poses[15]!], 16)

describe('keyframe edits', () => {
  it("maps the clip's playhead onto the path's own timeline", () => {
    expect(keyFrameAt(path, 16, 8)).toBe(8)
    // a 31-frame clip plays the 16-frame path at half speed: frame 30 is the path's 15
    expect(keyFrameAt(path, 31, 30)).toBe(15)
    expect(keyFrameAt(path, 31, 15)).toBe(7.5)
  })

  it('adds a key at the playhead holding the pose the path has there, replacing one at that frame', () => {
    const r = addKeyframeAt(path, 16, 7)
    expect(r.trajectory.keyframes).toHaveLength(5)
    const k = r.trajectory.keyframes.find((x) => x.id === r.id)!
    expect(k.frame).toBe(7)
    expect(k.position).toEqual(sampleTrajectory(path, 16)[7]!.position)
    // the path itself does not change where the key was added
    expect(sampleTrajectory(r.trajectory, 16)[7]!.position).toEqual(k.position)
    // a key where one is already replaces it
    const again = addKeyframeAt(r.trajectory, 16, 7)
    expect(again.trajectory.keyframes).toHaveLength(5)
    expect(path.keyframes).toHaveLength(4) // the input is never changed
  })

  it('deletes a key but never the last one', () => {
    const one = trajectoryFromPoses([poses[0]!], 16)
    expect(deleteKeyframe(one, one.keyframes[0]!.id)).toBe(one)
    const d = deleteKeyframe(path, path.keyframes[1]!.id)
    expect(d.keyframes.map((k) => k.frame)).toEqual([0, 10, 15])
    expect(deleteKeyframe(path, 'no-such-key')).toBe(path)
  })

  it('duplicates a key to the playhead, and says why when it cannot', () => {
    const src = path.keyframes[0]!
    const r = duplicateKeyframe(path, src.id, 16, 12)
    if ('error' in r) throw new Error(r.error)
    const copy = r.trajectory.keyframes.find((k) => k.id === r.id)!
    expect(copy).toMatchObject({ frame: 12, position: src.position, rotation: src.rotation })
    expect(duplicateKeyframe(path, src.id, 16, 0)).toEqual({
      error: 'Move the playhead to where the copy should go, then duplicate',
    })
    expect(duplicateKeyframe(path, 'gone', 16, 3)).toEqual({
      error: 'Select a keyframe to duplicate',
    })
  })

  it('updates one key and leaves the others', () => {
    const id = path.keyframes[2]!.id
    const u = updateKeyframe(path, id, { position: [1, 2, 3], fov: 30 })
    expect(u.keyframes[2]).toMatchObject({ id, position: [1, 2, 3], fov: 30, frame: 10 })
    expect(u.keyframes[1]).toBe(path.keyframes[1])
    expect(updateKeyframe(path, 'gone', { fov: 10 })).toBe(path)
  })

  it('adding a key where one is selects that one (replacing it lost its easing); a copy over a key says so', () => {
    const eased = updateKeyframe(path, path.keyframes[1]!.id, { easing: { type: 'hold' } })
    const at = eased.keyframes[1]!.frame // 5 of 15: the clip's frame 5 of 16
    const r = addKeyframeAt(eased, 16, at)
    expect(r.trajectory).toBe(eased)
    expect(r.id).toBe(eased.keyframes[1]!.id)
    const copy = duplicateKeyframe(eased, eased.keyframes[0]!.id, 16, at)
    expect(copy).toMatchObject({ replaced: true })
    const free = duplicateKeyframe(eased, eased.keyframes[0]!.id, 16, 7)
    expect(free).toMatchObject({ replaced: false })
  })

  it("refuses to move a key onto another key's frame (two keys on one frame made the camera jump)", () => {
    const [a, b] = path.keyframes
    expect(updateKeyframe(path, b!.id, { frame: a!.frame })).toBe(path)
    expect(updateKeyframe(path, b!.id, { frame: a!.frame + 1e-9 })).toBe(path)
    expect(updateKeyframe(path, b!.id, { frame: a!.frame + 1 }).keyframes[1]!.frame).toBe(
      a!.frame + 1,
    )
  })

  it('measures the largest travel per frame', () => {
    // pan-left moves 1 unit over 15 frame steps, evenly
    expect(maxFrameStep(path, 16)).toBeCloseTo(1 / 15, 2)
    expect(maxFrameStep(path, 4)).toBeGreaterThan(maxFrameStep(path, 16))
  })
})

describe('what an RT camera input cannot see', () => {
  it('flags a zoom (fov change) and stays quiet when the fov holds', () => {
    expect(fovChangeForRT(path, 16)).toBeNull()
    const zoom = updateKeyframe(path, path.keyframes[3]!.id, { fov: 70 })
    const f = fovChangeForRT(zoom, 16)!
    expect(f.min).toBeCloseTo(45, 6)
    expect(f.max).toBeCloseTo(70, 6)
    expect(f.message).toMatch(/from 45° to 70°.*only position and rotation/)
    // a dolly-zoom preset changes the fov too
    const dz = trajectoryFromPoses(presetPoses([{ name: 'dolly-zoom-in' }], { frames: 16 }), 16)
    expect(fovChangeForRT(dz, 16)).not.toBeNull()
  })
})
