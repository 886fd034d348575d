// The project document with undo: edits of the project, of the active shot, its settings and
// its camera path, each one undo step (merged by key within 500 ms), plus facts recorded into
// every undo state (a shot's render) and resets (open, new, recover).
import { useCallback, useReducer } from 'react'
import type { Trajectory } from '../../../shared/camera'
import { createHistory, historyReducer, type HistoryAction } from '../../../shared/history'
import { initialProject, type ProjectDoc, type Settings, type Shot } from '../state/project'

export function useProjectHistory() {
  const [history, dispatch] = useReducer(
    historyReducer<ProjectDoc>,
    createHistory(initialProject()),
  )
  const project = history.present
  /** The shot being edited; the panels, the editor and the timeline show it. */
  const shot = project.shots[project.active]!

  const editProject = useCallback(
    (update: (d: ProjectDoc) => ProjectDoc, mergeKey?: string) =>
      dispatch({ type: 'edit', update, mergeKey } as HistoryAction<ProjectDoc>),
    [],
  )
  const editShot = useCallback(
    (update: (s: Shot) => Shot, mergeKey?: string) =>
      editProject(
        (p) => ({ ...p, shots: p.shots.map((s, i) => (i === p.active ? update(s) : s)) }),
        mergeKey,
      ),
    [editProject],
  )
  const setSettings = useCallback(
    (patch: Partial<Settings>, mergeKey?: string) =>
      editShot((d) => ({ ...d, settings: { ...d.settings, ...patch } }), mergeKey),
    [editShot],
  )
  /** An edit of the camera path by hand: the shot no longer follows a preset. */
  const editCamera = useCallback(
    (update: (t: Trajectory) => Trajectory, mergeKey?: string) =>
      editShot((d) => {
        const camera = update(d.camera)
        return camera === d.camera ? d : { ...d, preset: null, camera }
      }, mergeKey),
    [editShot],
  )
  /** A fact (a render started for a shot): in every undo state, adding no undo step. */
  const record = useCallback(
    (update: (d: ProjectDoc) => ProjectDoc) => dispatch({ type: 'record', update }),
    [],
  )
  const reset = useCallback((doc: ProjectDoc) => dispatch({ type: 'reset', doc }), [])
  const undo = useCallback(() => dispatch({ type: 'undo' }), [])
  const redo = useCallback(() => dispatch({ type: 'redo' }), [])

  return {
    project,
    shot,
    canUndo: history.past.length > 0,
    editProject,
    editShot,
    setSettings,
    editCamera,
    record,
    reset,
    undo,
    redo,
  }
}

export type ProjectHistory = ReturnType<typeof useProjectHistory>
