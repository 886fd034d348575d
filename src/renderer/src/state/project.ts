// The studio's document: shots with their render settings and camera paths. Saved and
// undoable; what is ephemeral (playhead, selection, job progress) lives in component state.
// The types are the contract's (one declaration, checked in main when saved).
import type { ProjectDoc, Shot } from '../../../shared/contract'

export type { ProjectDoc, Shot }
export type Settings = Shot['settings']

export { presetTrajectory as trajectoryFromPreset } from '../../../shared/camera'
export { initialProject, initialShot, newShotId, randomSeed } from '../../../shared/shots'
