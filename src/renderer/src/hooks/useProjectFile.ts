// The project as a file: its name, whether it has unsaved edits, autosave a few seconds after
// an edit (always, also while a recovery is on offer: main keeps each session's autosave
// apart, so a crash before the offer is answered loses neither), and the recovery offers of
// what earlier sessions autosaved, newest first.
import { useCallback, useEffect, useState } from 'react'
import type { CommandResponse, DollyBridge } from '../../../shared/contract'
import type { ProjectDoc } from '../state/project'

export type Recovery = NonNullable<CommandResponse<'project.recovery'>>

export function useProjectFile(
  api: DollyBridge,
  connected: boolean,
  project: ProjectDoc,
  canUndo: boolean,
  notify: (text: string) => void,
) {
  const [name, setName] = useState<string | null>(null)
  const [savedDoc, setSavedDoc] = useState<ProjectDoc | null>(null)
  const [recovery, setRecovery] = useState<Recovery | null>(null)
  /** Set when a recovered document is shown: it is unsaved work until saved. */
  const [unsaved, setUnsaved] = useState(false)
  const dirty = savedDoc !== project && (savedDoc !== null || canUndo || unsaved)

  const nextRecovery = useCallback(
    () => void api.project.recovery().then((r) => setRecovery(r.ok ? r.value : null)),
    [api],
  )
  // crash recovery: offer what earlier sessions autosaved
  useEffect(() => {
    if (connected) nextRecovery()
  }, [connected, nextRecovery])
  // autosave a few seconds after the last unsaved edit; a refusal (too large, disk full) is said
  useEffect(() => {
    if (!dirty) return
    const t = setTimeout(
      () =>
        void api.project.autosave({ doc: project, name }).then((r) => {
          if (!r.ok) notify(`Autosave failed: ${r.error.message}`)
        }),
      2000,
    )
    return () => clearTimeout(t)
  }, [api, project, dirty, name, notify])

  return {
    name,
    dirty,
    recovery,
    /** The document now on disk under `name` (after open or save). */
    saved(n: string | null, doc: ProjectDoc | null) {
      setName(n)
      setSavedDoc(doc)
      setUnsaved(false)
    },
    /**
     * Takes the offered recovery: this session autosaves it at once (so it is safe before the
     * earlier copy goes), then the next earlier one, if any, is offered.
     */
    async recover(apply: (doc: ProjectDoc) => void) {
      const r = recovery
      if (!r) return
      apply(r.doc)
      setName(r.name)
      setSavedDoc(null)
      setUnsaved(true)
      const saved = await api.project.autosave({ doc: r.doc, name: r.name })
      if (!saved.ok)
        return notify(`The recovered project could not be autosaved: ${saved.error.message}`)
      await api.project.discardRecovery({ savedAt: r.savedAt })
      nextRecovery()
    },
    async discard() {
      if (recovery) await api.project.discardRecovery({ savedAt: recovery.savedAt })
      nextRecovery()
    },
  }
}
