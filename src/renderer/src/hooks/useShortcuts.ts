// The studio's keyboard: Space plays, arrows step, Ctrl+Z / Ctrl+Shift+Z undo and redo,
// Ctrl+Enter generates, Delete removes the selected keyframe, Ctrl+D duplicates it. A focused
// control keeps the keys it uses (but Ctrl+Enter still generates): a text field all of them (its
// own text undo included); a drop-down, checkbox or slider its arrows and Space, while Ctrl+Z
// there is the studio's undo (they have no undo of their own, and focus stays on them after
// the edit they made). Space on a button reached with the keyboard presses it, as everywhere
// else; on one just clicked with the mouse it plays (a second "Delete shot" is not what a creator
// pressing Space means). An open dialog keeps every key, wherever the focus is.
import { useEffect, useRef } from 'react'

/**
 * Whether the studio's shortcuts must leave this key alone: an open modal dialog has the
 * keyboard even where a click on its text sent the focus to the page behind it.
 */
export function dialogHasKeyboard(target: EventTarget | null): boolean {
  if (target instanceof Element && target.closest('[role=dialog]')) return true
  return document.querySelector('[aria-modal="true"]') !== null
}

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
    // which control the keyboard (Tab, a dialog's Escape) gave the focus to: Chromium makes any
    // focused control :focus-visible once a key is pressed, so the key itself cannot tell
    let lastInput: 'key' | 'pointer' = 'key'
    let keyFocused: EventTarget | null = null
    // a click also takes a button's focus out of the keyboard's hands (one tabbed to, then
    // clicked, fires no focusin)
    const onPointer = () => {
      lastInput = 'pointer'
      keyFocused = null
    }
    const onAnyKey = () => (lastInput = 'key')
    const onFocus = (e: FocusEvent) => (keyFocused = lastInput === 'key' ? e.target : null)
    const onKey = (e: KeyboardEvent) => {
      const s = ref.current
      const t = e.target
      const typing =
        t instanceof HTMLInputElement ||
        t instanceof HTMLTextAreaElement ||
        t instanceof HTMLSelectElement
      const editsText =
        t instanceof HTMLTextAreaElement ||
        (t instanceof HTMLInputElement && !NO_TEXT_UNDO.has(t.type))
      const mod = e.ctrlKey || e.metaKey
      // an open dialog keeps the keyboard (Escape and Tab are its own); outside a text field
      // the browser's own undo would still reach a field behind it (the prompt), so not that
      if (dialogHasKeyboard(t)) {
        const undoKey = mod && ['z', 'y'].includes(e.key.toLowerCase())
        if (undoKey && !editsText) e.preventDefault()
        return
      }
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
      else if (e.key === ' ') {
        const control =
          t instanceof Element ? t.closest('button, [role=button], summary, a[href]') : null
        // Space presses a button the keyboard went to (Tab), as everywhere else
        if (control && control === keyFocused) return
        // one the mouse clicked keeps the focus, but not the key: it plays
        if (control instanceof HTMLElement) control.blur()
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
    window.addEventListener('pointerdown', onPointer, true)
    window.addEventListener('keydown', onAnyKey, true)
    window.addEventListener('focusin', onFocus, true)
    window.addEventListener('keydown', onKey)
    return () => {
      window.removeEventListener('pointerdown', onPointer, true)
      window.removeEventListener('keydown', onAnyKey, true)
      window.removeEventListener('focusin', onFocus, true)
      window.removeEventListener('keydown', onKey)
    }
  }, [])
}
