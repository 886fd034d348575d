// Numeric fields for the selected keyframe: frame, position, yaw/pitch/roll (degrees), fov and
// the easing of the segment it starts. Edits go through the caller's undoable `onChange`; the
// caller merges consecutive edits of one field into one undo step.
import { Euler, Quaternion } from 'three'
import type { Easing, Keyframe, Quat, Trajectory, Vec3 } from '../../../shared/camera'
import { clipFrameOf, keyFrameAt, MAX_POSITION } from '../../../shared/camera'
import { NumberField } from './Fields'

// YXZ: yaw about world up, then pitch, then roll about the view axis (how a camera operator thinks)
const ORDER = 'YXZ'
const DEG = 180 / Math.PI

export function quatToYawPitchRoll(q: Quat): [number, number, number] {
  const e = new Euler().setFromQuaternion(new Quaternion(q[0], q[1], q[2], q[3]), ORDER)
  return [e.y * DEG, e.x * DEG, e.z * DEG]
}

export function yawPitchRollToQuat(ypr: [number, number, number]): Quat {
  const q = new Quaternion().setFromEuler(
    new Euler(ypr[1] / DEG, ypr[0] / DEG, ypr[2] / DEG, ORDER),
  )
  return [q.x, q.y, q.z, q.w]
}

/** One numeric field: what it shows, its step, its range, the decimals shown, its edit. */
type Row = readonly [
  label: string,
  value: number,
  step: number,
  min: number,
  max: number,
  digits: number,
  commit: (v: number) => void,
]
const XYZ = ['X', 'Y', 'Z'] as const
const YPR = ['Yaw', 'Pitch', 'Roll'] as const

type Props = {
  keyframe: Keyframe
  /** The path it belongs to (its own timeline) and the clip's frame count. */
  trajectory: Trajectory
  frames: number
  onChange: (patch: Partial<Keyframe>, field: string) => void
}

export function KeyframeFields({ keyframe: k, trajectory, frames, onChange }: Props) {
  // the frame as the timeline counts it: the clip's, from 1 (the path keeps its own timeline)
  const clipFrame = clipFrameOf(trajectory, frames, k.frame) + 1
  const setFrame = (v: number) =>
    onChange({ frame: keyFrameAt(trajectory, frames, v - 1) }, 'frame')
  const ypr = quatToYawPitchRoll(k.rotation)
  const setPos = (i: number, v: number) => {
    const position = [...k.position] as Vec3
    position[i] = v
    onChange({ position }, `pos${i}`)
  }
  const setAngle = (i: number, v: number) => {
    const next = [...ypr] as [number, number, number]
    next[i] = v
    onChange({ rotation: yawPitchRollToQuat(next) }, `rot${i}`)
  }
  const setEasing = (type: Easing['type']) =>
    onChange(
      {
        easing: type === 'bezier' ? { type, handles: [0.42, 0, 0.58, 1] } : ({ type } as Easing),
      },
      'easing',
    )
  const P = MAX_POSITION
  const fields: Row[] = [
    ['Frame', clipFrame, 1, 1, Math.max(frames, 1), 2, setFrame],
    ...XYZ.map((a, i): Row => [a, k.position[i]!, 0.05, -P, P, 3, (v) => setPos(i, v)]),
    ...YPR.map((a, i): Row => [a, ypr[i]!, 1, -180, 180, 1, (v) => setAngle(i, v)]),
    ['FOV', k.fov, 1, 5, 150, 1, (v) => onChange({ fov: v }, 'fov')],
  ]
  return (
    <div className="keyfields" data-testid="keyframe-fields">
      {fields.map(([label, value, step, min, max, digits, commit]) => (
        <NumberField
          key={label}
          className="numfield"
          {...{ label, value, step, min, max, digits }}
          onCommit={commit}
          // a frame commits on Enter or leaving the field: "13" must not visit frame 1 first
          live={label !== 'Frame'}
        />
      ))}
      <label className="numfield">
        <span>Ease</span>
        <select
          value={k.easing.type}
          aria-label="Easing"
          onChange={(e) => setEasing(e.target.value as Easing['type'])}
        >
          <option value="linear">linear</option>
          <option value="bezier">ease in-out</option>
          <option value="hold">hold</option>
        </select>
      </label>
    </div>
  )
}
