import { describe, expect, it, vi } from 'vitest'
import {
  commands,
  commandNames,
  ExportRequest,
  MAX_STRING,
  RenderRequest,
  type EngineStatus,
} from '../../src/shared/contract'
import { SETTING_LIMITS } from '../../src/shared/render'
import { createDispatcher, HandlerError, type Handlers } from '../../src/main/services/dispatch'

const readyStatus: EngineStatus = {
  state: 'ready',
  pid: 1234,
  providers: [
    { name: 'cuda', available: false, reason: 'no GPU' },
    { name: 'cpu', available: true, reason: null },
  ],
  onnxruntimeVersion: '1.30.0',
  gpu: null,
  gpuReason: 'nvidia-smi not found',
  restarts: 0,
  lastError: null,
}

function spyHandlers() {
  const handlers = {
    'app.info': vi.fn(async () => ({
      name: 'Dolly Studio',
      version: '0.1.0',
      host: 'web' as const,
      platform: 'linux',
      arch: 'x64',
      versions: { node: '20' },
    })),
    'app.pickFolder': vi.fn(async () => ({ path: null })),
    'engine.status': vi.fn(async () => readyStatus),
    'engine.restart': vi.fn(async () => readyStatus),
    'models.list': vi.fn(async () => []),
    'models.add': vi.fn(async (): Promise<never> => {
      throw new Error('not in this test')
    }),
    'models.remove': vi.fn(async () => ({ removed: false })),
    'models.setDefault': vi.fn(async () => ({ defaultId: 'x' })),
    'models.download': vi.fn(async () => ({ started: false })),
    'models.cancelDownload': vi.fn(async () => ({ cancelled: false })),
    'models.catalog': vi.fn(async (): Promise<never> => {
      throw new Error('not in this test')
    }),
    'models.export': vi.fn(async () => ({ started: false })),
    'models.cancelExport': vi.fn(async () => ({ cancelled: false })),
    'jobs.submit': vi.fn(async (_req: unknown): Promise<never> => {
      throw new Error('not in this test')
    }),
    'jobs.cancel': vi.fn(async () => ({ cancelled: false })),
    'jobs.list': vi.fn(async () => []),
    'jobs.get': vi.fn(async () => []),
    'clip.export': vi.fn(async () => ({ url: null, path: null })),
    'clip.cancelExport': vi.fn(async () => ({ cancelled: false })),
    'clip.interpolation': vi.fn(async (): Promise<never> => {
      throw new Error('not in this test')
    }),
    'clip.setInterpolationModel': vi.fn(async (): Promise<never> => {
      throw new Error('not in this test')
    }),
    'project.list': vi.fn(async () => ({ projects: [], recent: [] })),
    'project.save': vi.fn(async () => ({ name: 'x', savedAt: 0, revision: 'r' })),
    'project.open': vi.fn(async (): Promise<never> => {
      throw new Error('not in this test')
    }),
    'project.autosave': vi.fn(async () => ({ savedAt: 0 })),
    'project.recovery': vi.fn(async () => null),
    'project.discardRecovery': vi.fn(async () => ({ discarded: true })),
    'project.clearAutosave': vi.fn(async () => ({ cleared: true as const })),
  } satisfies Handlers
  return handlers
}

describe('contract', () => {
  it('declares the commands and events of the foundation', () => {
    expect(commandNames.sort()).toEqual([
      'app.info',
      'app.pickFolder',
      'clip.cancelExport',
      'clip.export',
      'clip.interpolation',
      'clip.setInterpolationModel',
      'engine.restart',
      'engine.status',
      'jobs.cancel',
      'jobs.get',
      'jobs.list',
      'jobs.submit',
      'models.add',
      'models.cancelDownload',
      'models.cancelExport',
      'models.catalog',
      'models.download',
      'models.export',
      'models.list',
      'models.remove',
      'models.setDefault',
      'project.autosave',
      'project.clearAutosave',
      'project.discardRecovery',
      'project.list',
      'project.open',
      'project.recovery',
      'project.save',
    ])
    expect(Object.keys(commands)).toHaveLength(commandNames.length)
  })
})

describe('dispatcher', () => {
  it('answers a valid request with the handler value', async () => {
    const h = spyHandlers()
    const r = await createDispatcher(h)('engine.status', {})
    expect(r).toEqual({ ok: true, value: readyStatus })
    expect(h['engine.status']).toHaveBeenCalledOnce()
  })

  const bad: [string, unknown, RegExp][] = [
    ['a wrong type (string instead of object)', 'hello', /expected object/i],
    ['a wrong type (array)', [1, 2], /expected object/i],
    ['an extra key', { extra: 1 }, /unrecognized key/i],
    ['an oversized string', { note: 'x'.repeat(MAX_STRING + 1) }, /longer than 4096/],
    [
      'a __proto__ key',
      JSON.parse('{"__proto__": {"polluted": true}}'),
      /key "__proto__" is not accepted/,
    ],
    [
      'a nested __proto__ key',
      JSON.parse('{"a": {"b": {"__proto__": {"x": 1}}}}'),
      /a\.b\.__proto__: key "__proto__"/,
    ],
    [
      'a constructor key',
      { constructor: { prototype: { x: 1 } } },
      /key "constructor" is not accepted/,
    ],
    ['a prototype key', { prototype: 1 }, /key "prototype" is not accepted/],
    ['a non-finite number', { n: Number.NaN }, /finite/],
    ['a class instance', { d: new Date() }, /only plain objects/],
    ['deep nesting', JSON.parse('{"a":'.repeat(40) + '1' + '}'.repeat(40)), /nested deeper/],
  ]
  for (const [what, payload, message] of bad) {
    it(`refuses ${what} with a typed error and never calls the handler`, async () => {
      const h = spyHandlers()
      const r = await createDispatcher(h)('engine.status', payload)
      expect(r.ok).toBe(false)
      if (r.ok) return
      expect(r.error.code).toBe('invalid-payload')
      expect(r.error.message).toMatch(message)
      expect(r.error.message).toMatch(/^engine\.status: /)
      expect(h['engine.status']).not.toHaveBeenCalled()
      // The global prototype is untouched whatever was sent.
      expect(({} as Record<string, unknown>)['polluted']).toBeUndefined()
    })
  }

  it('refuses unknown and inherited command names', async () => {
    const h = spyHandlers()
    const d = createDispatcher(h)
    for (const name of ['engine.explode', 'toString', '__proto__', 42, null]) {
      const r = await d(name, {})
      expect(r).toMatchObject({ ok: false, error: { code: 'unknown-command' } })
    }
    for (const fn of Object.values(h)) expect(fn).not.toHaveBeenCalled()
  })

  it("turns a handler's exception into a typed internal error", async () => {
    const h = spyHandlers()
    h['engine.status'].mockRejectedValueOnce(new Error('disk on fire'))
    const r = await createDispatcher(h)('engine.status', {})
    expect(r).toEqual({
      ok: false,
      error: { code: 'internal', message: 'engine.status: disk on fire' },
    })
  })

  it('keeps the code a handler chose', async () => {
    const h = spyHandlers()
    h['engine.restart'].mockRejectedValueOnce(
      new HandlerError('engine-unavailable', 'the engine is crashed'),
    )
    const r = await createDispatcher(h)('engine.restart', {})
    expect(r).toMatchObject({
      ok: false,
      error: { code: 'engine-unavailable', message: 'engine.restart: the engine is crashed' },
    })
  })

  it('refuses a handler answer that breaks the response schema', async () => {
    const h = spyHandlers()
    h['engine.status'].mockResolvedValueOnce({
      ...readyStatus,
      state: 'exploded',
    } as unknown as EngineStatus)
    const r = await createDispatcher(h)('engine.status', {})
    expect(r).toMatchObject({ ok: false, error: { code: 'internal' } })
    if (!r.ok) expect(r.error.message).toMatch(/broke the contract/)
  })

  it('treats a missing payload as an empty one', async () => {
    const h = spyHandlers()
    const r = await createDispatcher(h)('app.info', undefined)
    expect(r.ok).toBe(true)
  })
})

describe('render requests', () => {
  const ok = {
    modelId: '/models/demo',
    prompt: 'a lighthouse at dusk',
    steps: 10,
    guidance: 7.5,
    seed: 3,
    fps: 8,
    motion: 0.5,
    camera: { preset: 'orbit-left', speed: 1 },
  }
  it('accepts a well-formed request and fills defaults', async () => {
    const h = spyHandlers()
    h['jobs.submit'].mockImplementationOnce(async (req: unknown) => {
      expect(req).toMatchObject({ ...ok, negativePrompt: '', plan: 'auto' })
      throw new HandlerError('engine-unavailable', 'stop here')
    })
    const r = await createDispatcher(h)('jobs.submit', ok)
    expect(r).toMatchObject({ ok: false, error: { code: 'engine-unavailable' } })
  })
  for (const [what, patch] of [
    ['a negative step count', { steps: -1 }],
    ['a fractional seed', { seed: 1.5 }],
    ['a scheduler we do not have', { scheduler: 'PNDMScheduler' }],
    ['a motion strength over 1', { motion: 2 }],
    [
      'a trajectory with a NaN position',
      {
        camera: {
          trajectory: {
            version: 1,
            frames: 16,
            aim: 'free',
            target: [0, 0, 0],
            constantSpeed: false,
            keyframes: [
              {
                id: 'a',
                frame: 0,
                position: [0, Number.NaN, 0],
                rotation: [0, 0, 0, 1],
                fov: 45,
                easing: { type: 'linear' },
              },
            ],
          },
        },
      },
    ],
    ['a model path with an extra key', { modelPath: '/etc' }],
  ] as const) {
    it(`refuses ${what}`, async () => {
      const h = spyHandlers()
      const r = await createDispatcher(h)('jobs.submit', { ...ok, ...patch })
      expect(r).toMatchObject({ ok: false, error: { code: 'invalid-payload' } })
      expect(h['jobs.submit']).not.toHaveBeenCalled()
    })
  }
})

describe('model downloads', () => {
  it('refuses a repository id that is not owner/name in the request itself (it answered started and failed later)', () => {
    const req = commands['models.download'].request
    for (const bad of [
      '../../etc',
      'owner',
      'a/b/c',
      '/abs/path',
      'owner/.hidden',
      'x'.repeat(300),
    ])
      expect(req.safeParse({ repo: bad }).success, bad).toBe(false)
    expect(req.safeParse({ repo: 'Wan-AI/Wan2.1-T2V-1.3B-Diffusers' }).success).toBe(true)
  })
})

// the bounds a request's numbers take are the settings' (shared/render.ts SETTING_LIMITS), the
// one place the panel's fields read them too
describe('request bounds come from SETTING_LIMITS', () => {
  it("a render's frames and an export's frame rate", () => {
    const { frames, fps } = SETTING_LIMITS
    const framesOk = (n: number) => RenderRequest.shape.frames.safeParse(n).success
    const fpsOk = (n: number) => ExportRequest.shape.fps.safeParse(n).success
    expect([frames.min - 1, frames.min, frames.max, frames.max + 1].map(framesOk)).toEqual([
      false,
      true,
      true,
      false,
    ])
    expect([fps.min - 1, fps.min, fps.max, fps.max + 1].map(fpsOk)).toEqual([
      false,
      true,
      true,
      false,
    ])
  })
})
