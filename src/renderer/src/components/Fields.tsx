// The fields settings are edited with. NumberField: it keeps what the person is typing, commits
// each value that is valid (a number, in range, whole where it must be), and on leaving the
// field commits the nearest valid value to what was typed (clamped, rounded) or shows the
// current value again; while the text is not valid, the field is marked and says what it takes; an optional setting commits "unset" when emptied and shows its default
// greyed. SelectField: a labelled drop-down over a fixed list.
import { useEffect, useState } from 'react'
import {
  leaveNumberField,
  numberFieldProblem,
  parseNumberField,
} from '../../../shared/number-field'

export type NumberFieldProps = {
  label: string
  /** The current value; undefined for an optional setting left at its default. */
  value: number | undefined
  onCommit: (v: number) => void
  /** Makes the setting optional: an empty field calls this (back to the default). */
  onClear?: () => void
  min?: number
  max?: number
  step?: number
  /** Whole numbers only. */
  integer?: boolean
  /** Decimals shown (the value itself keeps its precision). */
  digits?: number
  /** Shown in an empty optional field: what the default is. */
  placeholder?: string
  /** 'field' in the settings panel (label above), 'numfield' in compact rows. */
  className?: string
  title?: string | undefined
  testId?: string
  /**
   * false: commit only on Enter or leaving the field, for a value whose in-between states do
   * something (a keyframe's frame: typing "13" passes frame 1, which another key may hold).
   */
  live?: boolean
}

function format(v: number | undefined, digits: number | undefined): string {
  if (v === undefined) return ''
  return digits === undefined ? String(v) : Number(v.toFixed(digits)).toString()
}

export function NumberField(p: NumberFieldProps) {
  const shown = format(p.value, p.digits)
  const [text, setText] = useState(shown)
  useEffect(() => setText(shown), [shown])
  const problem = numberFieldProblem(text, p)
  const compact = p.className === 'numfield'
  return (
    <label className={p.className ?? 'field'} title={p.title}>
      <span>
        {p.label}
        {problem && !compact && <em className="field-problem"> ({problem})</em>}
      </span>
      <input
        type="number"
        step={p.step ?? (p.integer ? 1 : undefined)}
        min={p.min}
        max={p.max}
        value={text}
        placeholder={p.placeholder}
        aria-label={p.label}
        aria-invalid={problem ? true : undefined}
        title={problem ? `${p.label}: ${problem}` : undefined}
        data-testid={p.testId}
        onChange={(e) => {
          const t = e.target.value
          setText(t)
          if (p.live === false) return
          if (t.trim() === '' && p.onClear) return p.onClear()
          const v = parseNumberField(t, p)
          if (v !== null && v !== p.value) p.onCommit(v)
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && p.live === false) e.currentTarget.blur()
        }}
        onBlur={() => {
          const v = text.trim() === '' && p.onClear ? null : leaveNumberField(text, shown, p)
          if (v === null) return setText(shown)
          if (v !== p.value) p.onCommit(v)
          // the value as it stands: the committed one arrives as `value` (and shows through the
          // effect); one the caller refused (a frame another key holds) must not stay shown
          setText(shown)
        }}
      />
    </label>
  )
}

/** One choice of a setting: its value, what the list shows, whether it can be picked. */
export type Choice<T extends string> = { value: T; label: string; disabled?: boolean }

/** A labelled drop-down over a fixed list of choices (plain strings show as themselves). */
export function SelectField<T extends string>(p: {
  label: string
  value: T
  choices: readonly (T | Choice<T>)[]
  onChange: (v: T) => void
  disabled?: boolean
  title?: string | undefined
  testId?: string
}) {
  return (
    <label className="field" title={p.title}>
      <span>{p.label}</span>
      <select
        value={p.value}
        disabled={p.disabled}
        onChange={(e) => p.onChange(e.target.value as T)}
        data-testid={p.testId}
      >
        {p.choices.map((c) => {
          const o = typeof c === 'string' ? { value: c, label: c } : c
          return (
            <option key={o.value} value={o.value} disabled={o.disabled}>
              {o.label}
            </option>
          )
        })}
      </select>
    </label>
  )
}
