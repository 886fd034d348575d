// Reads an ONNX file's graph inputs, outputs and external-data files straight from the
// protobuf, without loading weights or creating a session: a model folder can be checked in
// milliseconds even when its UNet is gigabytes. Skips every other field by its length.
// Field numbers: onnx.proto (ModelProto.graph = 7; GraphProto.initializer = 5, input = 11,
// output = 12; TensorProto.name = 8, external_data = 13; ValueInfoProto.name = 1, type = 2).
import { closeSync, fstatSync, readSync } from 'node:fs'
import { openRegularFile } from '../files'

export type ElemType =
  | 'float32'
  | 'float16'
  | 'float64'
  | 'bfloat16'
  | 'int64'
  | 'int32'
  | 'int16'
  | 'int8'
  | 'uint8'
  | 'bool'
  | 'string'
  | 'unknown'

const ELEM: Record<number, ElemType> = {
  1: 'float32',
  2: 'uint8',
  3: 'int8',
  5: 'int16',
  6: 'int32',
  7: 'int64',
  8: 'string',
  9: 'bool',
  10: 'float16',
  11: 'float64',
  16: 'bfloat16',
}

export type ValueSignature = { name: string; type: ElemType; shape: (number | string | null)[] }
export type OnnxSignature = {
  inputs: ValueSignature[]
  outputs: ValueSignature[]
  /** Files named by initializers' external_data "location" entries. */
  externalFiles: string[]
}

export class OnnxReadError extends Error {}

/** A reader over a file (random access) or a buffer. */
class Source {
  private readonly fd: number
  readonly size: number
  constructor(private readonly path: string) {
    this.fd = openRegularFile(path, 'the ONNX graph')
    this.size = fstatSync(this.fd).size
  }
  close(): void {
    closeSync(this.fd)
  }
  read(pos: number, len: number): Buffer {
    if (pos + len > this.size)
      throw new OnnxReadError(
        `${this.path}: file is truncated (a field runs past the end at byte ${this.size})`,
      )
    const buf = Buffer.alloc(len)
    let got = 0
    while (got < len) {
      const n = readSync(this.fd, buf, got, len - got, pos + got)
      if (n <= 0) throw new OnnxReadError(`${this.path}: could not read bytes ${pos}..${pos + len}`)
      got += n
    }
    return buf
  }
  /** A varint at pos: [value, next position]. */
  varint(pos: number): [number, number] {
    const head = this.read(pos, Math.min(10, this.size - pos))
    let v = 0
    let mul = 1
    for (let i = 0; i < head.length; i++) {
      const b = head[i]!
      v += (b & 0x7f) * mul
      mul *= 128
      if (!(b & 0x80)) return [v, pos + i + 1]
    }
    throw new OnnxReadError(
      `${this.path}: malformed varint at byte ${pos} (not an ONNX file, or truncated)`,
    )
  }
}

type Field = { no: number; wire: number; start: number; end: number; value: number }

/** Iterates the fields of a message spanning [start, end). */
function* fields(src: Source, start: number, end: number): Generator<Field> {
  let pos = start
  while (pos < end) {
    const [key, p1] = src.varint(pos)
    const no = Math.floor(key / 8)
    const wire = key & 7
    if (no === 0) throw new OnnxReadError('field number 0: not an ONNX file')
    if (wire === 0) {
      const [v, p2] = src.varint(p1)
      yield { no, wire, start: p1, end: p2, value: v }
      pos = p2
    } else if (wire === 2) {
      const [len, p2] = src.varint(p1)
      if (p2 + len > end || p2 + len > src.size) {
        throw new OnnxReadError(
          `file is truncated or corrupt (a field of ${len} bytes at byte ${p2} runs past its end)`,
        )
      }
      yield { no, wire, start: p2, end: p2 + len, value: len }
      pos = p2 + len
    } else if (wire === 1) {
      pos = p1 + 8
    } else if (wire === 5) {
      pos = p1 + 4
    } else {
      throw new OnnxReadError(
        `unsupported protobuf wire type ${wire} at byte ${pos}: not an ONNX file`,
      )
    }
  }
  if (pos !== end) throw new OnnxReadError('file is truncated or corrupt')
}

function text(src: Source, f: Field): string {
  return src.read(f.start, f.end - f.start).toString('utf8')
}

function valueInfo(src: Source, f: Field): ValueSignature {
  let name = ''
  let type: ElemType = 'unknown'
  const shape: (number | string | null)[] = []
  for (const v of fields(src, f.start, f.end)) {
    if (v.no === 1 && v.wire === 2) name = text(src, v)
    else if (v.no === 2 && v.wire === 2) {
      for (const t of fields(src, v.start, v.end)) {
        if (t.no !== 1 || t.wire !== 2) continue // tensor_type
        for (const tt of fields(src, t.start, t.end)) {
          if (tt.no === 1 && tt.wire === 0) type = ELEM[tt.value] ?? 'unknown'
          else if (tt.no === 2 && tt.wire === 2) {
            for (const d of fields(src, tt.start, tt.end)) {
              if (d.no !== 1 || d.wire !== 2) continue
              let dim: number | string | null = null
              for (const dv of fields(src, d.start, d.end)) {
                if (dv.no === 1 && dv.wire === 0) dim = dv.value
                else if (dv.no === 2 && dv.wire === 2) dim = text(src, dv)
              }
              shape.push(dim)
            }
          }
        }
      }
    }
  }
  return { name, type, shape }
}

/** Reads the signature of the ONNX file at `path`. Throws OnnxReadError naming the file. */
export function readOnnxSignature(path: string): OnnxSignature {
  let src: Source
  try {
    src = new Source(path)
  } catch (err) {
    throw new OnnxReadError(
      `${path}: cannot be opened (${(err as NodeJS.ErrnoException).code ?? err})`,
    )
  }
  try {
    if (src.size === 0) throw new OnnxReadError(`${path}: file is empty`)
    const inputs: ValueSignature[] = []
    const outputs: ValueSignature[] = []
    const initializers = new Set<string>()
    const external = new Set<string>()
    let sawGraph = false
    for (const f of fields(src, 0, src.size)) {
      if (f.no !== 7 || f.wire !== 2) continue
      sawGraph = true
      for (const g of fields(src, f.start, f.end)) {
        if (g.no === 11 && g.wire === 2) inputs.push(valueInfo(src, g))
        else if (g.no === 12 && g.wire === 2) outputs.push(valueInfo(src, g))
        else if (g.no === 5 && g.wire === 2) {
          for (const t of fields(src, g.start, g.end)) {
            if (t.no === 8 && t.wire === 2) initializers.add(text(src, t))
            else if (t.no === 13 && t.wire === 2) {
              let key = ''
              let value = ''
              for (const kv of fields(src, t.start, t.end)) {
                if (kv.no === 1 && kv.wire === 2) key = text(src, kv)
                else if (kv.no === 2 && kv.wire === 2) value = text(src, kv)
              }
              if (key === 'location' && value) external.add(value)
            }
          }
        }
      }
    }
    if (!sawGraph) throw new OnnxReadError(`${path}: no graph found (not an ONNX model)`)
    // Before IR v4 initializers were also listed as inputs; they are not inputs to feed.
    return {
      inputs: inputs.filter((i) => !initializers.has(i.name)),
      outputs,
      externalFiles: [...external],
    }
  } catch (err) {
    if (err instanceof OnnxReadError && !err.message.startsWith(path))
      throw new OnnxReadError(`${path}: ${err.message}`)
    throw err
  } finally {
    src.close()
  }
}
