// The project as a file: its name, whether it has unsaved edits, autosave a few seconds after
// an edit (always, also while a recovery is on offer: main keeps each page's autosave apart,
// so a crash or a reload before the offer is answered loses neither), and the recovery offers
// of what other sessions autosaved, newest first. In a browser tab, leaving with edits that
// are not yet autosaved asks first (Electron would cancel the close without asking).
import { useCallback, useEffect, useRef, useState } from 'react'
import type { CommandResponse, DollyBridge } from '../../../shared/contract'
import type { ProjectDoc } from '../state/project'
import { PAGE_SESSION as page } from '../state/page-session'

export type Recovery = NonNullable<CommandResponse<'project.recovery'>>
/** The revision of the file `name` this page's document descends from (null: none known). */
export type KnownRevision = { name: string; revision: string | null }

export function useProjectFile(
  api: DollyBridge,
  connected: boolean,
  project: ProjectDoc,
  canUndo: boolean,
  notify: (text: string) => void,
  /** A browser tab (the web host): closing or reloading it with pending edits asks first. */
  inBrowser = false,
) {
  const [name, setName] = useState<string | null>(null)
  const [savedDoc, setSavedDoc] = useState<ProjectDoc | null>(null)
  const [recovery, setRecovery] = useState<Recovery | null>(null)
  /** Set when a recovered document is shown: it is unsaved work until saved. */
  const [unsaved, setUnsaved] = useState(false)
  const dirty = savedDoc !== project && (savedDoc !== null || canUndo || unsaved)
  // the revision of the file this document was last read from or written to, by name: a Save
  // of that name checks the file is still that one (another tab may have saved it since); the
  // autosave keeps it, so a recovered document is checked as well
  const known = useRef<KnownRevision | null>(null)
  const baseOf = (n: string | null) =>
    n !== null && known.current && known.current.name === n ? known.current.revision : undefined

  const nextRecovery = useCallback(
    () => void api.project.recovery({ page }).then((r) => setRecovery(r.ok ? r.value : null)),
    [api],
  )
  // crash recovery: offer what earlier sessions autosaved
  useEffect(() => {
    if (connected) nextRecovery()
  }, [connected, nextRecovery])
  // autosave a few seconds after the last unsaved edit; a refusal (too large, disk full) is said
  const [autosaved, setAutosaved] = useState<ProjectDoc | null>(null)
  useEffect(() => {
    if (!dirty) return
    const t = setTimeout(
      () =>
        void api.project.autosave({ doc: project, name, page, base: baseOf(name) }).then((r) => {
          if (!r.ok) notify(`Autosave failed: ${r.error.message}`)
          else setAutosaved(project)
        }),
      2000,
    )
    return () => clearTimeout(t)
  }, [api, project, dirty, name, notify])
  // an edit not autosaved yet would be lost by closing the tab: the browser asks
  const pending = dirty && autosaved !== project
  useEffect(() => {
    if (!inBrowser || !pending) return
    const ask = (e: BeforeUnloadEvent) => {
      e.preventDefault()
      e.returnValue = '' // browsers before the standard's preventDefault
    }
    window.addEventListener('beforeunload', ask)
    return () => window.removeEventListener('beforeunload', ask)
  }, [inBrowser, pending])

  return {
    name,
    dirty,
    known,
    recovery,
    /** The document now on disk under `name` (after open or save). */
    saved(n: string | null, doc: ProjectDoc | null) {
      setName(n)
      setSavedDoc(doc)
      setUnsaved(false)
    },
    /**
     * Another project opened, or a new one, in place of this page's document (its unsaved
     * edits discarded when the person said so): this page's autosave of them goes too, or the
     * next start would offer the discarded edits back as a crash recovery.
     */
    replaced(n: string | null, doc: ProjectDoc | null) {
      setName(n)
      setSavedDoc(doc)
      setUnsaved(false)
      setAutosaved(null)
      void api.project.clearAutosave({ page })
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
      // the file it was edited from; an older autosave that did not keep it counts as having
      // known no file, so a Save over an existing one asks
      known.current = r.name !== null ? { name: r.name, revision: r.base ?? null } : null
      const saved = await api.project.autosave({
        doc: r.doc,
        name: r.name,
        page,
        base: baseOf(r.name),
      })
      if (!saved.ok)
        return notify(`The recovered project could not be autosaved: ${saved.error.message}`)
      await api.project.discardRecovery({ savedAt: r.savedAt, page })
      nextRecovery()
    },
    async discard() {
      if (recovery) await api.project.discardRecovery({ savedAt: recovery.savedAt, page })
      nextRecovery()
    },
  }
}
