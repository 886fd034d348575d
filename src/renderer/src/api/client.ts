// Picks the transport once at start: Electron's preload bridge when present, else the web
// host's WebSocket with the token from the page's URL (kept for reloads in sessionStorage,
// and removed from the address bar so it is not shared by accident).
import type { DollyBridge } from '../../../shared/contract'
import { createWebSocketBridge, type ConnectionState } from './ws-bridge'

declare global {
  interface Window {
    dolly?: DollyBridge
  }
}

export type Client = {
  api: DollyBridge
  transport: 'electron' | 'websocket'
  onConnection(fn: (s: ConnectionState) => void): () => void
  /** A media URL from main, made loadable here (the web host wants the token). */
  mediaUrl(url: string): string
  /** A stored input image's URL (for the thumbnail and the editor's subject). */
  inputUrl(id: string): string
  /** Sends a dropped image's bytes to main; resolves with main's id for it. */
  uploadInput(file: File): Promise<{ id: string; name: string; bytes: number }>
}

async function postInput(endpoint: string, file: File) {
  const r = await fetch(endpoint, { method: 'POST', body: file })
  const body = (await r.json().catch(() => ({}))) as {
    id?: string
    name?: string
    bytes?: number
    error?: string
  }
  if (!r.ok || !body.id) throw new Error(body.error ?? `${file.name}: upload failed (${r.status})`)
  return { id: body.id, name: body.name ?? file.name, bytes: body.bytes ?? file.size }
}

export function createClient(): Client {
  if (window.dolly) {
    return {
      api: window.dolly,
      transport: 'electron',
      onConnection: (fn) => (fn('open'), () => undefined),
      mediaUrl: (u) => u,
      inputUrl: (id) => `dolly-media://inputs/${encodeURIComponent(id)}`,
      uploadInput: (file) =>
        postInput(`dolly-media://inputs/?name=${encodeURIComponent(file.name)}`, file),
    }
  }
  const url = new URL(window.location.href)
  const fromUrl = url.searchParams.get('token')
  if (fromUrl) {
    sessionStorage.setItem('dolly.token', fromUrl)
    url.searchParams.delete('token')
    window.history.replaceState(null, '', url.pathname + url.search + url.hash)
  }
  const token = fromUrl ?? sessionStorage.getItem('dolly.token') ?? ''
  const subs = new Set<(s: ConnectionState) => void>()
  let last: ConnectionState = 'connecting'
  const api = createWebSocketBridge(window.location.origin, token, (s) => {
    last = s
    for (const fn of subs) fn(s)
  })
  return {
    api,
    transport: 'websocket',
    mediaUrl: (u) => `${u}${u.includes('?') ? '&' : '?'}token=${encodeURIComponent(token)}`,
    inputUrl: (id) => `/inputs/${encodeURIComponent(id)}?token=${encodeURIComponent(token)}`,
    uploadInput: (file) =>
      postInput(
        `/inputs?token=${encodeURIComponent(token)}&name=${encodeURIComponent(file.name)}`,
        file,
      ),
    onConnection: (fn) => {
      subs.add(fn)
      fn(last)
      return () => void subs.delete(fn)
    },
  }
}
