// The studio's document: shots with their render settings and camera paths. Saved and
// undoable; what is ephemeral (playhead, selection, job progress) lives in component state.
// The types are the contract's (one declaration, checked in main when saved).
import {
  parsePresetExpression,
  presetPoses,
  presetSequence,
  trajectoryFromPoses,
  type Trajectory,
} from '../../../shared/camera'
import type { ProjectDoc, Shot } from '../../../shared/contract'
import { newShotId, randomSeed } from '../../../shared/shots'

export type { ProjectDoc, Shot }
export type Settings = Shot['settings']

export { newShotId, randomSeed }

export function trajectoryFromPreset(expr: string, speed: number, frames: number): Trajectory {
  const seq = parsePresetExpression(expr, speed)
  const poses =
    seq.length === 1 ? presetPoses(seq[0]!, { frames }) : presetSequence(seq, { frames })
  // keyframes every 5 frames (and the last), so the path stays editable
  const picks = poses.filter((_, i) => i % 5 === 0 || i === poses.length - 1)
  const t = trajectoryFromPoses(picks, frames, [0, 0, -4])
  const idx = poses.map((_, i) => i).filter((i) => i % 5 === 0 || i === poses.length - 1)
  t.keyframes.forEach((k, i) => (k.frame = idx[i]!))
  return t
}

export function initialProject(modelId = ''): ProjectDoc {
  return { shots: [initialShot(modelId)], active: 0 }
}

export function initialShot(modelId = ''): Shot {
  return {
    id: newShotId(),
    settings: {
      modelId,
      prompt: '',
      negativePrompt: 'blurry, low quality',
      seed: randomSeed(),
      seedLocked: false,
      steps: 25,
      guidance: 7.5,
      frames: 16,
      fps: 8,
      scheduler: '',
      plan: 'auto',
      motion: 0.5,
    },
    camera: trajectoryFromPreset('static', 1, 16),
    preset: null,
    clip: null,
  }
}
