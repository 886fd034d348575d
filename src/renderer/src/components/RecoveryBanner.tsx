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
      {new Date(p.recovery.savedAt).toLocaleTimeString()} was recovered after the studio closed
      unexpectedly.
      <button type="button" className="small" data-testid="recover" onClick={p.onRecover}>
        Recover
      </button>
      <button type="button" className="small" onClick={p.onDiscard}>
        Discard
      </button>
    </div>
  )
}
