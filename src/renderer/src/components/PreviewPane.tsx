import { useEffect, useRef } from 'react'
import type { JobPreview, JobView } from '../../../shared/contract'

type Props = {
  job: JobView | null
  preview: JobPreview | null
  clipUrl: string | null
  playhead: number
  fps: number
}

/** The live denoising preview while a shot renders, then the finished clip (seeks with the playhead). */
export function PreviewPane({ job, preview, clipUrl, playhead, fps }: Props) {
  const canvas = useRef<HTMLCanvasElement>(null)
  const video = useRef<HTMLVideoElement>(null)
  const live = job && (job.state === 'running' || job.state === 'queued')

  useEffect(() => {
    if (!preview || !canvas.current) return
    const c = canvas.current
    c.width = preview.width
    c.height = preview.height
    const bin = atob(preview.rgb)
    const img = new ImageData(preview.width, preview.height)
    for (let i = 0, p = 0; i < preview.width * preview.height; i++) {
      img.data[i * 4] = bin.charCodeAt(p++)
      img.data[i * 4 + 1] = bin.charCodeAt(p++)
      img.data[i * 4 + 2] = bin.charCodeAt(p++)
      img.data[i * 4 + 3] = 255
    }
    c.getContext('2d')!.putImageData(img, 0, 0)
  }, [preview])

  // the clip shows the playhead's frame: when the playhead moves, and when a clip loads (a
  // render finishing, another shot picked), whose duration is not known before its metadata
  const seek = () => {
    const v = video.current
    if (!v || !clipUrl) return
    const t = (playhead + 0.5) / fps
    if (Number.isFinite(v.duration) && Math.abs(v.currentTime - t) > 0.5 / fps)
      v.currentTime = Math.min(t, v.duration)
  }
  useEffect(seek, [playhead, fps, clipUrl])

  if (live) {
    return (
      <div className="preview">
        <canvas
          ref={canvas}
          className="live"
          data-testid="live-preview"
          data-step={preview?.step ?? -1}
        />
        <p className="hint">{preview ? `denoising step ${preview.step + 1}` : 'starting…'}</p>
      </div>
    )
  }
  if (clipUrl) {
    return (
      <div className="preview">
        <video
          ref={video}
          src={clipUrl}
          data-testid="clip"
          muted
          preload="auto"
          playsInline
          onLoadedMetadata={seek}
        />
      </div>
    )
  }
  return (
    <div className="preview empty">
      <p className="hint">
        {job?.state === 'failed'
          ? 'The render failed; see Jobs.'
          : 'Generate a clip to preview it here.'}
      </p>
    </div>
  )
}
