// Render jobs: the list main keeps (and its updates), the live preview, the job on show, and
// submitting a shot's render or retrying a job. A started render is recorded on its shot in
// every undo state; the next seed is drawn unless the seed is locked (an edit, undoable).
import { useCallback, useEffect, useState } from 'react'
import type { DollyBridge, JobPreview, JobView } from '../../../shared/contract'
import { renderRequest } from '../../../shared/shots'
import { randomSeed, type Shot } from '../state/project'
import type { ProjectHistory } from './useProjectHistory'

export function useJobs(
  api: DollyBridge,
  connected: boolean,
  h: Pick<ProjectHistory, 'record' | 'setSettings'>,
  onError: (message: string) => void,
) {
  const [jobs, setJobs] = useState<JobView[]>([])
  const [selected, setSelected] = useState<string | null>(null)
  const [preview, setPreview] = useState<JobPreview | null>(null)

  useEffect(() => {
    if (!connected) return
    void api.jobs.list().then((r) => r.ok && setJobs(r.value))
    const offUpdate = api.on('job.update', (j) =>
      setJobs((list) => {
        const i = list.findIndex((x) => x.id === j.id)
        return i < 0 ? [...list, j] : list.map((x) => (x.id === j.id ? j : x))
      }),
    )
    const offPreview = api.on('job.preview', setPreview)
    return () => {
      offUpdate()
      offPreview()
    }
  }, [api, connected])

  /** Puts job `jobId` on the shots that match (the shot rendered, or a failed job's retry). */
  const attach = useCallback(
    (jobId: string, matches: (s: Shot) => boolean) =>
      h.record((p) =>
        p.shots.some(matches)
          ? { ...p, shots: p.shots.map((x) => (matches(x) ? { ...x, clip: { jobId } } : x)) }
          : p,
      ),
    [h],
  )

  const submit = useCallback(
    async (shot: Shot) => {
      setPreview(null)
      const r = await api.jobs.submit(renderRequest(shot))
      if (!r.ok) return onError(r.error.message)
      setSelected(r.value.id)
      attach(r.value.id, (x) => x.id === shot.id)
      if (!shot.settings.seedLocked) h.setSettings({ seed: randomSeed() })
    },
    [api, attach, h, onError],
  )

  const retry = useCallback(
    async (j: JobView) => {
      setPreview(null)
      const r = await api.jobs.submit(j.request)
      if (!r.ok) return onError(r.error.message)
      setSelected(r.value.id)
      attach(r.value.id, (x) => x.clip?.jobId === j.id)
    },
    [api, attach, onError],
  )

  const job = jobs.find((j) => j.id === selected) ?? null
  return {
    jobs,
    job,
    selected,
    select: setSelected,
    preview: preview && preview.id === selected ? preview : null,
    running: jobs.some((j) => j.state === 'running'),
    submit,
    retry,
    cancel: (id: string) => void api.jobs.cancel({ id }),
  }
}
