// CLIP and T5 tokenizers on the real tokenizer files in ../shared/fixtures/tokenizers, against
// the public ids in SOURCES.md and the token ids diffusers used in reference/models.
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { PromptTokenizer } from '../../../src/main/engine'
import { missing, readJson, sharedPath } from './reference'

const clipDir = sharedPath('fixtures/tokenizers/clip')
const t5Dir = sharedPath('fixtures/tokenizers/t5')
const skip = missing(clipDir, t5Dir)

const hundredWords = Array.from(
  { length: 100 },
  (_, i) =>
    ['cinematic', 'wide', 'shot', 'of', 'a', 'lighthouse', 'at', 'dusk', 'waves', 'crash'][i % 10],
).join(' ')

describe.skipIf(skip)('CLIP tokenizer', () => {
  const clip = skip ? null! : PromptTokenizer.forPipeline(clipDir, 'animatediff')

  it('reproduces the public ids, padded to 77 with <|endoftext|>', () => {
    const r = clip.encode('a photo of a cat')
    expect(r.list.slice(0, 7)).toEqual([49406, 320, 1125, 539, 320, 2368, 49407])
    expect(r.list).toHaveLength(77)
    expect(new Set(r.list.slice(7))).toEqual(new Set([49407]))
    expect(r.truncated).toBe(false)
    expect(clip.encode('').list.slice(0, 2)).toEqual([49406, 49407])
  })

  it("matches the ids diffusers used for animatediff-tiny's prompt and negative prompt", () => {
    const meta = readJson<{
      input_ids: number[]
      negative_input_ids: number[]
      prompt: string
      negative_prompt: string
    }>(sharedPath('reference/models/animatediff-tiny/reference/meta.json'))
    expect(clip.encode(meta.prompt).list).toEqual(meta.input_ids.flat())
    expect(clip.encode(meta.negative_prompt).list).toEqual(meta.negative_input_ids.flat())
  })

  it('cuts a 100-word prompt at 77 tokens with EOS last and says it did', () => {
    const r = clip.encode(hundredWords)
    expect(r.list).toHaveLength(77)
    expect(r.list[0]).toBe(49406)
    expect(r.list[76]).toBe(49407)
    expect(r.list.slice(1, 76)).not.toContain(49407)
    expect(r.truncated).toBe(true)
    expect(r.promptTokens).toBe(100)
  })

  it('returns int64 or int32 ids as the text encoder asks', () => {
    expect(clip.encode('a cat', 'int64').ids).toBeInstanceOf(BigInt64Array)
    const i32 = clip.encode('a cat', 'int32').ids
    expect(i32).toBeInstanceOf(Int32Array)
    expect(Array.from(i32 as Int32Array).slice(0, 4)).toEqual([49406, 320, 2368, 49407])
  })

  it('reads vocab.json + merges.txt when there is no tokenizer.json', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dolly-clip-'))
    try {
      for (const f of ['vocab.json', 'merges.txt', 'tokenizer_config.json'])
        cpSync(join(clipDir, f), join(dir, f))
      const fromVocab = PromptTokenizer.forPipeline(dir, 'animatediff')
      for (const p of ['a photo of a cat', hundredWords, "it's a dog's life — 3 dogs!"]) {
        expect(fromVocab.encode(p).list).toEqual(clip.encode(p).list)
      }
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe.skipIf(skip)('T5 tokenizer', () => {
  const t5 = skip ? null! : PromptTokenizer.forPipeline(t5Dir, 'cogvideox')

  it('reproduces the public ids, padded to 226 with 0', () => {
    const r = t5.encode('Summary of the text.')
    expect(r.list.slice(0, 6)).toEqual([20698, 13, 8, 1499, 5, 1])
    expect(r.list).toHaveLength(226)
    expect(new Set(r.list.slice(6))).toEqual(new Set([0]))
  })

  it('matches the ids diffusers used for cogvideox-tiny', () => {
    const meta = readJson<{
      input_ids: number[]
      negative_input_ids: number[]
      prompt: string
      negative_prompt: string
    }>(sharedPath('reference/models/cogvideox-tiny/reference/meta.json'))
    expect(t5.encode(meta.prompt).list).toEqual(meta.input_ids.flat())
    expect(t5.encode(meta.negative_prompt).list).toEqual(meta.negative_input_ids.flat())
  })

  it('truncates to 226 with </s> last', () => {
    const long = Array.from({ length: 300 }, () => 'waves').join(' ')
    const r = t5.encode(long)
    expect(r.list).toHaveLength(226)
    expect(r.list[225]).toBe(1)
    expect(r.truncated).toBe(true)
  })

  it('explains what to add when only spiece.model is present', () => {
    const dir = mkdtempSync(join(tmpdir(), 'dolly-t5-'))
    try {
      cpSync(join(t5Dir, 'spiece.model'), join(dir, 'spiece.model'))
      expect(() => PromptTokenizer.forPipeline(dir, 'cogvideox')).toThrow(
        /only spiece\.model is present.*tokenizer\.json/,
      )
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

// each kind's tokenizer comes from its PIPELINES row (shared/render.ts), the one place the
// padded lengths are declared: diffusers' max_sequence_length per pipeline
describe.skipIf(skip)('the tokenizer a pipeline kind reads', () => {
  it.each([
    ['animatediff', clipDir, 'clip', 77],
    ['cogvideox', t5Dir, 't5', 226],
    ['cogvideox-i2v', t5Dir, 't5', 226],
    ['wan', t5Dir, 't5', 512],
    ['wan-i2v', t5Dir, 't5', 512],
    ['wan-fun-camera', t5Dir, 't5', 512],
  ] as const)('%s: %s padded to %i', (kind, dir, tokenizerKind, length) => {
    const tok = PromptTokenizer.forPipeline(dir, kind)
    expect([tok.kind, tok.maxLength]).toEqual([tokenizerKind, length])
    expect(tok.encode('a lighthouse at dusk').list).toHaveLength(length)
  })

  it('refuses a kind that reads no prompt (SVD)', () => {
    expect(() => PromptTokenizer.forPipeline(clipDir, 'svd')).toThrow(/reads no prompt/)
  })
})
