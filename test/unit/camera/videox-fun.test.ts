// Wan-Fun Control-Camera's camera input against VideoX-Fun's own code (process_pose_params and the
// pipeline's 4-frame grouping, run by tools/reference/wan_camera.py on VideoX-Fun's pose assets
// and on an editor path), and the 2.1 I2V CLIP input against transformers' CLIPImageProcessor.
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  pluckerLens,
  poseRowsFromPath,
  readPoseRows,
  scaleTravel,
  videoxFunControlCamera,
  VIDEOX_FUN_FOV,
  withFov,
  type CameraPose,
} from '../../../src/shared/camera'
import { clipProcessorPixels } from '../../../src/main/engine/pipelines/wan'
import { presetTrajectory as trajectoryFromPreset } from '../../../src/shared/camera'
import { readPng } from '../engine/png'
import { missing, sharedPath } from '../engine/reference'

type Case = {
  name: string
  width: number
  height: number
  rows: number[][]
  poses?: CameraPose[]
  shape: number[]
  control: string
}
const data = JSON.parse(readFileSync(join(__dirname, '../../data/wan-camera.json'), 'utf8')) as {
  camera: Case[]
  clip: { image: string; shape: number[]; stride: number; values: string; sum: number }
}
const floats = (b64: string) => {
  const b = Buffer.from(b64, 'base64')
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength))
}

function worstRelative(got: Float32Array, want: Float32Array): number {
  expect(got.length).toBe(want.length)
  let worst = 0
  for (let i = 0; i < got.length; i++)
    worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)))
  return worst
}

describe("Wan-Fun Control-Camera's input, as VideoX-Fun computes it", () => {
  for (const c of data.camera) {
    it(c.name, () => {
      const rows = c.poses ? poseRowsFromPath(c.poses) : c.rows
      if (c.poses) {
        // the editor's rows: the path's fov as fy, square pixels in a 1280x720 frame, OpenCV w2c
        rows.forEach((r, i) => r.forEach((v, j) => expect(v).toBeCloseTo(c.rows[i]![j]!, 12)))
      }
      const got = videoxFunControlCamera(rows, c.width, c.height)
      const want = floats(c.control)
      expect([24, (rows.length - 1) / 4 + 1, c.height, c.width]).toEqual(c.shape)
      expect(worstRelative(got, want)).toBeLessThan(2e-6)
    })
  }

  it('reads a pose file as rows and refuses a frame count Wan cannot group', () => {
    const text = ['https://example.com/v', ...data.camera[0]!.rows.map((r) => r.join(' '))].join(
      '\n',
    )
    expect(readPoseRows(text)).toEqual(data.camera[0]!.rows)
    expect(() => videoxFunControlCamera(data.camera[0]!.rows.slice(0, 6), 16, 16)).toThrow(
      /6 pose rows; Wan-Fun groups 4 frames per latent frame after the first \(4k\+1 rows\)/,
    )
    expect(() => readPoseRows('url\n0 1 2')).toThrow(/line 2: has 3 values; expected 19/)
  })

  it('camera travel scales every centre about the first: x1 keeps the rows, x0 holds the first position, rays still turn', () => {
    const rows = data.camera[2]!.rows
    expect(scaleTravel(rows, 1)).toBe(rows)
    const still = scaleTravel(rows, 0)
    const c = still.map((r) => {
      const [r00, r01, r02, t0, r10, r11, r12, t1, r20, r21, r22, t2] = r.slice(7) as number[]
      // centre = -R^T t
      return [
        -(r00! * t0! + r10! * t1! + r20! * t2!),
        -(r01! * t0! + r11! * t1! + r21! * t2!),
        -(r02! * t0! + r12! * t1! + r22! * t2!),
      ]
    })
    for (const p of c) for (let k = 0; k < 3; k++) expect(p[k]).toBeCloseTo(c[0]![k]!, 12)
    const moved = videoxFunControlCamera(still, 20, 12)
    const orig = videoxFunControlCamera(rows, 20, 12)
    expect(worstRelative(moved, orig)).toBeGreaterThan(0.01)
  })

  it("VideoX-Fun's pose assets are 55.7 degrees high: the field of view a Wan-Fun camera path defaults to", () => {
    expect(VIDEOX_FUN_FOV).toBeCloseTo(55.7, 1)
    expect(data.camera[0]!.rows[0]![2]).toBe(0.946026558)
  })
})

const png = sharedPath(data.clip.image)
describe.skipIf(missing(png))(
  "the 2.1 I2V CLIP input, as transformers' CLIPImageProcessor computes it",
  () => {
    it('shortest edge 224 with PIL bicubic, centre crop, rescale, CLIP mean/std', () => {
      const img = readPng(png)
      const got = clipProcessorPixels(img)
      const want = floats(data.clip.values)
      const strided = got.filter((_, i) => i % data.clip.stride === 0)
      expect(got.length).toBe(data.clip.shape.reduce((a, b) => a * b, 1))
      expect(worstRelative(strided, want)).toBeLessThan(1e-6)
      let sum = 0
      for (const v of got) sum += v
      expect(sum).toBeCloseTo(data.clip.sum, 1)
    })
  },
)

describe("the editor's note on a Plücker model's lens", () => {
  const t = trajectoryFromPreset('orbit-left', 1, 9)
  it("names the model's fov and the clip's size, and the path's own fov when it differs", () => {
    const off = pluckerLens(withFov(t, 50), 55.7, 832, 480, 'Wan-Fun')
    expect(off.matches).toBe(false)
    expect(off.aspect).toBeCloseTo(832 / 480, 12)
    expect(off.message).toBe(
      "Wan-Fun reads the path as Plücker rays through a 55.7° lens (vertical) at 832×480; the rays depend on both. This path's keyframes use 50.0°, and its rays follow them.",
    )
    const on = pluckerLens(withFov(t, 55.7), 55.7, 832, 480, 'Wan-Fun')
    expect(on.matches).toBe(true)
    expect(on.message).not.toContain("This path's keyframes")
  })
})
