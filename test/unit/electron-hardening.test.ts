// The desktop host's pure parts (Electron has no binary here; main.ts only wires these up):
// permission checks are denied as well as requests, a packaged app ignores
// ELECTRON_RENDERER_URL, and dolly-media://inputs counts a POST body while it streams (a body
// without a Content-Length, or with a false one, was read whole before the size check).
import { describe, expect, it } from 'vitest'
import { denyAllPermissions, rendererUrlFor } from '../../src/main/electron/window-options'
import { handleMediaRequest } from '../../src/main/electron/media-protocol'
import { MAX_INPUT_BYTES, type InputStore } from '../../src/main/services/inputs'

describe('permissions', () => {
  it('denies every permission request and every permission check', () => {
    const set: Record<string, (...a: never[]) => unknown> = {}
    denyAllPermissions({
      setPermissionRequestHandler: (fn: never) => void (set['request'] = fn),
      setPermissionCheckHandler: (fn: never) => void (set['check'] = fn),
    } as never)
    const answers: boolean[] = []
    ;(set['request'] as (wc: unknown, p: string, cb: (ok: boolean) => void) => void)(
      {},
      'media',
      (ok) => answers.push(ok),
    )
    expect(answers).toEqual([false])
    const check = set['check'] as (wc: unknown, p: string) => boolean
    for (const p of ['media', 'clipboard-read', 'notifications', 'geolocation', 'hid', 'serial'])
      expect(check(null, p)).toBe(false)
  })
})

describe('the renderer URL', () => {
  const built = 'file:///app/out/renderer/index.html'
  it('a packaged app ignores ELECTRON_RENDERER_URL', () => {
    expect(rendererUrlFor({ ELECTRON_RENDERER_URL: 'https://evil.example/' }, true, built)).toBe(
      built,
    )
  })
  it('a development run uses the dev server when it is set', () => {
    expect(rendererUrlFor({ ELECTRON_RENDERER_URL: 'http://localhost:5173/' }, false, built)).toBe(
      'http://localhost:5173/',
    )
    expect(rendererUrlFor({}, false, built)).toBe(built)
  })
})

describe('dolly-media://inputs POST', () => {
  const store = {
    add: (b: Uint8Array) => ({ id: 'x', name: 'x', bytes: b.length }),
  } as unknown as InputStore

  /** A body that never ends (no Content-Length), counting what was read from it. */
  function endless(): { body: ReadableStream<Uint8Array>; pulled: () => number } {
    let pulled = 0
    const chunk = new Uint8Array(1 << 20)
    return {
      body: new ReadableStream({
        pull(c) {
          pulled += chunk.length
          c.enqueue(chunk)
        },
      }),
      pulled: () => pulled,
    }
  }

  it('answers 413 as soon as a streamed body passes the limit, without reading the rest', async () => {
    const { body, pulled } = endless()
    const req = new Request('dolly-media://inputs?name=big.png', {
      method: 'POST',
      body,
      duplex: 'half',
    } as RequestInit)
    const res = await handleMediaRequest(req, '/nowhere', store)
    expect(res.status).toBe(413)
    expect(await res.json()).toEqual({
      error: `images up to ${MAX_INPUT_BYTES / 2 ** 20} MiB are accepted`,
    })
    expect(pulled()).toBeLessThan(MAX_INPUT_BYTES + 4 * (1 << 20))
  }, 20_000)

  it('a false, small Content-Length does not let a large body through', async () => {
    const { body } = endless()
    const req = new Request('dolly-media://inputs?name=big.png', {
      method: 'POST',
      body,
      duplex: 'half',
      headers: { 'Content-Length': '10' },
    } as RequestInit)
    expect((await handleMediaRequest(req, '/nowhere', store)).status).toBe(413)
  }, 20_000)

  it('takes a body within the limit', async () => {
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3])
    const req = new Request('dolly-media://inputs?name=a.png', { method: 'POST', body: png })
    const res = await handleMediaRequest(req, '/nowhere', store)
    expect(res.status).toBe(200)
    expect(await res.json()).toMatchObject({ bytes: png.length })
  })
})

describe('what a page may open', () => {
  it('opens no window and no external URL for the page, and navigates only within the studio', async () => {
    const { lockDownContents } = await import('../../src/main/electron/window-options')
    const on: Record<string, (...a: unknown[]) => void> = {}
    let openHandler: ((d: { url: string }) => { action: string }) | null = null
    lockDownContents(
      {
        setWindowOpenHandler: (fn: never) => void (openHandler = fn),
        on: (event: string, fn: never) => void (on[event] = fn),
      } as never,
      (url) => url.startsWith('file:///app/index.html'),
    )
    // the studio shows no external links: a page that asks to open one (window.open, a
    // target=_blank link) gets nothing, not the person's browser on a URL it chose
    // (shell.openExternal of any https URL from the page, as main.ts did)
    for (const url of [
      'https://evil.example/phish',
      'http://evil.example/',
      'file:///etc/passwd',
      'smb://host/share',
    ])
      expect(openHandler!({ url })).toEqual({ action: 'deny' })
    const navigate = (url: string) => {
      let prevented = false
      on['will-navigate']!({ preventDefault: () => (prevented = true) }, url)
      return prevented
    }
    expect(navigate('https://evil.example/')).toBe(true)
    expect(navigate('file:///etc/passwd')).toBe(true)
    expect(navigate('file:///app/index.html?x=1')).toBe(false)
    let webview = false
    on['will-attach-webview']!({ preventDefault: () => (webview = true) })
    expect(webview).toBe(true)
  })
})
