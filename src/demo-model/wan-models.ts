// Tiny Wan models with the exact input/output names, ranks and dtypes of tools/export/wan.py's
// exports (see its docstring), built from real ops so every output depends on every input. The
// VAE decoder is causal like the real one: one chunk per call, the feature cache as inputs and
// outputs, the first chunk's latent frame giving one frame and every later one four.
import { GraphBuilder } from './onnx-builder'

type Opts = { seed?: number }

/** UMT5 encoder: input_ids, attention_mask int64 [B, 512] -> last_hidden_state [B, 512, D]. */
export function wanTextEncoder(o: Opts & { width?: number; vocab?: number } = {}): Uint8Array {
  const D = o.width ?? 8
  const V = o.vocab ?? 32128
  const L = 512
  const g = new GraphBuilder('text_encoder', o.seed ?? 211)
  const ids = g.input('input_ids', 'int64', ['batch', L])
  const mask = g.cast(g.input('attention_mask', 'int64', ['batch', L]), 'float32')
  let h = g.op('Gather', [g.weight([V, D], 1), ids], { axis: 0 })
  // masked mean over the tokens, mixed back into every row (tokens see each other)
  const m3 = g.op('Unsqueeze', [mask, g.constI64([2])])
  const pooled = g.op('Div', [
    g.op('ReduceSum', [g.op('Mul', [h, m3]), g.constI64([1])], { keepdims: 1 }),
    g.op('Add', [g.op('ReduceSum', [m3, g.constI64([1])], { keepdims: 1 }), g.scalarF(1e-3)]),
  ])
  h = g.op('Add', [h, g.linear(pooled, D, D)])
  h = g.linear(g.op('Tanh', [h]), D, D)
  g.output(h, 'last_hidden_state', 'float32', ['batch', L, D])
  return g.toBytes()
}

/**
 * WanTransformer3DModel: hidden_states [B, Cin, f, h, w], timestep float32 [B] (tokens: [B, n]),
 * encoder_hidden_states [B, 512, D] (+ encoder_hidden_states_image [B, 257, Di], control_camera
 * [1, 24, f, H, W]) -> out_hidden_states [B, Cout, f, h, w].
 */
export function wanTransformer(
  o: Opts & {
    inChannels?: number
    outChannels?: number
    textWidth?: number
    imageWidth?: number
    perTokenTimestep?: boolean
    camera?: boolean
  } = {},
): Uint8Array {
  const Cin = o.inChannels ?? 16
  const Cout = o.outChannels ?? 16
  const D = o.textWidth ?? 8
  const g = new GraphBuilder('transformer', o.seed ?? 221)
  const hs = g.input('hidden_states', 'float32', ['batch', Cin, 'latent_frames', 'height', 'width'])
  const tIn = g.input('timestep', 'float32', o.perTokenTimestep ? ['batch', 'tokens'] : ['batch'])
  const ehs = g.input('encoder_hidden_states', 'float32', ['batch', 512, D])
  let x = g.op('Conv', [hs, g.weight([Cout, Cin, 1, 1, 1], 0.4), g.weight([Cout], 0.1)], {
    kernel_shape: [1, 1, 1],
  })
  const B = g.dim(hs, 0)
  const col = (v: string) => g.reshape(v, [B, Cout, 1, 1, 1])
  // timestep: sin features of t / 1000 (per-token timesteps: their mean)
  const t = o.perTokenTimestep ? g.op('ReduceMean', [tIn], { axes: [1], keepdims: 0 }) : tIn
  const t1 = g.op('Unsqueeze', [g.op('Div', [t, g.scalarF(1000)]), g.constI64([1])])
  x = g.op('Add', [x, col(g.op('Sin', [g.op('MatMul', [t1, g.weight([1, Cout], 3)])]))])
  // text: mean over the 512 rows, projected
  const text = g.op('ReduceMean', [ehs], { axes: [1], keepdims: 0 })
  x = g.op('Add', [x, col(g.linear(text, D, Cout))])
  if (o.imageWidth) {
    const img = g.input('encoder_hidden_states_image', 'float32', ['batch', 257, o.imageWidth])
    const im = g.op('ReduceMean', [img], { axes: [1], keepdims: 0 })
    x = g.op('Add', [x, col(g.linear(im, o.imageWidth, Cout))])
  }
  if (o.camera) {
    const cam = g.input('control_camera', 'float32', [
      1,
      24,
      'latent_frames',
      'height_px',
      'width_px',
    ])
    // per latent frame: the mean of each of the 24 channels, projected onto the latent channels
    const m = g.op('ReduceMean', [cam], { axes: [3, 4], keepdims: 0 }) // [1, 24, f]
    const p = g.op('MatMul', [g.op('Transpose', [m], { perm: [0, 2, 1] }), g.weight([24, Cout], 2)])
    const perFrame = g.op('Transpose', [p], { perm: [0, 2, 1] }) // [1, Cout, f]
    x = g.op('Add', [x, g.op('Unsqueeze', [perFrame, g.constI64([3, 4])])])
  }
  x = g.op('Tanh', [x])
  g.output(x, 'out_hidden_states', 'float32', ['batch', Cout, 'latent_frames', 'height', 'width'])
  return g.toBytes()
}

/** `a` if first else `b`, along axis 2 (the two may differ in length): an index from NonZero. */
function selectFrames(g: GraphBuilder, first: string, a: string, b: string): string {
  const both = g.op('Concat', [a, b], { axis: 2 })
  const keepA = g.op('Expand', [first, g.dim(a, 2)])
  const keepB = g.op('Expand', [g.op('Not', [first]), g.dim(b, 2)])
  const idx = g.reshape(g.op('NonZero', [g.op('Concat', [keepA, keepB], { axis: 0 })]), [-1])
  return g.op('Gather', [both, idx], { axis: 2 })
}

/** A causal temporal conv over cat(cache, x); returns the output and the cache's next value. */
function causalConv(
  g: GraphBuilder,
  x: string,
  cache: string,
  cin: number,
  cout: number,
  k: [number, number, number],
): { y: string; next: string } {
  // a first call's cache is [B, C, 2, 1, 1] zeros: broadcast it to the chunk's size
  const zeros = g.op('Mul', [
    g.op('Slice', [x, g.constI64([0]), g.constI64([1]), g.constI64([2])]),
    g.scalarF(0),
  ])
  const c = g.op('Add', [cache, zeros])
  const cat = g.op('Concat', [c, x], { axis: 2 })
  const ph = Math.floor(k[1] / 2)
  const pw = Math.floor(k[2] / 2)
  const y = g.op(
    'Conv',
    [
      cat,
      g.weight([cout, cin, ...k], 1 / Math.sqrt(cin * k[0] * k[1] * k[2])),
      g.weight([cout], 0.05),
    ],
    {
      kernel_shape: k,
      pads: [0, ph, pw, 0, ph, pw],
    },
  )
  const next = g.op('Slice', [cat, g.constI64([-2]), g.constI64([2 ** 31 - 1]), g.constI64([2])])
  return { y, next }
}

/**
 * The chunked Wan VAE decoder: latent_sample [B, z, t, h, w], first_chunk int64 [1], cache_in_0..2
 * -> sample [B, 3, T, H, W] in [-1, 1], cache_out_0..2. A causal conv, then two temporal doublings
 * (skipped on the first chunk, as diffusers' "Rep" upsampler state), a nearest upsample by `scale`.
 */
export function wanVaeDecoder(
  o: Opts & { z?: number; hidden?: number; scale?: number } = {},
): Uint8Array {
  const z = o.z ?? 16
  const C = o.hidden ?? 8
  const s = o.scale ?? 8
  const g = new GraphBuilder('vae_decoder', o.seed ?? 231)
  const lat = g.input('latent_sample', 'float32', ['batch', z, 'latent_frames', 'height', 'width'])
  const first = g.op('Cast', [g.input('first_chunk', 'int64', [1])], { to: 9 }) // bool [1]
  const caches = [0, 1, 2].map((i) =>
    g.input(`cache_in_${i}`, 'float32', ['batch', C, 2, `cache_${i}_height`, `cache_${i}_width`]),
  )
  let x = g.op('Conv', [lat, g.weight([C, z, 1, 1, 1], 0.5), g.weight([C], 0.05)], {
    kernel_shape: [1, 1, 1],
  })
  const c0 = causalConv(g, x, caches[0]!, C, C, [3, 3, 3])
  x = g.op('Tanh', [c0.y])
  const nexts = [c0.next]
  for (const i of [1, 2]) {
    const c = causalConv(g, x, caches[i]!, C, 2 * C, [3, 1, 1])
    // [B, 2C, t, h, w] -> [B, C, 2t, h, w]: the two halves interleaved in time
    const B = g.dim(x, 0)
    const t = g.dim(x, 2)
    const h = g.dim(x, 3)
    const w = g.dim(x, 4)
    const two = g.reshape(c.y, [B, 2, C, t, h, w])
    const inter = g.op('Transpose', [two], { perm: [0, 2, 3, 1, 4, 5] })
    const up = g.reshape(inter, [B, C, -1, h, w])
    x = selectFrames(g, first, x, up)
    // the first chunk leaves the upsampler's cache as it was (zeros)
    const keep = g.op('Add', [
      caches[i]!,
      g.op('Mul', [
        g.op('Slice', [c.next, g.constI64([0]), g.constI64([1]), g.constI64([2])]),
        g.scalarF(0),
      ]),
    ])
    nexts.push(g.op('Where', [g.reshape(first, [1, 1, 1, 1, 1]), keep, c.next]))
  }
  x = g.op('Resize', [x, '', g.constF32(Float32Array.of(1, 1, 1, s, s), [5])], { mode: 'nearest' })
  x = g.op('Conv', [x, g.weight([3, C, 1, 1, 1], 0.6), g.weight([3], 0.05)], {
    kernel_shape: [1, 1, 1],
  })
  x = g.op('Clip', [g.op('Tanh', [x]), g.scalarF(-1), g.scalarF(1)])
  g.output(x, 'sample', 'float32', ['batch', 3, 'frames', 'height_px', 'width_px'])
  nexts.forEach((n, i) =>
    g.output(n, `cache_out_${i}`, 'float32', [
      'batch',
      C,
      2,
      `cache_${i}_height`,
      `cache_${i}_width`,
    ]),
  )
  return g.toBytes()
}

/**
 * The Wan VAE encoder: sample [B, 3, t, H, W] in [-1, 1] -> latent_sample [B, z, t', h, w]. With
 * `chunked` (the 2.1 VAE's export): first_chunk and a one-frame cache; the first chunk's frame
 * gives one latent frame, four frames after it give one. Without: one frame (the 2.2 export).
 */
export function wanVaeEncoder(
  o: Opts & { z?: number; scale?: number; chunked?: boolean } = {},
): Uint8Array {
  const z = o.z ?? 16
  const s = o.scale ?? 8
  const g = new GraphBuilder('vae_encoder', o.seed ?? 241)
  const px = g.input('sample', 'float32', [
    'batch',
    3,
    o.chunked ? 'frames' : 1,
    'height_px',
    'width_px',
  ])
  let x = g.op('AveragePool', [px], { kernel_shape: [1, s, s], strides: [1, s, s] })
  x = g.op('Conv', [x, g.weight([z, 3, 1, 3, 3], 0.5), g.weight([z], 0.05)], {
    kernel_shape: [1, 3, 3],
    pads: [0, 1, 1, 0, 1, 1],
  })
  if (o.chunked) {
    g.input('first_chunk', 'int64', [1])
    const cache = g.input('cache_in_0', 'float32', [
      'batch',
      z,
      1,
      'cache_0_height',
      'cache_0_width',
    ])
    const zeros = g.op('Mul', [
      g.op('Slice', [x, g.constI64([0]), g.constI64([1]), g.constI64([2])]),
      g.scalarF(0),
    ])
    const c = g.op('Add', [cache, zeros])
    const mean = g.op('ReduceMean', [x], { axes: [2], keepdims: 1 })
    const last = g.op('Slice', [x, g.constI64([-1]), g.constI64([2 ** 31 - 1]), g.constI64([2])])
    const y = g.op('Add', [mean, g.op('Mul', [c, g.scalarF(0.5)])])
    // the latents first, the cache after (the export's output order)
    g.output(y, 'latent_sample', 'float32', ['batch', z, 'latent_frames', 'height', 'width'])
    g.output(last, 'cache_out_0', 'float32', ['batch', z, 1, 'cache_0_height', 'cache_0_width'])
    return g.toBytes()
  }
  g.output(x, 'latent_sample', 'float32', [
    'batch',
    z,
    o.chunked ? 'latent_frames' : 1,
    'height',
    'width',
  ])
  return g.toBytes()
}

/** The CLIP vision tower's penultimate hidden states: pixel_values [B, 3, S, S] -> [B, 257, D]. */
export function wanImageEncoder(
  o: Opts & { width?: number; size?: number | null } = {},
): Uint8Array {
  const D = o.width ?? 8
  const g = new GraphBuilder('image_encoder', o.seed ?? 251)
  const dims: (number | string)[] =
    o.size === null ? ['batch', 3, 'height', 'width'] : ['batch', 3, o.size ?? 224, o.size ?? 224]
  const px = g.input('pixel_values', 'float32', dims)
  const m = g.op('ReduceMean', [px], { axes: [2, 3], keepdims: 0 }) // [B, 3]
  const tok = g.op('Unsqueeze', [g.linear(m, 3, D), g.constI64([1])]) // [B, 1, D]
  const rows = g.op('Add', [tok, g.weight([1, 257, D], 0.5)])
  g.output(g.op('Tanh', [rows]), 'image_embeds', 'float32', ['batch', 257, D])
  return g.toBytes()
}
