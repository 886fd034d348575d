import { useEffect, useRef, useState } from 'react'
import { clipFrameOf, type Trajectory } from '../../../shared/camera'
import {
  addPromptKey,
  deletePromptKey,
  FIRST_PROMPT_KEY_FRAME,
  updatePromptKey,
  type PromptKey,
} from '../../../shared/longtake'
import { NumberField } from './Fields'
import { SmallButton } from './SmallButton'
import { gestureKey } from '../../../shared/history'

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)

/** The prompt track: keys where a new prompt takes over (prompt travel), when the model has it. */
export type PromptTrack = {
  base: string
  keys: PromptKey[]
  /** An edit of the keys (one undo step; `mergeKey` merges a drag or typing). */
  onChange: (keys: PromptKey[], mergeKey?: string) => void
  onNotice: (text: string) => void
}

type Props = {
  frames: number
  fps: number
  playhead: number
  playing: boolean
  trajectory: Trajectory
  thumbnails: string[]
  onScrub: (frame: number) => void
  onTogglePlay: () => void
  /** Absent: the model takes one prompt per clip (no track). */
  prompts?: PromptTrack | undefined
  /** The context windows a long take will run, to show under the prompts (null: one call). */
  windows?: number[][] | null
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
  prompts,
  windows,
}: Props) {
  const [zoom, setZoom] = useState(1)
  const [selectedPrompt, setSelectedPrompt] = useState<string | null>(null)
  const scroller = useRef<HTMLDivElement>(null)
  const trackRef = useRef<HTMLDivElement>(null)
  // the prompt key being dragged: one undo step from pointer down to up
  const promptDrag = useRef<string>('')
  // keys past the clip's end (the frame count went down) stay in the shot but are not drawn:
  // the render leaves them out, and the controls say so
  const allKeys = prompts?.keys ?? []
  const keys = allKeys.filter((k) => k.frame < frames)
  const past = allKeys.filter((k) => k.frame >= frames)
  const selected = keys.find((k) => k.id === selectedPrompt) ?? null
  const frameAt = (clientX: number) => {
    const r = trackRef.current!.getBoundingClientRect()
    const x = Math.min(1, Math.max(0, (clientX - r.left) / r.width))
    return Math.round(x * (frames - 1))
  }
  const addPrompt = () => {
    if (!prompts) return
    const r = addPromptKey(prompts.base, prompts.keys, playhead, frames)
    if ('error' in r) return prompts.onNotice(r.error)
    // a key already at that frame is only selected: an edit that changes nothing would be an
    // undo step that undoes nothing (and mark the project unsaved)
    if (!prompts.keys.some((k) => k.id === r.id)) prompts.onChange(r.keys)
    setSelectedPrompt(r.id)
  }
  const lanes = prompts !== undefined || (windows?.length ?? 0) > 1
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
        <SmallButton onClick={onTogglePlay} title="Play / pause (Space)" data-testid="play">
          {playing ? 'Pause' : 'Play'}
        </SmallButton>
        <span data-testid="playhead-label">
          frame {playhead + 1} / {frames} · {(playhead / fps).toFixed(2)} s
        </span>
        {selected ? null : (
          <span className="hint">← → step a frame · Space plays · Ctrl+Z undo</span>
        )}
        {prompts ? (
          <SmallButton
            onClick={addPrompt}
            title="A prompt that takes over at the playhead; the prompts in between are blended frame by frame"
            data-testid="add-prompt-key"
          >
            + Prompt at playhead
          </SmallButton>
        ) : null}
        {prompts && selected ? (
          <span className="prompt-editor" data-testid="prompt-editor">
            <NumberField
              label="Prompt from frame"
              className="inline-field"
              value={selected.frame + 1}
              integer
              min={FIRST_PROMPT_KEY_FRAME + 1}
              max={frames}
              testId="prompt-key-frame"
              live={false}
              onCommit={(v) => {
                const f = v - 1
                const next = updatePromptKey(prompts.keys, selected.id, { frame: f }, frames)
                if (next.every((k, i) => k === prompts.keys[i]))
                  prompts.onNotice(
                    `Frame ${f + 1}: a prompt key needs a free frame from 2 to ${frames}`,
                  )
                else prompts.onChange(next, `prompt-frame:${selected.id}`)
              }}
            />
            <input
              className="prompt-text"
              value={selected.prompt}
              placeholder="what the clip shows from this frame on"
              onChange={(e) =>
                prompts.onChange(
                  updatePromptKey(prompts.keys, selected.id, { prompt: e.target.value }, frames),
                  `prompt-text:${selected.id}`,
                )
              }
              data-testid="prompt-key-text"
            />
            <SmallButton
              onClick={() => {
                prompts.onChange(deletePromptKey(prompts.keys, selected.id))
                setSelectedPrompt(null)
              }}
              data-testid="prompt-key-delete"
            >
              Delete
            </SmallButton>
          </span>
        ) : null}

        {prompts && past.length ? (
          <span className="warn" data-testid="prompt-keys-past">
            {past.length === 1 ? 'The prompt key' : `${past.length} prompt keys`} at frame{' '}
            {past.map((k) => k.frame + 1).join(', ')} lie{past.length === 1 ? 's' : ''} past the
            clip&apos;s {frames} frames and will be left out{' '}
            <SmallButton
              onClick={() => prompts.onChange(keys)}
              data-testid="prompt-keys-past-remove"
            >
              Remove
            </SmallButton>
          </span>
        ) : null}
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
          className={`track${lanes ? ' with-lanes' : ''}`}
          ref={trackRef}
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
                  left: pct(Math.min(frames - 1, clipFrameOf(trajectory, frames, k.frame))),
                }}
                title={`keyframe at frame ${Math.round(clipFrameOf(trajectory, frames, k.frame)) + 1}`}
              />
            ))}
          </div>
          {prompts ? (
            <div className="prompt-lane" data-testid="prompt-track">
              {[{ id: '', frame: 0, prompt: prompts.base }, ...keys].map((k, i, all) => {
                const next = all[i + 1]
                return next ? (
                  <span
                    key={`seg-${k.id}`}
                    className="prompt-blend"
                    style={{
                      left: pct(k.frame),
                      width: `calc(${pct(next.frame)} - ${pct(k.frame)})`,
                    }}
                    title={`frames ${k.frame + 1}–${next.frame + 1}: “${k.prompt}” blends into “${next.prompt}”`}
                  />
                ) : null
              })}
              <span
                className="prompt-key base"
                style={{ left: pct(0) }}
                title={`frame 1: the shot’s prompt “${prompts.base}”`}
              >
                {prompts.base || '(prompt)'}
              </span>
              {/* in a fixed order, not the keys' frame order: a key dragged past another must
                  not move in the page, which would end its pointer capture mid-drag */}
              {[...keys].sort(byId).map((k) => (
                <span
                  key={k.id}
                  className={`prompt-key${k.id === selectedPrompt ? ' selected' : ''}`}
                  style={{ left: pct(k.frame) }}
                  title={`frame ${k.frame + 1}: “${k.prompt}” (drag to move)`}
                  data-testid="prompt-key"
                  data-frame={k.frame}
                  // focusable, so the keyboard can act on the selected key: Delete or Backspace
                  // removes it (the camera keyframe's shortcut is not this key's)
                  tabIndex={0}
                  aria-label={`prompt key at frame ${k.frame + 1}: ${k.prompt}`}
                  onFocus={() => setSelectedPrompt(k.id)}
                  onKeyDown={(e) => {
                    if (e.key !== 'Delete' && e.key !== 'Backspace') return
                    e.preventDefault()
                    e.stopPropagation()
                    prompts.onChange(deletePromptKey(prompts.keys, k.id))
                    setSelectedPrompt(null)
                  }}
                  onPointerDown={(e) => {
                    e.stopPropagation()
                    ;(e.target as HTMLElement).setPointerCapture?.(e.pointerId)
                    promptDrag.current = gestureKey(`prompt-drag:${k.id}`)
                    setSelectedPrompt(k.id)
                  }}
                  onPointerMove={(e) => {
                    if (!(e.buttons & 1)) return
                    e.stopPropagation()
                    const f = frameAt(e.clientX)
                    if (f !== k.frame)
                      prompts.onChange(
                        updatePromptKey(prompts.keys, k.id, { frame: f }, frames),
                        promptDrag.current,
                      )
                  }}
                >
                  {k.prompt || '(empty)'}
                </span>
              ))}
            </div>
          ) : null}
          {windows && windows.length > 1 ? (
            <div className="window-lane" aria-label="context windows">
              {windows.map((w, i) => {
                // a loop's last windows wrap round to the first frames: drawn in two pieces
                const pieces: [number, number][] = []
                let start = w[0]!
                for (let k = 1; k <= w.length; k++)
                  if (k === w.length || w[k] !== w[k - 1]! + 1) {
                    pieces.push([start, w[k - 1]!])
                    start = w[k] ?? 0
                  }
                return pieces.map(([a, b], j) => (
                  <span
                    key={`${i}-${j}`}
                    className={`context-window row${i % 2}`}
                    style={{ left: pct(a), width: `calc(${pct(b)} - ${pct(a)})` }}
                    title={`window ${i + 1}: frames ${w.map((f) => f + 1).join(', ')}`}
                    data-testid="context-window"
                  />
                ))
              })}
            </div>
          ) : null}
          <div className="playhead" style={{ left: pct(playhead) }} />
        </div>
      </div>
    </div>
  )
}
