// Input images for image-to-video: any PNG, JPEG, WebP, GIF or video (first frame) ffmpeg
// reads, decoded to 8-bit RGB with the EXIF orientation applied and alpha flattened onto
// white; clear errors for empty files, non-images and images over 64 megapixels. Resizing
// follows PIL exactly where diffusers uses PIL (the VAE branch's Lanczos resize). Two
// departures from diffusers' load_image (docs/DECISIONS.md, "Input images"): alpha is
// flattened onto white where PIL's convert("RGB") drops it (the render warns), and 16-bit
// greyscale is scaled to 8 bits where PIL clips it.
import { execFile, spawn } from 'node:child_process'
import { openSync, readSync, closeSync } from 'node:fs'
import { findFfmpeg, MediaError } from './ffmpeg'
import { regularFileSize } from '../files'

/** Still-image extensions ffmpeg reads with its image2 demuxer (a GIF or a video has its own). */
const IMAGE2_EXTENSIONS = /\.(png|jpe?g|webp|bmp|tiff?)$/i

/**
 * ffmpeg's input arguments for one file. image2 reads a "%" in its path as a frame-number
 * pattern: an image in "take %d" was looked for as "take 1", "take 2"... and refused as "not an
 * image ffmpeg can read". A still image whose path holds a "%" is read as that one file.
 */
export function imageInput(path: string): string[] {
  return path.includes('%') && IMAGE2_EXTENSIONS.test(path)
    ? ['-f', 'image2', '-pattern_type', 'none', '-i', path]
    : ['-i', path]
}

/** The input image is empty, unreadable or too large (a problem with the input, not the export). */
export class ImageInputError extends MediaError {
  constructor(message: string) {
    super(message)
    this.name = 'ImageInputError'
  }
}

export type RgbImage = { width: number; height: number; rgb: Uint8Array }
/** A decoded input image, with how many of its pixels were not opaque (flattened onto white). */
export type InputImage = RgbImage & { transparentPixels: number }

export const MAX_PIXELS = 64_000_000

/** EXIF orientation (1..8) of a JPEG (APP1) or PNG (eXIf chunk); 1 when absent. */
export function exifOrientation(head: Buffer): number {
  let tiff: Buffer | null = null
  if (head[0] === 0xff && head[1] === 0xd8) {
    let p = 2
    while (p + 4 <= head.length && head[p] === 0xff) {
      const marker = head[p + 1]!
      const len = head.readUInt16BE(p + 2)
      if (marker === 0xe1 && head.toString('latin1', p + 4, p + 10) === 'Exif\0\0') {
        tiff = head.subarray(p + 10, p + 2 + len)
        break
      }
      if (marker === 0xda) break // start of scan: no more metadata
      p += 2 + len
    }
  } else if (head.toString('latin1', 1, 4) === 'PNG') {
    let p = 8
    while (p + 8 <= head.length) {
      const len = head.readUInt32BE(p)
      const type = head.toString('latin1', p + 4, p + 8)
      if (type === 'eXIf') {
        tiff = head.subarray(p + 8, p + 8 + len)
        break
      }
      if (type === 'IDAT') break
      p += 12 + len
    }
  }
  if (!tiff || tiff.length < 8) return 1
  const le = tiff.toString('latin1', 0, 2) === 'II'
  const u16 = (o: number) => (le ? tiff!.readUInt16LE(o) : tiff!.readUInt16BE(o))
  const u32 = (o: number) => (le ? tiff!.readUInt32LE(o) : tiff!.readUInt32BE(o))
  try {
    const ifd = u32(4)
    const n = u16(ifd)
    for (let i = 0; i < n; i++) {
      const e = ifd + 2 + i * 12
      if (u16(e) === 0x0112) {
        const v = u16(e + 8)
        return v >= 1 && v <= 8 ? v : 1
      }
    }
  } catch {
    // a truncated EXIF block: no orientation
  }
  return 1
}

/** Applies an EXIF orientation so the image is upright. */
export function applyOrientation(img: RgbImage, orientation: number): RgbImage {
  if (orientation === 1) return img
  const { width: w, height: h, rgb } = img
  const swap = orientation >= 5
  const W = swap ? h : w
  const H = swap ? w : h
  const out = new Uint8Array(rgb.length)
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      // the source pixel that lands at (x, y) of the upright image
      let sx: number
      let sy: number
      switch (orientation) {
        case 2:
          sx = w - 1 - x
          sy = y
          break
        case 3:
          sx = w - 1 - x
          sy = h - 1 - y
          break
        case 4:
          sx = x
          sy = h - 1 - y
          break
        case 5:
          sx = y
          sy = x
          break
        case 6:
          sx = y
          sy = h - 1 - x
          break
        case 7:
          sx = w - 1 - y
          sy = h - 1 - x
          break
        default:
          sx = w - 1 - y
          sy = x
          break // 8
      }
      const s = (sy * w + sx) * 3
      const d = (y * W + x) * 3
      out[d] = rgb[s]!
      out[d + 1] = rgb[s + 1]!
      out[d + 2] = rgb[s + 2]!
    }
  }
  return { width: W, height: H, rgb: out }
}

/** The first video stream's size as ffmpeg reads it; null when it reads none. Asynchronous: the
 * host calls it on a drop, and a slow probe must not hold its event loop (renders, sockets). */
function probeSize(
  ffmpeg: string,
  path: string,
): Promise<{ width: number; height: number } | null> {
  return new Promise((resolve) => {
    // ffmpeg with only an input exits 1 ("At least one output file must be specified"): the
    // stream line on stderr is the answer either way
    execFile(
      ffmpeg,
      ['-hide_banner', ...imageInput(path)],
      { encoding: 'utf8', timeout: 20_000, maxBuffer: 4 * 1024 * 1024 },
      (_err, _stdout, stderr) => {
        const m = /Stream #\d+:\d+.*?: Video: .*?(\d{1,6})x(\d{1,6})/.exec(stderr ?? '')
        resolve(m ? { width: Number(m[1]), height: Number(m[2]) } : null)
      },
    )
  })
}

/**
 * What would stop loadImage on this file, said without the path (the caller names the file as
 * the person knows it): a file ffmpeg cannot read (damaged, truncated), or one over the pixel
 * limit. Null when it reads, or when there is no ffmpeg to ask.
 */
export async function imageProblem(path: string): Promise<string | null> {
  let ff: string
  try {
    ff = findFfmpeg().path
  } catch {
    return null
  }
  const dims = await probeSize(ff, path)
  if (!dims) return 'not an image ffmpeg can read (damaged or cut short?)'
  if (dims.width * dims.height > MAX_PIXELS)
    return `${dims.width}x${dims.height} is ${((dims.width * dims.height) / 1e6).toFixed(1)} megapixels; the limit is 64. Scale it down first`
  return null
}

/** Reads an image (or a video's first frame) as upright 8-bit RGB. */
export async function loadImage(path: string): Promise<InputImage> {
  let size: number
  try {
    size = regularFileSize(path, 'the image')
  } catch (err) {
    throw new ImageInputError((err as Error).message)
  }
  if (size === 0)
    throw new ImageInputError(
      `${path}: the file is empty (0 bytes); expected a PNG, JPEG, WebP, GIF or video`,
    )
  const ff = findFfmpeg()
  const dims = await probeSize(ff.path, path)
  if (!dims)
    throw new ImageInputError(
      `${path}: not an image ffmpeg can read; expected a PNG, JPEG, WebP, GIF or video`,
    )
  if (dims.width * dims.height > MAX_PIXELS) {
    throw new ImageInputError(
      `${path}: ${dims.width}x${dims.height} is ${((dims.width * dims.height) / 1e6).toFixed(1)} megapixels; the limit is 64. Scale it down first`,
    )
  }
  const pam = await new Promise<Buffer>((resolve, reject) => {
    const child = spawn(
      ff.path,
      [
        '-v',
        'error',
        '-noautorotate',
        ...imageInput(path),
        '-frames:v',
        '1',
        '-f',
        'image2pipe',
        '-c:v',
        'pam',
        '-pix_fmt',
        'rgba',
        'pipe:1',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    const chunks: Buffer[] = []
    let err = ''
    child.stdout.on('data', (d: Buffer) => chunks.push(d))
    child.stderr.on('data', (d: Buffer) => (err = (err + d.toString()).slice(-2000)))
    child.on('error', (e) => reject(new MediaError(`ffmpeg could not start: ${e.message}`)))
    child.on('close', (code) => {
      if (code === 0) resolve(Buffer.concat(chunks))
      else
        reject(
          new MediaError(
            `${path}: could not be decoded (${err.trim().split('\n').pop() || `ffmpeg exit ${code}`})`,
          ),
        )
    })
  })
  const end = pam.indexOf('ENDHDR\n')
  if (end < 0) throw new ImageInputError(`${path}: ffmpeg returned no image`)
  const header = pam.toString('latin1', 0, end)
  const width = Number(/WIDTH (\d+)/.exec(header)?.[1])
  const height = Number(/HEIGHT (\d+)/.exec(header)?.[1])
  const body = pam.subarray(end + 7)
  if (!width || !height || body.length < width * height * 4)
    throw new ImageInputError(`${path}: ffmpeg returned a short image`)
  // alpha flattened onto white (docs/DECISIONS.md; the render warns when any pixel is not opaque)
  const rgb = new Uint8Array(width * height * 3)
  let transparentPixels = 0
  for (let i = 0; i < width * height; i++) {
    const a = body[i * 4 + 3]!
    if (a !== 255) transparentPixels++
    for (let c = 0; c < 3; c++) {
      const v = body[i * 4 + c]!
      rgb[i * 3 + c] = a === 255 ? v : Math.round((v * a + 255 * (255 - a)) / 255)
    }
  }
  const fd = openSync(path, 'r')
  const head = Buffer.alloc(Math.min(size, 256 * 1024))
  readSync(fd, head, 0, head.length, 0)
  closeSync(fd)
  return { ...applyOrientation({ width, height, rgb }, exifOrientation(head)), transparentPixels }
}

/** Centre crop to the target aspect, or pad (black bars) to it; 'stretch' keeps the image. */
export function fitAspect(
  img: RgbImage,
  width: number,
  height: number,
  mode: 'stretch' | 'crop' | 'pad',
): RgbImage {
  if (mode === 'stretch') return img
  const target = width / height
  const aspect = img.width / img.height
  if (Math.abs(aspect - target) < 1e-9) return img
  if (mode === 'crop') {
    const cw = aspect > target ? Math.round(img.height * target) : img.width
    const ch = aspect > target ? img.height : Math.round(img.width / target)
    const x0 = Math.floor((img.width - cw) / 2)
    const y0 = Math.floor((img.height - ch) / 2)
    const rgb = new Uint8Array(cw * ch * 3)
    for (let y = 0; y < ch; y++)
      rgb.set(
        img.rgb.subarray(((y0 + y) * img.width + x0) * 3, ((y0 + y) * img.width + x0 + cw) * 3),
        y * cw * 3,
      )
    return { width: cw, height: ch, rgb }
  }
  const pw = aspect < target ? Math.round(img.height * target) : img.width
  const ph = aspect < target ? img.height : Math.round(img.width / target)
  const x0 = Math.floor((pw - img.width) / 2)
  const y0 = Math.floor((ph - img.height) / 2)
  const rgb = new Uint8Array(pw * ph * 3)
  for (let y = 0; y < img.height; y++)
    rgb.set(img.rgb.subarray(y * img.width * 3, (y + 1) * img.width * 3), ((y0 + y) * pw + x0) * 3)
  return { width: pw, height: ph, rgb }
}

// --- PIL's resampling (Pillow 9.x, libImaging/Resample.c), 8-bit path ----------------------

const PRECISION_BITS = 32 - 8 - 2

function sinc(x: number): number {
  if (x === 0) return 1
  x *= Math.PI
  return Math.sin(x) / x
}
function lanczos(x: number): number {
  return x > -3 && x < 3 ? sinc(x) * sinc(x / 3) : 0
}
/** PIL's bicubic_filter (a = -0.5). */
function bicubic(x: number): number {
  const a = -0.5
  if (x < 0) x = -x
  if (x < 1) return ((a + 2) * x - (a + 3)) * x * x + 1
  if (x < 2) return (((x - 5) * x + 8) * x - 4) * a
  return 0
}

/** PIL's resampling filters: the kernel and its support. */
const PIL_FILTERS = {
  lanczos: { fn: lanczos, support: 3 },
  bicubic: { fn: bicubic, support: 2 },
} as const
export type PilFilter = keyof typeof PIL_FILTERS

/** Per output pixel: first input index, count, and fixed-point coefficients. */
function coefficients(
  inSize: number,
  outSize: number,
  filter: PilFilter,
): { bounds: Int32Array; kk: Int32Array; ksize: number } {
  const { fn, support: support0 } = PIL_FILTERS[filter]
  const scale = inSize / outSize
  const filterscale = Math.max(scale, 1)
  const support = support0 * filterscale
  const ksize = Math.ceil(support) * 2 + 1
  const bounds = new Int32Array(outSize * 2)
  const kk = new Int32Array(outSize * ksize)
  const k = new Float64Array(ksize)
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale
    const ss = 1 / filterscale
    // PIL: xmin = (int)(center - support + 0.5), clamped; (int) truncates toward zero
    let xmin = Math.trunc(center - support + 0.5)
    if (xmin < 0) xmin = 0
    let xmax = Math.trunc(center + support + 0.5)
    if (xmax > inSize) xmax = inSize
    xmax -= xmin
    let ww = 0
    for (let x = 0; x < xmax; x++) {
      const w = fn((x + xmin - center + 0.5) * ss)
      k[x] = w
      ww += w
    }
    for (let x = 0; x < xmax; x++) if (ww !== 0) k[x]! /= ww
    for (let x = xmax; x < ksize; x++) k[x] = 0
    bounds[xx * 2] = xmin
    bounds[xx * 2 + 1] = xmax
    for (let x = 0; x < ksize; x++) {
      const v = k[x]! * (1 << PRECISION_BITS)
      // normalize_coeffs_8bpc: round half away from zero, as (int) of v +/- 0.5
      kk[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v) : Math.trunc(0.5 + v)
    }
  }
  return { bounds, kk, ksize }
}

function clip8(v: number): number {
  if (v >= (1 << PRECISION_BITS) << 8) return 255
  if (v <= 0) return 0
  return v >> PRECISION_BITS
}

/** PIL's Image.resize(size, Image.LANCZOS) for an 8-bit RGB image, bit for bit. */
export function resizeLanczosPil(img: RgbImage, outW: number, outH: number): RgbImage {
  return resizePil(img, outW, outH, 'lanczos')
}

/** PIL's Image.resize(size, resample) (LANCZOS or BICUBIC) for an 8-bit RGB image, bit for bit. */
export function resizePil(img: RgbImage, outW: number, outH: number, filter: PilFilter): RgbImage {
  const { width: inW, height: inH } = img
  let src = img.rgb
  let srcW = inW
  let srcH = inH
  const needH = outW !== inW
  const needV = outH !== inH
  const vert = coefficients(inH, outH, filter)
  // horizontal pass first, over only the rows the vertical pass will read
  let yFirst = 0
  if (needH) {
    yFirst = vert.bounds[0]!
    const yLast = needV ? vert.bounds[(outH - 1) * 2]! + vert.bounds[(outH - 1) * 2 + 1]! : inH
    const rows = needV ? yLast - yFirst : inH
    if (!needV) yFirst = 0
    const hc = coefficients(inW, outW, filter)
    const tmp = new Uint8Array(outW * rows * 3)
    for (let y = 0; y < rows; y++) {
      const row = (y + yFirst) * inW * 3
      for (let xx = 0; xx < outW; xx++) {
        const xmin = hc.bounds[xx * 2]!
        const xmax = hc.bounds[xx * 2 + 1]!
        const kOff = xx * hc.ksize
        let s0 = 1 << (PRECISION_BITS - 1)
        let s1 = s0
        let s2 = s0
        for (let x = 0; x < xmax; x++) {
          const c = hc.kk[kOff + x]!
          const p = row + (x + xmin) * 3
          s0 += src[p]! * c
          s1 += src[p + 1]! * c
          s2 += src[p + 2]! * c
        }
        const o = (y * outW + xx) * 3
        tmp[o] = clip8(s0)
        tmp[o + 1] = clip8(s1)
        tmp[o + 2] = clip8(s2)
      }
    }
    src = tmp
    srcW = outW
    srcH = rows
  }
  if (!needV) return { width: srcW, height: srcH, rgb: src }
  const out = new Uint8Array(outW * outH * 3)
  for (let yy = 0; yy < outH; yy++) {
    const ymin = vert.bounds[yy * 2]! - (needH ? yFirst : 0)
    const ymax = vert.bounds[yy * 2 + 1]!
    const kOff = yy * vert.ksize
    for (let x = 0; x < srcW; x++) {
      let s0 = 1 << (PRECISION_BITS - 1)
      let s1 = s0
      let s2 = s0
      for (let y = 0; y < ymax; y++) {
        const c = vert.kk[kOff + y]!
        const p = ((y + ymin) * srcW + x) * 3
        s0 += src[p]! * c
        s1 += src[p + 1]! * c
        s2 += src[p + 2]! * c
      }
      const o = (yy * outW + x) * 3
      out[o] = clip8(s0)
      out[o + 1] = clip8(s1)
      out[o + 2] = clip8(s2)
    }
  }
  void srcH
  return { width: outW, height: outH, rgb: out }
}
