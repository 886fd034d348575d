// Undo/redo: merged edits, and records (a render finishing) that survive undo and redo.
import { describe, expect, it } from 'vitest'
import { createHistory, historyReducer, type HistoryAction } from '../../src/shared/history'

type Doc = { text: string; clip: string | null }
const run = (h: ReturnType<typeof createHistory<Doc>>, ...actions: HistoryAction<Doc>[]) =>
  actions.reduce((s, a) => historyReducer(s, a), h)

describe('history', () => {
  it('edits with one merge key within 500 ms are one undo step; others are separate', () => {
    let h = createHistory<Doc>({ text: '', clip: null })
    h = run(
      h,
      { type: 'edit', update: (d) => ({ ...d, text: 'a' }), mergeKey: 'k', now: 1000 },
      { type: 'edit', update: (d) => ({ ...d, text: 'ab' }), mergeKey: 'k', now: 1200 },
      { type: 'edit', update: (d) => ({ ...d, text: 'abc' }), mergeKey: 'k', now: 1900 },
    )
    expect(h.past.map((d) => d.text)).toEqual(['', 'ab'])
    h = run(h, { type: 'undo' }, { type: 'undo' })
    expect(h.present.text).toBe('')
    h = run(h, { type: 'redo' })
    expect(h.present.text).toBe('ab')
  })

  it('a record reaches every state and adds no undo step', () => {
    let h = createHistory<Doc>({ text: '', clip: null })
    h = run(
      h,
      { type: 'edit', update: (d) => ({ ...d, text: 'one' }) },
      { type: 'edit', update: (d) => ({ ...d, text: 'two' }) },
      { type: 'undo' },
    )
    const steps = h.past.length
    h = run(h, { type: 'record', update: (d) => ({ ...d, clip: 'job-1' }) })
    expect(h.past.length).toBe(steps)
    expect(h.present).toEqual({ text: 'one', clip: 'job-1' })
    h = run(h, { type: 'undo' })
    expect(h.present).toEqual({ text: '', clip: 'job-1' })
    h = run(h, { type: 'redo' }, { type: 'redo' })
    expect(h.present).toEqual({ text: 'two', clip: 'job-1' })
  })
})
