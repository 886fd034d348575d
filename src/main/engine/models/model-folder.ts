// Opening a model folder (diffusers/Optimum ONNX layout + optional dolly.json) and checking
// every component against what its pipeline needs, before any session is created. A folder
// that does not fit is refused with a message naming the file, the input, what was found
// and what was expected.
import { existsSync, statSync } from 'node:fs'
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path'
import { z } from 'zod'
import {
  CameraConditioning,
  MotionInput,
  PipelineKind,
  PIPELINES,
  pipelineForClass,
  PIPELINE_KINDS,
  type ModelDefaults,
} from '../../../shared/render'
import type { MemoryModel } from '../../../shared/vram'
import { PIPELINE_REGISTRY } from '../pipelines/registry'
import type { ComponentSpec } from './component-spec'
import {
  OnnxReadError,
  readOnnxSignature,
  type ElemType,
  type OnnxSignature,
  type ValueSignature,
} from './onnx-signature'
import { readTextFile, regularFileSize } from '../files'

export class ModelFolderError extends Error {
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message)
    this.name = 'ModelFolderError'
  }
}

export type { PipelineKind }

/** [frames exponent, pixels exponent, bytes per batch item] */
const Terms = z
  .array(
    z.tuple([
      z.number().int().min(0).max(2),
      z.number().int().min(0).max(2),
      z.number().nonnegative(),
    ]),
  )
  .max(9)

/** dolly.json memory.<component>.activations (tools/export/activation_memory.py states the rule). */
const ActivationRuleJson = z
  .object({
    F0: z.number().positive(),
    P0: z.number().positive(),
    constant: z.number().nonnegative(),
    terms: Terms,
    /** Further polynomials: the rule is the largest. */
    more: z
      .array(z.object({ constant: z.number().nonnegative(), terms: Terms }).strict())
      .max(16)
      .optional(),
    fitError: z.number().nonnegative().optional(),
    peakAt: z.string().max(400).optional(),
  })
  .strict()

const ComponentMemoryJson = z
  .object({
    weightsBytes: z.number().nonnegative().optional(),
    precision: z.enum(['fp32', 'fp16']).optional(),
    /** Attention as exported and after fusion (MultiHeadAttention nodes). */
    attention: z
      .object({
        fused: z.number().int().nonnegative(),
        softmaxBefore: z.number().int().nonnegative(),
        softmax: z.number().int().nonnegative(),
        multiHeadAttention: z.number().int().nonnegative(),
      })
      .strict()
      .optional(),
    /** The graph as shipped. */
    activations: ActivationRuleJson.optional(),
    /** The graph before attention fusion (for comparison). */
    activationsUnfused: ActivationRuleJson.optional(),
  })
  .strict()

export const DollyJson = z
  .object({
    /** Overrides model_index.json's _class_name. */
    pipeline: PipelineKind.optional(),
    label: z.string().max(200).optional(),
    /** A demo model with random weights: labelled as such wherever it appears. */
    demo: z.boolean().optional(),
    /** Per component: our input name -> the name in this export. */
    inputNames: z.record(z.string(), z.record(z.string(), z.string())).optional(),
    precision: z.record(z.string(), z.enum(['fp32', 'fp16'])).optional(),
    camera: CameraConditioning.optional(),
    /** MotionCtrl translation scale: one number or per axis [x, y, z]. */
    cameraTranslationScale: z
      .union([z.number(), z.tuple([z.number(), z.number(), z.number()])])
      .optional(),
    motion: MotionInput.optional(),
    /** AnimateDiff prompt embeddings per frame (diffusers >= 0.31, default) or per video. */
    textEmbeddings: z.enum(['per-frame', 'per-video']).optional(),
    nativeFrames: z.number().int().positive().optional(),
    nativeWidth: z.number().int().positive().optional(),
    nativeHeight: z.number().int().positive().optional(),
    /** Most frames one render may have (e.g. the motion module's positional table). */
    maxFrames: z.number().int().positive().optional(),
    /** This model's own defaults where they differ from its family's (MotionCtrl-SVD: guidance 2.5). */
    defaults: z
      .object({
        steps: z.number().int().positive().optional(),
        guidance: z.number().nonnegative().optional(),
        fps: z.number().int().positive().optional(),
        decodeChunk: z.number().int().positive().optional(),
        /** Wan: the flow-matching shift the model samples with (3 at 480p, 5 at 720p). */
        flowShift: z.number().positive().optional(),
        negativePrompt: z.string().max(4000).optional(),
      })
      .strict()
      .optional(),
    /** Output sizes must be multiples of this when the family's is not enough (Wan2.2 TI2V-5B: 32). */
    sizeMultiple: z.number().int().positive().optional(),
    /** Plücker camera models: the vertical field of view (degrees) the model was trained with. */
    cameraFov: z.number().gt(1).lt(179).optional(),
    /** CogVideoX: the VAE export carries the causal conv cache, so it can decode in latent-frame batches. */
    vaeFrameBatches: z.boolean().optional(),
    /** A preview decoder (e.g. VAElight) relative to the folder. */
    /** A graph inside the folder (e.g. "preview_decoder/model.onnx"). */
    previewDecoder: z
      .string()
      .max(256)
      .refine(
        (p) => !isAbsolute(p) && !p.split(/[\\/]/).includes('..'),
        'must be a path inside the model folder',
      )
      .optional(),
    /** Per component: weights, attention fusion, and the activation-memory rule the plans use. */
    memory: z.record(z.string(), ComponentMemoryJson).optional(),
  })
  .strict()
export type DollyJson = z.infer<typeof DollyJson>

type Float = 'float32' | 'float16'
const FLOAT: ElemType[] = ['float32', 'float16']

export type ComponentInfo = {
  component: string
  path: string
  /** Bytes on disk including external data. */
  bytes: number
  signature: OnnxSignature
  /** Our input name -> this export's input name, for inputs that exist. */
  inputNames: Record<string, string>
  /** Our input name -> its signature. */
  inputs: Record<string, ValueSignature>
  precision: 'fp32' | 'fp16'
}

export type ModelFolder = {
  dir: string
  pipeline: PipelineKind
  className: string
  label: string
  demo: boolean
  dolly: DollyJson
  schedulerConfig: Record<string, unknown>
  tokenizerDir: string | null
  components: Record<string, ComponentInfo>
  /** Optional conditioning this model takes. */
  camera: CameraConditioning
  motion: MotionInput
  totalBytes: number
  /** Frames the model was trained for: dolly.json, else the denoiser's config.json, else null. */
  nativeFrames: number | null
  /** Most frames one render may have (dolly.json, the motion module's table, the family's). */
  maxFrames: number | null
  /** What a render takes when it does not say (family facts, the folder's configs, dolly.json). */
  defaults: ModelDefaults
  /** The VAE's factors, from its config.json as diffusers reads them. */
  vae: VaeFactors
  /** Output sizes are multiples of this (dolly.json, else the family's). */
  sizeMultiple?: number
}

export type VaeFactors = {
  /** Pixels per latent pixel: 2 ** (len(block_out_channels) - 1). */
  scaleFactor: number
  /** Latents are divided by this before decoding. */
  scalingFactor: number
  /** Frames per latent frame (3D VAEs), 1 otherwise. */
  temporalCompression: number
  /** CogVideoX 1.5: image latents are divided by the scaling factor, not multiplied. */
  invertScaleLatents: boolean
}

/** JSON as Python writes it: bare NaN / Infinity / -Infinity become strings we can read. */
export function readPythonJson(path: string): unknown {
  let raw: string
  try {
    raw = readTextFile(path)
  } catch (err) {
    throw new ModelFolderError((err as Error).message, path)
  }
  // Replace the tokens only outside strings.
  const fixed = raw.replace(
    /("(?:[^"\\]|\\.)*")|(-?Infinity|NaN)\b/g,
    (m, str: string | undefined) => (str ? m : `"${m}"`),
  )
  try {
    return JSON.parse(fixed)
  } catch (err) {
    throw new ModelFolderError(
      `${path}: not valid JSON (${err instanceof Error ? err.message : err})`,
      path,
    )
  }
}

function fileSize(path: string): number {
  try {
    return statSync(path).size
  } catch {
    return 0
  }
}

function describeShape(s: ValueSignature): string {
  return `${s.type} [${s.shape.map((d) => (d === null ? '?' : d)).join(', ')}]`
}

function checkComponent(dir: string, spec: ComponentSpec, dolly: DollyJson): ComponentInfo | null {
  const path = join(dir, spec.component, 'model.onnx')
  if (!existsSync(path)) {
    if (spec.optional) return null
    throw new ModelFolderError(
      `${path}: missing; a ${spec.component} is required for this pipeline`,
      path,
    )
  }
  let signature: OnnxSignature
  try {
    signature = readOnnxSignature(path)
  } catch (err) {
    if (err instanceof OnnxReadError)
      throw new ModelFolderError(`${err.message}; re-export or re-download ${spec.component}`, path)
    throw err
  }
  let bytes = fileSize(path)
  for (const ext of signature.externalFiles) {
    const p = resolve(dirname(path), ext)
    // onnxruntime refuses data outside the graph's folder at load; say so when the folder is added
    // (and never tell whether some outside path exists)
    const rel = relative(dirname(path), p)
    if (isAbsolute(ext) || isAbsolute(rel) || rel === '..' || rel.startsWith(`..${sep}`))
      throw new ModelFolderError(
        `${path}: its external data location "${ext}" leaves ${dirname(path)}; weights must sit beside the graph`,
        path,
      )
    if (!existsSync(p)) {
      throw new ModelFolderError(
        `${path}: its weights are in external data file "${ext}", which is missing from ${dirname(path)}`,
        path,
      )
    }
    try {
      bytes += regularFileSize(p, 'its external data file')
    } catch (err) {
      throw new ModelFolderError((err as Error).message, path)
    }
  }
  const rename = dolly.inputNames?.[spec.component] ?? {}
  const byName = new Map(signature.inputs.map((i) => [i.name, i]))
  const inputNames: Record<string, string> = {}
  const inputs: Record<string, ValueSignature> = {}
  for (const want of spec.inputs) {
    if (want.repeated) {
      // name0, name1, ...: every input with the prefix, numbered from 0 without gaps
      const all = signature.inputs.filter((i) => i.name.startsWith(want.name))
      if (!all.length && !want.optional) {
        throw new ModelFolderError(
          `${path}: no "${want.name}0", "${want.name}1", ... inputs (${want.what}); re-export ${spec.component}`,
          path,
        )
      }
      all.forEach((found, k) => {
        if (!byName.has(`${want.name}${k}`))
          throw new ModelFolderError(
            `${path}: inputs "${want.name}*" are not numbered 0..${all.length - 1} (no "${want.name}${k}")`,
            path,
          )
        if (!want.types.includes(found.type) || !want.ranks.includes(found.shape.length))
          throw new ModelFolderError(
            `${path}: input "${found.name}" is ${describeShape(found)}; expected ${want.types.join(' or ')} of rank ${want.ranks.join(' or ')} (${want.what})`,
            path,
          )
        inputNames[found.name] = found.name
        inputs[found.name] = found
      })
      continue
    }
    const actual = rename[want.name] ?? want.name
    const found = byName.get(actual)
    if (!found) {
      if (want.optional) continue
      const have =
        signature.inputs.map((i) => `${i.name} (${describeShape(i)})`).join(', ') || 'none'
      throw new ModelFolderError(
        `${path}: input "${actual}" (${want.what}) is missing; the model's inputs are ${have}. If this export names it differently, map it in dolly.json "inputNames": {"${spec.component}": {"${want.name}": "<name>"}}`,
        path,
      )
    }
    if (!want.types.includes(found.type)) {
      throw new ModelFolderError(
        `${path}: input "${actual}" is ${found.type}; expected ${want.types.join(' or ')} (${want.what})`,
        path,
      )
    }
    if (!want.ranks.includes(found.shape.length)) {
      throw new ModelFolderError(
        `${path}: input "${actual}" has rank ${found.shape.length} ${describeShape(found)}; expected rank ${want.ranks.join(' or ')} (${want.what})`,
        path,
      )
    }
    inputNames[want.name] = actual
    inputs[want.name] = found
  }
  const known = new Set(Object.values(inputNames))
  const extra = signature.inputs.filter((i) => !known.has(i.name))
  if (extra.length) {
    throw new ModelFolderError(
      `${path}: input "${extra[0]!.name}" (${describeShape(extra[0]!)}) is not one the ${spec.component} of this pipeline takes; expected ${spec.inputs.map((i) => i.name).join(', ')}`,
      path,
    )
  }
  const out = signature.outputs[0]
  if (!out) throw new ModelFolderError(`${path}: the model has no outputs`, path)
  if (!FLOAT.includes(out.type))
    throw new ModelFolderError(
      `${path}: output "${out.name}" is ${out.type}; expected float32 or float16`,
      path,
    )
  if (!spec.outputRanks.includes(out.shape.length)) {
    throw new ModelFolderError(
      `${path}: output "${out.name}" has rank ${out.shape.length}; expected rank ${spec.outputRanks.join(' or ')}`,
      path,
    )
  }
  const firstFloat = Object.values(inputs).find((s) => FLOAT.includes(s.type))
  const precision =
    dolly.precision?.[spec.component] ??
    ((firstFloat?.type as Float | undefined) === 'float16' ? 'fp16' : 'fp32')
  return { component: spec.component, path, bytes, signature, inputNames, inputs, precision }
}

/** Opens and validates the model folder at `dir`. */
export function openModelFolder(dir: string): ModelFolder {
  const root = resolve(dir)
  if (!existsSync(root) || !statSync(root).isDirectory())
    throw new ModelFolderError(`${root}: not a folder`, root)
  const indexPath = join(root, 'model_index.json')
  if (!existsSync(indexPath)) {
    throw new ModelFolderError(
      `${indexPath}: missing; a model folder needs model_index.json (diffusers layout)`,
      indexPath,
    )
  }
  const index = readPythonJson(indexPath) as Record<string, unknown>
  if (typeof index !== 'object' || index === null)
    throw new ModelFolderError(`${indexPath}: expected a JSON object`, indexPath)

  const dollyPath = join(root, 'dolly.json')
  let dolly: DollyJson = {}
  if (existsSync(dollyPath)) {
    const parsed = DollyJson.safeParse(readPythonJson(dollyPath))
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!
      throw new ModelFolderError(
        `${dollyPath}: ${issue.path.join('.') || 'file'}: ${issue.message}`,
        dollyPath,
      )
    }
    dolly = parsed.data
  }
  const className = typeof index['_class_name'] === 'string' ? (index['_class_name'] as string) : ''
  const pipeline = dolly.pipeline ?? pipelineForClass(className)
  if (!pipeline) {
    const known = PIPELINE_KINDS.map((k) => PIPELINES[k].classNames[0]).join(', ')
    throw new ModelFolderError(
      `${indexPath}: _class_name "${className}" is not a pipeline the studio runs; expected one of ${known} (or set "pipeline" in dolly.json)`,
      indexPath,
    )
  }
  const facts = PIPELINES[pipeline]
  const row = PIPELINE_REGISTRY[pipeline]

  const schedPath = join(root, 'scheduler', 'scheduler_config.json')
  if (!existsSync(schedPath))
    throw new ModelFolderError(
      `${schedPath}: missing; the pipeline needs its scheduler's config`,
      schedPath,
    )
  const schedulerConfig = readPythonJson(schedPath) as Record<string, unknown>

  const tokenizerDir = facts.tokenizer ? join(root, 'tokenizer') : null
  if (tokenizerDir && !existsSync(tokenizerDir)) {
    throw new ModelFolderError(
      `${tokenizerDir}: missing; ${facts.tokenizer!.kind.toUpperCase()} tokenizer files are required`,
      tokenizerDir,
    )
  }

  const components: Record<string, ComponentInfo> = {}
  for (const spec of row.components) {
    const info = checkComponent(root, spec, dolly)
    if (info) components[spec.component] = info
  }
  const denoiser = components[row.denoiser]!
  // the camera conditioning: what dolly.json says, else what the denoiser's inputs show
  const inputFor = (c: CameraConditioning) => (c === 'none' ? undefined : row.cameraInputs[c])
  const detected = facts.camera.find((c) => {
    const name = inputFor(c)
    return name !== undefined && denoiser.inputNames[name] !== undefined
  })
  const camera: CameraConditioning = dolly.camera ?? detected ?? 'none'
  if (camera !== 'none') {
    const name = inputFor(camera)
    if (!name) {
      throw new ModelFolderError(
        `${dollyPath}: camera is "${camera}", which ${facts.label} cannot take (it takes ${facts.camera.join(' or ') || 'no camera input'})`,
        dollyPath,
      )
    }
    if (!denoiser.inputNames[name]) {
      throw new ModelFolderError(
        `${dollyPath}: camera is "${camera}" but ${denoiser.path} has no ${name} input`,
        dollyPath,
      )
    }
  }
  const motion: MotionInput =
    dolly.motion ?? (denoiser.inputNames['motion_scale'] ? 'motion_scale' : facts.motion)
  const totalBytes = Object.values(components).reduce((a, c) => a + c.bytes, 0)

  const denoiserConfig = readConfig(join(root, row.denoiser, 'config.json'))
  const vae = readVaeFactors(join(root, 'vae_decoder', 'config.json'), row.vaeScaling)
  const int = (v: unknown) => (typeof v === 'number' && Number.isInteger(v) && v > 0 ? v : null)
  // an export with a fixed frames axis takes only that many frames; else a transformer's
  // config names its native (pixel) frames, a UNet's its num_frames. A VAE decoder that takes
  // the whole clip in one call (CogVideoX) may fix them too, and says the clip's own count (the
  // transformer's may be padded, CogVideoX 1.5)
  const latentShape = (denoiser.inputs['sample'] ?? denoiser.inputs['hidden_states'])?.shape ?? []
  const vaeShape =
    facts.decodeCall === 'clip'
      ? (components['vae_decoder']?.inputs['latent_sample']?.shape ?? [])
      : []
  const fixedVaeFrames = vaeShape[2]
  const fixedLatentFrames =
    typeof fixedVaeFrames === 'number'
      ? fixedVaeFrames
      : latentShape[row.latentLayout === 'BCFHW' ? 2 : 1]
  const t = vae.temporalCompression
  const fixedFrames = typeof fixedLatentFrames === 'number' ? (fixedLatentFrames - 1) * t + 1 : null
  // the most frames that still map onto those latent frames ((F - 1) // t + 1)
  const fixedMax = typeof fixedLatentFrames === 'number' ? fixedLatentFrames * t : null
  const nativeFrames: number | null =
    dolly.nativeFrames ??
    fixedFrames ??
    int(denoiserConfig['num_frames']) ??
    int(denoiserConfig['sample_frames'])
  const fixed = fixedLatentSize({ components })
  const configW = int(denoiserConfig['sample_width'])
  const configH = int(denoiserConfig['sample_height'])
  const [width, height] =
    dolly.nativeWidth && dolly.nativeHeight
      ? [dolly.nativeWidth, dolly.nativeHeight]
      : fixed
        ? [fixed.w * vae.scaleFactor, fixed.h * vae.scaleFactor]
        : row.denoiser === 'transformer' && configW && configH
          ? [configW * vae.scaleFactor, configH * vae.scaleFactor]
          : [facts.width, facts.height]
  const maxFrames =
    dolly.maxFrames ?? fixedMax ?? int(denoiserConfig['motion_max_seq_length']) ?? facts.maxFrames
  const chunk = facts.decodeChunk
  const negativePrompt = dolly.defaults?.negativePrompt ?? facts.negativePrompt
  const defaults: ModelDefaults = {
    frames: Math.min(nativeFrames ?? facts.frames, maxFrames ?? Infinity),
    steps: dolly.defaults?.steps ?? facts.steps,
    guidance: dolly.defaults?.guidance ?? facts.guidance,
    fps: dolly.defaults?.fps ?? facts.fps,
    width,
    height,
    decodeChunk: chunk ? (dolly.defaults?.decodeChunk ?? chunk.default) : null,
    ...(negativePrompt !== undefined ? { negativePrompt } : {}),
  }
  const baseName = root.split(/[\\/]/).pop() ?? root
  return {
    dir: root,
    pipeline,
    className,
    label: dolly.label ?? (dolly.demo ? `${baseName} (demo, random weights)` : baseName),
    demo: dolly.demo ?? false,
    dolly,
    schedulerConfig,
    tokenizerDir,
    components,
    camera,
    motion,
    totalBytes,
    nativeFrames,
    maxFrames,
    defaults,
    vae,
    ...(dolly.sizeMultiple ? { sizeMultiple: dolly.sizeMultiple } : {}),
  }
}

/** A component's config.json as an object ({} when the folder has none). */
function readConfig(path: string): Record<string, unknown> {
  if (!existsSync(path)) return {}
  const cfg = readPythonJson(path)
  if (typeof cfg !== 'object' || cfg === null || Array.isArray(cfg))
    throw new ModelFolderError(`${path}: expected a JSON object`, path)
  return cfg as Record<string, unknown>
}

/**
 * The VAE's factors as diffusers reads them: vae_scale_factor = 2 ** (len(block_out_channels)
 * - 1), scaling_factor, and (3D VAEs) temporal_compression_ratio. A config without them gets
 * the family's usual values (8, its scaling factor, 1).
 */
function readVaeFactors(path: string, familyScaling: number): VaeFactors {
  const cfg = readConfig(path)
  const blocks = cfg['block_out_channels']
  const scaling = cfg['scaling_factor']
  // AutoencoderKLWan names its factors scale_factor_spatial / scale_factor_temporal
  const spatial = cfg['scale_factor_spatial']
  const temporal = cfg['temporal_compression_ratio'] ?? cfg['scale_factor_temporal']
  return {
    scaleFactor:
      typeof spatial === 'number' && spatial >= 1
        ? spatial
        : Array.isArray(blocks) && blocks.length > 0
          ? 2 ** (blocks.length - 1)
          : 8,
    scalingFactor: typeof scaling === 'number' && scaling > 0 ? scaling : familyScaling,
    temporalCompression: typeof temporal === 'number' && temporal >= 1 ? temporal : 1,
    invertScaleLatents: cfg['invert_scale_latents'] === true,
  }
}

/**
 * What the memory plans need of a folder: each component's bytes on disk and its activation
 * rule from dolly.json "memory" (null where the export wrote none: the plans then allow a flat
 * figure per stage).
 */
export function memoryModel(m: ModelFolder): MemoryModel {
  return {
    pipeline: m.pipeline,
    components: Object.fromEntries(
      Object.entries(m.components).map(([k, c]) => [
        k,
        { bytes: c.bytes, activations: m.dolly.memory?.[k]?.activations ?? null },
      ]),
    ),
    decodeChunk: m.defaults.decodeChunk,
    vaeScale: m.vae.scaleFactor,
  }
}

/** The denoiser's latent height and width when the export fixes them (static dims), else null. */
export function fixedLatentSize(
  m: Pick<ModelFolder, 'components'>,
): { h: number; w: number } | null {
  const c = m.components['unet'] ?? m.components['transformer']
  const shape = (c?.inputs['sample'] ?? c?.inputs['hidden_states'])?.shape ?? []
  const h = shape[3]
  const w = shape[4]
  return typeof h === 'number' && typeof w === 'number' ? { h, w } : null
}
