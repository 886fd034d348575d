// Wan's prompt cleaning against Python: test/data/prompt-clean.json holds diffusers'
// prompt_clean() and ftfy.fix_text() of a corpus of prompts, run with the real ftfy, plus
// probes of ftfy's regexes and of html.unescape (written by tools/reference/prompt_clean.py).
import { describe, expect, it } from 'vitest'
import { resolve } from 'node:path'
import { promptClean } from '../../../src/main/engine'
import {
  ftfyFixText,
  ftfyHtmlEntities,
  ftfyUnescapeHtml,
  htmlUnescape,
  LIGATURES,
  WIDTH_MAP,
} from '../../../src/main/engine/tokenizers/prompt-clean'
import {
  BADNESS_RE,
  HTML5_ENTITIES,
  UTF8_DETECTOR_RE,
} from '../../../src/main/engine/tokenizers/ftfy-tables'
import { readJson } from './reference'

type Data = {
  ftfy: string
  cases: { label: string; input: string; fix_text: string; prompt_clean: string }[]
  fuzz: [string, string][]
  probes: {
    badness: [string, number][]
    utf8_detector: [string, [number, number][]][]
    html_unescape: [string, string][]
    ftfy_unescape_html: [string, string][]
  }
  tables: {
    ftfy_uppercase_entities: Record<string, string>
    width_map: Record<string, string>
    ligatures: Record<string, string>
  }
}

const data = readJson<Data>(resolve(__dirname, '../../data/prompt-clean.json'))

/** Python's str offsets count code points; JS match indices count UTF-16 units. */
function codePointIndex(s: string, utf16: number): number {
  return Array.from(s.slice(0, utf16)).length
}

describe(`promptClean equals diffusers' prompt_clean (ftfy ${data.ftfy})`, () => {
  it('has a corpus', () => expect(data.cases.length).toBeGreaterThanOrEqual(60))
  for (const c of data.cases) {
    it(c.label, () => {
      expect(ftfyFixText(c.input), 'ftfy.fix_text').toBe(c.fix_text)
      expect(promptClean(c.input), 'prompt_clean').toBe(c.prompt_clean)
    })
  }
})

describe('promptClean on random mixes of words, entities and mojibake', () => {
  it('equals prompt_clean on every one', () => {
    expect(data.fuzz.length).toBeGreaterThanOrEqual(100)
    const got = data.fuzz.map(([s]) => [s, promptClean(s)])
    expect(got).toEqual(data.fuzz)
  })
})

describe("ftfy's mojibake regexes and html.unescape, probe by probe", () => {
  it('BADNESS_RE finds as many matches as in Python', () => {
    const wrong = data.probes.badness.filter(
      ([s, n]) => (s.match(new RegExp(BADNESS_RE.source, 'gu')) ?? []).length !== n,
    )
    expect(wrong).toEqual([])
  })

  it('UTF8_DETECTOR_RE matches the same spans as in Python', () => {
    const wrong = data.probes.utf8_detector.filter(([s, spans]) => {
      const got = [...s.matchAll(UTF8_DETECTOR_RE)].map((m) => [
        codePointIndex(s, m.index!),
        codePointIndex(s, m.index! + m[0].length),
      ])
      return JSON.stringify(got) !== JSON.stringify(spans)
    })
    expect(wrong).toEqual([])
  })

  it('htmlUnescape equals html.unescape', () => {
    const got = data.probes.html_unescape.map(([s]) => [s, htmlUnescape(s)])
    expect(got).toEqual(data.probes.html_unescape)
  })

  it("ftfyUnescapeHtml equals ftfy's fixes.unescape_html", () => {
    const got = data.probes.ftfy_unescape_html.map(([s]) => [s, ftfyUnescapeHtml(s)])
    expect(got).toEqual(data.probes.ftfy_unescape_html)
  })
})

describe("ftfy's derived tables", () => {
  it('the all-caps entities ftfy adds (&EACUTE;)', () => {
    const extras = Object.fromEntries(
      [...ftfyHtmlEntities()].filter(([k]) => !Object.hasOwn(HTML5_ENTITIES, k.slice(1))),
    )
    expect(extras).toEqual(data.tables.ftfy_uppercase_entities)
  })

  it('the width map (NFKC of the half- and full-width forms)', () => {
    const want = new Map(
      Object.entries(data.tables.width_map).map(([k, v]) => [String.fromCodePoint(+k), v]),
    )
    expect(new Map(WIDTH_MAP)).toEqual(want)
  })

  it('the ligatures', () => {
    const want = new Map(
      Object.entries(data.tables.ligatures).map(([k, v]) => [String.fromCodePoint(+k), v]),
    )
    expect(new Map(LIGATURES)).toEqual(want)
  })
})
