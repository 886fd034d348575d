// Output sizes the generation panel offers per model: the model's own size first, then the
// common aspect ratios at about the same pixel count, each a multiple of what the model's
// latent grid needs. An export with a fixed spatial size gets only that size.

export type SizeChoice = { width: number; height: number; label: string }

export type SizeFacts = {
  /** The model's own size (its folder's, else its family's). */
  native: { width: number; height: number }
  /** Sizes must be multiples of this (shared/render.ts PIPELINES[kind].sizeMultiple). */
  multiple: number
  /** Pixels the export is fixed to (static latent dims times the VAE factor), if it is. */
  fixed: { width: number; height: number } | null
}

const ASPECTS: [string, number, number][] = [
  ['square', 1, 1],
  ['landscape 16:9', 16, 9],
  ['landscape 3:2', 3, 2],
  ['portrait 2:3', 2, 3],
  ['portrait 9:16', 9, 16],
]

export function sizeChoices(f: SizeFacts): SizeChoice[] {
  if (f.fixed)
    return [{ ...f.fixed, label: `${f.fixed.width}×${f.fixed.height} (this export's fixed size)` }]
  const base = f.native
  const m = f.multiple
  const area = base.width * base.height
  const out: SizeChoice[] = [{ ...base, label: `${base.width}×${base.height} (the model's own)` }]
  for (const [, aw, ah] of ASPECTS) {
    const h = Math.sqrt((area * ah) / aw)
    const width = Math.max(m, Math.round((h * aw) / ah / m) * m)
    const height = Math.max(m, Math.round(h / m) * m)
    if (out.some((c) => c.width === width && c.height === height)) continue
    out.push({ width, height, label: `${width}×${height} (${aspectName(width, height)})` })
  }
  return out
}

/**
 * The aspect a size has, named when it is within 3% of a common one: on a coarse grid the size
 * aimed at 16:9 can land on another (48×32 is 3:2), and the label says what it is.
 */
export function aspectName(width: number, height: number): string {
  const r = width / height
  let best: { name: string; off: number } | null = null
  for (const [name, aw, ah] of ASPECTS) {
    const off = Math.abs(r / (aw / ah) - 1)
    if (off <= 0.03 && (!best || off < best.off)) best = { name, off }
  }
  if (best) return best.name
  return `${r >= 1 ? 'landscape' : 'portrait'} ${r >= 1 ? `${r.toFixed(2)}:1` : `1:${(1 / r).toFixed(2)}`}`
}
