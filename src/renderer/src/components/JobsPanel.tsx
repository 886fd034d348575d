import { CLIP_FORMATS, type ClipFormat } from '../../../shared/render'
import type { JobView } from '../../../shared/contract'
import { clock } from '../../../shared/duration'
import { SmallButton } from './SmallButton'

type Props = {
  jobs: JobView[]
  /** The label of the model a job ran (null: a model no longer listed). */
  modelLabel: (id: string) => string | null
  selected: string | null
  onSelect: (id: string) => void
  onCancel: (id: string) => void
  onRetry: (job: JobView) => void
  onExport: (id: string, format: ClipFormat) => void
  /** Opens the export dialog (format, fps, size, quality, loop). */
  onExportDialog: (job: JobView) => void
}

export function JobsPanel({
  jobs,
  modelLabel,
  selected,
  onSelect,
  onCancel,
  onRetry,
  onExport,
  onExportDialog,
}: Props) {
  if (!jobs.length)
    return <p className="hint">Renders appear here, with their progress. Nothing yet.</p>
  return (
    <ul className="jobs" data-testid="jobs">
      {[...jobs].reverse().map((j) => {
        const p = j.progress
        const frac = p && p.steps ? p.step / p.steps : 0
        return (
          <li
            key={j.id}
            className={`job job-${j.state} ${j.id === selected ? 'selected' : ''}`}
            data-testid="job"
            data-state={j.state}
            onClick={() => onSelect(j.id)}
          >
            <div className="job-title">
              <span className="job-prompt">
                {j.request.prompt || j.request.image?.name || '(no prompt)'}
              </span>
              <span className="job-state">{j.state}</span>
            </div>
            {j.state === 'running' && p ? (
              <>
                <div className="bar">
                  <div style={{ width: `${Math.round(frac * 100)}%` }} />
                </div>
                <div className="job-meta" data-testid="job-progress">
                  {p.stage} {p.step}/{p.steps}
                  {p.itPerSec ? ` · ${p.itPerSec.toFixed(1)} it/s` : ''}
                  {p.etaS !== null ? ` · ETA ${clock(p.etaS)} for this stage` : ''}
                </div>
              </>
            ) : null}
            {j.error ? (
              <div className="job-error" data-testid="job-error">
                {j.error.message}
                <br />
                <em>{j.error.advice}</em>
              </div>
            ) : null}
            {j.result ? (
              <div className="job-meta">
                <span data-testid="job-model">
                  {modelLabel(j.request.modelId) ?? 'a removed model'}
                </span>{' '}
                · {j.result.frames} frames · {j.result.width}x{j.result.height} · {j.result.fps} fps
                · seed {j.result.seed} ·{' '}
                <span data-testid="job-plan" title={j.result.planReason}>
                  {j.result.plan}
                </span>
                {j.result.longTake ? (
                  <span
                    data-testid="job-longtake"
                    title={
                      j.result.longTake.colourDrift
                        ? `colour drift from the first window: mean ${j.result.longTake.colourDrift.mean.toFixed(3)} σ, std ${j.result.longTake.colourDrift.std.toFixed(3)} (bound 0.1)${j.result.longTake.anchored ? ', anchored' : ''}`
                        : 'colour anchoring off'
                    }
                  >
                    {' '}
                    · {j.result.longTake.windows} windows of {j.result.longTake.window}
                  </span>
                ) : null}
                {j.request.loop &&
                j.result.loopScore !== undefined &&
                j.result.loopScore !== null ? (
                  <span
                    data-testid="job-loop-score"
                    className={j.result.loopScore > 1.5 ? 'warn' : ''}
                    title="Loop closure: the jump from the last frame back to the first over the mean frame-to-frame change (1 = the seam looks like any other frame step)"
                  >
                    {' '}
                    · loop {j.result.loopScore.toFixed(2)}
                  </span>
                ) : null}
                {j.result.warnings?.length ? (
                  <ul className="job-warnings" data-testid="job-warnings">
                    {j.result.warnings.map((w, i) => (
                      <li key={i}>{w}</li>
                    ))}
                  </ul>
                ) : null}
                {j.id === selected && j.result.planReason ? (
                  <small className="hint" data-testid="job-plan-reason">
                    <br />
                    memory plan {j.result.plan}: {j.result.planReason}
                  </small>
                ) : null}
              </div>
            ) : null}
            <div className="job-actions">
              {j.state === 'running' || j.state === 'queued' ? (
                <SmallButton
                  onClick={(e) => (e.stopPropagation(), onCancel(j.id))}
                  data-testid="job-cancel"
                >
                  Cancel
                </SmallButton>
              ) : null}
              {j.state === 'failed' || j.state === 'cancelled' ? (
                <SmallButton
                  onClick={(e) => (e.stopPropagation(), onRetry(j))}
                  data-testid="job-retry"
                >
                  Retry
                </SmallButton>
              ) : null}
              {j.state === 'done'
                ? CLIP_FORMATS.map((f) => (
                    <SmallButton
                      key={f}
                      onClick={(e) => (e.stopPropagation(), onExport(j.id, f))}
                      data-testid={`export-${f}`}
                    >
                      {f.toUpperCase()}
                    </SmallButton>
                  ))
                : null}
              {j.state === 'done' ? (
                <SmallButton
                  onClick={(e) => (e.stopPropagation(), onExportDialog(j))}
                  data-testid="export-open"
                  title="Export with options: format, fps, size, quality, loop"
                >
                  Export…
                </SmallButton>
              ) : null}
            </div>
          </li>
        )
      })}
    </ul>
  )
}
