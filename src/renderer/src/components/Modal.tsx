// A dialog over the studio: its title and a Close button on top; a click outside it or Escape
// closes it (the dialog's own clicks stay inside).
import { useEffect, type ReactNode } from 'react'
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
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && onClose()
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [onClose])
  return (
    <div className="modal-backdrop" onClick={onClose}>
      <div
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
