// Image input for SVD: odd images either work or fail clearly; dolly render --image gives a
// clip of the model's frame count; and decode memory follows decodeChunkSize, not numFrames.
import { execFileSync, spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import {
  applyOrientation,
  exifOrientation,
  ImageInputErrorClass,
  loadImage,
  ModelSessions,
  openModelFolder,
  Runtime,
  StableVideoDiffusionPipeline,
} from './svd-input-imports'
import { writeSvdFolder } from '../../fixtures/model-folders'
import { resolveCall } from '../../../src/main/engine/pipelines/steps'
import { missing, sharedPath } from './reference'
import { ffprobeStream } from '../../fixtures/ffprobe'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-svdin-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const magick = ['/usr/bin/convert-im6.q16', '/usr/bin/convert'].find((p) => existsSync(p)) ?? null
const rocket = sharedPath('fixtures/images/rocket.jpg')
const gif = sharedPath('fixtures/video/newtonscradle.gif')
const mp4 = sharedPath('fixtures/video/cockatoo.mp4')

function ffmpeg(args: string[]) {
  execFileSync('ffmpeg', ['-v', 'error', '-y', ...args])
}

describe.skipIf(missing(rocket, gif, mp4))('odd input images', () => {
  it('reads a JPEG, a GIF and the first frame of an MP4 as upright RGB', async () => {
    expect(await loadImage(rocket)).toMatchObject({ width: 640, height: 427 })
    expect(await loadImage(gif)).toMatchObject({ width: 200, height: 150 })
    const v = await loadImage(mp4)
    expect([v.width, v.height]).toEqual([1280, 720])
  })

  it('a 1x1 image and an 8000x200 panorama work', async () => {
    const one = join(tmp, 'one.png')
    const raw = join(tmp, 'one.rgb')
    writeFileSync(raw, Buffer.from([255, 0, 0]))
    ffmpeg(['-f', 'rawvideo', '-pix_fmt', 'rgb24', '-s', '1x1', '-i', raw, '-frames:v', '1', one])
    const img = await loadImage(one)
    expect(img).toMatchObject({ width: 1, height: 1 })
    expect(Array.from(img.rgb)).toEqual([255, 0, 0])
    const pano = join(tmp, 'pano.png')
    ffmpeg(['-f', 'lavfi', '-i', 'testsrc=s=8000x200', '-frames:v', '1', pano])
    expect(await loadImage(pano)).toMatchObject({ width: 8000, height: 200 })
  })

  it.skipIf(!magick)('a CMYK JPEG and a 16-bit PNG are converted to 8-bit RGB', async () => {
    const cmyk = join(tmp, 'cmyk.jpg')
    execFileSync(magick!, [rocket, '-colorspace', 'CMYK', cmyk])
    expect(
      execFileSync(magick!.replace('convert', 'identify'), ['-format', '%[colorspace]', cmyk], {
        encoding: 'utf8',
      }),
    ).toBe('CMYK')
    const a = await loadImage(cmyk)
    const b = await loadImage(rocket)
    expect([a.width, a.height]).toEqual([b.width, b.height])
    let d = 0
    for (let i = 0; i < a.rgb.length; i++) d += Math.abs(a.rgb[i]! - b.rgb[i]!)
    expect(d / a.rgb.length).toBeLessThan(12) // the same picture after a CMYK round trip
    const png16 = join(tmp, 'deep.png')
    execFileSync(magick!, [rocket, '-depth', '16', `PNG48:${png16}`])
    const c = await loadImage(png16)
    expect([c.width, c.height]).toEqual([640, 427])
  })

  it('flattens transparency onto white', async () => {
    const rgba = join(tmp, 'clear.png')
    ffmpeg(['-f', 'lavfi', '-i', 'color=c=black@0.0:s=4x4,format=rgba', '-frames:v', '1', rgba])
    const img = await loadImage(rgba)
    expect(new Set(img.rgb)).toEqual(new Set([255]))
    // counted, so the render can say it flattened them (diffusers' load_image drops alpha instead)
    expect(img.transparentPixels).toBe(16)
    expect((await loadImage(rocket)).transparentPixels).toBe(0)
  })

  it('honours EXIF orientation (rotated 90 degrees)', async () => {
    const buf = readFileSync(rocket)
    const tiff = Buffer.concat([
      Buffer.from('II*\0'),
      u32le(8),
      u16le(1),
      u16le(0x0112),
      u16le(3),
      u32le(1),
      u32le(6),
      u32le(0),
    ])
    const app1 = Buffer.concat([Buffer.from('Exif\0\0'), tiff])
    const seg = Buffer.concat([Buffer.from([0xff, 0xe1]), u16be(app1.length + 2), app1])
    const rotated = join(tmp, 'rot6.jpg')
    writeFileSync(rotated, Buffer.concat([buf.subarray(0, 2), seg, buf.subarray(2)]))
    expect(exifOrientation(Buffer.concat([buf.subarray(0, 2), seg]))).toBe(6)
    const up = await loadImage(rotated)
    const plain = await loadImage(rocket)
    expect([up.width, up.height]).toEqual([427, 640])
    expect(Array.from(up.rgb)).toEqual(Array.from(applyOrientation(plain, 6).rgb))
  })

  it('refuses a text file named .png, an empty file and a missing file clearly', async () => {
    const fake = join(tmp, 'notes.png')
    writeFileSync(fake, 'these are my notes, not a picture\n')
    await expect(loadImage(fake)).rejects.toThrow(
      /notes\.png: not an image ffmpeg can read; expected a PNG, JPEG, WebP, GIF or video/,
    )
    await expect(loadImage(fake)).rejects.toBeInstanceOf(ImageInputErrorClass)
    const empty = join(tmp, 'empty.jpg')
    writeFileSync(empty, '')
    await expect(loadImage(empty)).rejects.toThrow(/empty\.jpg: the file is empty \(0 bytes\)/)
    await expect(loadImage(join(tmp, 'nope.png'))).rejects.toThrow(
      /nope\.png: cannot be read \(ENOENT\)/,
    )
  })
})

function u16le(v: number) {
  const b = Buffer.alloc(2)
  b.writeUInt16LE(v)
  return b
}
function u32le(v: number) {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(v)
  return b
}
function u16be(v: number) {
  const b = Buffer.alloc(2)
  b.writeUInt16BE(v)
  return b
}

const root = resolve(__dirname, '../../..')
const built = existsSync(join(root, 'out/main/cli.js'))
describe.skipIf(!built || missing(rocket))('dolly render --image', () => {
  it("gives a clip of the model's frame count at the requested size", () => {
    const model = writeSvdFolder(join(tmp, 'svd'))
    const out = join(tmp, 'svd.mp4')
    execFileSync(
      process.execPath,
      [
        join(root, 'bin/dolly.mjs'),
        'render',
        '--model',
        model,
        '--image',
        rocket,
        '--width',
        '32',
        '--height',
        '32',
        '--steps',
        '2',
        '--motion-bucket',
        '90',
        '--out',
        out,
        '--cpu',
      ],
      { stdio: 'pipe' },
    )
    expect(ffprobeStream(out, ['width', 'height', 'nb_read_frames'])).toMatchObject({
      width: 32,
      height: 32,
      nb_read_frames: '14',
    })
  })

  it('warns that an image with transparency is flattened onto white (diffusers drops the alpha)', () => {
    const model = writeSvdFolder(join(tmp, 'svd-alpha'))
    const semi = join(tmp, 'semi.png')
    // left half clear, right half opaque
    ffmpeg([
      '-f',
      'lavfi',
      '-i',
      "color=c=red:s=32x32,format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='if(lt(X,16),0,255)'",
      '-frames:v',
      '1',
      semi,
    ])
    const run = (image: string, out: string) =>
      spawnSync(
        process.execPath,
        [
          join(root, 'bin/dolly.mjs'),
          'render',
          ...['--model', model, '--image', image, '--width', '32', '--height', '32'],
          ...['--steps', '1', '--out', join(tmp, out), '--cpu'],
        ],
        { encoding: 'utf8' },
      )
    const r = run(semi, 'semi.mp4')
    expect(r.status).toBe(0)
    expect(r.stderr).toMatch(
      /warning: the image has transparency \(50% of its pixels\); it was flattened onto white, where diffusers' load_image drops the alpha/,
    )
    expect(run(rocket, 'opaque.mp4').stderr).not.toMatch(/transparency/)
  })

  it('a size off the grid on a fixed-size export names the one size it takes (not the nearest on the grid)', () => {
    const model = writeSvdFolder(join(tmp, 'svd2'))
    let err = ''
    try {
      execFileSync(
        process.execPath,
        [
          join(root, 'bin/dolly.mjs'),
          'render',
          '--model',
          model,
          '--image',
          rocket,
          '--width',
          '30',
          '--height',
          '33',
          '--out',
          join(tmp, 'x.mp4'),
          '--cpu',
        ],
        { stdio: 'pipe' },
      )
    } catch (e) {
      err = String((e as { stderr: Buffer }).stderr)
    }
    expect(err).toContain(
      'svd2 takes 32x32 only (its export fixes the size); 30x33 is not possible',
    )
  })

  it('names the nearest valid size on the grid where the export leaves the size free', () => {
    const fixed = openModelFolder(writeSvdFolder(join(tmp, 'svd-free')))
    const unet = fixed.components['unet']!
    // the same folder with symbolic height and width, as a real export with dynamic axes
    const model = {
      ...fixed,
      components: {
        ...fixed.components,
        unet: {
          ...unet,
          inputs: {
            ...unet.inputs,
            sample: { ...unet.inputs['sample']!, shape: ['batch', 'frames', 8, 'h', 'w'] },
          },
        },
      },
    }
    expect(() => resolveCall(model, { width: 30, height: 33 })).toThrow(
      'width and height must be multiples of 8, got 30x33 (nearest: 32x32)',
    )
    expect(resolveCall(model, { width: 48, height: 64 })).toMatchObject({ h: 32, w: 24 })
  })
})

describe.skipIf(missing(rocket))('decode memory', () => {
  it('peak memory of a decode call grows with decodeChunkSize, not with numFrames', async () => {
    copyFileSync(rocket, join(tmp, 'in.jpg'))
    const model = openModelFolder(writeSvdFolder(join(tmp, 'svd-big'), { latent: 64, vaeScale: 8 }))
    const image = await loadImage(rocket)
    const peaks = async (numFrames: number, decodeChunkSize: number) => {
      let base = 0
      let peak = 0
      let timer: NodeJS.Timeout | null = null
      const callPeaks: number[] = []
      // no CPU arena: each call's working memory is returned when it ends
      const runtime = new Runtime({
        preferCuda: false,
        sessionOptions: { enableCpuMemArena: false },
        beforeRun: (s) => {
          if (s.label !== 'vae_decoder') return
          base = process.memoryUsage.rss()
          peak = base
          timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 1)
        },
        afterRun: (s) => {
          if (s.label !== 'vae_decoder' || !timer) return
          clearInterval(timer)
          peak = Math.max(peak, process.memoryUsage.rss())
          callPeaks.push(peak - base)
        },
      })
      const sessions = new ModelSessions(
        runtime,
        Object.fromEntries(Object.entries(model.components).map(([k, c]) => [k, c.path])),
        'offload',
      )
      await sessions.job(() =>
        new StableVideoDiffusionPipeline(model, sessions).call({
          image,
          width: 512,
          height: 512,
          numFrames,
          decodeChunkSize,
          numInferenceSteps: 1,
          seed: 1,
        }),
      )
      // the median call: one noisy RSS sample does not decide the figure
      return callPeaks.sort((a, b) => a - b)[Math.floor(callPeaks.length / 2)]!
    }
    // (vitest.config.ts makes glibc return freed big blocks, so each call's RSS growth is its
    // own working memory rather than whatever the allocator kept from the call before)
    const small = await peaks(8, 2)
    const moreFrames = await peaks(16, 2)
    const biggerChunk = await peaks(16, 16)
    console.log(
      JSON.stringify({
        decode_peak_MiB: {
          frames8_chunk2: small / 2 ** 20,
          frames16_chunk2: moreFrames / 2 ** 20,
          frames16_chunk16: biggerChunk / 2 ** 20,
        },
      }),
    )
    expect(moreFrames / small).toBeLessThan(1.5)
    expect(biggerChunk / moreFrames).toBeGreaterThan(2)
  })
})
