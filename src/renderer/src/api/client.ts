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
}

export function createClient(): Client {
  if (window.dolly) {
    return {
      api: window.dolly,
      transport: 'electron',
      onConnection: (fn) => (fn('open'), () => undefined),
      mediaUrl: (u) => u,
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
    onConnection: (fn) => {
      subs.add(fn)
      fn(last)
      return () => void subs.delete(fn)
    },
  }
}
