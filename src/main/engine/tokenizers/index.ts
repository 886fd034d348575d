// Prompt tokenizers for the text encoders, read from a model folder's tokenizer/ with
// @huggingface/tokenizers, padded and truncated as the diffusers pipelines call them:
//   CLIP (SD1.5 / AnimateDiff): tokenizer(prompt, padding="max_length", max_length=N,
//     truncation=True): BOS, at most N - 2 tokens, EOS, then the config's pad token.
//   T5 (CogVideoX, Wan): the same with the pipeline's max_sequence_length (not the tokenizer's
//     model_max_length), `</s>` last, padded with id 0.
// N is each kind's PIPELINES tokenizer.maxTokens (shared/render.ts): PromptTokenizer.forPipeline.
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { Tokenizer } from '@huggingface/tokenizers'
import { PIPELINES, type PipelineFacts, type PipelineKind } from '../../../shared/render'
import { readTextFile, UnreadableFileError } from '../files'

export type TokenizerKind = NonNullable<PipelineFacts['tokenizer']>['kind']
export type IdsDtype = 'int64' | 'int32'

export type Tokenized = {
  ids: BigInt64Array | Int32Array
  /** Tokens of the prompt itself before truncation (no BOS/EOS). */
  promptTokens: number
  /** True when the prompt was cut to fit. */
  truncated: boolean
  /** The ids as plain numbers, for traces and tests. */
  list: number[]
}

export class TokenizerError extends Error {}

type Json = Record<string, unknown>

function readJson(path: string): Json {
  try {
    const text = readTextFile(path, 'the tokenizer file')
    return JSON.parse(text) as Json
  } catch (err) {
    if (err instanceof UnreadableFileError) throw new TokenizerError(err.message)
    throw new TokenizerError(
      `${path}: not valid JSON (${err instanceof Error ? err.message : err})`,
    )
  }
}

/** A token's text from tokenizer_config.json / special_tokens_map.json (string or AddedToken). */
function tokenText(v: unknown): string | null {
  if (typeof v === 'string') return v
  if (v && typeof v === 'object' && typeof (v as Json)['content'] === 'string')
    return (v as Json)['content'] as string
  return null
}

/**
 * CLIP's tokenizer.json, rebuilt from vocab.json + merges.txt (the layout of older SD
 * checkpoints): the normaliser, pre-tokeniser and BPE settings of openai/clip-vit-large-patch14.
 */
function clipJsonFromVocab(dir: string): Json {
  const vocab = readJson(join(dir, 'vocab.json'))
  const merges = readTextFile(join(dir, 'merges.txt'), 'the tokenizer file')
    .split('\n')
    .filter((l, i) => l.trim() && !(i === 0 && l.startsWith('#version')))
  return clipTokenizerJson(vocab, merges, join(dir, 'vocab.json'))
}

/**
 * CLIP's tokenizer.json (normaliser, pre-tokeniser, specials, BPE with </w>) around a
 * vocabulary and merges; `where` names the vocabulary in errors.
 */
export function clipTokenizerJson(vocab: Json, merges: string[], where: string): Json {
  const id = (t: string) => {
    const v = vocab[t]
    if (typeof v !== 'number') throw new TokenizerError(`${where}: no "${t}" token`)
    return v
  }
  const special = (content: string) => ({
    id: id(content),
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: true,
  })
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: [special('<|startoftext|>'), special('<|endoftext|>')],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'NFC' },
        { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
        { type: 'Lowercase' },
      ],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: {
            Regex:
              "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
          },
          behavior: 'Removed',
          invert: true,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
      ],
    },
    post_processor: {
      type: 'RobertaProcessing',
      sep: ['<|endoftext|>', id('<|endoftext|>')],
      cls: ['<|startoftext|>', id('<|startoftext|>')],
      trim_offsets: false,
      add_prefix_space: false,
    },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<|endoftext|>',
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      byte_fallback: false,
      vocab,
      merges,
    },
  }
}

export class PromptTokenizer {
  readonly kind: TokenizerKind
  readonly maxLength: number
  readonly bosId: number | null
  readonly eosId: number
  readonly padId: number
  private readonly tok: Tokenizer

  private constructor(
    kind: TokenizerKind,
    tok: Tokenizer,
    maxLength: number,
    bos: number | null,
    eos: number,
    pad: number,
  ) {
    this.kind = kind
    this.tok = tok
    this.maxLength = maxLength
    this.bosId = bos
    this.eosId = eos
    this.padId = pad
  }

  /**
   * Opens a pipeline kind's tokenizer in `dir` (a model's tokenizer/ folder): the kind and the
   * padded length its facts name (PIPELINES' tokenizer: the pipeline's max_sequence_length).
   */
  static forPipeline(dir: string, pipeline: PipelineKind): PromptTokenizer {
    const t = PIPELINES[pipeline].tokenizer
    if (!t) throw new TokenizerError(`${PIPELINES[pipeline].label} reads no prompt`)
    return PromptTokenizer.fromFolder(dir, t.kind, t.maxTokens)
  }

  /** Opens `dir` (a model's tokenizer/ folder), padding to `maxLength` tokens. */
  static fromFolder(dir: string, kind: TokenizerKind, maxLength: number): PromptTokenizer {
    const has = (f: string) => existsSync(join(dir, f))
    const config = has('tokenizer_config.json') ? readJson(join(dir, 'tokenizer_config.json')) : {}
    const specials = has('special_tokens_map.json')
      ? readJson(join(dir, 'special_tokens_map.json'))
      : {}
    let json: Json
    if (has('tokenizer.json')) json = readJson(join(dir, 'tokenizer.json'))
    else if (kind === 'clip' && has('vocab.json') && has('merges.txt'))
      json = clipJsonFromVocab(dir)
    else if (kind === 't5' && has('spiece.model')) {
      throw new TokenizerError(
        `${dir}: only spiece.model is present, which @huggingface/tokenizers cannot read; add the tokenizer.json that transformers' T5TokenizerFast saves (save_pretrained) beside it`,
      )
    } else {
      throw new TokenizerError(
        `${dir}: no tokenizer files; expected tokenizer.json${kind === 'clip' ? ', or vocab.json and merges.txt' : ''}`,
      )
    }
    let tok: Tokenizer
    try {
      tok = new Tokenizer(json as never, config as never)
    } catch (err) {
      throw new TokenizerError(
        `${dir}: tokenizer files could not be read (${err instanceof Error ? err.message : err})`,
      )
    }
    const idOf = (key: string, fallback: string): number => {
      const text = tokenText(config[key]) ?? tokenText(specials[key]) ?? fallback
      const id = tok.token_to_id(text)
      if (id === undefined)
        throw new TokenizerError(`${dir}: ${key} "${text}" is not in the vocabulary`)
      return id
    }
    if (kind === 'clip') {
      return new PromptTokenizer(
        kind,
        tok,
        maxLength,
        idOf('bos_token', '<|startoftext|>'),
        idOf('eos_token', '<|endoftext|>'),
        idOf('pad_token', '<|endoftext|>'),
      )
    }
    return new PromptTokenizer(
      kind,
      tok,
      maxLength,
      null,
      idOf('eos_token', '</s>'),
      idOf('pad_token', '<pad>'),
    )
  }

  /** Token ids for one prompt, padded/truncated to maxLength, in the dtype the encoder takes. */
  encode(prompt: string, dtype: IdsDtype = 'int64'): Tokenized {
    if (typeof prompt !== 'string') throw new TokenizerError('the prompt must be text')
    const body = this.tok.encode(prompt, { add_special_tokens: false }).ids as number[]
    const room = this.maxLength - (this.bosId === null ? 1 : 2)
    const kept = body.slice(0, room)
    const list = [...(this.bosId === null ? [] : [this.bosId]), ...kept, this.eosId]
    while (list.length < this.maxLength) list.push(this.padId)
    const ids =
      dtype === 'int64' ? BigInt64Array.from(list, (v) => BigInt(v)) : Int32Array.from(list)
    return { ids, list, promptTokens: body.length, truncated: body.length > room }
  }
}
