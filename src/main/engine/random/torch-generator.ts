// torch's CPU generator, reproduced so a seed gives diffusers' initial noise exactly.
// References (pytorch 1.13):
//   aten/src/ATen/core/MT19937RNGEngine.h        mt19937, seeded with the low 32 bits
//   aten/src/ATen/core/TransformationHelper.h    24-bit float / 53-bit double uniforms
//   aten/src/ATen/core/DistributionsHelper.h     normal_distribution<double> with a cached sample
//   aten/src/ATen/native/cpu/DistributionTemplates.h  normal_fill / normal_fill_16_AVX2
//   aten/src/ATen/native/cpu/avx_mathfun.h       the log/sincos polynomials of the AVX2 kernel
//
// float32 randn with 16 or more elements uses torch's AVX2 kernel (what x86-64 builds run):
// all uniforms first, then Box-Muller in blocks of 16 (element j paired with j+8), with the
// last 16 redrawn when the length is not a multiple of 16. log/sin/cos are ports of
// avx_mathfun in float32 arithmetic. torch's AVX2 kernel is built with -mfma and GCC's
// default -ffp-contract=fast, which fuses each multiply followed by an add into one FMA;
// the port fuses the same pairs (`fma` below), and with that the bits match torch's for
// every case in the reference (none differ; without the fusing 108 of 6,000 did).

const N = 624
const M = 397
const f32 = Math.fround

export type RandnOptions = {
  /** 'avx2' (default) matches torch on x86-64 CPUs; 'scalar' matches builds without AVX2. */
  kernel?: 'avx2' | 'scalar'
}

export class TorchGenerator {
  private readonly mt = new Uint32Array(N)
  private index = N
  private seed = 0n
  /** normal_distribution<double> keeps r*sin(theta) for the next scalar draw. */
  private nextDoubleNormal: number | null = null

  constructor(seed: number | bigint = 67280421310721n) {
    this.manualSeed(seed)
  }

  /** Seeds like `torch.Generator('cpu').manual_seed(seed)`; only the low 32 bits reach mt19937. */
  manualSeed(seed: number | bigint): this {
    let s: bigint
    if (typeof seed === 'bigint') s = seed
    else {
      if (!Number.isInteger(seed)) throw new RangeError(`seed must be an integer, got ${seed}`)
      s = BigInt(seed)
    }
    this.seed = s
    const low = Number(BigInt.asUintN(32, s))
    const mt = this.mt
    mt[0] = low
    for (let i = 1; i < N; i++) {
      const prev = mt[i - 1]! ^ (mt[i - 1]! >>> 30)
      // 1812433253 * prev + i, in uint32 arithmetic
      mt[i] = (Math.imul(1812433253, prev) + i) >>> 0
    }
    this.index = N
    this.nextDoubleNormal = null
    return this
  }

  initialSeed(): bigint {
    return this.seed
  }

  /** A snapshot of the stream, to replay a stage that must be retried. */
  getState(): { mt: Uint32Array; index: number; nextDoubleNormal: number | null; seed: bigint } {
    return {
      mt: this.mt.slice(),
      index: this.index,
      nextDoubleNormal: this.nextDoubleNormal,
      seed: this.seed,
    }
  }

  setState(state: ReturnType<TorchGenerator['getState']>): this {
    this.mt.set(state.mt)
    this.index = state.index
    this.nextDoubleNormal = state.nextDoubleNormal
    this.seed = state.seed
    return this
  }

  /** One mt19937 output (uint32). */
  nextUint32(): number {
    if (this.index >= N) this.twist()
    let y = this.mt[this.index++]!
    y ^= y >>> 11
    y ^= (y << 7) & 0x9d2c5680
    y ^= (y << 15) & 0xefc60000
    y ^= y >>> 18
    return y >>> 0
  }

  private twist(): void {
    const mt = this.mt
    for (let i = 0; i < N; i++) {
      const y = (mt[i]! & 0x80000000) | (mt[(i + 1) % N]! & 0x7fffffff)
      let v = mt[(i + M) % N]! ^ (y >>> 1)
      if (y & 1) v ^= 0x9908b0df
      mt[i] = v >>> 0
    }
    this.index = 0
  }

  /** uniform_real_distribution<float>: 24 random bits times 2^-24. */
  private uniformFloat(): number {
    return (this.nextUint32() & 0xffffff) * 5.9604644775390625e-8
  }

  /** uniform_real_distribution<double>: 53 bits of random64() (hi word first) times 2^-53. */
  private uniformDouble(): number {
    const hi = this.nextUint32()
    const lo = this.nextUint32()
    // (hi << 32 | lo) & (2^53 - 1) = (hi & 0x1fffff) * 2^32 + lo, exact in a double
    return ((hi & 0x1fffff) * 4294967296 + lo) * 1.1102230246251565e-16
  }

  /** at::normal_distribution<double>(0, 1) with torch's cached second sample. */
  private normalDouble(): number {
    if (this.nextDoubleNormal !== null) {
      const v = this.nextDoubleNormal
      this.nextDoubleNormal = null
      return v
    }
    const u1 = this.uniformDouble()
    const u2 = this.uniformDouble()
    const r = Math.sqrt(-2.0 * Math.log1p(-u2))
    const theta = 2.0 * Math.PI * u1
    this.nextDoubleNormal = r * Math.sin(theta)
    return r * Math.cos(theta)
  }

  /** `torch.rand(shape)` in float32. */
  rand(shape: readonly number[]): Float32Array {
    const out = new Float32Array(numel(shape))
    for (let i = 0; i < out.length; i++) out[i] = this.uniformFloat()
    return out
  }

  /**
   * `torch.randperm(n, generator=g)` on the CPU (aten randperm_cpu for n below 2^32 / 20): the
   * identity, then for i = 0 .. n - 2 swap element i with element i + random() % (n - i),
   * random() being one mt19937 output. diffusers' FreeNoise shuffles its noise with it.
   */
  randperm(n: number): number[] {
    if (!Number.isInteger(n) || n < 0 || n >= 214748364)
      throw new RangeError(`randperm takes 0 <= n < 2^32 / 20, got ${n}`)
    const r = Array.from({ length: n }, (_, i) => i)
    for (let i = 0; i < n - 1; i++) {
      const z = this.nextUint32() % (n - i)
      const sav = r[i]!
      r[i] = r[z + i]!
      r[z + i] = sav
    }
    return r
  }

  /** `torch.randn(shape)` in float32, continuing this generator's stream. */
  randn(shape: readonly number[], opts: RandnOptions = {}): Float32Array {
    const n = numel(shape)
    const out = new Float32Array(n)
    if (n < 16) {
      for (let i = 0; i < n; i++) out[i] = this.normalDouble()
      return out
    }
    const fill16 = opts.kernel === 'scalar' ? normalFill16Scalar : normalFill16Avx2
    for (let i = 0; i < n; i++) out[i] = this.uniformFloat()
    for (let i = 0; i + 16 <= n; i += 16) fill16(out, i)
    if (n % 16 !== 0) {
      const start = n - 16
      for (let i = 0; i < 16; i++) out[start + i] = this.uniformFloat()
      fill16(out, start)
    }
    return out
  }
}

export function numel(shape: readonly number[]): number {
  let n = 1
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`invalid shape [${shape.join(', ')}]`)
    n *= d
  }
  return n
}

// --- torch's scalar normal_fill_16 (libm in float) ------------------------------------------

function normalFill16Scalar(d: Float32Array, o: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = f32(1 - d[o + j]!)
    const u2 = d[o + j + 8]!
    const radius = f32(Math.sqrt(f32(-2 * f32(Math.log(u1)))))
    const theta = f32(2.0 * Math.PI * u2)
    d[o + j] = f32(radius * f32(Math.cos(theta)))
    d[o + j + 8] = f32(radius * f32(Math.sin(theta)))
  }
}

// --- torch's AVX2 kernel: avx_mathfun's log256_ps and sincos256_ps, one lane at a time ------

const TWO_PI_F = f32(2 * Math.PI)
/** a*b+c rounded once to float32: a*b of two float32 values is exact in a double. */
const fma = (a: number, b: number, c: number) => f32(a * b + c)
const f32buf = new Float32Array(1)
const u32buf = new Uint32Array(f32buf.buffer)
const bitsOf = (x: number) => ((f32buf[0] = x), u32buf[0]!)
const fromBits = (b: number) => ((u32buf[0] = b >>> 0), f32buf[0]!)

const SQRTHF = f32(0.7071067811865476) // cephes_SQRTHF 0.707106781186547524
const LOG_P = [
  7.0376836292e-2, -1.151461031e-1, 1.167699874e-1, -1.2420140846e-1, 1.4249322787e-1,
  -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1,
].map(f32)
const LOG_Q1 = f32(-2.1219444e-4)
const LOG_Q2 = f32(0.693359375)
const MIN_NORM_POS = fromBits(0x00800000)

/** log256_ps for one lane (x > 0 here: 1 - u with u < 1). */
function logAvx(xIn: number): number {
  let x = Math.max(xIn, MIN_NORM_POS)
  const bits = bitsOf(x)
  let e = f32((bits >>> 23) - 0x7f + 1)
  x = fromBits((bits & ~0x7f800000) | 0x3f000000) // mantissa in [0.5, 1)
  const lt = x < SQRTHF
  const tmp = lt ? x : 0
  x = f32(x - 1)
  if (lt) e = f32(e - 1)
  x = f32(x + tmp)
  const z = f32(x * x)
  let y = LOG_P[0]!
  for (let k = 1; k < 9; k++) y = fma(y, x, LOG_P[k]!)
  y = f32(y * x)
  y = f32(y * z)
  y = fma(e, LOG_Q1, y)
  y = fma(-z, 0.5, y)
  x = f32(x + y)
  x = fma(e, LOG_Q2, x)
  return x
}

const FOPI = f32(1.27323954473516)
const DP1 = f32(-0.78515625)
const DP2 = f32(-2.4187564849853515625e-4)
const DP3 = f32(-3.774894977445941e-8) // minus_cephes_DP3 -3.77489497744594108e-8
const COS_P0 = f32(2.443315711809948e-5)
const COS_P1 = f32(-1.388731625493765e-3)
const COS_P2 = f32(4.166664568298827e-2)
const SIN_P0 = f32(-1.9515295891e-4)
const SIN_P1 = f32(8.3321608736e-3)
const SIN_P2 = f32(-1.6666654611e-1)

/** sincos256_ps for one lane; theta is in [0, 2pi) here. Writes [sin, cos] into `out`. */
function sincosAvx(xIn: number, out: Float32Array): void {
  let signSin = xIn < 0 || Object.is(xIn, -0)
  let x = Math.abs(xIn)
  let j = Math.trunc(f32(x * FOPI)) // _mm256_cvttps_epi32
  j = (j + 1) & ~1
  const y0 = f32(j)
  const swapSin = (j & 4) !== 0
  const polyMask = (j & 2) === 0
  x = fma(y0, DP1, x)
  x = fma(y0, DP2, x)
  x = fma(y0, DP3, x)
  const signCos = (~(j - 2) & 4) !== 0
  signSin = signSin !== swapSin
  const z = f32(x * x)
  let yc = COS_P0
  yc = fma(yc, z, COS_P1)
  yc = fma(yc, z, COS_P2)
  yc = f32(yc * z)
  yc = fma(yc, z, -f32(z * 0.5))
  yc = f32(yc + 1)
  let ys = SIN_P0
  ys = fma(ys, z, SIN_P1)
  ys = fma(ys, z, SIN_P2)
  ys = f32(ys * z)
  ys = fma(ys, x, x)
  const s = polyMask ? ys : yc
  const c = polyMask ? yc : ys
  out[0] = signSin ? -s : s
  out[1] = signCos ? -c : c
}

const sc = new Float32Array(2)
function normalFill16Avx2(d: Float32Array, o: number): void {
  for (let j = 0; j < 8; j++) {
    const u1 = f32(1 - d[o + j]!)
    const u2 = d[o + j + 8]!
    const radius = f32(Math.sqrt(f32(-2 * logAvx(u1))))
    const theta = f32(TWO_PI_F * u2)
    sincosAvx(theta, sc)
    d[o + j] = f32(radius * sc[1]!)
    d[o + j + 8] = f32(radius * sc[0]!)
  }
}
