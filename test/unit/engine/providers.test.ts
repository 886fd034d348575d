// Execution providers: the order each platform tries them in, the probe's refusal reasons
// (platform, session factory and installed files injected), and the runtime falling back down
// that order with the reason kept.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import * as ort from 'onnxruntime-node'
import { afterAll, describe, expect, it } from 'vitest'
import {
  COREML_FLAGS,
  probeProviders,
  providerOrder,
  providerSessionOptions,
  type ProbeEnv,
} from '../../../src/main/engine/runtime/providers'
import { Runtime } from '../../../src/main/engine/runtime/session'
import * as tiny from '../../../src/demo-model/tiny-models'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-providers-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

type Created = { provider: string; options: ort.InferenceSession.SessionOptions }

/** A probe environment: `works` lists the providers whose sessions run (and return 1.5). */
function env(
  platform: NodeJS.Platform,
  backends: string[],
  o: { works?: string[]; files?: boolean; wrongValue?: string[] } = {},
): ProbeEnv & { created: Created[] } {
  const created: Created[] = []
  return {
    platform,
    arch: 'x64',
    created,
    backends: () => backends.map((name) => ({ name, bundled: name !== 'cuda' })),
    fileExists: () => o.files ?? true,
    createSession: async (_model, options) => {
      const ep = options.executionProviders![0]!
      const provider = typeof ep === 'string' ? ep : ep.name
      created.push({ provider, options })
      if (!(o.works ?? ['cpu']).includes(provider))
        throw new Error(`${provider} device unavailable\nsecond line`)
      const y = o.wrongValue?.includes(provider) ? 0 : 1.5
      return {
        run: async () => ({ Y: new ort.Tensor('float32', new Float32Array([y]), [1]) }),
        release: async () => undefined,
      } as unknown as ort.InferenceSession
    },
  }
}

describe('provider order', () => {
  it('is one list per platform: its GPU providers first, the CPU last', () => {
    expect(providerOrder('linux')).toEqual(['cuda', 'cpu'])
    expect(providerOrder('win32')).toEqual(['cuda', 'dml', 'cpu'])
    expect(providerOrder('darwin')).toEqual(['coreml', 'cpu'])
    expect(providerOrder('freebsd')).toEqual(['cpu'])
  })

  it('passes each provider what the Node binding reads', () => {
    expect(providerSessionOptions('cuda', 1)).toEqual({
      executionProviders: [{ name: 'cuda', deviceId: 1 }],
      extra: { session: { use_device_allocator_for_initializers: '1' } },
    })
    expect(providerSessionOptions('dml')).toMatchObject({
      executionProviders: [{ name: 'dml', deviceId: 0 }],
      enableMemPattern: false,
      executionMode: 'sequential',
    })
    expect(providerSessionOptions('coreml')).toEqual({
      executionProviders: [{ name: 'coreml', coreMlFlags: COREML_FLAGS }],
    })
  })
})

describe('the probe', () => {
  it('Linux without the CUDA library: CUDA refused with what to do, the CPU proven', async () => {
    const e = env('linux', ['cpu', 'webgpu', 'cuda'], { files: false })
    const p = await probeProviders(e)
    expect(p.map((x) => x.name)).toEqual(['cuda', 'cpu'])
    expect(p[0]).toMatchObject({ available: false })
    expect(p[0]!.reason).toMatch(
      /CUDA provider library is not installed.*reinstall it with internet/,
    )
    expect(p[1]).toEqual({ name: 'cpu', available: true, reason: null })
    // CUDA was never tried: no session without its library
    expect(e.created.map((c) => c.provider)).toEqual(['cpu'])
  })

  it('Linux with CUDA installed: available only once a session was created and ran', async () => {
    const ok = await probeProviders(env('linux', ['cpu', 'cuda'], { works: ['cuda', 'cpu'] }))
    expect(ok[0]).toEqual({ name: 'cuda', available: true, reason: null })
    const broken = await probeProviders(env('linux', ['cpu', 'cuda'], { works: ['cpu'] }))
    expect(broken[0]!.reason).toBe(
      'a CUDA session could not be created and run: cuda device unavailable',
    )
    const wrong = await probeProviders(
      env('linux', ['cpu', 'cuda'], { works: ['cuda', 'cpu'], wrongValue: ['cuda'] }),
    )
    expect(wrong[0]).toMatchObject({
      available: false,
      reason: 'a probe session ran but returned a wrong value',
    })
  })

  it('Windows: CUDA refused where the build has none, DirectML proven by a session', async () => {
    const e = env('win32', ['cpu', 'dml', 'webgpu'], { works: ['dml', 'cpu'] })
    const p = await probeProviders(e)
    expect(p.map((x) => [x.name, x.available])).toEqual([
      ['cuda', false],
      ['dml', true],
      ['cpu', true],
    ])
    expect(p[0]!.reason).toBe('this onnxruntime-node build has no CUDA provider for win32-x64')
    const dml = e.created.find((c) => c.provider === 'dml')!
    expect(dml.options).toMatchObject({ enableMemPattern: false, executionMode: 'sequential' })
    const failing = await probeProviders(env('win32', ['cpu', 'dml'], { works: ['cpu'] }))
    expect(failing[1]!.reason).toBe(
      'a DirectML session could not be created and run: dml device unavailable',
    )
    const noDll = await probeProviders(env('win32', ['cpu', 'dml'], { files: false }))
    expect(noDll[1]!.reason).toMatch(/DirectML\.dll is missing/)
  })

  it('macOS: CoreML proven or refused, never CUDA or DirectML', async () => {
    const e = env('darwin', ['cpu', 'coreml', 'webgpu'], { works: ['coreml', 'cpu'] })
    const p = await probeProviders(e)
    expect(p).toEqual([
      { name: 'coreml', available: true, reason: null },
      { name: 'cpu', available: true, reason: null },
    ])
    expect(e.created[0]!.options.executionProviders).toEqual([
      { name: 'coreml', coreMlFlags: COREML_FLAGS },
    ])
    const old = await probeProviders(env('darwin', ['cpu']))
    expect(old[0]!.reason).toBe('this onnxruntime-node build has no CoreML provider for darwin-x64')
  })

  it('the real probe here: the CPU runs, each GPU provider proven or refused with a reason', async () => {
    const p = await probeProviders()
    expect(p.at(-1)).toEqual({ name: 'cpu', available: true, reason: null })
    for (const x of p.slice(0, -1)) {
      if (!x.available) expect(x.reason, x.name).toMatch(/\w/)
    }
  })
})

describe('the runtime falls back down the order', () => {
  it('a GPU provider that fails gives way to the next, and the reason is kept', async () => {
    const f = join(tmp, 'te.onnx')
    writeFileSync(f, tiny.clipTextEncoder())
    const tried: string[] = []
    const rt = new Runtime({
      providers: ['dml', 'cpu'],
      createSession: async (path, options) => {
        const ep = options.executionProviders![0]!
        const name = typeof ep === 'string' ? ep : ep.name
        tried.push(name)
        if (name === 'dml') throw new Error('DirectML: no D3D12 device\ndetails')
        return ort.InferenceSession.create(path, options)
      },
    })
    const s = await rt.load(f, 'text_encoder')
    expect(s.provider).toBe('cpu')
    expect(rt.providerFallbackReason).toBe(
      'DirectML unavailable, running on the CPU: DirectML: no D3D12 device',
    )
    // a failed provider is not tried again
    const s2 = await rt.load(f, 'text_encoder')
    expect(tried).toEqual(['dml', 'cpu', 'cpu'])
    await s.release()
    await s2.release()
  })

  it('out of memory while a GPU provider loads is an out-of-memory error, not a fallback', async () => {
    const rt = new Runtime({
      providers: ['cuda', 'cpu'],
      createSession: async () => {
        throw new Error('CUDA failure 2: out of memory')
      },
    })
    await expect(rt.load('x.onnx', 'unet')).rejects.toThrow(
      /unet: out of memory loading x\.onnx on CUDA/,
    )
  })

  it('preferCuda: false runs on the CPU only', () => {
    expect(new Runtime({ preferCuda: false, providers: ['coreml', 'cpu'] }).providers).toEqual([
      'cpu',
    ])
    expect(new Runtime({ providers: ['cpu', 'dml'] }).providers).toEqual(['dml', 'cpu'])
  })
})
