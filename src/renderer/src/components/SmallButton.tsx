// The studio's small button (toolbars, rows, dialogs): its look in one place, and type "button"
// so that it never submits the form it sits in.
import type { ButtonHTMLAttributes } from 'react'

export function SmallButton({ className, ...rest }: ButtonHTMLAttributes<HTMLButtonElement>) {
  return <button type="button" className={className ? `small ${className}` : 'small'} {...rest} />
}
