// The motion-strength slider: one control, 0..1, whose meaning depends on the model. This is
// the only place that mapping lives (renderer shows `label`, main applies `mapMotion`).
//   SVD                      -> motion_bucket_id 0..255 (127, diffusers' default, at the middle)
//   a UNet with motion_scale -> that scale, 0..2 (1 at the middle)
//   MotionCtrl camera input  -> camera translation scale x0..x2 (x1 at the middle)
//   Plücker camera (Wan-Fun) -> the same travel scale, about the first camera position
//   none of these            -> disabled, with the reason

import type { CameraConditioning, MotionInput } from './render'

export type MotionKind = 'motion_bucket_id' | 'motion_scale' | 'camera_scale' | 'none'

export type MotionModelFacts = {
  /** The model's motion input (from its folder): motion_bucket_id, motion_scale or none. */
  motion: MotionInput
  camera: CameraConditioning
}

/** diffusers' default motion_bucket_id: the slider's middle gives it exactly. */
export const DEFAULT_MOTION_BUCKET = 127
/** The largest motion_bucket_id SVD was trained with (0 is the smallest). */
export const MAX_MOTION_BUCKET = 255
/** diffusers' default noise_aug_strength: the noise added to SVD's conditioning image. */
export const DEFAULT_NOISE_AUG_STRENGTH = 0.02

export type MotionControlInfo = { kind: MotionKind; label: string; reason: string | null }

export function motionControlFor(m: MotionModelFacts): MotionControlInfo {
  if (m.motion === 'motion_bucket_id')
    return {
      kind: 'motion_bucket_id',
      label: `SVD's motion bucket: 0 is almost still, ${MAX_MOTION_BUCKET} is fast motion`,
      reason: null,
    }
  if (m.motion === 'motion_scale')
    return {
      kind: 'motion_scale',
      label: "the motion module's scale: 0 freezes motion, 2 doubles it",
      reason: null,
    }
  if (m.camera === 'motionctrl-rt' || m.camera === 'cameractrl-plucker')
    return {
      kind: 'camera_scale',
      label: 'how far the camera travels along its path: x0 to x2',
      reason: null,
    }
  return {
    kind: 'none',
    label: 'no motion control',
    reason: 'this model has no motion input (no motion_bucket_id, motion_scale or camera input)',
  }
}

export type MotionValue =
  | { kind: 'motion_bucket_id'; motionBucketId: number }
  | { kind: 'motion_scale'; motionScale: number }
  | { kind: 'camera_scale'; cameraScale: number }
  | { kind: 'none' }

/** Slider value 0..1 -> what the model takes. */
export function mapMotion(m: MotionModelFacts, value: number): MotionValue {
  if (!Number.isFinite(value))
    throw new RangeError(`motion strength must be a number, got ${value}`)
  const v = Math.min(1, Math.max(0, value))
  const kind = motionControlFor(m).kind
  switch (kind) {
    case 'motion_bucket_id':
      // two linear halves so the middle is the default: 0..0.5 -> 0..127, 0.5..1 -> 127..255
      return {
        kind,
        motionBucketId: Math.round(
          v <= 0.5
            ? (v / 0.5) * DEFAULT_MOTION_BUCKET
            : DEFAULT_MOTION_BUCKET +
                ((v - 0.5) / 0.5) * (MAX_MOTION_BUCKET - DEFAULT_MOTION_BUCKET),
        ),
      }
    case 'motion_scale':
      return { kind, motionScale: v * 2 }
    case 'camera_scale':
      return { kind, cameraScale: cameraTravel(kind, v) }
    default:
      return { kind: 'none' }
  }
}

/**
 * How far the rendered camera travels along the drawn path for a slider value: x0 to x2 where
 * the slider drives the camera (`camera_scale`), else the path as drawn.
 */
export function cameraTravel(kind: MotionControlInfo['kind'], value: number): number {
  return kind === 'camera_scale' ? Math.min(1, Math.max(0, value)) * 2 : 1
}

/** The words under the slider for a value. */
export function describeMotion(m: MotionModelFacts, value: number): string {
  const r = mapMotion(m, value)
  switch (r.kind) {
    case 'motion_bucket_id':
      return `motion bucket ${r.motionBucketId} of ${MAX_MOTION_BUCKET}`
    case 'motion_scale':
      return `motion scale ${r.motionScale.toFixed(2)}`
    case 'camera_scale':
      return `camera travel x${r.cameraScale.toFixed(2)}`
    default:
      return motionControlFor(m).reason ?? ''
  }
}
