import type { EngineStatus } from '../../../shared/contract'
import type { ConnectionState } from '../api/ws-bridge'
import type { Transition } from './useEngineStatus'

const STATE_LABEL: Record<EngineStatus['state'], string> = {
  starting: 'starting',
  ready: 'ready',
  crashed: 'crashed',
  restarting: 'restarting',
  stopped: 'stopped',
}

const PROVIDER_LABEL: Record<EngineStatus['providers'][number]['name'], string> = {
  cuda: 'CUDA',
  dml: 'DirectML',
  coreml: 'CoreML',
  cpu: 'CPU',
}

function provider(status: EngineStatus | null): { label: string; title: string } {
  if (!status || status.providers.length === 0)
    return { label: '—', title: 'the engine has not reported its providers yet' }
  // the engine lists its providers in the order it tries them: the first available one runs
  const used = status.providers.find((p) => p.available)
  const refused = status.providers
    .filter((p) => !p.available && p !== used)
    .map((p) => `${PROVIDER_LABEL[p.name]} unavailable: ${p.reason ?? 'unknown reason'}`)
  if (!used) return { label: 'none', title: refused.join('\n') }
  const before = status.providers.slice(0, status.providers.indexOf(used))
  const title =
    used.name === 'cpu'
      ? before.length
        ? refused.join('\n')
        : 'running on the CPU'
      : [`running on the GPU (${PROVIDER_LABEL[used.name]} execution provider)`, ...refused].join(
          '\n',
        )
  return { label: PROVIDER_LABEL[used.name], title }
}

function vram(status: EngineStatus | null): { label: string; title: string } {
  if (!status?.gpu) return { label: 'no GPU', title: status?.gpuReason ?? '' }
  const used = status.gpu.vramTotalMiB - status.gpu.vramFreeMiB
  const gib = (m: number) => (m / 1024).toFixed(1)
  return {
    label: `${status.gpu.name} · ${gib(used)} / ${gib(status.gpu.vramTotalMiB)} GiB`,
    title: `${gib(status.gpu.vramFreeMiB)} GiB free`,
  }
}

export function StatusBar(props: {
  status: EngineStatus | null
  error: string | null
  history: Transition[]
  connection: ConnectionState
  onRestart: () => void
  /** Renders running or queued: a restart stops them, so it asks first. */
  busy?: number
}) {
  const { status, history } = props
  const state = status?.state ?? 'starting'
  const p = provider(status)
  const v = vram(status)
  const trail = history.map((t) => t.state).join(' → ')
  return (
    <footer className="statusbar" role="status" aria-label="Engine status">
      {props.connection === 'unauthorized' ? (
        <span className="status-item status-error" data-testid="connection">
          This page has no valid token: open the URL the studio printed when it started.
        </span>
      ) : props.connection !== 'open' ? (
        <span className="status-item status-warn" data-testid="connection">
          {props.connection === 'connecting'
            ? 'Connecting to the studio…'
            : 'Connection lost, reconnecting…'}
        </span>
      ) : null}
      <span
        className={`status-item engine-state state-${state}`}
        data-testid="engine-state"
        data-state={state}
        data-pid={status?.pid ?? ''}
        data-history={trail}
        title={`Engine ${state}${status?.pid ? ` (pid ${status.pid})` : ''}${status?.lastError ? `\nLast error: ${status.lastError}` : ''}\n${trail}`}
      >
        <span className="dot" aria-hidden="true" />
        Engine {STATE_LABEL[state]}
      </span>
      <span className="status-item" data-testid="engine-provider" title={p.title}>
        {p.label}
      </span>
      <span className="status-item" data-testid="engine-vram" title={v.title}>
        {v.label}
      </span>
      {status?.onnxruntimeVersion ? (
        <span className="status-item muted">onnxruntime {status.onnxruntimeVersion}</span>
      ) : null}
      {props.error ? (
        <span className="status-item status-error" title={props.error}>
          {props.error}
        </span>
      ) : null}
      <span className="spacer" />
      <button
        type="button"
        className="status-button"
        onClick={() => {
          const n = props.busy ?? 0
          if (
            n > 0 &&
            !window.confirm(
              `Restart the engine? ${n === 1 ? 'The render in progress stops' : `${n} renders (running and queued) stop`}; you can retry ${n === 1 ? 'it' : 'them'} from the jobs panel.`,
            )
          )
            return
          props.onRestart()
        }}
        disabled={state === 'restarting' || state === 'starting'}
        title="Stop the engine process and start a new one"
      >
        Restart engine
      </button>
    </footer>
  )
}
