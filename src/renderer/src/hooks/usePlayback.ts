// The playhead over the clip's frames and playback at the clip's fps.
import { useEffect, useState } from 'react'

export function usePlayback(frames: number, fps: number) {
  // where the person put the playhead; a shorter clip shows it at its last frame, and a clip
  // that grows back (typing "32" in Frames passes through "3") finds it where it was
  const [wanted, setPlayhead] = useState(0)
  const [playing, setPlaying] = useState(false)
  const playhead = Math.max(0, Math.min(wanted, frames - 1))
  useEffect(() => {
    if (!playing) return
    const t = setInterval(
      () => setPlayhead((p) => (Math.min(p, frames - 1) + 1) % frames),
      1000 / fps,
    )
    return () => clearInterval(t)
  }, [playing, frames, fps])
  return {
    playhead,
    setPlayhead,
    playing,
    togglePlay: () => setPlaying((p) => !p),
    step: (delta: number) =>
      setPlayhead((p) => Math.min(frames - 1, Math.max(0, Math.min(p, frames - 1) + delta))),
  }
}
