// The shot track above the frames: one block per shot (width by its frame count), the active
// one highlighted; add, split at the playhead, move, delete, and export all shots as one clip.
import type { JobState } from '../../../shared/render'
import { SmallButton } from './SmallButton'
export type ShotBlock = {
  id: string
  frames: number
  state: 'none' | JobState
  /** Edited since the render it shows was made (settings or camera). */
  changed: boolean
}

type Props = {
  shots: ShotBlock[]
  active: number
  playhead: number
  onSelect: (i: number) => void
  onAdd: () => void
  onSplit: () => void
  onMove: (delta: -1 | 1) => void
  onDelete: () => void
  onExportAll: () => void
}

const STATE_LABEL: Record<ShotBlock['state'], string> = {
  none: 'not rendered',
  queued: 'queued',
  running: 'rendering',
  done: 'rendered',
  failed: 'failed',
  cancelled: 'cancelled',
}

export function ShotStrip(p: Props) {
  const cur = p.shots[p.active]!
  const canSplit = p.playhead >= 2 && p.playhead <= cur.frames - 2
  const allDone = p.shots.every((s) => s.state === 'done')
  return (
    <div className="shotstrip">
      <div className="shot-tools">
        <SmallButton
          onClick={p.onAdd}
          data-testid="shot-add"
          title="A new shot after this one, continuing its camera"
        >
          + Shot
        </SmallButton>
        <SmallButton
          onClick={p.onSplit}
          disabled={!canSplit}
          data-testid="shot-split"
          title={
            canSplit
              ? `Split before frame ${p.playhead + 1}`
              : 'Move the playhead inside the shot (each part keeps 2 frames or more)'
          }
        >
          Split
        </SmallButton>
        <SmallButton
          onClick={() => p.onMove(-1)}
          disabled={p.active === 0}
          data-testid="shot-left"
          title="Move the shot earlier"
        >
          ◀
        </SmallButton>
        <SmallButton
          onClick={() => p.onMove(1)}
          disabled={p.active === p.shots.length - 1}
          data-testid="shot-right"
          title="Move the shot later"
        >
          ▶
        </SmallButton>
        <SmallButton
          onClick={p.onDelete}
          disabled={p.shots.length <= 1}
          data-testid="shot-delete"
          title="Delete this shot"
        >
          Delete shot
        </SmallButton>
        <SmallButton
          onClick={p.onExportAll}
          disabled={!allDone}
          data-testid="export-all"
          title={allDone ? 'Export every shot, in order, as one clip' : 'Render every shot first'}
        >
          Export all…
        </SmallButton>
      </div>
      <div className="shots" data-testid="shots">
        {p.shots.map((s, i) => (
          <button
            type="button"
            key={s.id}
            className={`shot ${i === p.active ? 'on' : ''} ${s.state}`}
            style={{ flexGrow: s.frames }}
            onClick={() => p.onSelect(i)}
            data-testid="shot"
            data-state={s.state}
            data-frames={s.frames}
            data-changed={s.changed}
            aria-pressed={i === p.active}
            title={
              s.changed
                ? 'Edited since this render: the clip shown is of the settings before; generate again to render the edit'
                : undefined
            }
          >
            Shot {i + 1} · {s.frames}f · {STATE_LABEL[s.state]}
            {s.changed ? ' · edited since' : ''}
          </button>
        ))}
      </div>
    </div>
  )
}
