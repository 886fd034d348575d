// The model list, and a fresh project's model: the default (or the first usable one), with
// that model's settings (frames, steps, guidance, fps...) applied without an undo step, to the
// project as it is when the list arrives (what was typed meanwhile stays).
import { useEffect, useRef, useState } from 'react'
import type { DollyBridge, ModelSummary } from '../../../shared/contract'
import { settingsForModel } from '../../../shared/render'
import { initialProject, type ProjectDoc } from '../state/project'
import type { ProjectHistory } from './useProjectHistory'

/** The model a fresh project starts on: the default, or the first usable one. */
export function freshModel(models: ModelSummary[]): ModelSummary | undefined {
  return models.find((m) => m.isDefault && !m.error) ?? models.find((m) => !m.error)
}

/** A new project on the fresh model, with that model's settings (Wan's frames, negative prompt...). */
export function newProject(models: ModelSummary[]): ProjectDoc {
  const doc = initialProject()
  const pick = freshModel(models)
  if (!pick) return doc
  const shot = doc.shots[0]!
  return { ...doc, shots: [{ ...shot, settings: settingsForModel(shot.settings, pick) }] }
}

export function useModels(
  api: DollyBridge,
  connected: boolean,
  h: Pick<ProjectHistory, 'record'>,
  onError: (message: string) => void,
) {
  const [models, setModels] = useState<ModelSummary[]>([])
  // the fresh model goes to the page's first project only, from the first list: a reconnection
  // asks for the list again, and by then the document may be a project opened or recovered
  // without a model, whose settings (and every undo state's) it silently replaced
  const offered = useRef(false)
  useEffect(() => {
    if (!connected) return
    void api.models.list().then((r) => {
      if (!r.ok) return onError(r.error.message)
      setModels(r.value)
      if (offered.current) return
      offered.current = true
      const pick = freshModel(r.value)
      if (!pick) return
      h.record((p) => {
        const first = p.shots[p.active]!
        if (first.settings.modelId || p.shots.length !== 1) return p
        return { ...p, shots: [{ ...first, settings: settingsForModel(first.settings, pick) }] }
      })
    })
    // only on (re)connection: later changes come from the models dialog
  }, [api, connected])
  return { models, setModels }
}
