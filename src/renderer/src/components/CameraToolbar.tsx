// The camera editor's toolbar: presets with a speed, keyframe add / delete / duplicate, the
// gizmo mode, the views, and pose files out (MotionCtrl JSON, RealEstate10K txt) and in.
import { useRef, useState } from 'react'
import {
  MOTIONCTRL_PREFIX,
  MOTIONCTRL_PRESET_LABELS,
  MOTIONCTRL_PRESETS,
  PRESET_NAMES,
  PRESET_SPEED,
} from '../../../shared/camera'
import { NumberField } from './Fields'
import type { ViewMode } from './CameraViewport'
import { SmallButton } from './SmallButton'

type Props = {
  /** The model takes MotionCtrl RT poses: offer MotionCtrl's own presets too. */
  motionCtrl: boolean
  hasSelection: boolean
  view: ViewMode
  gizmo: 'translate' | 'rotate'
  onApplyPreset: (name: string, speed: number) => void
  onAddKey: () => void
  onDeleteKey: () => void
  onDuplicateKey: () => void
  onGizmo: (g: 'translate' | 'rotate') => void
  onView: (v: ViewMode) => void
  onExportMotionCtrl: () => void
  onExportRe10k: () => void
  onImport: (file: File) => void
}

const VIEWS: ViewMode[] = ['perspective', 'top', 'side', 'camera']

export function CameraToolbar(p: Props) {
  const [presetName, setPresetName] = useState('orbit-left')
  const [presetSpeed, setPresetSpeed] = useState(1)
  const fileInput = useRef<HTMLInputElement>(null)
  // a MotionCtrl preset picked on a model that has them is not offered on one that has not: the
  // list then shows (and Apply applies) the first camera move, never the hidden choice
  const shownPreset =
    presetName.startsWith(MOTIONCTRL_PREFIX) && !p.motionCtrl ? PRESET_NAMES[0]! : presetName
  return (
    <span className="tools">
      <select
        value={shownPreset}
        onChange={(e) => setPresetName(e.target.value)}
        data-testid="preset-name"
        className="preset-select"
        aria-label="Camera preset"
      >
        <optgroup label="Camera moves">
          {PRESET_NAMES.map((n) => (
            <option key={n}>{n}</option>
          ))}
        </optgroup>
        {p.motionCtrl ? (
          <optgroup label="MotionCtrl's presets (its shipped paths)">
            {MOTIONCTRL_PRESETS.map((n) => (
              <option key={n} value={`${MOTIONCTRL_PREFIX}${n}`}>
                MotionCtrl {n}: {MOTIONCTRL_PRESET_LABELS[n]}
              </option>
            ))}
          </optgroup>
        ) : null}
      </select>
      <NumberField
        label="Speed"
        value={presetSpeed}
        onCommit={setPresetSpeed}
        min={PRESET_SPEED.min}
        max={PRESET_SPEED.max}
        step={0.1}
        className="speed"
        title="How far the preset moves: 1 is its own distance, 0.5 half, 2 twice"
        testId="preset-speed"
      />
      <SmallButton
        onClick={() => p.onApplyPreset(shownPreset, presetSpeed)}
        data-testid="apply-preset"
      >
        Apply
      </SmallButton>
      <span className="sep" />
      <SmallButton onClick={p.onAddKey} title="Add a keyframe at the playhead">
        + Key
      </SmallButton>
      <SmallButton
        onClick={p.onDeleteKey}
        disabled={!p.hasSelection}
        title="Delete the selected keyframe (Delete)"
      >
        − Key
      </SmallButton>
      <SmallButton
        onClick={p.onDuplicateKey}
        disabled={!p.hasSelection}
        title="Copy the selected keyframe to the playhead (Ctrl+D)"
        data-testid="duplicate-key"
      >
        Dup Key
      </SmallButton>
      <SmallButton
        onClick={() => p.onGizmo(p.gizmo === 'translate' ? 'rotate' : 'translate')}
        title="Gizmo: move or rotate"
      >
        {p.gizmo === 'translate' ? 'Move' : 'Rotate'}
      </SmallButton>
      <span className="sep" />
      {VIEWS.map((v) => (
        <button
          key={v}
          type="button"
          className={`small ${p.view === v ? 'on' : ''}`}
          onClick={() => p.onView(v)}
        >
          {v === 'camera' ? 'Through camera' : v[0]!.toUpperCase() + v.slice(1)}
        </button>
      ))}
      <span className="sep" />
      <SmallButton onClick={p.onExportMotionCtrl} data-testid="export-motionctrl">
        MotionCtrl JSON
      </SmallButton>
      <SmallButton onClick={p.onExportRe10k}>RE10K txt</SmallButton>
      <SmallButton onClick={() => fileInput.current?.click()}>Import…</SmallButton>
      <input
        ref={fileInput}
        type="file"
        accept=".json,.txt"
        hidden
        onChange={(e) => {
          if (e.target.files?.[0]) p.onImport(e.target.files[0])
          // the same file picked again (after an undo, or a fix to it) must fire change again
          e.target.value = ''
        }}
      />
    </span>
  )
}
