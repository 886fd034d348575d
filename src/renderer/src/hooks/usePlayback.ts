// The playhead over the clip's frames and playback at the clip's fps.
import { useEffect, useState } from 'react'

export function usePlayback(frames: number, fps: number) {
  const [playhead, setPlayhead] = useState(0)
  const [playing, setPlaying] = useState(false)
  useEffect(() => {
    if (!playing) return
    const t = setInterval(() => setPlayhead((p) => (p + 1) % frames), 1000 / fps)
    return () => clearInterval(t)
  }, [playing, frames, fps])
  // a shorter clip moves the playhead inside it
  useEffect(() => setPlayhead((p) => Math.min(p, frames - 1)), [frames])
  return {
    playhead,
    setPlayhead,
    playing,
    togglePlay: () => setPlaying((p) => !p),
    step: (delta: number) => setPlayhead((p) => Math.min(frames - 1, Math.max(0, p + delta))),
  }
}
