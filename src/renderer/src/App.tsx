// The studio window: the regions (generate, camera, jobs, timeline, status) wired to the
// project's state. The state lives in hooks (hooks/), keyframe edits are pure functions of the
// shared camera library, and the regions are components.
import { useCallback, useEffect, useMemo, useRef, useState } from 'react'
import {
  addKeyframeAt,
  cameraPresetTrajectory,
  deleteKeyframe,
  duplicateKeyframe,
  exportMotionCtrlJson,
  exportRealEstate10K,
  fovChangeForRT,
  importMotionCtrlJson,
  importRealEstate10K,
  maxFrameStep,
  pluckerLens,
  sampleTrajectory,
  trajectoryFromPoses,
  updateKeyframe,
  withFov,
} from '../../shared/camera'
import { contextWindows, resolveContext } from '../../shared/longtake'
import { cameraTravel } from '../../shared/motion'
import { PIPELINES } from '../../shared/render'
import {
  addShot,
  changedSinceRender,
  deleteShot,
  FRESH_SHOT_PIPELINE,
  moveShot,
  shotOfJob,
  shownRender,
  splitShot,
} from '../../shared/shots'
import { createClient } from './api/client'
import type { ConnectionState } from './api/ws-bridge'
import { CameraToolbar } from './components/CameraToolbar'
import { CameraViewport, type ViewMode } from './components/CameraViewport'
import { ExportDialog } from './components/ExportDialog'
import { ExportsRunning } from './components/ExportsRunning'
import { GeneratePanel, generateBlocked } from './components/GeneratePanel'
import { JobsPanel } from './components/JobsPanel'
import { KeyframeFields } from './components/KeyframeFields'
import { ModelManager } from './components/ModelManager'
import { PreviewPane } from './components/PreviewPane'
import { ProjectBar } from './components/ProjectBar'
import { RecoveryBanner } from './components/RecoveryBanner'
import { ShotStrip } from './components/ShotStrip'
import { StatusBar } from './components/StatusBar'
import { Timeline } from './components/Timeline'
import { useEngineStatus } from './components/useEngineStatus'
import { useExport } from './hooks/useExport'
import { useJobs } from './hooks/useJobs'
import { newProject, useModels } from './hooks/useModels'
import { usePlayback } from './hooks/usePlayback'
import { useProjectFile } from './hooks/useProjectFile'
import { useProjectHistory } from './hooks/useProjectHistory'
import { useShortcuts } from './hooks/useShortcuts'
import { SmallButton } from './components/SmallButton'

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

export function App() {
  const client = useMemo(() => createClient(), [])
  const api = client.api
  const [connection, setConnection] = useState<ConnectionState>('connecting')
  useEffect(() => client.onConnection(setConnection), [client])
  const connected = connection === 'open'
  const engine = useEngineStatus(api)
  const [notice, setNotice] = useState<string | null>(null)
  /** The recovery offer put off for this page (its savedAt): the banner hides until another. */
  const [recoveryLater, setRecoveryLater] = useState<number | null>(null)
  // a notice stays 15 s (its full text in the tooltip when the bar cuts it short), or until clicked
  useEffect(() => {
    if (!notice) return
    const t = setTimeout(() => setNotice(null), 15_000)
    return () => clearTimeout(t)
  }, [notice])

  const h = useProjectHistory()
  const { project, shot } = h
  const file = useProjectFile(
    api,
    connected,
    project,
    h.canUndo,
    setNotice,
    client.transport === 'websocket',
  )
  const { models, setModels } = useModels(api, connected, h, setNotice)
  const shotJobIds = project.shots.flatMap((s) =>
    s.clip ? [s.clip.jobId, ...(s.clip.previous ? [s.clip.previous] : [])] : [],
  )
  const jobs = useJobs(api, connected, h, setNotice, shotJobIds)
  const exports = useExport(api, client, setNotice)
  const frames = shot.settings.frames
  const play = usePlayback(frames, shot.settings.fps)

  const [selectedKey, setSelectedKey] = useState<string | null>(null)
  const [view, setView] = useState<ViewMode>('perspective')
  const [gizmo, setGizmo] = useState<'translate' | 'rotate'>('translate')
  const [showModels, setShowModels] = useState(false)

  // switching shots shows that shot's render and drops the keyframe selection (only when the
  // shot changes, not when its render is recorded)
  const stateOf = (id: string) => jobs.jobs.find((j) => j.id === id)?.state
  const shotJob = shownRender(shot.clip, stateOf)
  // each shot against the render it shows (a hash of its settings and camera): worked out when
  // the shots or the jobs change, not on every playback frame
  const shotsChanged = useMemo(
    () =>
      project.shots.map((s) =>
        changedSinceRender(
          s,
          (id) => jobs.jobs.find((j) => j.id === id)?.state,
          (id) => jobs.jobs.find((j) => j.id === id)?.request.seed,
        ),
      ),
    [project.shots, jobs.jobs],
  )
  // a render picked in the jobs panel shows with its own shot: the shot becomes active and
  // shows that render rather than its newest
  const pickedJob = useRef<string | null>(null)
  useEffect(() => {
    jobs.select(pickedJob.current ?? shotJob)
    pickedJob.current = null
    setSelectedKey(null)
  }, [shot.id])
  const selectJob = (id: string) => {
    const owner = shotOfJob(project.shots, id)
    if (owner < 0 || owner === project.active) return jobs.select(id)
    pickedJob.current = id
    h.editProject((p) => ({ ...p, active: owner }), 'select-shot')
  }
  // a re-render that fails or is cancelled while on show gives the stage back to the shot's
  // finished render (its error stays in the jobs panel)
  const newest = shot.clip?.jobId
  const newestState = newest ? stateOf(newest) : undefined
  useEffect(() => {
    if (jobs.selected === newest && shotJob !== newest) jobs.select(shotJob)
  }, [newestState])

  const job = jobs.job
  const clipUrl = job?.result ? client.mediaUrl(job.result.clipUrl) : null
  const thumbnails = useMemo(() => {
    if (!job?.result) return []
    return Array.from({ length: job.result.frames }, (_, i) =>
      client.mediaUrl(
        job.result!.clipUrl.replace(/clip\.mp4$/, `frames/frame_${String(i).padStart(4, '0')}.png`),
      ),
    )
  }, [job, client])

  const model = models.find((m) => m.id === shot.settings.modelId)
  // long takes: the prompt track and the windows the render will run (models with windows)
  const longTakes = model ? PIPELINES[model.pipeline].contextWindows === true : false
  const windows = useMemo(() => {
    if (!model || !longTakes) return null
    try {
      const c = resolveContext(
        frames,
        model.maxFrames,
        shot.settings.context ?? {},
        shot.settings.loop ?? false,
      )
      return c ? contextWindows(frames, c) : null
    } catch {
      return null
    }
  }, [model, longTakes, frames, shot.settings.context, shot.settings.loop])

  const generate = useCallback(() => {
    // Ctrl+Enter reaches here even when the button is disabled: say why it waits
    const why = generateBlocked(model, shot.settings)
    if (why) return setNotice(why)
    void jobs.submit(shot, longTakes)
  }, [jobs, model, shot, longTakes])

  const addKey = () => {
    const r = addKeyframeAt(shot.camera, frames, play.playhead)
    h.editCamera(() => r.trajectory)
    setSelectedKey(r.id)
  }
  const deleteKey = () => {
    if (!selectedKey) return
    // the last keyframe stays (a path needs one): said, and still selected
    if (deleteKeyframe(shot.camera, selectedKey) === shot.camera)
      return setNotice('A camera path needs at least one keyframe: move this one instead')
    h.editCamera((t) => deleteKeyframe(t, selectedKey))
    setSelectedKey(null)
  }
  const duplicateKey = () => {
    if (!selectedKey) return
    const r = duplicateKeyframe(shot.camera, selectedKey, frames, play.playhead)
    if ('error' in r) return setNotice(r.error)
    h.editCamera(() => r.trajectory)
    setSelectedKey(r.id)
    if (r.replaced)
      setNotice(`The copy replaced the keyframe at frame ${play.playhead + 1} (Ctrl+Z undoes it)`)
  }
  const importPoses = async (f: File) => {
    const text = await f.text()
    try {
      const r = f.name.toLowerCase().endsWith('.json')
        ? importMotionCtrlJson(text, frames)
        : importRealEstate10K(text, frames)
      h.editCamera(() => trajectoryFromPoses(r.poses, frames))
      setNotice(r.warnings.join(' ') || `Imported ${f.name}`)
    } catch (err) {
      setNotice(`${f.name}: ${err instanceof Error ? err.message : err}`)
    }
  }

  // a file dropped beside the image drop zone must not open in the tab in place of the studio
  useEffect(() => {
    const keep = (e: DragEvent) => e.preventDefault()
    window.addEventListener('dragover', keep)
    window.addEventListener('drop', keep)
    return () => {
      window.removeEventListener('dragover', keep)
      window.removeEventListener('drop', keep)
    }
  }, [])

  useShortcuts({
    undo: h.undo,
    redo: h.redo,
    generate,
    togglePlay: play.togglePlay,
    step: play.step,
    deleteKeyframe: deleteKey,
    duplicateKeyframe: duplicateKey,
  })

  const shotJobs = project.shots.map((s) => {
    const id = shownRender(s.clip, stateOf)
    return jobs.jobs.find((x) => x.id === id)
  })
  const selectedKeyframe = shot.camera.keyframes.find((k) => k.id === selectedKey) ?? null
  // said only where the camera reaches the model (a model without a camera input ignores the path)
  // (the travel the clip renders: the motion slider scales the path on camera models)
  const travel = model ? cameraTravel(model.motion.kind, shot.settings.motion) : 1
  const fast = model?.camera !== 'none' && maxFrameStep(shot.camera, frames) * travel > 0.3
  // a zoom an RT model cannot see is said, not silently dropped
  const fovLost = model?.camera === 'motionctrl-rt' ? fovChangeForRT(shot.camera, frames) : null
  // a Plücker camera model (Wan-Fun) sees the path through its lens: its fov and the clip's aspect
  const lens =
    model?.cameraFov != null
      ? pluckerLens(
          shot.camera,
          model.cameraFov,
          shot.settings.width ?? model.defaults.width,
          shot.settings.height ?? model.defaults.height,
          model.label,
        )
      : null

  return (
    <div className="studio">
      <header className="titlebar">
        <span className="logo">Dolly Studio</span>
        <ProjectBar
          api={api}
          name={file.name}
          dirty={file.dirty}
          doc={project}
          known={file.known}
          onNew={() => {
            // the default model, with its settings, as a fresh start gets (it took the first one)
            h.reset(newProject(models))
            file.replaced(null, null)
          }}
          onOpened={(n, d, migratedFrom, recovered) => {
            h.reset(d)
            file.replaced(n, d)
            setNotice(
              [
                migratedFrom
                  ? `Opened ${n} (upgraded from format version ${migratedFrom}; save to keep the new format)`
                  : `Opened ${n}`,
                recovered ?? '',
              ]
                .filter(Boolean)
                .join('. '),
            )
          }}
          onSaved={(n) => file.saved(n, project)}
          onNotice={setNotice}
        />
        <SmallButton onClick={() => setShowModels(true)} data-testid="open-models">
          Models
        </SmallButton>
        <ExportsRunning running={exports.running} onCancel={exports.cancelExport} />
        {notice ? (
          <span
            className="notice"
            data-testid="notice"
            title={`${notice} (click to dismiss)`}
            onClick={() => setNotice(null)}
          >
            {notice}
          </span>
        ) : null}
      </header>
      {showModels ? (
        <ModelManager
          api={api}
          desktop={client.transport === 'electron'}
          onClose={() => setShowModels(false)}
          onChanged={setModels}
        />
      ) : null}
      {exports.dialog ? (
        <ExportDialog
          api={api}
          source={exports.dialog.source}
          desktop={client.transport === 'electron'}
          onClose={exports.close}
          onExport={({ format, ...options }) => {
            const ids = exports.dialog!.jobIds
            exports.close()
            void exports.exportClip(ids, format, options)
          }}
        />
      ) : null}
      {file.recovery && recoveryLater !== file.recovery.savedAt ? (
        <RecoveryBanner
          recovery={file.recovery}
          onRecover={() => {
            // this page's own edits would be replaced (and its autosave with them): asked, as
            // New and Open ask
            if (
              file.dirty &&
              !window.confirm(
                "Replace this page's unsaved changes with the recovered project? They are not saved anywhere else.",
              )
            )
              return
            void file.recover(h.reset)
          }}
          onDiscard={() => void file.discard()}
          // out of the way for this page (it covers the timeline's end); the next start asks again
          onLater={() => setRecoveryLater(file.recovery!.savedAt)}
        />
      ) : null}
      <Region name="Generate" className="left">
        <GeneratePanel
          models={models}
          settings={shot.settings}
          onChange={h.setSettings}
          onGenerate={generate}
          busy={false}
          uploadInput={client.uploadInput}
          inputUrl={client.inputUrl}
        />
      </Region>
      <Region
        name="Camera"
        className="centre"
        tools={
          <CameraToolbar
            motionCtrl={model?.camera === 'motionctrl-rt'}
            hasSelection={selectedKey !== null}
            view={view}
            gizmo={gizmo}
            onApplyPreset={(name, speed) => {
              h.editShot((d) => ({
                ...d,
                camera: cameraPresetTrajectory(name, speed, d.settings.frames),
                preset: { name, speed },
              }))
              setSelectedKey(null)
            }}
            onAddKey={addKey}
            onDeleteKey={deleteKey}
            onDuplicateKey={duplicateKey}
            onGizmo={setGizmo}
            onView={setView}
            onExportMotionCtrl={() =>
              download(
                'camera-motionctrl.json',
                exportMotionCtrlJson(sampleTrajectory(shot.camera, frames)),
              )
            }
            onExportRe10k={() =>
              download(
                'camera-re10k.txt',
                // the intrinsics of the size the shot renders at (the one chosen, else the
                // model's, else that of the family a fresh shot's settings come from)
                exportRealEstate10K(sampleTrajectory(shot.camera, frames), {
                  width:
                    shot.settings.width ??
                    model?.defaults.width ??
                    PIPELINES[FRESH_SHOT_PIPELINE].width,
                  height:
                    shot.settings.height ??
                    model?.defaults.height ??
                    PIPELINES[FRESH_SHOT_PIPELINE].height,
                  fps: shot.settings.fps,
                }),
              )
            }
            onImport={(f) => void importPoses(f)}
          />
        }
      >
        <div className="centre-split">
          <div className="editor">
            <CameraViewport
              trajectory={shot.camera}
              frames={frames}
              playhead={play.playhead}
              selected={selectedKey}
              view={view}
              gizmo={gizmo}
              onSelect={setSelectedKey}
              subjectImage={
                model && PIPELINES[model.pipeline].input === 'image' && shot.settings.image
                  ? client.inputUrl(shot.settings.image.id)
                  : null
              }
              onKeyframeChange={(id, position, rotation, gesture) =>
                h.editCamera((t) => updateKeyframe(t, id, { position, rotation }), gesture)
              }
              travel={model && model.camera !== 'none' ? travel : 1}
              aspect={
                lens?.aspect ??
                (model
                  ? (shot.settings.width ?? model.defaults.width) /
                    (shot.settings.height ?? model.defaults.height)
                  : undefined)
              }
            />
            {/* notes and the selected keyframe's fields stack at the top, warnings at the bottom */}
            <div className="overlays top">
              <p className="overlay note" data-testid="camera-convention">
                {model?.cameraConvention ??
                  `${model?.label ?? 'This model'} has no camera input: the path is a guide for you, not the model`}
              </p>
              {lens && model?.cameraFov != null ? (
                <p
                  className={`overlay lens ${lens.matches ? 'info' : 'warn'}`}
                  data-testid="camera-lens"
                >
                  {lens.message}{' '}
                  {lens.matches ? null : (
                    <SmallButton
                      data-testid="use-model-fov"
                      onClick={() => h.editCamera((t) => withFov(t, model.cameraFov!))}
                    >
                      Use {model.cameraFov.toFixed(1)}°
                    </SmallButton>
                  )}
                </p>
              ) : null}
              {selectedKeyframe ? (
                <KeyframeFields
                  keyframe={selectedKeyframe}
                  trajectory={shot.camera}
                  frames={frames}
                  onChange={(patch, field) => {
                    if (updateKeyframe(shot.camera, selectedKeyframe.id, patch) === shot.camera)
                      return setNotice('Another keyframe holds that frame; pick a free one')
                    h.editCamera(
                      (t) => updateKeyframe(t, selectedKeyframe.id, patch),
                      `field:${selectedKeyframe.id}:${field}`,
                    )
                  }}
                />
              ) : null}
            </div>
            <div className="overlays bottom">
              {model && model.camera !== 'none' && travel !== 1 ? (
                <p className="overlay note" data-testid="travel-note">
                  Dashed: the path as rendered, the camera travelling ×{travel.toFixed(2)} as drawn
                  (the motion slider); the view through the camera follows it.
                </p>
              ) : null}
              {fovLost ? (
                <p className="overlay warn" data-testid="fov-warning">
                  {fovLost.message}
                </p>
              ) : null}
              {fast ? (
                <p className="overlay warn" data-testid="speed-warning">
                  This move travels over 0.3 units a frame: faster than{' '}
                  {model?.label ?? 'the model'} saw in training; expect artefacts.
                </p>
              ) : null}
            </div>
          </div>
          <PreviewPane
            job={job}
            preview={jobs.preview}
            clipUrl={clipUrl}
            playhead={play.playhead}
            fps={job?.result?.fps ?? shot.settings.fps}
          />
        </div>
      </Region>
      <Region name="Jobs" className="right">
        <JobsPanel
          jobs={jobs.jobs}
          modelLabel={(id) => models.find((m) => m.id === id)?.label ?? null}
          selected={jobs.selected}
          onSelect={selectJob}
          onCancel={jobs.cancel}
          onRetry={(j) => void jobs.retry(j)}
          onExport={(id, f) => void exports.exportClip([id], f)}
          onExportDialog={exports.openForJob}
        />
      </Region>
      <Region name="Timeline" className="bottom">
        <ShotStrip
          shots={project.shots.map((s, i) => ({
            id: s.id,
            frames: s.settings.frames,
            state: shotJobs[i]?.state ?? ('none' as const),
            changed: shotsChanged[i] ?? false,
          }))}
          active={project.active}
          playhead={play.playhead}
          onSelect={(i) => h.editProject((p) => ({ ...p, active: i }), 'select-shot')}
          onAdd={() => h.editProject(addShot)}
          onSplit={() => {
            try {
              h.editProject((p) => splitShot(p, play.playhead))
              play.setPlayhead(0)
            } catch (err) {
              setNotice(err instanceof Error ? err.message : String(err))
            }
          }}
          onMove={(delta) => h.editProject((p) => moveShot(p, p.active, p.active + delta))}
          onDelete={() => h.editProject((p) => deleteShot(p, p.active))}
          onExportAll={() => exports.openForShots(shotJobs, shotsChanged)}
        />
        <Timeline
          frames={frames}
          fps={shot.settings.fps}
          playhead={play.playhead}
          playing={play.playing}
          trajectory={shot.camera}
          thumbnails={thumbnails}
          onScrub={play.setPlayhead}
          onTogglePlay={play.togglePlay}
          windows={windows}
          prompts={
            longTakes
              ? {
                  base: shot.settings.prompt,
                  keys: shot.settings.promptKeys ?? [],
                  onChange: (keys, mergeKey) =>
                    h.setSettings({ promptKeys: keys.length ? keys : undefined }, mergeKey),
                  onNotice: setNotice,
                }
              : undefined
          }
        />
      </Region>
      <StatusBar
        status={engine.status}
        error={engine.error}
        history={engine.history}
        connection={connection}
        onRestart={() => void engine.restart()}
        busy={jobs.busy}
      />
    </div>
  )
}
