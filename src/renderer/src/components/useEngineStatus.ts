import { useCallback, useEffect, useRef, useState } from 'react'
import type { DollyBridge, EngineStatus } from '../../../shared/contract'

export type Transition = { state: EngineStatus['state']; at: number }

/** Live engine status: one fetch, then `engine.state` events, plus a slow poll for free VRAM. */
export function useEngineStatus(api: DollyBridge, pollMs = 5000) {
  const [status, setStatus] = useState<EngineStatus | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [history, setHistory] = useState<Transition[]>([])
  const lastState = useRef<string | null>(null)

  const accept = useCallback((s: EngineStatus) => {
    setStatus(s)
    setError(null)
    if (lastState.current !== s.state) {
      lastState.current = s.state
      setHistory((h) => [...h.slice(-11), { state: s.state, at: Date.now() }])
    }
  }, [])

  const refresh = useCallback(async () => {
    const r = await api.engine.status()
    if (r.ok) accept(r.value)
    else setError(r.error.message)
  }, [api, accept])

  useEffect(() => {
    const off = api.on('engine.state', accept)
    void refresh()
    const timer = setInterval(() => void refresh(), pollMs)
    return () => {
      off()
      clearInterval(timer)
    }
  }, [api, accept, refresh, pollMs])

  const restart = useCallback(async () => {
    const r = await api.engine.restart()
    if (r.ok) accept(r.value)
    else setError(r.error.message)
  }, [api, accept])

  return { status, error, history, restart }
}
