import { useEffect, useRef, useState } from 'react'
import type { Trajectory } from '../../../shared/camera'

type Props = {
  frames: number
  fps: number
  playhead: number
  playing: boolean
  trajectory: Trajectory
  thumbnails: string[]
  onScrub: (frame: number) => void
  onTogglePlay: () => void
}

export function Timeline({
  frames,
  fps,
  playhead,
  playing,
  trajectory,
  thumbnails,
  onScrub,
  onTogglePlay,
}: Props) {
  const [zoom, setZoom] = useState(1)
  const scroller = useRef<HTMLDivElement>(null)
  // keep the playhead in view when zoomed in (playing, stepping, scrubbing)
  useEffect(() => {
    const el = scroller.current
    if (!el || zoom === 1) return
    const x = (playhead / Math.max(frames - 1, 1)) * el.scrollWidth
    if (x < el.scrollLeft || x > el.scrollLeft + el.clientWidth)
      el.scrollLeft = Math.max(0, x - el.clientWidth / 2)
  }, [playhead, frames, zoom])
  const pct = (f: number) => `${(f / Math.max(frames - 1, 1)) * 100}%`
  const scrubAt = (el: HTMLElement, clientX: number) => {
    const r = el.getBoundingClientRect()
    const x = Math.min(1, Math.max(0, (clientX - r.left) / r.width))
    onScrub(Math.round(x * (frames - 1)))
  }
  return (
    <div className="timeline">
      <div className="timeline-controls">
        <button
          type="button"
          className="small"
          onClick={onTogglePlay}
          title="Play / pause (Space)"
          data-testid="play"
        >
          {playing ? 'Pause' : 'Play'}
        </button>
        <span data-testid="playhead-label">
          frame {playhead + 1} / {frames} · {(playhead / fps).toFixed(2)} s
        </span>
        <span className="hint">← → step a frame · Space plays · Ctrl+Z undo</span>
        <label className="zoom">
          Zoom
          <input
            type="range"
            min={1}
            max={8}
            step={1}
            value={zoom}
            onChange={(e) => setZoom(Number(e.target.value))}
            aria-label="Timeline zoom"
            data-testid="timeline-zoom"
          />
          {zoom}×
        </label>
      </div>
      <div className="track-scroll" ref={scroller}>
        <div
          style={{ width: `${zoom * 100}%` }}
          className="track"
          data-testid="timeline-track"
          onPointerDown={(e) => {
            ;(e.target as HTMLElement).setPointerCapture?.(e.pointerId)
            scrubAt(e.currentTarget, e.clientX)
          }}
          onPointerMove={(e) => e.buttons & 1 && scrubAt(e.currentTarget, e.clientX)}
        >
          <div className="thumbs">
            {Array.from({ length: frames }, (_, i) => (
              <div
                key={i}
                className="thumb"
                style={thumbnails[i] ? { backgroundImage: `url("${thumbnails[i]}")` } : undefined}
              />
            ))}
          </div>
          <div className="keys">
            {trajectory.keyframes.map((k) => (
              <span
                key={k.id}
                className="key"
                style={{
                  left: pct(
                    Math.min(
                      frames - 1,
                      (k.frame / Math.max(trajectory.frames - 1, 1)) * (frames - 1),
                    ),
                  ),
                }}
                title={`keyframe at frame ${Math.round(k.frame) + 1}`}
              />
            ))}
          </div>
          <div className="playhead" style={{ left: pct(playhead) }} />
        </div>
      </div>
    </div>
  )
}
