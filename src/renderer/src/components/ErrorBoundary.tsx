// The last line of defence: an error thrown while rendering used to unmount the whole studio,
// leaving an empty window. This shows what failed and a way back instead; the project's
// autosave (a few seconds old at most) is offered again after the reload.
import { Component, type ReactNode } from 'react'

type State = { error: Error | null }

export class ErrorBoundary extends Component<{ children: ReactNode }, State> {
  override state: State = { error: null }

  static getDerivedStateFromError(error: unknown): State {
    return { error: error instanceof Error ? error : new Error(String(error)) }
  }

  override componentDidCatch(error: unknown): void {
    console.error('Dolly Studio: the page failed to draw', error)
  }

  override render(): ReactNode {
    const e = this.state.error
    if (!e) return this.props.children
    return (
      <div className="crashed" role="alert" data-testid="page-error">
        <h1>The studio hit an error it could not draw past</h1>
        <p>
          {e.name}: {e.message}
        </p>
        <p>
          Your project is autosaved a few seconds after each edit: reload and choose Recover to
          continue where you were.
        </p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload the studio
        </button>
      </div>
    )
  }
}
