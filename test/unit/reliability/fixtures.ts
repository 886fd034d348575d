// Documents for the reliability suite: valid projects of a chosen size.
import { presetPoses, trajectoryFromPoses } from '../../../src/shared/camera'
import type { ProjectDoc, Shot } from '../../../src/shared/contract'

export function shot(i: number, promptChars = 40, keyframes = 4): Shot {
  const frames = Math.max(keyframes, 2)
  return {
    id: `shot-${i}`,
    settings: {
      modelId: '/models/demo',
      prompt: 'a lighthouse at dusk '.repeat(Math.ceil(promptChars / 21)).slice(0, promptChars),
      negativePrompt: 'blurry '.repeat(Math.ceil(promptChars / 7)).slice(0, promptChars),
      seed: i,
      seedLocked: false,
      steps: 25,
      guidance: 7.5,
      frames: 16,
      fps: 8,
      scheduler: '',
      plan: 'auto',
      motion: 0.5,
    },
    camera: trajectoryFromPoses(presetPoses([{ name: 'orbit-left' }], { frames }), 16),
    preset: { name: 'orbit-left', speed: 1 },
    clip: null,
  }
}

/** A project of `shots` shots with prompts of `promptChars` characters each. */
export function project(shots: number, promptChars = 40, keyframes = 4): ProjectDoc {
  return {
    shots: Array.from({ length: shots }, (_, i) => shot(i, promptChars, keyframes)),
    active: 0,
  }
}
