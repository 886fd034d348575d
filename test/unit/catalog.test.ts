// The models dialog's catalog: the Hugging Face cache as Python tools leave it (read with
// @huggingface/hub), the export commands, the Python probe, and the export runner's staging,
// progress, failure and cancel (a stand-in exporter in Node, since CI has no PyTorch; the real
// exporter's own tests are tools/export/test_export.py).
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { CATALOG, catalogMemory, FP16_TEXT_ENCODER, exportCommand } from '../../src/shared/catalog'
import { PIPELINES } from '../../src/shared/render'
import { ModelCatalog } from '../../src/main/services/catalog'
import { ExportRunner, findExportPython, type ExportEvent } from '../../src/main/services/exporter'
import { hubCacheDir, scanHubCache } from '../../src/main/services/hf-cache'
import { ModelRegistry } from '../../src/main/services/model-registry'
import { missing, sharedPath } from './engine/reference'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-catalog-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const refModel = sharedPath('reference/models/animatediff-tiny')

/** A repository in the Hugging Face cache layout: blobs, a snapshot of links, refs/main. */
function cacheRepo(cache: string, repo: string, files: Record<string, string | Buffer>): string {
  const root = join(cache, `models--${repo.replace('/', '--')}`)
  const rev = 'a'.repeat(40)
  const snap = join(root, 'snapshots', rev)
  let n = 0
  for (const [rel, data] of Object.entries(files)) {
    const blob = join(root, 'blobs', `blob${n++}`)
    mkdirSync(dirname(blob), { recursive: true })
    writeFileSync(blob, data)
    mkdirSync(dirname(join(snap, rel)), { recursive: true })
    symlinkSync(blob, join(snap, rel))
  }
  mkdirSync(join(root, 'refs'), { recursive: true })
  writeFileSync(join(root, 'refs', 'main'), rev)
  return snap
}

/** Every file of a folder, as cacheRepo takes them. */
function filesOf(dir: string, rel = ''): Record<string, Buffer> {
  const out: Record<string, Buffer> = {}
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name
    if (e.isDirectory()) Object.assign(out, filesOf(dir, r))
    else out[r] = readFileSync(join(dir, r))
  }
  return out
}

describe('the Hugging Face cache', () => {
  const cache = join(tmp, 'hub')
  const svdIndex = JSON.stringify({ _class_name: 'StableVideoDiffusionPipeline' })
  cacheRepo(cache, 'stabilityai/stable-video-diffusion-img2vid', {
    'model_index.json': svdIndex,
    'unet/config.json': '{}',
    'unet/diffusion_pytorch_model.fp16.safetensors': Buffer.alloc(1000),
  })
  cacheRepo(cache, 'TencentARC/MotionCtrl', {
    'motionctrl_svd.ckpt': Buffer.alloc(300),
    'README.md': '# MotionCtrl',
  })
  const onnxSnap = existsSync(refModel)
    ? cacheRepo(cache, 'someone/animatediff-onnx', filesOf(refModel))
    : null

  it("uses HF_HUB_CACHE, then HF_HOME/hub (Python's rules)", () => {
    const saved = { ...process.env }
    try {
      process.env['HF_HUB_CACHE'] = '/x/hub-cache'
      expect(hubCacheDir()).toBe('/x/hub-cache')
      delete process.env['HF_HUB_CACHE']
      process.env['HF_HOME'] = '/y/hf'
      expect(hubCacheDir()).toBe('/y/hf/hub')
    } finally {
      process.env = saved
    }
  })

  it('finds diffusers checkpoints, single checkpoint files and ONNX folders, with their sizes', async () => {
    const scan = await scanHubCache(cache)
    const by = Object.fromEntries(scan.models.map((m) => [m.repo, m]))
    expect(by['stabilityai/stable-video-diffusion-img2vid']).toMatchObject({
      kind: 'diffusers',
      className: 'StableVideoDiffusionPipeline',
      pipeline: 'svd',
      sizeBytes: svdIndex.length + 2 + 1000,
    })
    expect(by['TencentARC/MotionCtrl']).toMatchObject({
      kind: 'files',
      checkpoints: ['motionctrl_svd.ckpt'],
    })
    if (onnxSnap)
      expect(by['someone/animatediff-onnx']).toMatchObject({
        kind: 'onnx',
        pipeline: 'animatediff',
        path: onnxSnap,
      })
    expect(await scanHubCache(join(tmp, 'no-cache-here'))).toEqual({
      dir: join(tmp, 'no-cache-here'),
      models: [],
      warnings: [],
    })
  })

  it('the catalog marks what the cache holds and writes commands with the cached paths', async () => {
    const registry = new ModelRegistry(join(tmp, 'state'), [], () => null)
    const catalog = new ModelCatalog({
      registry,
      modelsDir: join(tmp, 'models'),
      exporterScript: null,
      freeVramMiB: () => 8192,
      emit: () => undefined,
      findPython: () => ({ ok: false, python: 'python3', reason: 'python3 lacks torch' }),
      scanCache: () => scanHubCache(cache),
    })
    const view = await catalog.list()
    expect(view.python).toEqual({ ready: false, python: 'python3', reason: 'python3 lacks torch' })
    const mc = view.entries.find((e) => e.id === 'motionctrl-svd')!
    const ckpt = join(
      cache,
      'models--TencentARC--MotionCtrl',
      'snapshots',
      'a'.repeat(40),
      'motionctrl_svd.ckpt',
    )
    expect(mc.sources.map((s) => s.cachedPath)).toEqual([
      join(
        cache,
        'models--stabilityai--stable-video-diffusion-img2vid',
        'snapshots',
        'a'.repeat(40),
      ),
      ckpt,
    ])
    // nothing to download: the checkpoint comes from the cache, the base by its id (diffusers reads the cache)
    expect(mc.command).toBe(
      `python tools/export/export_model.py svd --base stabilityai/stable-video-diffusion-img2vid --motionctrl ${ckpt} --fp16 --out ${join(tmp, 'models', 'motionctrl-svd')}`,
    )
    const adMc = view.entries.find((e) => e.id === 'motionctrl-animatediff')!
    expect(adMc.command.split('\n')[0]).toBe(
      'hf download TencentARC/MotionCtrl motionctrl_animatediff_cmcm.ckpt --local-dir ckpt',
    )
    expect(adMc.fits).toBe('resident')
    if (onnxSnap)
      expect(view.cache.models.find((m) => m.kind === 'onnx')).toMatchObject({ listed: false })
    // the studio cannot run an export without the exporter's Python: it says why
    await expect(catalog.startExport({ catalog: 'svd' })).rejects.toThrow(
      /cannot export here: python3 lacks torch/,
    )
  })

  it('every catalog entry names sources and a command the exporter takes', () => {
    // the exporter's own argparse declarations: its kinds and its options
    const src = readFileSync(join(__dirname, '../../tools/export/export_model.py'), 'utf8')
    const kinds = JSON.parse(
      /add_argument\("pipeline", choices=(\[[^\]]+\])\)/.exec(src)![1]!,
    ) as string[]
    const options = new Set([...src.matchAll(/add_argument\("(--[\w-]+)"/g)].map((m) => m[1]!))
    expect(options).toContain('--fun-camera')
    for (const e of CATALOG) {
      const c = exportCommand(e, '/m/x')
      expect(kinds).toContain(c.args[0])
      for (const a of c.args.filter((x) => x.startsWith('--')))
        expect(options.has(a), `${e.id}: ${a}`).toBe(true)
      expect(c.args[0]).toBe(e.exportKind)
      expect(c.args).toContain('--base')
      expect(c.text).toMatch(/--out \/m\/x/)
      expect(Object.keys(e.components).length).toBeGreaterThanOrEqual(3)
    }
    // Wan-Fun: VideoX-Fun's transformer over the Wan2.1 I2V base, UMT5 in float16
    const fun = CATALOG.find((e) => e.pipeline === 'wan-fun-camera')!
    expect(exportCommand(fun, '/m/x').args).toEqual([
      'wan',
      '--base',
      'Wan-AI/Wan2.1-I2V-14B-480P-Diffusers',
      '--fun-camera',
      'alibaba-pai/Wan2.1-Fun-V1.1-1.3B-Control-Camera',
      '--fp16',
      '--fp16-text-encoder',
    ])
  })
})

describe('finding a Python for the exporter', () => {
  it('names what is missing, or that no Python was found', () => {
    expect(findExportPython(['/no/such/python'])).toMatchObject({
      ok: false,
      python: null,
      reason: expect.stringMatching(/no Python found \(tried \/no\/such\/python\)/),
    })
    const sys = findExportPython(['python3'])
    // CI has python3 without torch; a developer machine may have everything
    if (!sys.ok)
      expect(sys.reason).toMatch(/python3 \(Python 3\.\d+\.\d+\) lacks .*torch.*requirements\.txt/)
    else expect(sys.python).toBe('python3')
  })
})

describe('the export runner', () => {
  // a stand-in exporter: prints export_lib's lines and writes the folder it is given
  const fake = join(tmp, 'fake_export.mjs')
  writeFileSync(
    fake,
    `import { cpSync, mkdirSync, writeFileSync } from 'node:fs'
const a = process.argv.slice(2)
const out = a[a.indexOf('--out') + 1]
if (a.includes('--fail')) { console.log('export_model: text_encoder: wrote x'); console.error('export_model: unet differs from PyTorch by 0.3 > 0.001; the export is not trustworthy'); process.exit(1) }
mkdirSync(out, { recursive: true })
for (const c of ['text_encoder', 'unet', 'vae_decoder']) {
  console.log('export_model: ' + c + ': wrote ' + c + '/model.onnx (1.0 MB, fp32)')
  if (a.includes('--slow')) await new Promise((r) => setTimeout(r, 2000))
}
writeFileSync(out + '/model_index.json', '{}')
`,
  )
  const job = (id: string, extra: string[]) => ({
    id,
    python: process.execPath,
    script: fake,
    args: ['animatediff', ...extra],
    out: join(tmp, 'exports', id),
    steps: 3,
  })

  it('stages the folder, reports each component, and moves it into place when done', async () => {
    const events: ExportEvent[] = []
    const out = await new ExportRunner((e) => events.push(e)).start(job('ok', []))
    expect(existsSync(join(out, 'model_index.json'))).toBe(true)
    expect(readdirSync(join(tmp, 'exports'))).toEqual(['ok'])
    expect(events.at(-1)).toMatchObject({ state: 'done', step: 3, steps: 3, out })
    expect(events.map((e) => e.step).filter((s, i, all) => s !== all[i - 1])).toEqual([0, 1, 2, 3])
  })

  it("fails with the exporter's own reason and leaves nothing", async () => {
    const events: ExportEvent[] = []
    await expect(
      new ExportRunner((e) => events.push(e)).start(job('bad', ['--fail'])),
    ).rejects.toThrow(/exit code 1\): unet differs from PyTorch by 0\.3/)
    expect(events.at(-1)).toMatchObject({ state: 'failed', step: 1 })
    expect(readdirSync(join(tmp, 'exports')).filter((f) => f.includes('bad'))).toEqual([])
  })

  it('cancels mid-export: the process ends and no folder is left', async () => {
    const events: ExportEvent[] = []
    const runner = new ExportRunner((e) => events.push(e))
    const done = runner.start(job('slow', ['--slow']))
    await new Promise((r) => setTimeout(r, 800))
    expect(runner.cancel('slow')).toBe(true)
    await expect(done).rejects.toThrow(/cancelled/)
    expect(events.at(-1)).toMatchObject({ state: 'cancelled' })
    expect(readdirSync(join(tmp, 'exports')).filter((f) => f.includes('slow'))).toEqual([])
    expect(runner.cancel('slow')).toBe(false)
  })

  it('refuses to overwrite an existing folder', async () => {
    mkdirSync(join(tmp, 'exports', 'taken'), { recursive: true })
    await expect(new ExportRunner(() => undefined).start(job('taken', []))).rejects.toThrow(
      /exists already/,
    )
  })

  it.skipIf(missing(refModel))('a done export joins the model list (the catalog adds it)', () => {
    const registry = new ModelRegistry(join(tmp, 'state2'), [], () => null)
    const dir = join(tmp, 'models2', 'animatediff')
    cpSync(refModel, dir, { recursive: true })
    expect(registry.add(dir).pipeline).toBe('animatediff')
  })
})

describe("the READMEs' export commands", () => {
  const root = join(__dirname, '..', '..')
  const docs = ['README.md', 'tools/export/README.md']
  /** Each `python tools/export/export_model.py ...` command of a doc, continuation lines joined. */
  const commands = (doc: string) =>
    readFileSync(join(root, doc), 'utf8')
      .replace(/\\\n\s*/g, ' ')
      .split('\n')
      .filter((l) => l.startsWith('python tools/export/export_model.py '))
      .map((l) =>
        l
          .replace(/\s#.*$/, '')
          .replace(/\\ /g, '_')
          .trim()
          .split(/\s+/)
          .slice(2),
      )
  const value = (args: string[], flag: string) => {
    const i = args.indexOf(flag)
    return i >= 0 ? args[i + 1] : undefined
  }
  const sources = (args: string[]) =>
    [
      args[0],
      value(args, '--base'),
      value(args, '--motion-adapter'),
      value(args, '--fun-camera'),
      args.includes('--motionctrl'),
    ].join(' ')

  it.each(docs)(
    "%s: a catalogued checkpoint gets the catalog's flags, float16 the text encoder's",
    (doc) => {
      const found = commands(doc)
      expect(found.length).toBeGreaterThan(3)
      let matched = 0
      for (const args of found) {
        const entry = CATALOG.find((e) => sources(exportCommand(e, 'x').args) === sources(args))
        if (entry) {
          matched++
          const want = exportCommand(entry, 'x').args.filter(
            (a) => a.startsWith('--') && a !== '--motionctrl',
          )
          for (const flag of want) expect(args, `${doc}: ${args.join(' ')}`).toContain(flag)
        }
        if (args.includes('--fp16') && FP16_TEXT_ENCODER.has(args[0] as never))
          expect(args, `${doc}: ${args.join(' ')} leaves T5/UMT5 in float32`).toContain(
            '--fp16-text-encoder',
          )
      }
      expect(matched).toBeGreaterThan(0)
    },
  )

  it.each(docs)('%s: downloads use `hf` (huggingface_hub 1.x has no huggingface-cli)', (doc) => {
    const text = readFileSync(join(root, doc), 'utf8')
    expect(text).not.toMatch(/huggingface-cli/)
  })
})

// an entry's clip is its family's (PIPELINES) unless it says otherwise, and what it says is
// not the family's again (the family's facts are declared once)
describe("the catalog's clips", () => {
  it.each(CATALOG.map((e) => [e.id, e] as const))('%s', (_id, e) => {
    const f = PIPELINES[e.pipeline]
    if (e.native)
      expect(e.native, 'native restates the family').not.toEqual({
        width: f.width,
        height: f.height,
        frames: f.frames,
      })
    const { call } = catalogMemory(e)
    expect([call.width, call.height, call.frames]).toEqual(
      e.native ? [e.native.width, e.native.height, e.native.frames] : [f.width, f.height, f.frames],
    )
  })
})
