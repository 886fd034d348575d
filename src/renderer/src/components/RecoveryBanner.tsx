// The offer of what the last session autosaved before it ended unexpectedly.
import type { Recovery } from '../hooks/useProjectFile'
import { SmallButton } from './SmallButton'

export function RecoveryBanner(p: {
  recovery: Recovery
  onRecover: () => void
  onDiscard: () => void
  onLater: () => void
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
      <SmallButton data-testid="recover" onClick={p.onRecover}>
        Recover
      </SmallButton>
      <SmallButton
        data-testid="recovery-discard"
        onClick={() =>
          // the autosave is the only copy of that work: one click must not lose it
          window.confirm(
            `Discard the recovered work${p.recovery.name ? ` on ${p.recovery.name}` : ''}? It cannot be brought back.`,
          ) && p.onDiscard()
        }
      >
        Discard
      </SmallButton>
      <SmallButton
        data-testid="recovery-later"
        onClick={p.onLater}
        title="Hide this for now: the autosave stays, and the studio offers it again next time"
      >
        Later
      </SmallButton>
    </div>
  )
}
