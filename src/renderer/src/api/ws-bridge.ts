// The same `DollyBridge` as Electron's preload, spoken over the web host's WebSocket. Used
// when the page runs in a plain browser (no preload): `npm run serve` and the e2e tests.
import {
  commandNames,
  isEventName,
  splitCommandName,
  type DollyBridge,
  type EventName,
  type Result,
} from '../../../shared/contract'

export type ConnectionState = 'connecting' | 'open' | 'closed' | 'unauthorized'

type Pending = (r: Result<unknown>) => void

export function createWebSocketBridge(
  baseUrl: string,
  token: string,
  onConnection: (s: ConnectionState) => void,
): DollyBridge {
  const listeners = new Map<string, Set<(p: unknown) => void>>()
  const pending = new Map<number, Pending>()
  const queue: string[] = []
  let ws: WebSocket | null = null
  let nextId = 1
  let retryMs = 250
  let stopped = false

  const wsUrl = new URL('/ws', baseUrl)
  wsUrl.protocol = wsUrl.protocol === 'https:' ? 'wss:' : 'ws:'
  wsUrl.searchParams.set('token', token)

  async function connect(): Promise<void> {
    if (stopped) return
    onConnection('connecting')
    // A browser cannot read the status of a refused WebSocket upgrade, so ask first.
    try {
      const check = await fetch(new URL('/auth-check', baseUrl), {
        headers: { Authorization: `Bearer ${token}` },
      })
      if (check.status === 401) {
        stopped = true
        onConnection('unauthorized')
        for (const [id, resolve] of pending) {
          resolve({
            ok: false,
            error: {
              code: 'forbidden',
              message: 'the studio refused this page: its token is missing or wrong',
            },
          })
          pending.delete(id)
        }
        return
      }
    } catch {
      scheduleReconnect()
      return
    }
    const socket = new WebSocket(wsUrl)
    ws = socket
    socket.onopen = () => {
      retryMs = 250
      onConnection('open')
      while (queue.length) socket.send(queue.shift()!)
    }
    socket.onmessage = (e) => {
      let msg: { id?: number; result?: Result<unknown>; event?: string; payload?: unknown }
      try {
        msg = JSON.parse(String(e.data))
      } catch {
        return
      }
      if (typeof msg.id === 'number' && msg.result) {
        pending.get(msg.id)?.(msg.result)
        pending.delete(msg.id)
      } else if (typeof msg.event === 'string') {
        for (const fn of listeners.get(msg.event) ?? []) fn(msg.payload)
      }
    }
    socket.onclose = () => {
      if (ws === socket) ws = null
      // Requests in flight on a dropped socket will never be answered.
      for (const [id, resolve] of pending) {
        resolve({
          ok: false,
          error: { code: 'engine-unavailable', message: 'the connection to the studio was lost' },
        })
        pending.delete(id)
      }
      if (!stopped) {
        onConnection('closed')
        scheduleReconnect()
      }
    }
  }

  function scheduleReconnect(): void {
    setTimeout(() => void connect(), retryMs)
    retryMs = Math.min(retryMs * 2, 5000)
  }

  function call(command: string, payload: unknown): Promise<Result<unknown>> {
    if (stopped) {
      return Promise.resolve({
        ok: false,
        error: {
          code: 'forbidden',
          message: 'the studio refused this page: its token is missing or wrong',
        },
      })
    }
    const id = nextId++
    const text = JSON.stringify({ id, command, payload: payload ?? {} })
    return new Promise((resolve) => {
      pending.set(id, resolve)
      if (ws && ws.readyState === WebSocket.OPEN) ws.send(text)
      else queue.push(text)
    })
  }

  const areas: Record<string, Record<string, (payload?: unknown) => Promise<Result<unknown>>>> = {}
  for (const name of commandNames) {
    const [area, verb] = splitCommandName(name)
    areas[area] ??= {}
    areas[area][verb] = (payload?: unknown) => call(name, payload)
  }
  const on = (event: EventName, listener: (p: unknown) => void) => {
    if (!isEventName(event)) throw new Error(`unknown event "${String(event)}"`)
    let set = listeners.get(event)
    if (!set) listeners.set(event, (set = new Set()))
    set.add(listener)
    return () => void set.delete(listener)
  }

  void connect()
  return { ...areas, on } as unknown as DollyBridge
}
