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
 * What is wrong with `text` as it stands, said as what the field takes ("1 to 150", "a whole
 * number"), or null when it is empty or valid: shown beside the field while typing, since
 * leaving it commits the nearest valid value instead.
 */
export function numberFieldProblem(text: string, p: NumberRange): string | null {
  if (text.trim() === '' || parseNumberField(text, p) !== null) return null
  const v = Number(text)
  if (!Number.isFinite(v)) return 'a number'
  if (p.integer && !Number.isInteger(v)) return 'a whole number'
  if (p.min !== undefined && p.max !== undefined) return `${p.min} to ${p.max}`
  if (p.min !== undefined) return `at least ${p.min}`
  return `at most ${p.max}`
}

/**
 * What leaving the field commits: null when its text is untouched (it still shows the value,
 * perhaps rounded: committing that would change the value) or not a number, else the nearest
 * valid value to what was typed.
 */
export function leaveNumberField(text: string, shown: string, p: NumberRange): number | null {
  return text === shown ? null : nearestNumberField(text, p)
}
