// The studio's keyboard: Space plays, arrows step, Ctrl+Z / Ctrl+Shift+Z undo and redo,
// Ctrl+Enter generates, Delete removes the selected keyframe, Ctrl+D duplicates it. A focused
// control keeps the keys it uses (but Ctrl+Enter still generates): a text field all of them (its
// own text undo included); a drop-down, checkbox or slider its arrows and Space, while Ctrl+Z
// there is the studio's undo (they have no undo of their own, and focus stays on them after
// the edit they made). Space on a focused button presses it; an open dialog keeps every key.
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

/** Inputs without text, so without a text undo of their own. */
const NO_TEXT_UNDO = new Set(['checkbox', 'radio', 'range', 'color', 'file', 'button', 'submit'])

export function useShortcuts(shortcuts: Shortcuts): void {
  // the latest handlers, without re-subscribing on every render
  const ref = useRef(shortcuts)
  ref.current = shortcuts
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const s = ref.current
      const t = e.target
      // an open dialog keeps the keyboard (Escape and Tab are its own)
      if (t instanceof Element && t.closest('[role=dialog]')) return
      const typing =
        t instanceof HTMLInputElement ||
        t instanceof HTMLTextAreaElement ||
        t instanceof HTMLSelectElement
      const editsText =
        t instanceof HTMLTextAreaElement ||
        (t instanceof HTMLInputElement && !NO_TEXT_UNDO.has(t.type))
      const mod = e.ctrlKey || e.metaKey
      if (mod && e.key.toLowerCase() === 'z') {
        if (editsText) return
        e.preventDefault()
        if (e.shiftKey) s.redo()
        else s.undo()
      } else if (e.ctrlKey && !e.metaKey && e.key.toLowerCase() === 'y') {
        // Windows' and Linux's other redo
        if (editsText) return
        e.preventDefault()
        s.redo()
      } else if (mod && e.key === 'Enter') {
        e.preventDefault()
        s.generate()
      } else if (typing) return
      // Space presses a focused button (Generate, Random...), as everywhere else
      else if (
        e.key === ' ' &&
        t instanceof Element &&
        t.closest('button, [role=button], summary, a[href]')
      )
        return
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
