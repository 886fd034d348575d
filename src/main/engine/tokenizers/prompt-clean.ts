// Wan's prompt cleaning, as diffusers' pipelines/wan/pipeline_wan.py runs it on every prompt
// before the UMT5 tokenizer (https://github.com/huggingface/diffusers/blob/main/src/diffusers/pipelines/wan/pipeline_wan.py):
//   prompt_clean(text) = whitespace_clean(basic_clean(text))
//   basic_clean(text)  = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
//   whitespace_clean   = re.sub(r"\s+", " ", text).strip()
// The embeddings depend on the exact text, so this reproduces ftfy 6.3's fix_text with its
// defaults (https://github.com/rspeer/python-ftfy, ftfy/__init__.py and fixes.py): per line,
// until nothing changes: unescape HTML entities (skipped from the first line holding '<'),
// fix mojibake (UTF-8 read as Latin-1 / Windows-125x / MacRoman / cp437, found by ftfy's
// "badness" heuristic), C1 controls as Windows-1252, Latin ligatures, full-width characters,
// curly quotes, line breaks, lone surrogates, terminal escapes, control characters, then NFC.
// The facts (entity table, codecs, ftfy's regexes) are generated into ./ftfy-tables.ts by
// tools/reference/prompt_clean.py; test/data/prompt-clean.json holds Python's outputs.
//
// Not reproduced exactly:
// - Unicode versions: Python 3.11 uses Unicode 14, Node its ICU's (15.1 for Node 20). NFC,
//   NFKC (the width map) and \p{L} / \p{N} (Python's \w) can differ for characters assigned
//   after Unicode 14.
// - utf-8-variants' `$` quirk: its CESU-8 pattern also matches before a final '\n', decoding a
//   truncated surrogate pair at the very end of a line; here a truncated pair fails to decode.
import {
  A_GRAVE_WORD_RE,
  ALTERED_UTF8_RE,
  BADNESS_RE,
  CHARMAP_ENCODINGS,
  CHARMAP_UPPER,
  HTML5_ENTITIES,
  LOSSY_UTF8_RE,
  PY_WHITESPACE,
  UTF8_DETECTOR_RE,
} from './ftfy-tables'

type Encoding = (typeof CHARMAP_ENCODINGS)[number]

/** ftfy's max_decode_length: lines longer than this many code points are fixed in pieces. */
const MAX_DECODE_LENGTH = 1_000_000

// --- Python's str.strip() and re's \s -----------------------------------------------------------

const PY_SPACE = new Set(PY_WHITESPACE)
const PY_SPACE_RUN = new RegExp(`[${PY_WHITESPACE}]+`, 'g')

/** str.strip(): Python's whitespace (all of it in the BMP), not String.prototype.trim's. */
export function pyStrip(s: string): string {
  let a = 0
  let b = s.length
  while (a < b && PY_SPACE.has(s[a]!)) a++
  while (b > a && PY_SPACE.has(s[b - 1]!)) b--
  return s.slice(a, b)
}

// --- html.unescape (Python's, HTML5 rules) ------------------------------------------------------

const has = (o: object, k: string) => Object.prototype.hasOwnProperty.call(o, k)

// Python's html._charref: names count code points, hence the u flag
const CHARREF = /&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)/gu

/** html._invalid_charrefs: NUL, CR and 0x80-0x9F read as Windows-1252 (undefined ones kept). */
function invalidCharref(n: number): string | undefined {
  if (n === 0) return '\ufffd'
  if (n === 0x0d) return '\r'
  if (n >= 0x80 && n <= 0x9f) return CHARMAP_UPPER['sloppy-windows-1252'][n - 0x80]
  return undefined
}

/** html._invalid_codepoints: controls, noncharacters; such references become ''. */
function invalidCodepoint(n: number): boolean {
  return (
    (n >= 0x1 && n <= 0x8) ||
    n === 0xb ||
    (n >= 0xe && n <= 0x1f) ||
    (n >= 0x7f && n <= 0x9f) ||
    (n >= 0xfdd0 && n <= 0xfdef) ||
    (n & 0xfffe) === 0xfffe
  )
}

function replaceCharref(ref: string): string {
  if (ref[0] === '#') {
    const hex = ref[1] === 'x' || ref[1] === 'X'
    const digits = ref.slice(hex ? 2 : 1).replace(/;$/, '')
    const n = parseInt(digits, hex ? 16 : 10) // huge values only need to stay > 0x10FFFF
    const fixed = invalidCharref(n)
    if (fixed !== undefined) return fixed
    if ((n >= 0xd800 && n <= 0xdfff) || n > 0x10ffff) return '\ufffd'
    if (invalidCodepoint(n)) return ''
    return String.fromCodePoint(n)
  }
  if (has(HTML5_ENTITIES, ref)) return HTML5_ENTITIES[ref]!
  // the longest known prefix, as the standard says for names without ';' (&copy2024)
  const cps = Array.from(ref)
  for (let x = cps.length - 1; x > 1; x--) {
    const prefix = cps.slice(0, x).join('')
    if (has(HTML5_ENTITIES, prefix)) return HTML5_ENTITIES[prefix] + cps.slice(x).join('')
  }
  return '&' + ref
}

/** Python's html.unescape. */
export function htmlUnescape(s: string): string {
  if (!s.includes('&')) return s
  return s.replace(CHARREF, (_m, ref: string) => replaceCharref(ref))
}

// --- ftfy's fixers -------------------------------------------------------------------------------

let ftfyEntities: Map<string, string> | null = null

/**
 * ftfy's HTML_ENTITIES: the HTML5 names that end in ';', plus an all-caps spelling of each
 * lowercase one that HTML does not define (&EACUTE; -> É).
 */
export function ftfyHtmlEntities(): Map<string, string> {
  if (ftfyEntities) return ftfyEntities
  const m = new Map<string, string>()
  for (const [name, value] of Object.entries(HTML5_ENTITIES)) {
    if (!name.endsWith(';')) continue
    m.set('&' + name, value)
    if (name === name.toLowerCase()) {
      const upper = '&' + name.toUpperCase()
      if (htmlUnescape(upper) === upper) m.set(upper, value.toUpperCase())
    }
  }
  return (ftfyEntities = m)
}

const HTML_ENTITY_RE = /&#?[0-9A-Za-z]{1,24};/g

/** fixes.unescape_html: named entities from ftfy's table, numeric ones only when they end. */
export function ftfyUnescapeHtml(text: string): string {
  const entities = ftfyHtmlEntities()
  return text.replace(HTML_ENTITY_RE, (m) => {
    const known = entities.get(m)
    if (known !== undefined) return known
    if (m.startsWith('&#')) {
      const u = htmlUnescape(m)
      return u.includes(';') ? m : u
    }
    return m
  })
}

/** ftfy's LIGATURES: letter pairs Unicode encodes as one character. */
export const LIGATURES: ReadonlyMap<string, string> = new Map([
  ['\u0132', 'IJ'], // Dutch
  ['\u0133', 'ij'],
  ['\u0149', '\u02bcn'], // Afrikaans
  ['\u01f1', 'DZ'], // Serbian / Croatian digraphs
  ['\u01f2', 'Dz'],
  ['\u01f3', 'dz'],
  ['\u01c4', 'D\u017d'],
  ['\u01c5', 'D\u017e'],
  ['\u01c6', 'd\u017e'],
  ['\u01c7', 'LJ'],
  ['\u01c8', 'Lj'],
  ['\u01c9', 'lj'],
  ['\u01ca', 'NJ'],
  ['\u01cb', 'Nj'],
  ['\u01cc', 'nj'],
  ['\ufb00', 'ff'], // typographic
  ['\ufb01', 'fi'],
  ['\ufb02', 'fl'],
  ['\ufb03', 'ffi'],
  ['\ufb04', 'ffl'],
  ['\ufb05', '\u017ft'],
  ['\ufb06', 'st'],
])
const LIGATURE_RE = new RegExp(`[${[...LIGATURES.keys()].join('')}]`, 'g')

/** ftfy's WIDTH_MAP: the ideographic space and every U+FF01..U+FFEF that NFKC changes. */
export const WIDTH_MAP: ReadonlyMap<string, string> = (() => {
  const m = new Map<string, string>([['\u3000', ' ']])
  for (let cp = 0xff01; cp < 0xfff0; cp++) {
    const c = String.fromCharCode(cp)
    const alt = c.normalize('NFKC')
    if (alt !== c) m.set(c, alt)
  }
  return m
})()

/* eslint-disable no-control-regex -- these match control characters on purpose */
const C1_RE = /[\x80-\x9f]/g
const ANSI_RE = /\x1b\[((?:\p{Nd}|;)*)([a-zA-Z])/gu
const CONTROL_RE = /[\x00-\x08\x0b\x0e-\x1f\x7f\u206a-\u206f\ufeff\ufff9-\ufffc]/g
const ASCII_RE = /^[\x00-\x7f]*$/
/* eslint-enable no-control-regex */
const LONE_SURROGATE_RE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g

const SLOPPY_1252 = CHARMAP_UPPER['sloppy-windows-1252']

/** fixes.fix_c1_controls: a C1 control is almost always a Windows-1252 byte read as Latin-1. */
function fixC1Controls(text: string): string {
  return text.replace(C1_RE, (c) => SLOPPY_1252[c.charCodeAt(0) - 0x80]!)
}

function fixLineBreaks(text: string): string {
  return text
    .replaceAll('\r\n', '\n')
    .replaceAll('\r', '\n')
    .replaceAll('\u2028', '\n')
    .replaceAll('\u2029', '\n')
    .replaceAll('\u0085', '\n')
}

// --- fix_encoding: undoing mojibake ------------------------------------------------------------

/** Per encoding: character -> byte, for the characters the encoding can produce. */
const CHAR_TO_BYTE: ReadonlyMap<Encoding, ReadonlyMap<string, number>> = new Map(
  CHARMAP_ENCODINGS.map((enc) => {
    const m = new Map<string, number>()
    for (let b = 0; b < 0x80; b++) m.set(String.fromCharCode(b), b)
    if (enc.startsWith('sloppy')) {
      m.delete('\x1a') // ftfy's sloppy codecs decode 0x1A as U+FFFD
      m.set('\ufffd', 0x1a)
    }
    Array.from(CHARMAP_UPPER[enc]).forEach((c, i) => m.set(c, 0x80 + i))
    return [enc, m]
  }),
)

const isBad = (text: string) => text.search(BADNESS_RE) >= 0

/** The bytes of `text` in a single-byte encoding, as a latin1 string; null when it does not fit. */
function encode(text: string, enc: Encoding): string | null {
  const table = CHAR_TO_BYTE.get(enc)!
  let out = ''
  for (const c of text) {
    const b = table.get(c)
    if (b === undefined) return null
    out += String.fromCharCode(b)
  }
  return out
}

/**
 * Strict UTF-8 (Python's codec: no overlongs, surrogates or truncated sequences) of a latin1
 * byte string; with `variants`, ftfy's utf-8-variants also reads C0 80 as NUL and CESU-8
 * surrogate pairs as the character they encode. null where Python raises UnicodeDecodeError.
 */
function decodeUtf8(bytes: string, variants: boolean): string | null {
  const b = (i: number) => (i < bytes.length ? bytes.charCodeAt(i) : -1)
  const cont = (i: number, lo = 0x80, hi = 0xbf) => b(i) >= lo && b(i) <= hi
  let out = ''
  let i = 0
  while (i < bytes.length) {
    const c = b(i)
    if (variants && c === 0xc0 && b(i + 1) === 0x80) {
      out += '\0'
      i += 2
    } else if (
      variants &&
      c === 0xed &&
      cont(i + 1, 0xa0, 0xaf) &&
      cont(i + 2) &&
      b(i + 3) === 0xed &&
      cont(i + 4, 0xb0, 0xbf) &&
      cont(i + 5)
    ) {
      const cp =
        ((b(i + 1) & 0x0f) << 16) +
        ((b(i + 2) & 0x3f) << 10) +
        ((b(i + 4) & 0x0f) << 6) +
        (b(i + 5) & 0x3f) +
        0x10000
      out += String.fromCodePoint(cp)
      i += 6
    } else if (c < 0x80) {
      out += String.fromCharCode(c)
      i += 1
    } else if (c >= 0xc2 && c <= 0xdf && cont(i + 1)) {
      out += String.fromCharCode(((c & 0x1f) << 6) | (b(i + 1) & 0x3f))
      i += 2
    } else if (
      c >= 0xe0 &&
      c <= 0xef &&
      cont(i + 1, c === 0xe0 ? 0xa0 : 0x80, c === 0xed ? 0x9f : 0xbf) &&
      cont(i + 2)
    ) {
      out += String.fromCharCode(((c & 0x0f) << 12) | ((b(i + 1) & 0x3f) << 6) | (b(i + 2) & 0x3f))
      i += 3
    } else if (
      c >= 0xf0 &&
      c <= 0xf4 &&
      cont(i + 1, c === 0xf0 ? 0x90 : 0x80, c === 0xf4 ? 0x8f : 0xbf) &&
      cont(i + 2) &&
      cont(i + 3)
    ) {
      out += String.fromCodePoint(
        ((c & 0x07) << 18) |
          ((b(i + 1) & 0x3f) << 12) |
          ((b(i + 2) & 0x3f) << 6) |
          (b(i + 3) & 0x3f),
      )
      i += 4
    } else return null
  }
  return out
}

/** fixes.restore_byte_a0: UTF-8 whose 0xA0 bytes (as in NBSP or à) were turned into spaces. */
function restoreByteA0(bytes: string): string {
  return bytes
    .replace(A_GRAVE_WORD_RE, '\xc3\xa0 ')
    .replace(ALTERED_UTF8_RE, (m) => m.replaceAll(' ', '\xa0'))
}

/** One round of ftfy's _fix_encoding_one_step_and_explain. */
function fixEncodingOneStep(text: string): string {
  if (text.length === 0 || ASCII_RE.test(text) || !isBad(text)) return text
  const possible: Encoding[] = []
  // Most likely: UTF-8 bytes that were decoded with a single-byte encoding.
  for (const enc of CHARMAP_ENCODINGS) {
    let bytes = encode(text, enc)
    if (bytes === null) continue
    possible.push(enc)
    if (enc !== 'macroman' && bytes.search(ALTERED_UTF8_RE) >= 0) bytes = restoreByteA0(bytes)
    if (enc.startsWith('sloppy')) bytes = bytes.replace(LOSSY_UTF8_RE, '\xef\xbf\xbd')
    const variants = bytes.includes('\xed') || bytes.includes('\xc0')
    const fixed = decodeUtf8(bytes, variants)
    if (fixed !== null) return fixed
  }
  // Runs of mojibake inside otherwise good text, fixed one by one.
  if (text.search(UTF8_DETECTOR_RE) >= 0) {
    const fixed = text.replace(UTF8_DETECTOR_RE, (m) =>
      m.length < text.length && isBad(m) ? fixEncoding(m) : m,
    )
    if (fixed !== text) return fixed
  }
  // ftfy next reads Latin-1 text's C1 controls as Windows-1252 when all of them are defined
  // there (its check for 'windows-1252' among the possible encodings never holds: the list has
  // the sloppy variant); that gives what fix_c1_controls gives, which also covers the rest.
  if (text.search(C1_RE) >= 0) return fixC1Controls(text)
  return text
}

/** ftfy.fix_encoding: fix mojibake until a round changes nothing. */
export function fixEncoding(text: string): string {
  for (;;) {
    const fixed = fixEncodingOneStep(text)
    if (fixed === text) return text
    text = fixed
  }
}

// --- fix_text ------------------------------------------------------------------------------------

/** ftfy's fix_and_explain on one segment (a line), with fix_text's defaults. */
function fixSegment(text: string, unescapeHtml: boolean): string {
  for (;;) {
    const orig = text
    if (unescapeHtml) text = ftfyUnescapeHtml(text)
    text = fixEncoding(text)
    text = fixC1Controls(text)
    text = text.replace(LIGATURE_RE, (c) => LIGATURES.get(c)!)
    text = text.replace(/[\u3000\uff01-\uffef]/g, (c) => WIDTH_MAP.get(c) ?? c)
    text = text.replace(/[\u201c-\u201f]/g, '"').replace(/[\u02bc\u2018-\u201b]/g, "'")
    text = fixLineBreaks(text)
    text = text.replace(LONE_SURROGATE_RE, '\ufffd')
    text = text.replace(ANSI_RE, '')
    text = text.replace(CONTROL_RE, '')
    text = text.normalize('NFC')
    if (text === orig) return text
  }
}

/** The end of a segment of at most `max` code points starting at `pos` (UTF-16 indices). */
function limitCodePoints(text: string, pos: number, end: number, max: number): number {
  if (end - pos <= max) return end
  let i = pos
  for (let n = 0; n < max && i < end; n++) i += text.codePointAt(i)! > 0xffff ? 2 : 1
  return i
}

/** ftfy.fix_text(text) with its default configuration. */
export function ftfyFixText(text: string): string {
  let unescapeHtml = true // 'auto': until a line contains '<', which looks like real HTML
  const out: string[] = []
  let pos = 0
  while (pos < text.length) {
    let end = text.indexOf('\n', pos) + 1
    if (end === 0) end = text.length
    end = limitCodePoints(text, pos, end, MAX_DECODE_LENGTH)
    const segment = text.slice(pos, end)
    if (unescapeHtml && segment.includes('<')) unescapeHtml = false
    out.push(fixSegment(segment, unescapeHtml))
    pos = end
  }
  return out.join('')
}

/** diffusers' Wan prompt_clean: ftfy, HTML unescaped twice, whitespace collapsed and stripped. */
export function promptClean(text: string): string {
  const basic = pyStrip(htmlUnescape(htmlUnescape(ftfyFixText(text))))
  return pyStrip(basic.replace(PY_SPACE_RUN, ' '))
}
