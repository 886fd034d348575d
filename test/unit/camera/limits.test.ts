// Camera values the math cannot carry are refused by name: in the contract (what the window
// sends), in the engine before it renders, and in imported pose files. Keyframe positions of
// ±1e308 used to pass and render an all-black clip marked done. Also: the MotionCtrl import
// is linear in the rows, and a RealEstate10K file without its URL line keeps its first camera.
import { describe, expect, it } from 'vitest'
import {
  exportMotionCtrlJson,
  exportRealEstate10K,
  importMotionCtrlJson,
  importRealEstate10K,
  MAX_KEYFRAME_FRAME,
  MAX_TRAJECTORY_FRAMES,
  presetPoses,
  trajectoryFromPoses,
  trajectoryProblem,
  type Trajectory,
} from '../../../src/shared/camera'
import { RenderRequest, TrajectorySchema } from '../../../src/shared/contract'
import { JobQueue, Runtime, type RenderSpec } from '../../../src/main/engine'

const good = (): Trajectory =>
  trajectoryFromPoses(presetPoses([{ name: 'orbit-left' }], { frames: 4 }), 16)

function withKey(patch: Record<string, unknown>): Trajectory {
  const t = good()
  return { ...t, keyframes: [{ ...t.keyframes[0]!, ...patch }, ...t.keyframes.slice(1)] }
}

const bad: [string, Trajectory, RegExp, RegExp][] = [
  [
    'a position of 1e308',
    withKey({ position: [1e308, 0, 0] }),
    /keyframes\.0\.position\.0/,
    /positions must be within ±10000/,
  ],
  [
    'a position of -2e4',
    withKey({ position: [0, -2e4, 0] }),
    /keyframes\.0\.position\.1/,
    /positions must be within ±10000/,
  ],
  [
    'a rotation of length 2',
    withKey({ rotation: [0, 0, 0, 2] }),
    /keyframes\.0\.rotation/,
    /unit quaternion \(length 1 ± 0\.01\); this one has length 2\.000/,
  ],
  [
    'a zero rotation',
    withKey({ rotation: [0, 0, 0, 0] }),
    /keyframes\.0\.rotation/,
    /unit quaternion/,
  ],
  [
    'a bezier handle x of 5',
    withKey({ easing: { type: 'bezier', handles: [5, 0, 0.5, 1] } }),
    /keyframes\.0\.easing\.handles\.0/,
    /.+/,
  ],
  [
    'a bezier handle y of 1e9',
    withKey({ easing: { type: 'bezier', handles: [0.4, 1e9, 0.5, 1] } }),
    /keyframes\.0\.easing\.handles\.1/,
    /.+/,
  ],
  [
    'a target at 1e300',
    { ...good(), target: [0, 0, 1e300] },
    /target\.2/,
    /positions must be within/,
  ],
]

describe('the contract refuses camera values past what the math carries, by name', () => {
  for (const [what, trajectory, path, message] of bad) {
    it(what, () => {
      const r = RenderRequest.safeParse({
        modelId: '/m',
        prompt: 'p',
        steps: 2,
        guidance: 7,
        seed: 1,
        fps: 8,
        motion: 0.5,
        camera: { trajectory },
      })
      expect(r.success).toBe(false)
      const issue = r.error!.issues[0]!
      expect(issue.path.join('.')).toMatch(path)
      expect(issue.message).toMatch(message)
    })
  }
  it('takes a preset path and its keyframes unchanged', () => {
    expect(TrajectorySchema.safeParse(good()).success).toBe(true)
    expect(trajectoryProblem(good())).toBeNull()
  })
})

describe('the engine checks the camera before it renders', () => {
  it('fails the job naming the keyframe and value; the render never starts', async () => {
    let rendered = 0
    const queue = new JobQueue({ runtime: new Runtime({ preferCuda: false }) }, async () => {
      rendered++
      return {} as never
    })
    const spec: RenderSpec = {
      model: '/m',
      prompt: 'p',
      out: '/tmp/x.mp4',
      camera: { trajectory: withKey({ position: [1e308, 0, 0] }) },
    }
    const job = queue.submit(spec)
    await queue.idle()
    const done = queue.get(job.id)!
    expect(rendered).toBe(0)
    expect(done.state).toBe('failed')
    expect(done.error!.message).toMatch(
      /^camera path: keyframe 1 \(.+\): position x is 1e\+308; positions must be finite and within ±10000$/,
    )
    expect(done.error!.advice).toMatch(/Change the settings the message names/)
  })
})

describe('imported pose files are held to the same bounds', () => {
  it('MotionCtrl JSON: a translation of 1e308 names the frame and line', () => {
    const rows = JSON.parse(
      exportMotionCtrlJson(presetPoses([{ name: 'pan-left' }], { frames: 4 })),
    ) as number[][]
    rows[2]![3] = 1e308
    const text = '[\n' + rows.map((r) => '  ' + JSON.stringify(r)).join(',\n') + '\n]\n'
    expect(() => importMotionCtrlJson(text, 4)).toThrow(
      /^frame 2 \(line 4\): position x is -?1e\+308; positions must be finite and within ±10000$/,
    )
  })

  it('RealEstate10K: a far translation and a field of view past 170° name the line', () => {
    const text = exportRealEstate10K(presetPoses([{ name: 'pan-left' }], { frames: 3 }), {
      width: 256,
      height: 256,
      fps: 8,
    })
    const lines = text.trimEnd().split('\n')
    const far = lines.map((l, i) =>
      i === 2
        ? l
            .split(' ')
            .map((v, j) => (j === 10 ? '5e7' : v))
            .join(' ')
        : l,
    )
    expect(() => importRealEstate10K(far.join('\n'), 3)).toThrow(
      /^line 3: position .* positions must be finite and within ±10000$/,
    )
    const wide = lines.map((l, i) =>
      i === 1
        ? l
            .split(' ')
            .map((v, j) => (j === 2 ? '0.001' : v))
            .join(' ')
        : l,
    )
    expect(() => importRealEstate10K(wide.join('\n'), 3)).toThrow(
      /^line 2: the field of view is 179\.77°; expected 1° to 170°$/,
    )
  })

  it('RealEstate10K without its URL line keeps the first camera line (and says so)', () => {
    const poses = presetPoses([{ name: 'pan-left' }], { frames: 5 })
    const text = exportRealEstate10K(poses, { width: 256, height: 256, fps: 8 })
    const withUrl = importRealEstate10K(text, 5)
    const noUrl = importRealEstate10K(text.split('\n').slice(1).join('\n'), 5)
    expect(withUrl.warnings).toEqual([])
    expect(noUrl.warnings).toEqual([
      'the file has no URL line; line 1 was read as the first camera',
    ])
    expect(noUrl.poses).toEqual(withUrl.poses)
  })
})

describe('MotionCtrl import time is linear in the rows', () => {
  it('imports 40,000 rows in well under the quadratic time (27 s for 20,000 before)', () => {
    const rows = JSON.parse(
      exportMotionCtrlJson(presetPoses([{ name: 'pan-left' }], { frames: 16 })),
    ) as number[][]
    const many = Array.from({ length: 40_000 }, (_, i) => rows[i % rows.length]!)
    const text = '[\n' + many.map((r) => '  ' + JSON.stringify(r)).join(',\n') + '\n]\n'
    const t0 = performance.now()
    const r = importMotionCtrlJson(text, 16)
    const ms = performance.now() - t0
    expect(r.poses).toHaveLength(16)
    // quadratic was ~4.3 s at 10k rows and ~27 s at 20k; linear is well under a second
    expect(ms).toBeLessThan(4000)
  })
})

// the contract and the engine's check take the trajectory's bounds from limits.ts alike
describe('trajectory bounds, in the contract and in trajectoryProblem', () => {
  it.each([
    ['frames', MAX_TRAJECTORY_FRAMES, (t: Trajectory, v: number) => ({ ...t, frames: v })],
    [
      'a keyframe',
      MAX_KEYFRAME_FRAME,
      (t: Trajectory, v: number) => ({
        ...t,
        keyframes: t.keyframes.map((k, i) =>
          i === t.keyframes.length - 1 ? { ...k, frame: v } : k,
        ),
      }),
    ],
  ] as const)('%s up to its bound, not past it', (_what, bound, at) => {
    const ok = at(good(), bound)
    const past = at(good(), bound + 1)
    expect(trajectoryProblem(ok, 4)).toBeNull()
    expect(TrajectorySchema.safeParse(ok).success).toBe(true)
    expect(trajectoryProblem(past, 4)).toContain(`${bound}`)
    expect(TrajectorySchema.safeParse(past).success).toBe(false)
  })
})
