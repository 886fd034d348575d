// Undo/redo: merged edits, and records (a render finishing) that survive undo and redo.
import { describe, expect, it } from 'vitest'
import {
  createHistory,
  gestureKey,
  historyReducer,
  type HistoryAction,
} from '../../src/shared/history'

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

  it('a drag is one undo step however long it pauses; the next drag is another however soon', () => {
    let h = createHistory<Doc>({ text: '', clip: null })
    const first = gestureKey('drag:k1')
    const edit = (text: string, mergeKey: string, now: number): HistoryAction<Doc> => ({
      type: 'edit',
      update: (d) => ({ ...d, text }),
      mergeKey,
      now,
    })
    // a pause of 2 s in the middle of the drag
    h = run(h, edit('a', first, 1000), edit('ab', first, 1100), edit('abc', first, 3100))
    expect(h.past.map((d) => d.text)).toEqual([''])
    // the same keyframe dragged again 100 ms later
    const second = gestureKey('drag:k1')
    expect(second).not.toBe(first)
    h = run(h, edit('abcd', second, 3200))
    expect(h.past.map((d) => d.text)).toEqual(['', 'abc'])
    h = run(h, { type: 'undo' })
    expect(h.present.text).toBe('abc')
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
