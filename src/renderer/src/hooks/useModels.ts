// The model list, and a fresh project's model: the default (or the first usable one), with
// that model's settings (frames, steps, guidance, fps...) applied without an undo step.
import { useEffect, useState } from 'react'
import type { DollyBridge, ModelSummary } from '../../../shared/contract'
import { settingsForModel } from '../../../shared/render'
import type { ProjectHistory } from './useProjectHistory'

export function useModels(
  api: DollyBridge,
  connected: boolean,
  h: Pick<ProjectHistory, 'project' | 'canUndo' | 'reset'>,
  onError: (message: string) => void,
) {
  const [models, setModels] = useState<ModelSummary[]>([])
  useEffect(() => {
    if (!connected) return
    void api.models.list().then((r) => {
      if (!r.ok) return onError(r.error.message)
      setModels(r.value)
      const pick = r.value.find((m) => m.isDefault && !m.error) ?? r.value.find((m) => !m.error)
      const p = h.project
      const first = p.shots[p.active]!
      if (pick && !first.settings.modelId && !h.canUndo && p.shots.length === 1)
        h.reset({ ...p, shots: [{ ...first, settings: settingsForModel(first.settings, pick) }] })
    })
    // only on (re)connection: later changes come from the models dialog
  }, [api, connected])
  return { models, setModels }
}
