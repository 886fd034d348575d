// Undo/redo for the project document: every edit is a new document; edits that share a merge
// key within 500 ms (typing in a field, scrubbing a slider) become one undo step, as the
// three.js editor merges repeated edits to one object. A gesture (a drag from pointer down to
// pointer up) has its own key: all of it is one step however long it pauses, and the next drag
// is another step however soon it starts.

export type History<T> = {
  past: T[]
  present: T
  future: T[]
  lastKey: string | null
  lastAt: number
}

export function createHistory<T>(present: T): History<T> {
  return { past: [], present, future: [], lastKey: null, lastAt: 0 }
}

export type HistoryAction<T> =
  | { type: 'edit'; update: (doc: T) => T; mergeKey?: string; now?: number }
  | { type: 'undo' }
  | { type: 'redo' }
  | { type: 'reset'; doc: T }
  /**
   * A fact, not an edit (a render finished for a shot): applied to every document in the
   * history, so undo and redo never lose it, and it adds no undo step.
   */
  | { type: 'record'; update: (doc: T) => T }

const MERGE_MS = 500
const LIMIT = 200
const GESTURE = 'gesture:'

let gestures = 0
/** A new gesture's merge key: call it on pointer down, pass it with every edit until pointer up. */
export function gestureKey(what: string): string {
  return `${GESTURE}${++gestures}:${what}`
}

export function historyReducer<T>(h: History<T>, a: HistoryAction<T>): History<T> {
  switch (a.type) {
    case 'edit': {
      const next = a.update(h.present)
      if (next === h.present) return h
      const now = a.now ?? Date.now()
      const merge =
        a.mergeKey !== undefined &&
        a.mergeKey === h.lastKey &&
        (a.mergeKey.startsWith(GESTURE) || now - h.lastAt < MERGE_MS)
      return {
        past: merge ? h.past : [...h.past, h.present].slice(-LIMIT),
        present: next,
        future: [],
        lastKey: a.mergeKey ?? null,
        lastAt: now,
      }
    }
    case 'undo': {
      if (!h.past.length) return h
      return {
        past: h.past.slice(0, -1),
        present: h.past[h.past.length - 1]!,
        future: [h.present, ...h.future],
        lastKey: null,
        lastAt: 0,
      }
    }
    case 'redo': {
      if (!h.future.length) return h
      return {
        past: [...h.past, h.present],
        present: h.future[0]!,
        future: h.future.slice(1),
        lastKey: null,
        lastAt: 0,
      }
    }
    case 'reset':
      return createHistory(a.doc)
    case 'record':
      return {
        ...h,
        past: h.past.map(a.update),
        present: a.update(h.present),
        future: h.future.map(a.update),
      }
  }
}
