// How a duration reads in the jobs panel and the CLI's progress line.

/** m:ss of a duration in seconds, rounded first (59.6 s reads 1:00, never 0:60). */
export function clock(s: number): string {
  const t = Math.max(0, Math.round(s))
  return `${Math.floor(t / 60)}:${String(t % 60).padStart(2, '0')}`
}
