import { useCallback, useEffect, useMemo, useReducer, useRef, useState } from 'react'
import {
  exportMotionCtrlJson,
  exportRealEstate10K,
  importMotionCtrlJson,
  importRealEstate10K,
  newKeyframeId,
  PRESET_NAMES,
  sampleTrajectory,
  trajectoryFromPoses,
  type Trajectory,
} from '../../shared/camera'
import type { JobPreview, JobView, ModelSummary, RenderRequest } from '../../shared/contract'
import { addShot, deleteShot, moveShot, splitShot } from '../../shared/shots'
import { createClient } from './api/client'
import type { ConnectionState } from './api/ws-bridge'
import { CameraViewport, type ViewMode } from './components/CameraViewport'
import { GeneratePanel, generateBlocked } from './components/GeneratePanel'
import { ExportDialog, type ExportOptions, type ExportSource } from './components/ExportDialog'
import { ShotStrip } from './components/ShotStrip'
import { JobsPanel } from './components/JobsPanel'
import { KeyframeFields } from './components/KeyframeFields'
import { PreviewPane } from './components/PreviewPane'
import { ProjectBar } from './components/ProjectBar'
import { ModelManager } from './components/ModelManager'
import { StatusBar } from './components/StatusBar'
import { Timeline } from './components/Timeline'
import { useEngineStatus } from './components/useEngineStatus'
import { createHistory, historyReducer, type HistoryAction } from '../../shared/history'
import {
  initialProject,
  randomSeed,
  trajectoryFromPreset,
  type ProjectDoc,
  type Shot,
  type Settings,
} from './state/project'

function Region(props: {
  name: string
  className: string
  tools?: React.ReactNode
  children?: React.ReactNode
}) {
  return (
    <section className={`region ${props.className}`} aria-label={props.name}>
      <header className="region-title">
        <span>{props.name}</span>
        {props.tools}
      </header>
      <div className="region-body">{props.children}</div>
    </section>
  )
}

/** Downloads text as a file (camera path exports). */
function download(name: string, text: string) {
  const a = document.createElement('a')
  a.href = URL.createObjectURL(new Blob([text], { type: 'text/plain' }))
  a.download = name
  a.click()
  setTimeout(() => URL.revokeObjectURL(a.href), 1000)
}

/** Largest camera travel per frame, for the "faster than trained" warning. */
function maxStep(t: Trajectory, frames: number): number {
  const p = sampleTrajectory(t, Math.max(frames, 2))
  let m = 0
  for (let i = 1; i < p.length; i++)
    m = Math.max(m, Math.hypot(...p[i]!.position.map((v, k) => v - p[i - 1]!.position[k]!)))
  return m
}

export function App() {
  const client = useMemo(() => createClient(), [])
  const api = client.api
  const [connection, setConnection] = useState<ConnectionState>('connecting')
  useEffect(() => client.onConnection(setConnection), [client])
  const engine = useEngineStatus(api)

  const [models, setModels] = useState<ModelSummary[]>([])
  const [history, dispatch] = useReducer(
    historyReducer<ProjectDoc>,
    createHistory(initialProject()),
  )
  const project = history.present
  /** The shot being edited; the panels, editor and timeline show it. */
  const doc = project.shots[project.active]!
  const editProject = useCallback(
    (update: (d: ProjectDoc) => ProjectDoc, mergeKey?: string) =>
      dispatch({ type: 'edit', update, mergeKey } as HistoryAction<ProjectDoc>),
    [],
  )
  /** An edit of the active shot (one undo step, merged by key like any edit). */
  const edit = useCallback(
    (update: (d: Shot) => Shot, mergeKey?: string) =>
      editProject(
        (p) => ({ ...p, shots: p.shots.map((s, i) => (i === p.active ? update(s) : s)) }),
        mergeKey,
      ),
    [editProject],
  )
  const setSettings = useCallback(
    (patch: Partial<Settings>, mergeKey?: string) =>
      edit((d) => ({ ...d, settings: { ...d.settings, ...patch } }), mergeKey),
    [edit],
  )

  const [playhead, setPlayhead] = useState(0)
  const [playing, setPlaying] = useState(false)
  const [selectedKey, setSelectedKey] = useState<string | null>(null)
  /** The export dialog's subject: one job's clip, or every shot in order. */
  const [exporting, setExporting] = useState<{ jobIds: string[]; source: ExportSource } | null>(
    null,
  )
  const [view, setView] = useState<ViewMode>('perspective')
  const [gizmo, setGizmo] = useState<'translate' | 'rotate'>('translate')
  const [jobs, setJobs] = useState<JobView[]>([])
  const [selectedJob, setSelectedJob] = useState<string | null>(null)
  const [preview, setPreview] = useState<JobPreview | null>(null)
  const [notice, setNotice] = useState<string | null>(null)
  const [presetName, setPresetName] = useState('orbit-left')
  const [presetSpeed, setPresetSpeed] = useState(1)
  const fileInput = useRef<HTMLInputElement>(null)
  const [projectName, setProjectName] = useState<string | null>(null)
  const [showModels, setShowModels] = useState(false)
  const [savedDoc, setSavedDoc] = useState<ProjectDoc | null>(null)
  const [recovery, setRecovery] = useState<{
    doc: ProjectDoc
    name: string | null
    savedAt: number
  } | null>(null)
  const dirty = savedDoc !== project && (savedDoc !== null || history.past.length > 0)

  // crash recovery: offer what the last session autosaved
  useEffect(() => {
    if (connection !== 'open') return
    void api.project.recovery().then((r) => r.ok && r.value && setRecovery(r.value))
  }, [api, connection])
  // autosave every few seconds while there are unsaved edits
  useEffect(() => {
    if (!dirty || recovery) return
    const t = setTimeout(() => void api.project.autosave({ doc: project, name: projectName }), 2000)
    return () => clearTimeout(t)
  }, [api, project, dirty, projectName, recovery])

  // models, then jobs and their events
  useEffect(() => {
    if (connection !== 'open') return
    void api.models.list().then((r) => {
      if (!r.ok) return setNotice(r.error.message)
      setModels(r.value)
      // the default model (or the first usable one) for a fresh project: not an edit to undo
      const pick = r.value.find((m) => m.isDefault && !m.error) ?? r.value.find((m) => !m.error)
      const p = history.present
      const first = p.shots[p.active]!
      if (pick && !first.settings.modelId && history.past.length === 0 && p.shots.length === 1) {
        const settings = { ...first.settings, modelId: pick.id, frames: Math.min(pick.frames, 64) }
        dispatch({ type: 'reset', doc: { ...p, shots: [{ ...first, settings }] } })
      }
    })
    void api.jobs.list().then((r) => r.ok && setJobs(r.value))
    const offUpdate = api.on('job.update', (j) => {
      setJobs((list) => {
        const i = list.findIndex((x) => x.id === j.id)
        return i < 0 ? [...list, j] : list.map((x) => (x.id === j.id ? j : x))
      })
    })
    const offPreview = api.on('job.preview', (p) => setPreview(p))
    return () => {
      offUpdate()
      offPreview()
    }
  }, [api, connection, edit])

  const frames = doc.settings.frames
  // switching shots shows that shot's render and drops the keyframe selection
  const shotJob = doc.clip?.jobId ?? null
  useEffect(() => {
    setSelectedJob(shotJob)
    setSelectedKey(null)
    // only when the shot changes, not when its render is recorded
  }, [doc.id])
  const job = jobs.find((j) => j.id === selectedJob) ?? null
  const clipUrl = job?.result ? client.mediaUrl(job.result.clipUrl) : null
  const thumbnails = useMemo(() => {
    if (!job?.result) return []
    return Array.from({ length: job.result.frames }, (_, i) =>
      client.mediaUrl(
        job.result!.clipUrl.replace(/clip\.mp4$/, `frames/frame_${String(i).padStart(4, '0')}.png`),
      ),
    )
  }, [job, client])

  // playback at the clip's fps
  useEffect(() => {
    if (!playing) return
    const t = setInterval(() => setPlayhead((p) => (p + 1) % frames), 1000 / doc.settings.fps)
    return () => clearInterval(t)
  }, [playing, frames, doc.settings.fps])
  useEffect(() => setPlayhead((p) => Math.min(p, frames - 1)), [frames])

  const generate = useCallback(async () => {
    const s = doc.settings
    const why = generateBlocked(
      models.find((m) => m.id === s.modelId),
      s,
    )
    if (why) return setNotice(why) // Ctrl+Enter reaches here even when the button is disabled
    const req: RenderRequest = {
      modelId: s.modelId,
      prompt: s.prompt,
      negativePrompt: s.negativePrompt,
      frames: s.frames,
      steps: s.steps,
      guidance: s.guidance,
      seed: s.seed,
      fps: s.fps,
      motion: s.motion,
      plan: s.plan,
      camera: { trajectory: { ...doc.camera, frames: s.frames } },
      ...(s.scheduler ? { scheduler: s.scheduler as RenderRequest['scheduler'] } : {}),
      ...(s.image ? { image: s.image } : {}),
      ...(s.width && s.height ? { width: s.width, height: s.height } : {}),
    }
    setPreview(null)
    const r = await api.jobs.submit(req)
    if (!r.ok) return setNotice(r.error.message)
    setSelectedJob(r.value.id)
    // the shot now shows this render, in every undo state (a fact, not an edit)
    const jobId = r.value.id
    const shotId = doc.id
    dispatch({
      type: 'record',
      update: (p) => ({
        ...p,
        shots: p.shots.map((x) => (x.id === shotId ? { ...x, clip: { jobId } } : x)),
      }),
    })
    // and the next seed, unless locked (an edit: undo brings the used seed back)
    if (!s.seedLocked) setSettings({ seed: randomSeed() })
  }, [api, doc, models, setSettings])

  const retry = useCallback(
    async (j: JobView) => {
      setPreview(null)
      const r = await api.jobs.submit(j.request)
      if (!r.ok) return setNotice(r.error.message)
      setSelectedJob(r.value.id)
      // the shot that held the failed render now holds its retry
      const jobId = r.value.id
      dispatch({
        type: 'record',
        update: (p) =>
          p.shots.some((x) => x.clip?.jobId === j.id)
            ? {
                ...p,
                shots: p.shots.map((x) =>
                  x.clip?.jobId === j.id ? { ...x, clip: { jobId } } : x,
                ),
              }
            : p,
      })
    },
    [api],
  )

  const exportClip = useCallback(
    async (
      ids: string | string[],
      format: ExportOptions['format'],
      options: Omit<ExportOptions, 'format'> | null = null,
    ) => {
      const jobIds = typeof ids === 'string' ? [ids] : ids
      const id = jobIds[0]!
      setNotice(`Exporting ${format.toUpperCase()}…`)
      const r = await api.clip.export({ jobIds, format, ...(options ?? {}) })
      if (!r.ok) return setNotice(r.error.message)
      if (r.value.url) {
        const a = document.createElement('a')
        a.href =
          client.mediaUrl(r.value.url) +
          `&download=dolly-${id.slice(0, 8)}.${format === 'png' ? 'zip' : format}`
        a.download = `dolly-${id.slice(0, 8)}.${format}`
        a.dataset['testid'] = 'export-link'
        document.body.appendChild(a)
        a.click()
        a.remove()
        setNotice(`Exported ${format.toUpperCase()}`)
      } else setNotice(r.value.path ? `Saved ${r.value.path}` : 'Export cancelled')
    },
    [api, client],
  )

  const applyPreset = useCallback(() => {
    edit((d) => ({
      ...d,
      camera: trajectoryFromPreset(presetName, presetSpeed, d.settings.frames),
      preset: { name: presetName, speed: presetSpeed },
    }))
    setSelectedKey(null)
  }, [edit, presetName, presetSpeed])

  const addKeyframe = useCallback(() => {
    edit((d) => {
      const pose = sampleTrajectory(d.camera, frames)[playhead]!
      const frame = (playhead / Math.max(frames - 1, 1)) * (d.camera.frames - 1)
      const k = {
        id: newKeyframeId(),
        frame,
        position: pose.position,
        rotation: pose.rotation,
        fov: pose.fov,
        easing: { type: 'linear' as const },
      }
      setSelectedKey(k.id)
      return {
        ...d,
        camera: {
          ...d.camera,
          keyframes: [...d.camera.keyframes.filter((x) => Math.abs(x.frame - frame) > 1e-6), k],
        },
      }
    })
  }, [edit, frames, playhead])

  const deleteKeyframe = useCallback(() => {
    if (!selectedKey) return
    edit((d) =>
      d.camera.keyframes.length <= 1
        ? d
        : {
            ...d,
            camera: {
              ...d.camera,
              keyframes: d.camera.keyframes.filter((k) => k.id !== selectedKey),
            },
          },
    )
    setSelectedKey(null)
  }, [edit, selectedKey])

  /** Copy the selected keyframe's pose to the playhead (a hold or a return to a framing). */
  const duplicateKeyframe = useCallback(() => {
    const src = doc.camera.keyframes.find((k) => k.id === selectedKey)
    if (!src) return
    const frame = (playhead / Math.max(frames - 1, 1)) * (doc.camera.frames - 1)
    if (Math.abs(src.frame - frame) < 1e-6)
      return setNotice('Move the playhead to where the copy should go, then duplicate')
    const k = { ...src, id: newKeyframeId(), frame }
    setSelectedKey(k.id)
    edit((d) => {
      return {
        ...d,
        preset: null,
        camera: {
          ...d.camera,
          keyframes: [...d.camera.keyframes.filter((x) => Math.abs(x.frame - frame) > 1e-6), k],
        },
      }
    })
  }, [doc, edit, frames, playhead, selectedKey])

  const importPoses = useCallback(
    async (file: File) => {
      const text = await file.text()
      try {
        const r = file.name.endsWith('.json')
          ? importMotionCtrlJson(text, frames)
          : importRealEstate10K(text, frames)
        edit((d) => ({ ...d, camera: trajectoryFromPoses(r.poses, frames) }))
        setNotice(r.warnings.join(' ') || `Imported ${file.name}`)
      } catch (err) {
        setNotice(`${file.name}: ${err instanceof Error ? err.message : err}`)
      }
    },
    [edit, frames],
  )

  // keyboard: Space play, arrows step, Ctrl+Z / Ctrl+Shift+Z undo/redo, Ctrl+Enter generate, Delete key
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const typing =
        e.target instanceof HTMLInputElement ||
        e.target instanceof HTMLTextAreaElement ||
        e.target instanceof HTMLSelectElement
      const mod = e.ctrlKey || e.metaKey
      if (mod && e.key.toLowerCase() === 'z') {
        if (typing) return
        e.preventDefault()
        dispatch({ type: e.shiftKey ? 'redo' : 'undo' })
      } else if (mod && e.key === 'Enter') {
        e.preventDefault()
        void generate()
      } else if (typing) return
      else if (e.key === ' ') {
        e.preventDefault()
        setPlaying((p) => !p)
      } else if (e.key === 'ArrowRight') setPlayhead((p) => Math.min(frames - 1, p + 1))
      else if (e.key === 'ArrowLeft') setPlayhead((p) => Math.max(0, p - 1))
      else if (e.key === 'Delete' || e.key === 'Backspace') deleteKeyframe()
      else if (mod && e.key.toLowerCase() === 'd') {
        e.preventDefault()
        duplicateKeyframe()
      }
    }
    window.addEventListener('keydown', onKey)
    return () => window.removeEventListener('keydown', onKey)
  }, [frames, generate, deleteKeyframe, duplicateKeyframe])

  const shotBlocks = project.shots.map((s) => {
    const j = s.clip ? jobs.find((x) => x.id === s.clip!.jobId) : undefined
    return { id: s.id, frames: s.settings.frames, state: j ? j.state : ('none' as const) }
  })
  const exportAll = () => {
    const js = project.shots.map((s) => jobs.find((x) => x.id === s.clip?.jobId))
    const first = js[0]?.result
    if (!first || js.some((j) => j?.state !== 'done'))
      return setNotice('Render every shot before exporting them as one clip')
    const total = js.reduce((n, j) => n + (j?.result?.frames ?? 0), 0)
    setExporting({
      jobIds: js.map((j) => j!.id),
      source: {
        title: 'Export all shots',
        detail: `${project.shots.length} shots, ${total} frames at ${first.width}×${first.height}, ${first.fps} fps`,
        width: first.width,
        height: first.height,
        fps: first.fps,
      },
    })
  }
  const model = models.find((m) => m.id === doc.settings.modelId)
  const selectedKeyframe = doc.camera.keyframes.find((k) => k.id === selectedKey) ?? null
  const fast = maxStep(doc.camera, frames) > 0.3
  const running = jobs.some((j) => j.state === 'running')

  return (
    <div className="studio">
      <header className="titlebar">
        <span className="logo">Dolly Studio</span>
        <ProjectBar
          api={api}
          name={projectName}
          dirty={dirty}
          doc={project}
          onNew={() => {
            dispatch({ type: 'reset', doc: initialProject(models.find((m) => !m.error)?.id ?? '') })
            setProjectName(null)
            setSavedDoc(null)
            void api.project.discardRecovery()
          }}
          onOpened={(n, d, migratedFrom) => {
            dispatch({ type: 'reset', doc: d })
            setProjectName(n)
            setSavedDoc(d)
            setNotice(
              migratedFrom
                ? `Opened ${n} (upgraded from format version ${migratedFrom}; save to keep the new format)`
                : `Opened ${n}`,
            )
          }}
          onSaved={(n) => {
            setProjectName(n)
            setSavedDoc(project)
          }}
          onNotice={setNotice}
        />
        <button type="button" className="small" onClick={() => setShowModels(true)} data-testid="open-models">
          Models
        </button>
        {notice ? (
          <span className="notice" data-testid="notice" onClick={() => setNotice(null)}>
            {notice}
          </span>
        ) : null}
      </header>
      {showModels ? <ModelManager api={api} onClose={() => setShowModels(false)} onChanged={setModels} /> : null}
      {exporting ? (
        <ExportDialog
          source={exporting.source}
          desktop={client.transport === 'electron'}
          onClose={() => setExporting(null)}
          onExport={({ format, ...options }) => {
            const ids = exporting.jobIds
            setExporting(null)
            void exportClip(ids, format, options)
          }}
        />
      ) : null}
      {recovery ? (
        <div className="recovery" data-testid="recovery">
          Unsaved work{recovery.name ? ` on ${recovery.name}` : ''} from{' '}
          {new Date(recovery.savedAt).toLocaleTimeString()} was recovered after the studio closed
          unexpectedly.
          <button
            type="button"
            className="small"
            data-testid="recover"
            onClick={() => {
              dispatch({ type: 'reset', doc: recovery.doc })
              setProjectName(recovery.name)
              setSavedDoc(null)
              setRecovery(null)
            }}
          >
            Recover
          </button>
          <button
            type="button"
            className="small"
            onClick={() => (setRecovery(null), void api.project.discardRecovery())}
          >
            Discard
          </button>
        </div>
      ) : null}
      <Region name="Generate" className="left">
        <GeneratePanel
          models={models}
          settings={doc.settings}
          onChange={setSettings}
          onGenerate={() => void generate()}
          busy={false}
          uploadInput={client.uploadInput}
          inputUrl={client.inputUrl}
        />
      </Region>
      <Region
        name="Camera"
        className="centre"
        tools={
          <span className="tools">
            <select
              value={presetName}
              onChange={(e) => setPresetName(e.target.value)}
              data-testid="preset-name"
              aria-label="Camera preset"
            >
              {PRESET_NAMES.map((n) => (
                <option key={n}>{n}</option>
              ))}
            </select>
            <input
              type="number"
              min={0.1}
              max={5}
              step={0.1}
              value={presetSpeed}
              onChange={(e) => setPresetSpeed(Number(e.target.value) || 1)}
              aria-label="Preset speed"
              className="speed"
            />
            <button
              type="button"
              className="small"
              onClick={applyPreset}
              data-testid="apply-preset"
            >
              Apply
            </button>
            <span className="sep" />
            <button
              type="button"
              className="small"
              onClick={addKeyframe}
              title="Add a keyframe at the playhead"
            >
              + Key
            </button>
            <button
              type="button"
              className="small"
              onClick={deleteKeyframe}
              disabled={!selectedKey}
              title="Delete the selected keyframe (Delete)"
            >
              − Key
            </button>
            <button
              type="button"
              className="small"
              onClick={duplicateKeyframe}
              disabled={!selectedKey}
              title="Copy the selected keyframe to the playhead (Ctrl+D)"
              data-testid="duplicate-key"
            >
              Dup Key
            </button>
            <button
              type="button"
              className="small"
              onClick={() => setGizmo((g) => (g === 'translate' ? 'rotate' : 'translate'))}
              title="Gizmo: move or rotate"
            >
              {gizmo === 'translate' ? 'Move' : 'Rotate'}
            </button>
            <span className="sep" />
            {(['perspective', 'top', 'side', 'camera'] as const).map((v) => (
              <button
                key={v}
                type="button"
                className={`small ${view === v ? 'on' : ''}`}
                onClick={() => setView(v)}
              >
                {v === 'camera' ? 'Through camera' : v[0]!.toUpperCase() + v.slice(1)}
              </button>
            ))}
            <span className="sep" />
            <button
              type="button"
              className="small"
              onClick={() =>
                download(
                  'camera-motionctrl.json',
                  exportMotionCtrlJson(sampleTrajectory(doc.camera, frames)),
                )
              }
              data-testid="export-motionctrl"
            >
              MotionCtrl JSON
            </button>
            <button
              type="button"
              className="small"
              onClick={() =>
                download(
                  'camera-re10k.txt',
                  exportRealEstate10K(sampleTrajectory(doc.camera, frames), {
                    width: 1024,
                    height: 576,
                    fps: doc.settings.fps,
                  }),
                )
              }
            >
              RE10K txt
            </button>
            <button type="button" className="small" onClick={() => fileInput.current?.click()}>
              Import…
            </button>
            <input
              ref={fileInput}
              type="file"
              accept=".json,.txt"
              hidden
              onChange={(e) => e.target.files?.[0] && void importPoses(e.target.files[0])}
            />
          </span>
        }
      >
        <div className="centre-split">
          <div className="editor">
            <CameraViewport
              trajectory={doc.camera}
              frames={frames}
              playhead={playhead}
              selected={selectedKey}
              view={view}
              gizmo={gizmo}
              onSelect={setSelectedKey}
              subjectImage={
                model?.pipeline === 'svd' && doc.settings.image
                  ? client.inputUrl(doc.settings.image.id)
                  : null
              }
              onKeyframeChange={(id, position, rotation) =>
                edit(
                  (d) => ({
                    ...d,
                    preset: null,
                    camera: {
                      ...d.camera,
                      keyframes: d.camera.keyframes.map((k) =>
                        k.id === id ? { ...k, position, rotation } : k,
                      ),
                    },
                  }),
                  `drag:${id}`,
                )
              }
            />
            {selectedKeyframe ? (
              <KeyframeFields
                keyframe={selectedKeyframe}
                lastFrame={doc.camera.frames - 1}
                onChange={(patch, field) =>
                  edit(
                    (d) => ({
                      ...d,
                      preset: null,
                      camera: {
                        ...d.camera,
                        keyframes: d.camera.keyframes.map((k) =>
                          k.id === selectedKeyframe.id ? { ...k, ...patch } : k,
                        ),
                      },
                    }),
                    `field:${selectedKeyframe.id}:${field}`,
                  )
                }
              />
            ) : null}
            {fast ? (
              <p className="overlay warn" data-testid="speed-warning">
                This move travels over 0.3 units a frame: faster than {model?.label ?? 'the model'}{' '}
                saw in training; expect artefacts.
              </p>
            ) : null}
          </div>
          <PreviewPane
            job={job}
            preview={preview && preview.id === selectedJob ? preview : null}
            clipUrl={clipUrl}
            playhead={playhead}
            fps={job?.result?.fps ?? doc.settings.fps}
          />
        </div>
      </Region>
      <Region name="Jobs" className="right">
        <JobsPanel
          jobs={jobs}
          selected={selectedJob}
          onSelect={setSelectedJob}
          onCancel={(id) => void api.jobs.cancel({ id })}
          onRetry={(j) => void retry(j)}
          onExport={(id, f) => void exportClip(id, f)}
          onExportDialog={(j) =>
            j.result &&
            setExporting({
              jobIds: [j.id],
              source: {
                title: 'Export clip',
                detail: `${j.result.width}×${j.result.height}, ${j.result.frames} frames rendered at ${j.result.fps} fps · seed ${j.result.seed}`,
                width: j.result.width,
                height: j.result.height,
                fps: j.result.fps,
              },
            })
          }
        />
      </Region>
      <Region name="Timeline" className="bottom">
        <ShotStrip
          shots={shotBlocks}
          active={project.active}
          playhead={playhead}
          onSelect={(i) => editProject((p) => ({ ...p, active: i }), 'select-shot')}
          onAdd={() => editProject(addShot)}
          onSplit={() => {
            try {
              editProject((p) => splitShot(p, playhead))
              setPlayhead(0)
            } catch (err) {
              setNotice(err instanceof Error ? err.message : String(err))
            }
          }}
          onMove={(delta) => editProject((p) => moveShot(p, p.active, p.active + delta))}
          onDelete={() => editProject((p) => deleteShot(p, p.active))}
          onExportAll={exportAll}
        />
        <Timeline
          frames={frames}
          fps={doc.settings.fps}
          playhead={playhead}
          playing={playing}
          trajectory={doc.camera}
          thumbnails={thumbnails}
          onScrub={setPlayhead}
          onTogglePlay={() => setPlaying((p) => !p)}
        />
      </Region>
      <StatusBar
        status={engine.status}
        error={engine.error}
        history={engine.history}
        connection={connection}
        onRestart={() => void engine.restart()}
        running={running}
      />
    </div>
  )
}
