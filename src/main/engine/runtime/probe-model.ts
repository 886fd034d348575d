// A minimal ONNX model (Y = Identity(X), float32 [1]) encoded by hand, so the engine can
// prove an execution provider really creates and runs a session without shipping a file.
// Field numbers are from onnx.proto (ModelProto, GraphProto, NodeProto, ValueInfoProto).

function varint(n: number): number[] {
  const out: number[] = []
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80)
    n = Math.floor(n / 128)
  }
  out.push(n)
  return out
}

function field(no: number, wireType: 0 | 2, payload: number[] | number): number[] {
  const key = varint((no << 3) | wireType)
  if (wireType === 0) return [...key, ...varint(payload as number)]
  const bytes = payload as number[]
  return [...key, ...varint(bytes.length), ...bytes]
}

const str = (s: string) => Array.from(new TextEncoder().encode(s))

function valueInfo(name: string): number[] {
  const dim = field(1, 0, 1) // dim_value: 1
  const shape = field(1, 2, dim) // TensorShapeProto.dim
  const tensorType = [...field(1, 0, 1 /* FLOAT */), ...field(2, 2, shape)]
  const type = field(1, 2, tensorType) // TypeProto.tensor_type
  return [...field(1, 2, str(name)), ...field(2, 2, type)]
}

export function identityModelBytes(): Uint8Array {
  const node = [...field(1, 2, str('X')), ...field(2, 2, str('Y')), ...field(4, 2, str('Identity'))]
  const graph = [
    ...field(1, 2, node),
    ...field(2, 2, str('probe')),
    ...field(11, 2, valueInfo('X')),
    ...field(12, 2, valueInfo('Y')),
  ]
  const opset = [...field(1, 2, []), ...field(2, 0, 13)]
  const model = [...field(1, 0, 8 /* ir_version */), ...field(8, 2, opset), ...field(7, 2, graph)]
  return Uint8Array.from(model)
}
