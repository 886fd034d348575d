// The exports under way, with the time each has taken: shown until each finishes (a notice
// faded after 15 s, and a long export then showed nothing for minutes).
import { useEffect, useState } from 'react'
import { clock } from '../../../shared/duration'
import type { ClipFormat } from '../../../shared/render'
import { SmallButton } from './SmallButton'

export function ExportsRunning(p: {
  running: { key: number; exportId: string; format: ClipFormat; since: number }[]
  onCancel: (exportId: string) => void
}) {
  const [now, setNow] = useState(Date.now())
  const busy = p.running.length > 0
  useEffect(() => {
    if (!busy) return
    const t = setInterval(() => setNow(Date.now()), 1000)
    return () => clearInterval(t)
  }, [busy])
  if (!busy) return null
  return (
    <span className="notice exporting" data-testid="exports-running" role="status">
      {p.running.map((r, i) => (
        <span key={r.key}>
          {i > 0 ? ' · ' : ''}
          {`Exporting ${r.format.toUpperCase()}… ${clock(Math.max(0, (now - r.since) / 1000))} `}
          <SmallButton onClick={() => p.onCancel(r.exportId)} title="Stop this export">
            Cancel
          </SmallButton>
        </span>
      ))}
    </span>
  )
}
