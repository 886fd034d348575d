// Opening a model folder (diffusers/Optimum ONNX layout + optional dolly.json) and checking
// every component against what its pipeline needs, before any session is created. A folder
// that does not fit is refused with a message naming the file, the input, what was found
// and what was expected.
import { existsSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { z } from 'zod'
import {
  OnnxReadError,
  readOnnxSignature,
  type ElemType,
  type OnnxSignature,
  type ValueSignature,
} from './onnx-signature'

export class ModelFolderError extends Error {
  constructor(
    message: string,
    readonly file?: string,
  ) {
    super(message)
    this.name = 'ModelFolderError'
  }
}

export type PipelineKind = 'animatediff' | 'svd' | 'cogvideox'

/** diffusers pipeline class names (and Optimum's ORT-prefixed ones) -> our pipelines. */
const PIPELINE_CLASSES: Record<string, PipelineKind> = {
  AnimateDiffPipeline: 'animatediff',
  ORTAnimateDiffPipeline: 'animatediff',
  StableVideoDiffusionPipeline: 'svd',
  ORTStableVideoDiffusionPipeline: 'svd',
  CogVideoXPipeline: 'cogvideox',
  ORTCogVideoXPipeline: 'cogvideox',
}

export const DollyJson = z
  .object({
    /** Overrides model_index.json's _class_name. */
    pipeline: z.enum(['animatediff', 'svd', 'cogvideox']).optional(),
    label: z.string().max(200).optional(),
    /** A demo model with random weights: labelled as such wherever it appears. */
    demo: z.boolean().optional(),
    /** Per component: our input name -> the name in this export. */
    inputNames: z.record(z.string(), z.record(z.string(), z.string())).optional(),
    precision: z.record(z.string(), z.enum(['fp32', 'fp16'])).optional(),
    camera: z.enum(['motionctrl-rt', 'cameractrl-plucker', 'none']).optional(),
    /** MotionCtrl translation scale: one number or per axis [x, y, z]. */
    cameraTranslationScale: z
      .union([z.number(), z.tuple([z.number(), z.number(), z.number()])])
      .optional(),
    motion: z.enum(['motion_bucket_id', 'motion_scale', 'none']).optional(),
    /** AnimateDiff prompt embeddings per frame (diffusers >= 0.31, default) or per video. */
    textEmbeddings: z.enum(['per-frame', 'per-video']).optional(),
    nativeFrames: z.number().int().positive().optional(),
    nativeWidth: z.number().int().positive().optional(),
    nativeHeight: z.number().int().positive().optional(),
    /** CogVideoX: the VAE export carries the causal conv cache, so it can decode in latent-frame batches. */
    vaeFrameBatches: z.boolean().optional(),
    /** A preview decoder (e.g. VAElight) relative to the folder. */
    previewDecoder: z.string().optional(),
  })
  .strict()
export type DollyJson = z.infer<typeof DollyJson>

type Float = 'float32' | 'float16'
const FLOAT: ElemType[] = ['float32', 'float16']

type InputSpec = {
  name: string
  types: ElemType[]
  ranks: number[]
  optional?: boolean
  what: string
}
type ComponentSpec = {
  component: string
  inputs: InputSpec[]
  outputRanks: number[]
  optional?: boolean
}

/** What each pipeline needs of each component (Optimum's names). */
export const PIPELINE_SPECS: Record<PipelineKind, ComponentSpec[]> = {
  animatediff: [
    {
      component: 'text_encoder',
      inputs: [
        { name: 'input_ids', types: ['int64', 'int32'], ranks: [2], what: 'token ids [batch, 77]' },
      ],
      outputRanks: [3],
    },
    {
      component: 'unet',
      inputs: [
        {
          name: 'sample',
          types: FLOAT,
          ranks: [5],
          what: 'latents [batch, 4, frames, height/8, width/8]',
        },
        {
          name: 'timestep',
          types: ['int64', 'int32', 'float32', 'float16'],
          ranks: [0, 1],
          what: 'the timestep, a scalar or [1]',
        },
        {
          name: 'encoder_hidden_states',
          types: FLOAT,
          ranks: [3],
          what: 'prompt embeddings [batch*frames, 77, dim]',
        },
        {
          name: 'camera_poses',
          types: FLOAT,
          ranks: [3],
          optional: true,
          what: 'MotionCtrl poses [batch, frames, 12]',
        },
        {
          name: 'motion_scale',
          types: FLOAT,
          ranks: [0, 1],
          optional: true,
          what: 'motion scale [1]',
        },
      ],
      outputRanks: [5],
    },
    {
      component: 'vae_decoder',
      inputs: [{ name: 'latent_sample', types: FLOAT, ranks: [4], what: 'latents [n, 4, h, w]' }],
      outputRanks: [4],
    },
    {
      component: 'vae_encoder',
      inputs: [{ name: 'sample', types: FLOAT, ranks: [4], what: 'images [n, 3, H, W]' }],
      outputRanks: [4],
      optional: true,
    },
  ],
  svd: [
    {
      component: 'image_encoder',
      inputs: [
        { name: 'pixel_values', types: FLOAT, ranks: [4], what: 'CLIP input [batch, 3, 224, 224]' },
      ],
      outputRanks: [2, 3],
    },
    {
      component: 'vae_encoder',
      inputs: [{ name: 'sample', types: FLOAT, ranks: [4], what: 'images [batch, 3, H, W]' }],
      outputRanks: [4],
    },
    {
      component: 'unet',
      inputs: [
        {
          name: 'sample',
          types: FLOAT,
          ranks: [5],
          what: 'latents [batch, frames, 8, height/8, width/8]',
        },
        {
          name: 'timestep',
          types: ['float32', 'float16'],
          ranks: [0, 1],
          what: 'the continuous timestep, a scalar or [1]',
        },
        {
          name: 'encoder_hidden_states',
          types: FLOAT,
          ranks: [3],
          what: 'image embeddings [batch, 1, dim]',
        },
        {
          name: 'added_time_ids',
          types: FLOAT,
          ranks: [2],
          what: '[fps-1, motion_bucket_id, noise_aug_strength] per batch item',
        },
        {
          name: 'camera_poses',
          types: FLOAT,
          ranks: [3],
          optional: true,
          what: 'MotionCtrl-SVD poses [batch, frames, 12]',
        },
      ],
      outputRanks: [5],
    },
    {
      component: 'vae_decoder',
      inputs: [
        { name: 'latent_sample', types: FLOAT, ranks: [4], what: 'latents [n, 4, h, w]' },
        {
          name: 'num_frames',
          types: ['int64'],
          ranks: [0, 1],
          optional: true,
          what: 'frames in this decode call',
        },
      ],
      outputRanks: [4],
    },
  ],
  cogvideox: [
    {
      component: 'text_encoder',
      inputs: [
        {
          name: 'input_ids',
          types: ['int64', 'int32'],
          ranks: [2],
          what: 'token ids [batch, 226]',
        },
      ],
      outputRanks: [3],
    },
    {
      component: 'transformer',
      inputs: [
        {
          name: 'hidden_states',
          types: FLOAT,
          ranks: [5],
          what: 'latents [batch, latent_frames, 16, height/8, width/8]',
        },
        {
          name: 'encoder_hidden_states',
          types: FLOAT,
          ranks: [3],
          what: 'prompt embeddings [batch, 226, dim]',
        },
        {
          name: 'timestep',
          types: ['int64', 'int32', 'float32', 'float16'],
          ranks: [0, 1],
          what: 'timesteps [batch]',
        },
        {
          name: 'image_rotary_emb_cos',
          types: FLOAT,
          ranks: [2],
          optional: true,
          what: 'RoPE cos table (5B)',
        },
        {
          name: 'image_rotary_emb_sin',
          types: FLOAT,
          ranks: [2],
          optional: true,
          what: 'RoPE sin table (5B)',
        },
      ],
      outputRanks: [5],
    },
    {
      component: 'vae_decoder',
      inputs: [
        {
          name: 'latent_sample',
          types: FLOAT,
          ranks: [5],
          what: 'latents [batch, 16, latent_frames, h, w]',
        },
      ],
      outputRanks: [5],
    },
  ],
}

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
  camera: 'motionctrl-rt' | 'cameractrl-plucker' | 'none'
  motion: 'motion_bucket_id' | 'motion_scale' | 'none'
  totalBytes: number
  /** Frames the model was trained for: dolly.json, else the denoiser's config.json num_frames. */
  nativeFrames: number | null
}

/** JSON as Python writes it: bare NaN / Infinity / -Infinity become strings we can read. */
export function readPythonJson(path: string): unknown {
  let raw: string
  try {
    raw = readFileSync(path, 'utf8')
  } catch (err) {
    throw new ModelFolderError(
      `${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? err})`,
      path,
    )
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
    if (!existsSync(p)) {
      throw new ModelFolderError(
        `${path}: its weights are in external data file "${ext}", which is missing from ${dirname(path)}`,
        path,
      )
    }
    bytes += fileSize(p)
  }
  const rename = dolly.inputNames?.[spec.component] ?? {}
  const byName = new Map(signature.inputs.map((i) => [i.name, i]))
  const inputNames: Record<string, string> = {}
  const inputs: Record<string, ValueSignature> = {}
  for (const want of spec.inputs) {
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
  const pipeline = dolly.pipeline ?? PIPELINE_CLASSES[className]
  if (!pipeline) {
    throw new ModelFolderError(
      `${indexPath}: _class_name "${className}" is not a pipeline the studio runs; expected one of ${Object.keys(
        PIPELINE_CLASSES,
      )
        .filter((c) => !c.startsWith('ORT'))
        .join(', ')} (or set "pipeline" in dolly.json)`,
      indexPath,
    )
  }

  const schedPath = join(root, 'scheduler', 'scheduler_config.json')
  if (!existsSync(schedPath))
    throw new ModelFolderError(
      `${schedPath}: missing; the pipeline needs its scheduler's config`,
      schedPath,
    )
  const schedulerConfig = readPythonJson(schedPath) as Record<string, unknown>

  const tokenizerDir = pipeline === 'svd' ? null : join(root, 'tokenizer')
  if (tokenizerDir && !existsSync(tokenizerDir)) {
    throw new ModelFolderError(
      `${tokenizerDir}: missing; ${pipeline === 'cogvideox' ? 'T5' : 'CLIP'} tokenizer files are required`,
      tokenizerDir,
    )
  }

  const components: Record<string, ComponentInfo> = {}
  for (const spec of PIPELINE_SPECS[pipeline]) {
    const info = checkComponent(root, spec, dolly)
    if (info) components[spec.component] = info
  }
  const denoiser = components['unet'] ?? components['transformer']
  const camera = dolly.camera ?? (denoiser?.inputNames['camera_poses'] ? 'motionctrl-rt' : 'none')
  if (camera === 'motionctrl-rt' && !denoiser?.inputNames['camera_poses']) {
    throw new ModelFolderError(
      `${dollyPath}: camera is "motionctrl-rt" but ${denoiser?.path} has no camera_poses input`,
      dollyPath,
    )
  }
  const motion =
    dolly.motion ??
    (pipeline === 'svd'
      ? 'motion_bucket_id'
      : denoiser?.inputNames['motion_scale']
        ? 'motion_scale'
        : 'none')
  const totalBytes = Object.values(components).reduce((a, c) => a + c.bytes, 0)
  let nativeFrames: number | null = dolly.nativeFrames ?? null
  const denoiserConfig = join(
    root,
    pipeline === 'cogvideox' ? 'transformer' : 'unet',
    'config.json',
  )
  if (nativeFrames === null && existsSync(denoiserConfig)) {
    const cfg = readPythonJson(denoiserConfig) as Record<string, unknown>
    if (typeof cfg['num_frames'] === 'number' && Number.isInteger(cfg['num_frames']))
      nativeFrames = cfg['num_frames'] as number
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
