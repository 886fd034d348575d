// The reliability suite's counts. Every trial injects one fault or malformed input and records
// how it ended: ok (handled, nothing to report), clear-error (refused or failed with a message
// that names the thing), crash (a host or the engine died), lost (work or a file the person had
// is gone or damaged), stuck (something never ended). Crash, lost and stuck must stay at 0.
// Each file writes its counts to test-results/reliability/<name>.json; `npm run
// test:reliability` and `npm test` add them up into one line.
import { mkdirSync, writeFileSync } from 'node:fs'
import { join, resolve } from 'node:path'

export type Outcome = 'ok' | 'clear-error' | 'crash' | 'lost' | 'stuck'
export type Counts = {
  tried: number
  clearError: number
  crash: number
  lost: number
  stuck: number
}

export const resultsDir = resolve(__dirname, '../../../test-results/reliability')

export function countsLine(c: Counts): string {
  return `tried ${c.tried}, clear error ${c.clearError}, crash ${c.crash}, lost ${c.lost}, stuck ${c.stuck}`
}

export class Tally {
  private readonly trials: { trial: string; outcome: Outcome; detail: string }[] = []
  constructor(readonly name: string) {}

  /** Records one trial and returns its outcome (so a test can assert on it). */
  record(trial: string, outcome: Outcome, detail = ''): Outcome {
    this.trials.push({ trial, outcome, detail })
    if (outcome === 'crash' || outcome === 'lost' || outcome === 'stuck')
      console.error(
        `reliability (${this.name}): ${trial}: ${outcome}${detail ? `: ${detail}` : ''}`,
      )
    return outcome
  }

  counts(): Counts {
    const n = (o: Outcome) => this.trials.filter((t) => t.outcome === o).length
    return {
      tried: this.trials.length,
      clearError: n('clear-error'),
      crash: n('crash'),
      lost: n('lost'),
      stuck: n('stuck'),
    }
  }

  /** Prints this file's counts and leaves them for the runner to add up (with why it was skipped). */
  report(skipped: string | null = null): void {
    const c = this.counts()
    console.log(
      `reliability (${this.name}): ${countsLine(c)}${skipped ? ` (skipped: ${skipped})` : ''}`,
    )
    mkdirSync(resultsDir, { recursive: true })
    writeFileSync(
      join(resultsDir, `${this.name}.json`),
      JSON.stringify({ name: this.name, counts: c, skipped, trials: this.trials }, null, 2),
    )
  }
}
