// The project as a file: its name, whether it has unsaved edits, autosave every few seconds
// while it has them, and the crash-recovery offer of what the last session autosaved.
import { useEffect, useState } from 'react'
import type { DollyBridge } from '../../../shared/contract'
import type { ProjectDoc } from '../state/project'

export type Recovery = { doc: ProjectDoc; name: string | null; savedAt: number }

export function useProjectFile(
  api: DollyBridge,
  connected: boolean,
  project: ProjectDoc,
  canUndo: boolean,
) {
  const [name, setName] = useState<string | null>(null)
  const [savedDoc, setSavedDoc] = useState<ProjectDoc | null>(null)
  const [recovery, setRecovery] = useState<Recovery | null>(null)
  const dirty = savedDoc !== project && (savedDoc !== null || canUndo)

  // crash recovery: offer what the last session autosaved
  useEffect(() => {
    if (!connected) return
    void api.project.recovery().then((r) => r.ok && r.value && setRecovery(r.value))
  }, [api, connected])
  // autosave a few seconds after the last unsaved edit
  useEffect(() => {
    if (!dirty || recovery) return
    const t = setTimeout(() => void api.project.autosave({ doc: project, name }), 2000)
    return () => clearTimeout(t)
  }, [api, project, dirty, name, recovery])

  return {
    name,
    dirty,
    recovery,
    /** The document now on disk under `name` (after open or save). */
    saved(n: string | null, doc: ProjectDoc | null) {
      setName(n)
      setSavedDoc(doc)
    },
    dismissRecovery(discard: boolean) {
      setRecovery(null)
      if (discard) void api.project.discardRecovery()
    },
  }
}
