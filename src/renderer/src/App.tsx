import { useEffect, useMemo, useState } from 'react'
import { createClient } from './api/client'
import type { ConnectionState } from './api/ws-bridge'
import { StatusBar } from './components/StatusBar'
import { useEngineStatus } from './components/useEngineStatus'

function Region(props: { name: string; className: string; children?: React.ReactNode }) {
  return (
    <section className={`region ${props.className}`} aria-label={props.name}>
      <header className="region-title">{props.name}</header>
      <div className="region-body">{props.children}</div>
    </section>
  )
}

export function App() {
  const client = useMemo(() => createClient(), [])
  const [connection, setConnection] = useState<ConnectionState>('connecting')
  useEffect(() => client.onConnection(setConnection), [client])
  const engine = useEngineStatus(client.api)

  return (
    <div className="studio">
      <header className="titlebar">
        <span className="logo">Dolly Studio</span>
      </header>
      <Region name="Generate" className="left" />
      <Region name="Viewport" className="centre" />
      <Region name="Jobs" className="right" />
      <Region name="Timeline" className="bottom" />
      <StatusBar
        status={engine.status}
        error={engine.error}
        history={engine.history}
        connection={connection}
        onRestart={() => void engine.restart()}
      />
    </div>
  )
}
