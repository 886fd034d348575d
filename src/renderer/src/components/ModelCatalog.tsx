// The catalog in the models dialog: the public checkpoints the studio converts, with their
// size, VRAM per plan, what the Hugging Face cache already holds, the exact export command
// (copy it, or let the studio run it when a Python with the exporter's requirements is here),
// and what else the cache holds: ONNX folders to add, diffusers checkpoints to export.
import { useEffect, useState } from 'react'
import type { DollyBridge, EventPayload, ModelCatalogView } from '../../../shared/contract'
import { formatBytes } from '../../../shared/catalog'
import { SmallButton } from './SmallButton'

type Props = { api: DollyBridge; onChanged: () => void }

const gib = (mib: number) => `${(mib / 1024).toFixed(1)}`

export function ModelCatalog({ api, onChanged }: Props) {
  const [view, setView] = useState<ModelCatalogView | null>(null)
  const [error, setError] = useState<string | null>(null)
  const [progress, setProgress] = useState<Record<string, EventPayload<'model.export'>>>({})
  const refresh = () =>
    void api.models.catalog().then((r) => (r.ok ? setView(r.value) : setError(r.error.message)))
  useEffect(() => {
    refresh()
    return api.on('model.export', (e) => {
      setProgress((p) => ({ ...p, [e.id]: e }))
      if (e.state !== 'running') {
        refresh()
        onChanged()
      }
    })
  }, [api])

  /** An export refused up front, said in its own row (by catalog id or cached repo). */
  const [refused, setRefused] = useState<Record<string, string>>({})
  const start = (source: { catalog: string } | { cached: string }) => {
    const key = 'catalog' in source ? source.catalog : source.cached
    setRefused(({ [key]: _gone, ...rest }) => rest)
    void api.models.export(source).then((r) => {
      if (!r.ok)
        setRefused((x) => ({ ...x, [key]: r.error.message.replace(/^models\.export: /, '') }))
    })
  }
  const refusal = (key: string) =>
    refused[key] ? (
      <div className="hint error" data-testid="export-refused">
        {refused[key]}
      </div>
    ) : null
  const copy = (text: string) => void navigator.clipboard?.writeText(text).catch(() => undefined)

  if (!view)
    return error ? (
      <p className="hint error">{error}</p>
    ) : (
      <p className="hint">Reading the catalog…</p>
    )
  const python = view.python
  return (
    <section className="catalog" data-testid="model-catalog">
      <h3>Catalog: public checkpoints the studio converts</h3>
      <p className={`hint ${python.ready ? '' : 'warn'}`} data-testid="catalog-python">
        {python.ready
          ? `Exports run here with ${python.python}; each one is verified against PyTorch before it joins the list.`
          : `Exports cannot run from the studio: ${python.reason}. Copy a command and run it where PyTorch is installed, then add the folder.`}
      </p>
      <table className="models">
        <thead>
          <tr>
            <th>Checkpoint</th>
            <th>Size</th>
            <th>VRAM resident / offload / minimal (GiB)</th>
            <th>Sources</th>
            <th>Export</th>
          </tr>
        </thead>
        <tbody>
          {view.entries.map((e) => {
            const p = progress[e.id]
            const running = e.exporting || p?.state === 'running'
            return (
              <tr key={e.id} data-testid="catalog-row">
                <td>
                  <strong>{e.title}</strong>
                  <div className="hint">{e.description}</div>
                  <div className="hint">{e.license}</div>
                </td>
                <td>{formatBytes(e.sizeBytes)}</td>
                <td>
                  {gib(e.vram.residentMiB)} / {gib(e.vram.offloadMiB)} / {gib(e.vram.minimalMiB)}
                  {e.fits ? <div className="hint">fits this GPU: {e.fits}</div> : null}
                </td>
                <td>
                  {e.sources.map((s) => (
                    <div key={`${s.repo}/${s.file ?? ''}`} title={s.cachedPath ?? undefined}>
                      {s.repo}
                      {s.file ? `/${s.file}` : ''} {s.cachedPath ? '✓ in your cache' : ''}
                    </div>
                  ))}
                </td>
                <td className="export-cell">
                  <pre className="command" data-testid="catalog-command">
                    {e.command}
                  </pre>
                  <div className="actions">
                    <SmallButton onClick={() => copy(e.command)}>Copy</SmallButton>
                    {e.installed ? (
                      <span className="hint">in your list</span>
                    ) : running ? (
                      <SmallButton onClick={() => void api.models.cancelExport({ id: e.id })}>
                        Cancel export
                      </SmallButton>
                    ) : (
                      <SmallButton
                        disabled={!python.ready}
                        title={python.ready ? 'Run this export here' : (python.reason ?? '')}
                        onClick={() => start({ catalog: e.id })}
                      >
                        Export here
                      </SmallButton>
                    )}
                  </div>
                  {refusal(e.id)}
                  {p ? (
                    <div
                      className={`hint ${p.state === 'failed' ? 'error' : ''}`}
                      data-testid="export-progress"
                    >
                      {p.state === 'running'
                        ? `${p.step}/${p.steps} components${p.line ? `: ${p.line}` : ''}`
                        : p.message}
                    </div>
                  ) : null}
                </td>
              </tr>
            )
          })}
        </tbody>
      </table>
      <h3>In your Hugging Face cache ({view.cache.dir || 'none'})</h3>
      {view.cache.models.filter((m) => m.kind !== 'files').length === 0 ? (
        <p className="hint">Nothing the studio can use yet.</p>
      ) : (
        <table className="models" data-testid="cache-models">
          <tbody>
            {view.cache.models
              .filter((m) => m.kind !== 'files')
              .map((m) => (
                <tr key={m.repo}>
                  <td title={m.path}>{m.repo}</td>
                  <td>{m.className ?? '—'}</td>
                  <td>{formatBytes(m.sizeBytes)}</td>
                  <td className="actions">
                    {m.listed ? (
                      <span className="hint">in your list</span>
                    ) : m.kind === 'onnx' ? (
                      <SmallButton
                        onClick={() =>
                          void api.models.add({ path: m.path }).then((r) => {
                            if (!r.ok) setError(r.error.message)
                            refresh()
                            onChanged()
                          })
                        }
                      >
                        Add
                      </SmallButton>
                    ) : m.pipeline ? (
                      <>
                        <SmallButton
                          disabled={!python.ready}
                          onClick={() => start({ cached: m.repo })}
                        >
                          Export
                        </SmallButton>
                        {refusal(m.repo)}
                      </>
                    ) : (
                      <span className="hint">not a pipeline the studio runs</span>
                    )}
                  </td>
                </tr>
              ))}
          </tbody>
        </table>
      )}
      {error ? <p className="hint error">{error}</p> : null}
    </section>
  )
}
