// The studio's keyboard: Space plays, arrows step, Ctrl+Z / Ctrl+Shift+Z undo and redo,
// Ctrl+Enter generates, Delete removes the selected keyframe, Ctrl+D duplicates it. Typing in
// a field keeps its keys (but Ctrl+Enter still generates).
import { useEffect, useRef } from 'react'

export type Shortcuts = {
  undo(): void
  redo(): void
  generate(): void
  togglePlay(): void
  step(delta: number): void
  deleteKeyframe(): void
  duplicateKeyframe(): void
}

export function useShortcuts(shortcuts: Shortcuts): void {
  // the latest handlers, without re-subscribing on every render
  const ref = useRef(shortcuts)
  ref.current = shortcuts
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const s = ref.current
      const typing =
        e.target instanceof HTMLInputElement ||
        e.target instanceof HTMLTextAreaElement ||
        e.target instanceof HTMLSelectElement
      const mod = e.ctrlKey || e.metaKey
      if (mod && e.key.toLowerCase() === 'z') {
        if (typing) return
        e.preventDefault()
        if (e.shiftKey) s.redo()
        else s.undo()
      } else if (e.ctrlKey && !e.metaKey && e.key.toLowerCase() === 'y') {
        // Windows' and Linux's other redo
        if (typing) return
        e.preventDefault()
        s.redo()
      } else if (mod && e.key === 'Enter') {
        e.preventDefault()
        s.generate()
      } else if (typing) return
      else if (e.key === ' ') {
        e.preventDefault()
        s.togglePlay()
      } else if (e.key === 'ArrowRight') s.step(1)
      else if (e.key === 'ArrowLeft') s.step(-1)
      else if (e.key === 'Delete' || e.key === 'Backspace') s.deleteKeyframe()
      else if (mod && e.key.toLowerCase() === 'd') {
        e.preventDefault()
        s.duplicateKeyframe()
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [])
}
