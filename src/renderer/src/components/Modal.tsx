// A dialog over the studio: its title and a Close button on top; a click outside it or Escape
// closes it (the dialog's own clicks stay inside). It holds the keyboard while open.
import { useEffect, useRef, type KeyboardEvent as ReactKeyboardEvent, type ReactNode } from 'react'
import { SmallButton } from './SmallButton'

export function Modal(p: {
  title: string
  onClose: () => void
  /** Extra class for the dialog's own layout. */
  className?: string
  testId: string
  children: ReactNode
}) {
  const { onClose } = p
  const box = useRef<HTMLDivElement>(null)
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose()
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [onClose])
  // the keyboard works the dialog, not the studio behind it: focus moves in (its first field,
  // else its first control), Tab cycles inside, and closing gives focus back where it was
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null
    const first =
      box.current?.querySelector<HTMLElement>('input, select, textarea') ??
      focusables(box.current)[0]
    first?.focus()
    return () => before?.focus?.()
  }, [])
  const trapTab = (e: ReactKeyboardEvent) => {
    if (e.key !== 'Tab') return
    const all = focusables(box.current)
    if (!all.length) return
    const i = all.indexOf(document.activeElement as HTMLElement)
    const next = e.shiftKey ? (i <= 0 ? all.length - 1 : i - 1) : i === all.length - 1 ? 0 : i + 1
    e.preventDefault()
    all[next]!.focus()
  }
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div
        ref={box}
        onKeyDown={trapTab}
        // a click on the dialog's text keeps the focus in it (not on the page behind)
        tabIndex={-1}
        aria-modal="true"
        className={p.className ? `modal ${p.className}` : 'modal'}
        role="dialog"
        aria-label={p.title}
        onClick={(e) => e.stopPropagation()}
        data-testid={p.testId}
      >
        <header className="modal-title">
          <span>{p.title}</span>
          <SmallButton onClick={onClose}>Close</SmallButton>
        </header>
        {p.children}
      </div>
    </div>
  )
}

function focusables(root: HTMLElement | null): HTMLElement[] {
  if (!root) return []
  return Array.from(
    root.querySelectorAll<HTMLElement>(
      'button, input, select, textarea, a[href], [tabindex]:not([tabindex="-1"])',
    ),
  ).filter((el) => !(el as HTMLButtonElement).disabled && el.offsetParent !== null)
}
