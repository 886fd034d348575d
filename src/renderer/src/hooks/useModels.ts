// The model list, and a fresh project's model: the default (or the first usable one), with
// that model's settings (frames, steps, guidance, fps...) applied without an undo step, to the
// project as it is when the list arrives (what was typed meanwhile stays).
import { useEffect, useState } from 'react'
import type { DollyBridge, ModelSummary } from '../../../shared/contract'
import { settingsForModel } from '../../../shared/render'
import type { ProjectHistory } from './useProjectHistory'

export function useModels(
  api: DollyBridge,
  connected: boolean,
  h: Pick<ProjectHistory, 'record'>,
  onError: (message: string) => void,
) {
  const [models, setModels] = useState<ModelSummary[]>([])
  useEffect(() => {
    if (!connected) return
    void api.models.list().then((r) => {
      if (!r.ok) return onError(r.error.message)
      setModels(r.value)
      const pick = r.value.find((m) => m.isDefault && !m.error) ?? r.value.find((m) => !m.error)
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
