// The motion slider on camera models scales the camera's travel. The editor draws the path as
// rendered (withTravel: every centre moved along its offset from the first camera); these tests
// hold the engine's camera inputs to that drawing for both camera kinds, so the dashed path is
// what the model is given and not a picture of it.
import { describe, expect, it } from 'vitest'
import {
  motionCtrlRT,
  poseRowsFromPath,
  presetPoses,
  videoxFunControlCamera,
  withTravel,
  type CameraPose,
} from '../../../src/shared/camera'
import { cameraInput } from '../../../src/main/engine/jobs/render'
import type { ModelFolder } from '../../../src/main/engine'
import type { RenderSpec } from '../../../src/main/engine/protocol'

/** An orbit with a pan, moved off the origin: rotations and a first camera away from 0. */
const poses: CameraPose[] = presetPoses([{ name: 'orbit-left' }, { name: 'pan-up' }], {
  frames: 9,
}).map((p) => ({ ...p, position: [p.position[0] + 1.5, p.position[1] + 0.7, p.position[2] + 2] }))

function model(camera: ModelFolder['camera'], scale?: number | [number, number, number]) {
  return {
    label: 'test model',
    camera,
    dolly: scale === undefined ? {} : { cameraTranslationScale: scale },
    defaults: { width: 32, height: 16 },
  } as unknown as ModelFolder
}

function worst(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length)
  let m = 0
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!))
  return m
}

describe('camera travel: the path drawn dashed is the path rendered', () => {
  it('withTravel keeps the first camera, rotations and lenses, and scales the offsets', () => {
    expect(withTravel(poses, 1)).toBe(poses)
    const half = withTravel(poses, 0.5)
    half.forEach((p, i) => {
      expect(p.rotation).toEqual(poses[i]!.rotation)
      expect(p.fov).toBe(poses[i]!.fov)
      for (let k = 0; k < 3; k++)
        expect(p.position[k]).toBeCloseTo(
          poses[0]!.position[k]! + 0.5 * (poses[i]!.position[k]! - poses[0]!.position[k]!),
          12,
        )
    })
    expect(withTravel(poses, 0).every((p) => p.position.join() === poses[0]!.position.join())).toBe(
      true,
    )
  })

  for (const k of [0, 0.5, 1.7]) {
    it(`Wan-Fun (Plücker): the engine's input is the rays of the dashed path (travel x${k})`, () => {
      const spec = { cameraScale: k, width: 32, height: 16 } as RenderSpec
      const fed = cameraInput(model('cameractrl-plucker'), poses, spec, [], poses.length)!
      const drawn = videoxFunControlCamera(poseRowsFromPath(withTravel(poses, k)), 32, 16)
      expect(worst(fed, drawn)).toBeLessThan(1e-5)
    })

    it(`MotionCtrl-SVD (translation scale [3, 1, 4]): the engine's RT is the dashed path's (travel x${k})`, () => {
      const spec = { cameraScale: k } as RenderSpec
      const fed = cameraInput(model('motionctrl-rt', [3, 1, 4]), poses, spec, [], poses.length)!
      expect(worst(fed, motionCtrlRT(withTravel(poses, k), [3, 1, 4]))).toBeLessThan(1e-6)
    })
  }

  it("with an isotropic scale it is MotionCtrl's own reading: the translation scale times the travel", () => {
    for (const k of [0, 0.5, 1.7])
      expect(worst(motionCtrlRT(withTravel(poses, k), 2), motionCtrlRT(poses, 2 * k))).toBeLessThan(
        1e-5,
      )
  })

  it('with [3, 1, 4] and a path off the origin, multiplying the scale instead would render another path', () => {
    // why the engine scales the path, not the model's translation scale: the two differ here
    const k = 0.5
    const scaledScale = motionCtrlRT(poses, [3 * k, 1 * k, 4 * k])
    expect(worst(scaledScale, motionCtrlRT(withTravel(poses, k), [3, 1, 4]))).toBeGreaterThan(0.05)
  })
})
