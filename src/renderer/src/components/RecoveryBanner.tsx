// The offer of what the last session autosaved before it ended unexpectedly.
import type { Recovery } from '../hooks/useProjectFile'

export function RecoveryBanner(p: {
  recovery: Recovery
  onRecover: () => void
  onDiscard: () => void
}) {
  return (
    <div className="recovery" data-testid="recovery">
      Unsaved work{p.recovery.name ? ` on ${p.recovery.name}` : ''} from{' '}
      {new Date(p.recovery.savedAt).toLocaleString()} was recovered after the studio closed
      unexpectedly
      {p.recovery.more
        ? ` (and ${p.recovery.more} earlier session${p.recovery.more > 1 ? 's' : ''} after it)`
        : ''}
      .
      <button type="button" className="small" data-testid="recover" onClick={p.onRecover}>
        Recover
      </button>
      <button type="button" className="small" onClick={p.onDiscard}>
        Discard
      </button>
    </div>
  )
}
