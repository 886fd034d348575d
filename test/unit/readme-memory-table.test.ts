// README.md's memory table is the engine's own figures (bench/memory-table.ts): a change to the
// catalog, the plans or the architectures' activation rules shows up here until the README
// is regenerated.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { memoryTable, TABLE_END, TABLE_START } from '../../bench/memory-table'
import { CATALOG } from '../../src/shared/catalog'

describe("README's memory table", () => {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
  it('lists every catalog model with the figures planNeeds gives today', () => {
    const from = readme.indexOf(TABLE_START)
    const to = readme.indexOf(TABLE_END)
    expect(from, `README.md has no "${TABLE_START}" section`).toBeGreaterThan(-1)
    expect(to).toBeGreaterThan(from)
    const table = readme.slice(from + TABLE_START.length, to).trim()
    expect(table, 'regenerate with: node --import tsx bench/memory-table.ts').toBe(memoryTable())
    for (const e of CATALOG) expect(table).toContain(`| ${e.title} |`)
  })
})
