// Numeric fields for the selected keyframe: frame, position, yaw/pitch/roll (degrees), fov and
// the easing of the segment it starts. Edits go through the caller's undoable `onChange`; the
// caller merges consecutive edits of one field into one undo step.
import { useEffect, useState } from 'react'
import { Euler, Quaternion } from 'three'
import type { Easing, Keyframe, Quat, Vec3 } from '../../../shared/camera'
import { MAX_POSITION } from '../../../shared/camera'

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

type Props = {
  keyframe: Keyframe
  /** The last frame position on the trajectory's timeline. */
  lastFrame: number
  onChange: (patch: Partial<Keyframe>, field: string) => void
}

/** A number field that keeps what the user is typing until it parses, and reverts on blur. */
function NumberField(p: {
  label: string
  value: number
  step: number
  min?: number
  max?: number
  digits: number
  onCommit: (v: number) => void
}) {
  const shown = Number(p.value.toFixed(p.digits)).toString()
  const [text, setText] = useState(shown)
  useEffect(() => setText(shown), [shown])
  return (
    <label className="numfield">
      <span>{p.label}</span>
      <input
        type="number"
        step={p.step}
        min={p.min}
        max={p.max}
        value={text}
        aria-label={p.label}
        onChange={(e) => {
          setText(e.target.value)
          const v = Number(e.target.value)
          if (e.target.value.trim() === '' || !Number.isFinite(v)) return
          if ((p.min !== undefined && v < p.min) || (p.max !== undefined && v > p.max)) return
          p.onCommit(v)
        }}
        onBlur={() => setText(shown)}
      />
    </label>
  )
}

export function KeyframeFields({ keyframe: k, lastFrame, onChange }: Props) {
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
  return (
    <div className="keyfields" data-testid="keyframe-fields">
      <NumberField
        label="Frame"
        value={k.frame}
        step={1}
        min={0}
        max={lastFrame}
        digits={2}
        onCommit={(v) => onChange({ frame: v }, 'frame')}
      />
      {(['X', 'Y', 'Z'] as const).map((axis, i) => (
        <NumberField
          key={axis}
          label={axis}
          value={k.position[i]!}
          step={0.05}
          min={-MAX_POSITION}
          max={MAX_POSITION}
          digits={3}
          onCommit={(v) => setPos(i, v)}
        />
      ))}
      {(['Yaw', 'Pitch', 'Roll'] as const).map((name, i) => (
        <NumberField
          key={name}
          label={name}
          value={ypr[i]!}
          step={1}
          min={-180}
          max={180}
          digits={1}
          onCommit={(v) => setAngle(i, v)}
        />
      ))}
      <NumberField
        label="FOV"
        value={k.fov}
        step={1}
        min={5}
        max={150}
        digits={1}
        onCommit={(v) => onChange({ fov: v }, 'fov')}
      />
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
