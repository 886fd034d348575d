// Paths a page hands main, through the real web host on 127.0.0.1 (token, WebSocket, the same
// dispatcher and handlers as the desktop app): a typed model or interpolation folder is a full
// path or one under the home folder, never one read from wherever the host happened to start;
// a project name is never a name Windows takes for a device.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import type { Result } from '../../src/shared/contract'
import { createDispatcher } from '../../src/main/services/dispatch'
import { createHandlers, type HandlerContext } from '../../src/main/services/handlers'
import { InterpolationSlot } from '../../src/main/services/interpolation'
import { ModelRegistry } from '../../src/main/services/model-registry'
import { ProjectStore } from '../../src/main/services/projects'
import { startWebHost, type WebHost } from '../../src/main/web/server'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-web-paths-'))
const projectsDir = join(tmp, 'projects')
let host: WebHost
let ws: WebSocket
let nextId = 1

beforeAll(async () => {
  const state = join(tmp, 'state')
  // only the services these commands reach are real; the rest are never called here
  const ctx = {
    registry: new ModelRegistry(state, [], () => null),
    interpolation: new InterpolationSlot(state),
    projects: new ProjectStore(projectsDir, state),
  } as unknown as HandlerContext
  host = await startWebHost({
    rendererDir: tmp,
    dispatch: createDispatcher(createHandlers(ctx)),
    port: 0,
  })
  ws = await new Promise<WebSocket>((resolve, reject) => {
    const s = new WebSocket(`ws://127.0.0.1:${host.port}/ws?token=${host.token}`)
    s.once('open', () => resolve(s))
    s.once('error', reject)
  })
})
afterAll(async () => {
  ws?.close()
  await host?.close()
  rmSync(tmp, { recursive: true, force: true })
})

function ask(command: string, payload: unknown): Promise<Result<unknown>> {
  const id = nextId++
  return new Promise((resolve) => {
    const on = (data: WebSocket.RawData) => {
      const m = JSON.parse(String(data)) as { id?: number; result: Result<unknown> }
      if (m.id !== id) return
      ws.off('message', on)
      resolve(m.result)
    }
    ws.on('message', on)
    ws.send(JSON.stringify({ id, command, payload }))
  })
}

describe('typed folders over the web host', () => {
  it("refuses ~name (another user's home in a shell) instead of reading it from the host's working folder", async () => {
    for (const [command, path] of [
      ['models.add', '~no-such-dolly-folder/model'],
      ['models.add', '~root/.ssh'],
      ['clip.setInterpolationModel', '~no-such-dolly-folder'],
    ] as const) {
      const r = await ask(command, { path })
      expect(r.ok).toBe(false)
      if (r.ok) continue
      expect(r.error.code).toBe('invalid-payload')
      expect(r.error.message).toContain("give the folder's full path")
      // it was looked up as <cwd>/~name: a relative path, which typedFolder exists to refuse
      expect(r.error.message).not.toContain(process.cwd())
    }
  })
})

const shot = {
  id: 'shot-1',
  settings: {
    modelId: 'demo',
    prompt: 'a lighthouse',
    negativePrompt: '',
    seed: 1,
    seedLocked: false,
    steps: 2,
    guidance: 1,
    frames: 8,
    fps: 8,
    scheduler: '',
    plan: 'auto',
    motion: 0.5,
  },
  camera: {
    version: 1,
    frames: 8,
    keyframes: [
      {
        id: 'k0',
        frame: 0,
        position: [0, 0, 0],
        rotation: [0, 0, 0, 1],
        fov: 50,
        easing: { type: 'linear' },
      },
    ],
    aim: 'free',
    target: [0, 0, 0],
    constantSpeed: false,
  },
  preset: null,
  clip: null,
}

describe('project names over the web host', () => {
  it('refuses the device names Windows also reads with a superscript digit or spaces before the dot', async () => {
    // COM¹ is COM1 and "con .txt" is CON to Windows (download.ts refuses both in repository
    // files): on Windows a save there writes to the device, and its backup step reads from it
    for (const name of ['COM¹', 'lpt³', 'con .txt', 'NUL  .x', 'aux ']) {
      const r = await ask('project.save', { name, doc: { shots: [shot], active: 0 } })
      expect(r.ok, name).toBe(false)
      if (!r.ok) expect(r.error.message).toMatch(/Windows reserves that name|space/)
    }
    expect(readdirSync(projectsDir)).toEqual([])
    // a name that only starts like one is fine
    const ok = await ask('project.save', { name: 'COM¹ plans', doc: { shots: [shot], active: 0 } })
    expect(ok.ok).toBe(true)
  })
})
