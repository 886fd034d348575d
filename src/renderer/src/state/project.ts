// The studio's document: generation settings and the camera path. Saved and undoable; what
// is ephemeral (playhead, selection, job progress) lives in component state instead.
import {
  newKeyframeId,
  presetPoses,
  presetSequence,
  parsePresetExpression,
  trajectoryFromPoses,
  type Trajectory,
} from '../../../shared/camera'
import type { InputImage } from '../../../shared/contract'
import { newShotId, randomSeed } from '../../../shared/shots'

export type Settings = {
  modelId: string
  prompt: string
  negativePrompt: string
  seed: number
  seedLocked: boolean
  steps: number
  guidance: number
  frames: number
  fps: number
  scheduler: string
  plan: 'auto' | 'resident' | 'offload' | 'minimal'
  motion: number
  /** Output size; undefined = the model's own. */
  width?: number | undefined
  height?: number | undefined
  /** Image-to-video input (main's id for the dropped image). */
  image?: InputImage | undefined
}

/** One shot on the timeline: its settings, camera path and (once rendered) its job. */
export type Shot = {
  id: string
  settings: Settings
  camera: Trajectory
  preset: { name: string; speed: number } | null
  clip: { jobId: string } | null
}

/** The project: shots in timeline order and the one being edited. */
export type ProjectDoc = {
  shots: Shot[]
  active: number
}



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

export { newKeyframeId }
