// The window's webPreferences, the CSPs, and what the preload exposes to the page.
import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { beforeEach, describe, expect, it, vi } from 'vitest'
import { commandNames, ipcChannel } from '../../src/shared/contract'
import { ELECTRON_CSP, mainWindowOptions } from '../../src/main/electron/window-options'

const exposed: { key: string; api: unknown }[] = []
const invoke = vi.fn(async (..._args: unknown[]) => ({ ok: true, value: {} }))
const listeners = new Map<string, (...args: unknown[]) => void>()

vi.mock('electron', () => ({
  contextBridge: { exposeInMainWorld: (key: string, api: unknown) => exposed.push({ key, api }) },
  ipcRenderer: {
    invoke: (...args: unknown[]) => invoke(...args),
    on: (channel: string, fn: (...args: unknown[]) => void) => listeners.set(channel, fn),
    removeListener: (channel: string) => listeners.delete(channel),
  },
  ipcMain: { handle: vi.fn() },
}))

describe('main window', () => {
  const opts = mainWindowOptions('/app/out/preload/index.cjs')
  it('isolates the page from Node and Electron', () => {
    expect(opts.webPreferences).toMatchObject({
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      preload: '/app/out/preload/index.cjs',
    })
  })

  it('runs the renderer under a CSP with no inline or eval scripts', () => {
    const html = readFileSync(resolve(__dirname, '../../src/renderer/index.html'), 'utf8')
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1]
    expect(meta).toBeDefined()
    for (const csp of [meta!, ELECTRON_CSP]) {
      const script = csp
        .split(';')
        .map((d) => d.trim())
        .find((d) => d.startsWith('script-src'))
      expect(script).toBe("script-src 'self'")
      expect(csp).toContain("object-src 'none'")
      expect(csp).not.toContain('unsafe-eval')
      // the page talks to its own origin only: the desktop window (file://, where the meta tag
      // is the policy) allowed a WebSocket to any port on this machine
      const connect = csp
        .split(';')
        .map((d) => d.trim())
        .find((d) => d.startsWith('connect-src'))
      expect(connect).toBe("connect-src 'self' dolly-media:")
    }
  })
})

describe('preload', () => {
  beforeEach(async () => {
    exposed.length = 0
    invoke.mockClear()
    listeners.clear()
    vi.resetModules()
    await import('../../src/preload/index')
  })

  it('exposes exactly one global, window.dolly, shaped by the contract', () => {
    expect(exposed.map((e) => e.key)).toEqual(['dolly'])
    const api = exposed[0]!.api as Record<string, unknown>
    const areas = [...new Set(commandNames.map((n) => n.split('.')[0]!))]
    expect(Object.keys(api).sort()).toEqual([...areas, 'on'].sort())
    for (const name of commandNames) {
      const [area, verb] = name.split('.') as [string, string]
      expect(typeof (api[area] as Record<string, unknown>)[verb]).toBe('function')
    }
    // No raw IPC and no generic invoke(channel) anywhere in the object.
    const allKeys = JSON.stringify(api, (_k, v) => (typeof v === 'function' ? 'fn' : v))
    expect(allKeys).not.toMatch(/ipcRenderer|invoke|"send"/)
    expect(Object.isFrozen(api)).toBe(true)
  })

  it('sends each command on its own fixed channel', async () => {
    const api = exposed[0]!.api as { engine: { status: (p?: unknown) => Promise<unknown> } }
    await api.engine.status()
    expect(invoke).toHaveBeenCalledWith(ipcChannel.command('engine.status'), {})
  })

  it('subscribes only to known events and never passes the IPC event object to the page', () => {
    const api = exposed[0]!.api as { on: (e: string, fn: (p: unknown) => void) => () => void }
    expect(() => api.on('ipc.anything', () => undefined)).toThrow(/unknown event/)
    const got: unknown[] = []
    const off = api.on('engine.state', (...args: unknown[]) => got.push(args))
    const channel = ipcChannel.event('engine.state')
    listeners.get(channel)!({ sender: 'secret' }, { state: 'ready' })
    expect(got).toEqual([[{ state: 'ready' }]])
    off()
    expect(listeners.has(channel)).toBe(false)
  })
})

describe('IPC sender check', () => {
  it('accepts only the main frame of our window showing our renderer', async () => {
    const { isTrustedSender } = await import('../../src/main/electron/ipc')
    const url = 'file:///app/out/renderer/index.html'
    const frame = { url }
    const wc = { isDestroyed: () => false, mainFrame: frame }
    const windows = [wc] as never[]
    expect(isTrustedSender(frame as never, url, windows)).toBe(true)
    expect(isTrustedSender({ url } as never, url, windows)).toBe(false) // a subframe or another window
    expect(
      isTrustedSender({ url: 'https://evil.example/' } as never, url, [
        { isDestroyed: () => false, mainFrame: { url: 'https://evil.example/' } },
      ] as never[]),
    ).toBe(false)
    const navigated = { url: 'file:///tmp/other.html' }
    expect(
      isTrustedSender(navigated as never, url, [
        { isDestroyed: () => false, mainFrame: navigated },
      ] as never[]),
    ).toBe(false)
    expect(isTrustedSender(null, url, windows)).toBe(false)
  })
})
