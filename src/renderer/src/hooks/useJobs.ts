// Render jobs: the list main keeps (and its updates), the live preview, the job on show, and
// submitting a shot's render or retrying a job. A started render is recorded on its shot in
// every undo state; the next seed is drawn unless the seed is locked (an edit, undoable).
import { useCallback, useEffect, useRef, useState } from 'react'
import type { DollyBridge, JobPreview, JobView } from '../../../shared/contract'
import { renderFingerprint, renderRequest, withNewRender } from '../../../shared/shots'
import { randomSeed, type Shot } from '../state/project'
import type { ProjectHistory } from './useProjectHistory'

export function useJobs(
  api: DollyBridge,
  connected: boolean,
  h: Pick<ProjectHistory, 'record' | 'editProject'>,
  onError: (message: string) => void,
  /** The job ids the open project's shots name. */
  wanted: string[] = [],
) {
  const [jobs, setJobs] = useState<JobView[]>([])
  const [selected, setSelected] = useState<string | null>(null)
  const [preview, setPreview] = useState<JobPreview | null>(null)
  const [listed, setListed] = useState(false)

  useEffect(() => {
    if (!connected) return
    void api.jobs.list().then((r) => {
      if (!r.ok) return
      // jobs fetched by id before the list came keep their place (they are the older ones)
      setJobs((prev) => [...prev.filter((p) => !r.value.some((x) => x.id === p.id)), ...r.value])
      setListed(true)
    })
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

  /** The jobs as last seen, for callbacks that must not re-create on every update. */
  const latest = useRef(jobs)
  latest.current = jobs
  /**
   * Puts job `jobId` on the shots that match (the shot rendered, or a failed job's retry); the
   * shot keeps its last finished render to show if this one fails or is cancelled.
   */
  const attach = useCallback(
    (jobId: string, matches: (s: Shot) => boolean, made: (s: Shot) => string | undefined) => {
      const finished = (id: string) => latest.current.some((j) => j.id === id && j.state === 'done')
      h.record((p) =>
        p.shots.some(matches)
          ? {
              ...p,
              shots: p.shots.map((x) =>
                matches(x) ? { ...x, clip: withNewRender(x.clip, jobId, finished, made(x)) } : x,
              ),
            }
          : p,
      )
    },
    [h],
  )

  const submit = useCallback(
    /** longTakes: the shot's model runs context windows (else its loop and prompt keys stay out). */
    async (shot: Shot, longTakes: boolean) => {
      setPreview(null)
      const r = await api.jobs.submit(renderRequest(shot, longTakes))
      if (!r.ok) return onError(r.error.message)
      setSelected(r.value.id)
      // the fingerprint of the shot as submitted, in every undo state it is recorded into (an
      // earlier state of the shot then says it differs from this render)
      const made = renderFingerprint(shot)
      attach(
        r.value.id,
        (x) => x.id === shot.id,
        () => made,
      )
      // the next seed goes to the shot that was rendered (another may be active by now)
      if (!shot.settings.seedLocked)
        h.editProject((p) => ({
          ...p,
          shots: p.shots.map((x) =>
            x.id === shot.id && !x.settings.seedLocked
              ? { ...x, settings: { ...x.settings, seed: randomSeed() } }
              : x,
          ),
        }))
    },
    [api, attach, h, onError],
  )

  const retry = useCallback(
    async (j: JobView) => {
      setPreview(null)
      const r = await api.jobs.submit(j.request)
      if (!r.ok) return onError(r.error.message)
      setSelected(r.value.id)
      // a retry renders the same request: the fingerprint the failed render had
      attach(
        r.value.id,
        (x) => x.clip?.jobId === j.id,
        (x) => x.clip?.made,
      )
    },
    [api, attach, onError],
  )

  // A reopened project can name renders older than the newest 1000 jobs.list carries: ask
  // for those by id, once each (ids main does not know stay asked, the shot shows no clip).
  const asked = useRef(new Set<string>())
  const wantedKey = wanted.join(',')
  useEffect(() => {
    if (!connected || !listed) return
    const missing = wantedKey
      .split(',')
      .filter((id) => id && !asked.current.has(id) && !jobs.some((j) => j.id === id))
    if (missing.length === 0) return
    for (const id of missing) asked.current.add(id)
    void api.jobs
      .get({ ids: missing.slice(0, 1000) })
      .then(
        (r) =>
          r.ok &&
          r.value.length > 0 &&
          setJobs((list) => [...r.value.filter((j) => !list.some((x) => x.id === j.id)), ...list]),
      )
  }, [api, connected, listed, wantedKey, jobs])

  const job = jobs.find((j) => j.id === selected) ?? null
  return {
    jobs,
    job,
    selected,
    select: setSelected,
    preview: preview && preview.id === selected ? preview : null,
    running: jobs.some((j) => j.state === 'running'),
    /** Renders running or waiting: what a restart of the engine would stop. */
    busy: jobs.filter((j) => j.state === 'running' || j.state === 'queued').length,
    submit,
    retry,
    cancel: (id: string) => void api.jobs.cancel({ id }),
  }
}
