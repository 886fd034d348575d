// What a settings field's typed text commits (the studio's NumberField): plain rules, tested alone.

/** A field's bounds, and whether it takes whole numbers only. */
export type NumberRange = {
  min?: number | undefined
  max?: number | undefined
  integer?: boolean | undefined
}

/** The valid value nearest to `text` (rounded, clamped), or null when it is not a number. */
export function nearestNumberField(text: string, p: NumberRange): number | null {
  const v = Number(text)
  if (text.trim() === '' || !Number.isFinite(v)) return null
  let n = p.integer ? Math.round(v) : v
  if (p.min !== undefined) n = Math.max(p.min, n)
  if (p.max !== undefined) n = Math.min(p.max, n)
  return n
}

/** The value `text` commits as it stands (already valid), or null while it is not one yet. */
export function parseNumberField(text: string, p: NumberRange): number | null {
  const n = nearestNumberField(text, p)
  return n !== null && n === Number(text) ? n : null
}

/**
 * What leaving the field commits: null when its text is untouched (it still shows the value,
 * perhaps rounded: committing that would change the value) or not a number, else the nearest
 * valid value to what was typed.
 */
export function leaveNumberField(text: string, shown: string, p: NumberRange): number | null {
  return text === shown ? null : nearestNumberField(text, p)
}
