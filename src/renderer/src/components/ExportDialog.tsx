// Export dialog: format, fps, size, quality and (GIF) loop for one finished clip. The
// destination is chosen next: a save dialog on the desktop, the browser's download otherwise.
import type { ClipFormat } from '../../../shared/render'
import { useEffect, useState } from 'react'

export type ExportFormat = ClipFormat
export type ExportOptions = {
  format: ExportFormat
  fps: number
  scale: 1 | 2 | 4
  /** 0 best .. 100 smallest (the engine's scale) */
  quality: number
  /** GIF: 0 = forever, -1 = play once, N = play N+1 times */
  loop: number
}

/** What is being exported: one clip, or the project's shots joined. */
export type ExportSource = {
  title: string
  detail: string
  width: number
  height: number
  fps: number
}

type Props = {
  source: ExportSource
  desktop: boolean
  onExport: (o: ExportOptions) => void
  onClose: () => void
}

export function ExportDialog({ source: r, desktop, onExport, onClose }: Props) {
  const [format, setFormat] = useState<ExportFormat>('mp4')
  const [fps, setFps] = useState(r.fps)
  const [scale, setScale] = useState<1 | 2 | 4>(1)
  // shown as "quality" (right = better); the engine takes 0 = best
  const [quality, setQuality] = useState(70)
  const [loopForever, setLoopForever] = useState(true)
  const [plays, setPlays] = useState(1)
  const fpsOk = Number.isInteger(fps) && fps >= 1 && fps <= 60
  // GIF frame delays are in 1/100 s: other rates are rounded by players
  const gifInexact = format === 'gif' && 100 % fps !== 0

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose()
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [onClose])

  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div
        className="modal export-dialog"
        role="dialog"
        aria-label={r.title}
        onClick={(e) => e.stopPropagation()}
        data-testid="export-dialog"
      >
        <header className="modal-title">
          <span>{r.title}</span>
          <button type="button" className="small" onClick={onClose}>
            Close
          </button>
        </header>
        <p className="hint">{r.detail}</p>
        <label>
          Format
          <select
            value={format}
            onChange={(e) => setFormat(e.target.value as ExportFormat)}
            aria-label="Format"
          >
            <option value="mp4">MP4 (H.264)</option>
            <option value="webm">WebM (VP9)</option>
            <option value="gif">GIF</option>
            <option value="png">PNG frames</option>
          </select>
        </label>
        <label>
          Frame rate
          <input
            type="number"
            min={1}
            max={60}
            step={1}
            value={fps}
            onChange={(e) => setFps(Number(e.target.value))}
            aria-label="Frame rate"
          />
        </label>
        {!fpsOk ? <p className="warn">Frame rate: a whole number from 1 to 60.</p> : null}
        {gifInexact ? (
          <p className="warn">GIF stores delays in 1/100 s: {fps} fps plays slightly off.</p>
        ) : null}
        <label>
          Size
          <select
            value={scale}
            onChange={(e) => setScale(Number(e.target.value) as 1 | 2 | 4)}
            aria-label="Size"
          >
            {([1, 2, 4] as const).map((k) => (
              <option key={k} value={k}>
                {k === 1 ? 'as rendered' : `${k}× (Lanczos)`} · {r.width * k}×{r.height * k}
              </option>
            ))}
          </select>
        </label>
        {format === 'mp4' || format === 'webm' ? (
          <label>
            Quality
            <input
              type="range"
              min={0}
              max={100}
              value={quality}
              onChange={(e) => setQuality(Number(e.target.value))}
              aria-label="Quality"
            />
            <span className="hint">
              {quality >= 70 ? 'high' : quality >= 40 ? 'medium' : 'small file'}
            </span>
          </label>
        ) : null}
        {format === 'gif' ? (
          <label className="inline">
            <input
              type="checkbox"
              checked={loopForever}
              onChange={(e) => setLoopForever(e.target.checked)}
              aria-label="Loop forever"
            />
            Loop forever
            {!loopForever ? (
              <>
                , play
                <input
                  type="number"
                  min={1}
                  max={100}
                  value={plays}
                  onChange={(e) => setPlays(Math.max(1, Math.round(Number(e.target.value)) || 1))}
                  aria-label="Plays"
                />
                times
              </>
            ) : null}
          </label>
        ) : null}
        <p className="hint">
          {desktop
            ? 'You choose where to save it next.'
            : format === 'png'
              ? 'The browser downloads the frames as one .zip.'
              : 'The browser downloads it.'}
        </p>
        <footer className="modal-actions">
          <button type="button" onClick={onClose}>
            Cancel
          </button>
          <button
            type="button"
            className="primary"
            disabled={!fpsOk}
            data-testid="export-confirm"
            onClick={() =>
              onExport({
                format,
                fps,
                scale,
                quality: 100 - quality,
                loop: loopForever ? 0 : plays === 1 ? -1 : plays - 1,
              })
            }
          >
            Export
          </button>
        </footer>
      </div>
    </div>
  )
}
