import { useEffect, useRef, useState } from 'react'
import type { DollyBridge, EventPayload, ModelSummary } from '../../../shared/contract'
import { ModelCatalog } from './ModelCatalog'
import { Modal } from './Modal'
import { SmallButton } from './SmallButton'

type Props = {
  api: DollyBridge
  /** The desktop app: folders can be picked in the system's dialog (app.pickFolder). */
  desktop: boolean
  onClose: () => void
  onChanged: (models: ModelSummary[]) => void
}

const gib = (b: number) =>
  b >= 1024 ** 3 ? `${(b / 1024 ** 3).toFixed(2)} GiB` : `${(b / 1024 ** 2).toFixed(1)} MiB`

/** Models: what each needs and whether it fits this GPU; add a folder, download from a hub, remove, set default. */
export function ModelManager({ api, desktop, onClose, onChanged }: Props) {
  const [models, setModels] = useState<ModelSummary[]>([])
  const [path, setPath] = useState('')
  const [repo, setRepo] = useState('')
  const [message, setMessage] = useState<string | null>(null)
  // a long list pushes the message below the dialog's fold: brought into view when it changes
  const messageRef = useRef<HTMLParagraphElement>(null)
  // a block body: scrollIntoView returns a Promise in current Chromium, and an effect that
  // returns one has it called as its cleanup (which threw, and unmounted the whole studio)
  useEffect(() => {
    messageRef.current?.scrollIntoView({ block: 'nearest' })
  }, [message])
  const [download, setDownload] = useState<EventPayload<'model.download'> | null>(null)
  const refresh = () =>
    void api.models.list().then((r) => {
      if (r.ok) {
        setModels(r.value)
        onChanged(r.value)
      }
    })
  const add = (folder: string) =>
    void api.models.add({ path: folder }).then((r) => {
      setMessage(
        !r.ok
          ? r.error.message
          : r.value.added
            ? `Added ${r.value.label}`
            : `${r.value.label} (${r.value.id}) is already in the list; nothing was added`,
      )
      if (r.ok) setPath('')
      else setPath(folder) // the refused folder stays in the field, to correct
      refresh()
    })
  // the desktop app: the folder from the system's dialog is added at once
  const pickAndAdd = () =>
    void api.app.pickFolder({ purpose: 'model' }).then((r) => {
      if (!r.ok) return setMessage(r.error.message)
      if (r.value.path !== null) add(r.value.path)
    })
  useEffect(() => {
    refresh()
    return api.on('model.download', (e) => {
      setDownload(e)
      if (e.state !== 'running') {
        setMessage(e.message)
        refresh()
      }
    })
  }, [api])

  return (
    <Modal title="Models" onClose={onClose} testId="model-manager">
      <table className="models">
        <thead>
          <tr>
            <th>Model</th>
            <th>Kind</th>
            <th>Precision</th>
            <th>Size</th>
            <th>Inputs</th>
            <th>VRAM resident / offload / minimal</th>
            <th>This GPU</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {models.map((m) => (
            <tr key={m.id} className={m.error ? 'refused' : ''} data-testid="model-row">
              <td title={m.id}>
                {m.label}
                {m.isDefault ? ' (default)' : ''}
                {m.error ? <div className="hint error">{m.error}</div> : null}
              </td>
              <td>{m.pipeline}</td>
              <td>{m.precision}</td>
              <td>{gib(m.sizeBytes)}</td>
              <td>
                {[
                  m.camera !== 'none' ? m.camera : null,
                  m.motion.kind !== 'none' ? m.motion.kind : null,
                ]
                  .filter(Boolean)
                  .join(', ') || '—'}
              </td>
              <td>
                {m.vram
                  ? `${(m.vram.residentMiB / 1024).toFixed(1)} / ${(m.vram.offloadMiB / 1024).toFixed(1)} / ${(m.vram.minimalMiB / 1024).toFixed(1)} GiB`
                  : '—'}
              </td>
              <td>{m.fits ?? (m.vram ? 'no GPU or too big' : '—')}</td>
              <td className="actions">
                {!m.error && !m.isDefault ? (
                  <SmallButton
                    onClick={() =>
                      void api.models.setDefault({ id: m.id }).then((r) => {
                        setMessage(r.ok ? `${m.label} is the default` : r.error.message)
                        refresh()
                      })
                    }
                  >
                    Default
                  </SmallButton>
                ) : null}
                {m.removable ? (
                  <SmallButton
                    onClick={() =>
                      void api.models.remove({ id: m.id }).then((r) => {
                        setMessage(
                          !r.ok
                            ? r.error.message
                            : r.value.removed
                              ? `Removed ${m.label} (its files stay where they are)`
                              : `${m.label} (${m.id}) was no longer in the list`,
                        )
                        refresh()
                      })
                    }
                    title="Remove from the list (the files stay where they are)"
                  >
                    Remove
                  </SmallButton>
                ) : null}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault()
          add(path)
        }}
      >
        <label className="field">
          <span>Add a model folder (its path on this machine)</span>
          <input
            value={path}
            onChange={(e) => setPath(e.target.value)}
            placeholder="/home/me/models/animatediff-motionctrl"
            data-testid="model-path"
          />
        </label>
        <button type="submit" className="small" disabled={!path}>
          Add
        </button>
        {desktop ? (
          <SmallButton onClick={pickAndAdd} data-testid="model-pick">
            Choose…
          </SmallButton>
        ) : null}
      </form>
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault()
          void api.models.download({ repo }).then((r) => !r.ok && setMessage(r.error.message))
        }}
      >
        <label className="field">
          <span>Download from a Hugging Face repository (owner/name, a folder in this layout)</span>
          <input
            value={repo}
            onChange={(e) => setRepo(e.target.value)}
            placeholder="owner/animatediff-onnx"
          />
        </label>
        <button type="submit" className="small" disabled={!repo}>
          Download
        </button>
        {download?.state === 'running' ? (
          <SmallButton onClick={() => void api.models.cancelDownload({ repo: download.repo })}>
            Cancel
          </SmallButton>
        ) : null}
      </form>
      {download?.state === 'running' ? (
        <p className="hint">
          {download.file}: {gib(download.bytes)} of {gib(download.totalBytes)}
          {download.etaS !== null ? `, ${Math.round(download.etaS)} s left` : ''}
        </p>
      ) : null}
      {message ? (
        <p className="hint" data-testid="model-message" role="status" ref={messageRef}>
          {message}
        </p>
      ) : null}
      <ModelCatalog api={api} onChanged={refresh} />
    </Modal>
  )
}
