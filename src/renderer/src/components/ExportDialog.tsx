// Export dialog: format, fps, size, quality, (GIF) loop and smoother motion (in-between
// frames) for one finished clip. The destination is chosen next: a save dialog on the
// desktop, the browser's download otherwise.
import type { DollyBridge, InterpolationView } from '../../../shared/contract'
import {
  EXPORT_QUALITY,
  gifRateProblem,
  interpolatedCount,
  SETTING_LIMITS,
  type ClipFormat,
} from '../../../shared/render'
import { useEffect, useState } from 'react'
import { parseNumberField } from '../../../shared/number-field'
import { Modal } from './Modal'

const PLAYS = { min: 1, max: 100, integer: true }
import { SmallButton } from './SmallButton'

export type ExportFormat = ClipFormat
export type ExportOptions = {
  format: ExportFormat
  fps: number
  scale: 1 | 2 | 4
  /** 0 best .. 100 smallest (the engine's scale) */
  quality: number
  /** GIF: 0 = forever, -1 = play once, N = play N+1 times */
  loop: number
  /** In-between frames: factor x the frame rate, by ffmpeg's minterpolate or the RIFE slot. */
  interpolate?: { factor: 2 | 4; method: 'minterpolate' | 'model' }
}

/** What is being exported: one clip, or the project's shots joined. */
export type ExportSource = {
  title: string
  detail: string
  width: number
  height: number
  fps: number
  /** Rendered frames (the in-between count follows from it). */
  frames: number
  /** A loop render: in-betweens also lead from its last frame back into the first. */
  loop: boolean
  /**
   * Shots joined (Export all): each one's frames. In-betweens are made within each shot, never
   * across a cut (a blend of one shot into the next), so each gets (n - 1) x k + 1.
   */
  parts?: number[]
}

type Props = {
  api: DollyBridge
  source: ExportSource
  desktop: boolean
  onExport: (o: ExportOptions) => void
  onClose: () => void
}

export function ExportDialog({ api, source: r, desktop, onExport, onClose }: Props) {
  /** Frames after interpolating `k` times (as the engine makes them: per shot when joined). */
  const interpolated = (n: number, k: number, loop: boolean): number =>
    r.parts
      ? r.parts.reduce((sum, m) => sum + interpolatedCount(m, k), 0)
      : interpolatedCount(n, k, loop)
  const [factor, setFactor] = useState<1 | 2 | 4>(1)
  const [method, setMethod] = useState<'minterpolate' | 'model'>('minterpolate')
  const [interp, setInterp] = useState<InterpolationView | null>(null)
  const [modelPath, setModelPath] = useState('')
  const [modelError, setModelError] = useState<string | null>(null)
  useEffect(() => {
    void api.clip.interpolation().then((v) => {
      if (!v.ok) return
      setInterp(v.value)
      // what the person typed meanwhile wins over the stored folder
      setModelPath((typed) => typed || (v.value.model.path ?? ''))
    })
  }, [api])
  const setModel = async (path = modelPath) => {
    const v = await api.clip.setInterpolationModel({ path: path.trim() || null })
    if (!v.ok) return setModelError(v.error.message)
    setModelError(null)
    setInterp(v.value)
  }
  // the desktop app: the folder from the native dialog, used at once
  const pickModel = async () => {
    const r = await api.app.pickFolder({ purpose: 'interpolation-model' })
    if (!r.ok) return setModelError(r.error.message)
    if (r.value.path === null) return
    setModelPath(r.value.path)
    await setModel(r.value.path)
  }
  const methodOk =
    method === 'minterpolate'
      ? (interp?.minterpolate.available ?? true)
      : (interp?.model.ok ?? false)
  const [format, setFormat] = useState<ExportFormat>('mp4')
  const [fps, setFps] = useState(r.fps)
  const [scale, setScale] = useState<1 | 2 | 4>(1)
  // shown as "quality" (right = better); the engine takes 0 = best
  const [quality, setQuality] = useState(EXPORT_QUALITY.max - EXPORT_QUALITY.default)
  const [loopForever, setLoopForever] = useState(true)
  const [plays, setPlays] = useState(1)
  const [playsText, setPlaysText] = useState('1')
  const FPS = SETTING_LIMITS.fps
  const fpsOk = Number.isInteger(fps) && fps >= FPS.min && fps <= FPS.max
  // GIF frame delays are in 1/100 s: other rates are rounded by players, and a delay under
  // 2/100 s is played as 1/10 s (over 50 fps the clip plays several times slower)
  const gifTooFast = format === 'gif' ? gifRateProblem(fps * factor) : null
  const gifInexact = format === 'gif' && !gifTooFast && 100 % (fps * factor) !== 0

  return (
    <Modal title={r.title} onClose={onClose} className="export-dialog" testId="export-dialog">
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
          min={FPS.min}
          max={FPS.max}
          step={1}
          value={fps}
          onChange={(e) => setFps(Number(e.target.value))}
          aria-label="Frame rate"
        />
      </label>
      {!fpsOk ? (
        <p className="warn">
          Frame rate: a whole number from {FPS.min} to {FPS.max}.
        </p>
      ) : null}
      {gifTooFast ? (
        <p className="warn" data-testid="gif-too-fast">
          {fps * factor} fps: {gifTooFast}.
        </p>
      ) : null}
      {gifInexact ? (
        <p className="warn">GIF stores delays in 1/100 s: {fps * factor} fps plays slightly off.</p>
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
      <label>
        Smoother motion
        <select
          value={factor}
          onChange={(e) => setFactor(Number(e.target.value) as 1 | 2 | 4)}
          aria-label="Interpolation"
          data-testid="export-interpolate"
        >
          <option value={1}>off (the rendered frames)</option>
          <option value={2}>2× frames (1 in-between per pair)</option>
          <option value={4}>4× frames (3 in-betweens per pair)</option>
        </select>
      </label>
      {factor > 1 ? (
        <>
          <label>
            Made by
            <select
              value={method}
              onChange={(e) => setMethod(e.target.value as 'minterpolate' | 'model')}
              aria-label="Interpolation method"
              data-testid="export-interp-method"
            >
              <option value="minterpolate" disabled={interp?.minterpolate.available === false}>
                ffmpeg minterpolate (motion-compensated, CPU)
              </option>
              <option value="model">
                {interp?.model.ok ? `model: ${interp.model.label}` : 'RIFE model folder (none yet)'}
              </option>
            </select>
          </label>
          <p className="hint" data-testid="export-interp-cost">
            {r.frames} → {interpolated(r.frames, factor, r.loop)} frames at {fps * factor} fps (
            {(interpolated(r.frames, factor, r.loop) / (fps * factor)).toFixed(2)} s):{' '}
            {interpolated(r.frames, factor, r.loop) - r.frames} new frames
            {r.loop ? ', the last ones leading back into the first (a loop)' : ''}.{' '}
            {method === 'minterpolate'
              ? `ffmpeg estimates motion block by block for each of them on the CPU: the slow part of this export, growing with the size (${r.width}×${r.height}).`
              : `One model run per new frame (${interpolated(r.frames, factor, r.loop) - r.frames} runs at ${r.width}×${r.height}) through the engine, on its GPU when it has one.`}
          </p>
          {method === 'minterpolate' && interp?.minterpolate.reason ? (
            <p className="warn">{interp.minterpolate.reason}</p>
          ) : null}
          {method === 'model' ? (
            <div className="interp-model">
              <label>
                Model folder
                <input
                  value={modelPath}
                  placeholder="a folder with a RIFE model.onnx"
                  onChange={(e) => setModelPath(e.target.value)}
                  aria-label="Interpolation model folder"
                  data-testid="interp-model-path"
                />
              </label>
              {desktop ? (
                <SmallButton onClick={() => void pickModel()} data-testid="interp-model-pick">
                  Choose…
                </SmallButton>
              ) : null}
              <SmallButton onClick={() => void setModel()}>Use folder</SmallButton>
              <p
                className={interp?.model.ok && !modelError ? 'hint' : 'warn'}
                data-testid="interp-model-status"
              >
                {modelError ??
                  (interp?.model.ok
                    ? `${interp.model.label} (${interp.model.path})`
                    : (interp?.model.reason ?? 'checking…'))}
              </p>
              <p className="hint">
                A folder with model.onnx taking img0, img1 [1, 3, H, W] and a timestep (or one [1,
                7, H, W] input), RGB in 0..1, and an optional dolly.json
                {' {"kind": "frame-interpolation", "multiple": 32}'}.
              </p>
            </div>
          ) : null}
        </>
      ) : null}
      {format === 'mp4' || format === 'webm' ? (
        <label>
          Quality
          <input
            type="range"
            min={EXPORT_QUALITY.min}
            max={EXPORT_QUALITY.max}
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
                value={playsText}
                // the box can be emptied to type a new number; leaving it keeps a valid one
                onChange={(e) => {
                  setPlaysText(e.target.value)
                  const v = parseNumberField(e.target.value, PLAYS)
                  if (v !== null) setPlays(v)
                }}
                onBlur={() => setPlaysText(String(plays))}
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
          disabled={!fpsOk || (factor > 1 && !methodOk) || gifTooFast !== null}
          data-testid="export-confirm"
          onClick={() =>
            onExport({
              format,
              fps,
              scale,
              quality: EXPORT_QUALITY.max - quality,
              loop: loopForever ? 0 : plays === 1 ? -1 : plays - 1,
              ...(factor !== 1 ? { interpolate: { factor, method } } : {}),
            })
          }
        >
          Export
        </button>
      </footer>
    </Modal>
  )
}
