// The pipeline registry: one row per pipeline kind. A row says what the engine needs to know
// of the kind beyond the shared facts (shared/render.ts): the ONNX signature of each
// component, which component denoises, how its latents are laid out, which input takes the
// camera, how the render spec's family-specific fields become the pipeline's options, and the
// pipeline class (loaded only when a render runs it, so main can read model folders without
// loading onnxruntime). Adding a pipeline: its file, a row here, a row in PIPELINES.
import {
  PIPELINE_KINDS,
  PIPELINES,
  type CameraConditioning,
  type PipelineKind,
} from '../../../shared/render'
import type { ComponentSpec, InputSpec } from '../models/component-spec'
import type { RenderSpec } from '../protocol'
import { WAN21_LATENT_RGB, type LatentRgb } from './latent-rgb'
import type { PipelineCall, PipelineClass } from './types'

export type PipelineRow = {
  /** The component that denoises; its config.json may name the native frame count. */
  denoiser: 'unet' | 'transformer'
  /** Axis order of the latents the pipeline steps: channels before frames, or after. */
  latentLayout: 'BCFHW' | 'BFCHW'
  /** What each component must look like (Optimum's input names). */
  components: ComponentSpec[]
  /** The VAE's scaling_factor when its config.json does not say (diffusers' defaults). */
  vaeScaling: number
  /** The denoiser input that carries each camera conditioning this pipeline feeds. */
  cameraInputs: Partial<Record<Exclude<CameraConditioning, 'none'>, string>>
  /** The render spec's fields that only this family reads, as the pipeline's options. */
  options(spec: RenderSpec): Partial<PipelineCall>
  /** Latent channels -> RGB for live previews, when the family's latents have known factors. */
  previewRgb?: LatentRgb
  load(): Promise<PipelineClass>
}

const FLOAT = ['float32', 'float16'] as const
const TIMESTEP = ['int64', 'int32', 'float32', 'float16'] as const

/** The prompt's padded length for a kind (its PIPELINES tokenizer), for the signatures' words. */
const tokensOf = (kind: PipelineKind): number => PIPELINES[kind].tokenizer?.maxTokens ?? 0

const textEncoder = (tokens: number): ComponentSpec => ({
  component: 'text_encoder',
  inputs: [
    {
      name: 'input_ids',
      types: ['int64', 'int32'],
      ranks: [2],
      what: `token ids [batch, ${tokens}]`,
    },
  ],
  outputRanks: [3],
})

/** CogVideoX's transformer: latents (image-to-video: latents and the image's, 2C channels). */
const cogTransformer = (channels: number): ComponentSpec => ({
  component: 'transformer',
  inputs: [
    {
      name: 'hidden_states',
      types: FLOAT,
      ranks: [5],
      what: `latents [batch, latent_frames, ${channels}, height/8, width/8]`,
    },
    {
      name: 'encoder_hidden_states',
      types: FLOAT,
      ranks: [3],
      what: `prompt embeddings [batch, ${tokensOf('cogvideox')}, dim]`,
    },
    { name: 'timestep', types: TIMESTEP, ranks: [0, 1], what: 'timesteps [batch]' },
    {
      name: 'image_rotary_emb_cos',
      types: FLOAT,
      ranks: [2],
      optional: true,
      what: 'RoPE cos table (5B, 1.5)',
    },
    {
      name: 'image_rotary_emb_sin',
      types: FLOAT,
      ranks: [2],
      optional: true,
      what: 'RoPE sin table (5B, 1.5)',
    },
    {
      name: 'pos_embedding',
      types: FLOAT,
      ranks: [2],
      optional: true,
      what: "the sincos position table's video rows [tokens, dim] (2B)",
    },
    {
      name: 'ofs',
      types: FLOAT,
      ranks: [1],
      optional: true,
      what: 'the ofs embedding input [1] (1.5 I2V)',
    },
  ],
  outputRanks: [5],
})

const cogVaeDecoder: ComponentSpec = {
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
}

// --- Wan (tools/export/wan.py writes exactly these signatures) ---

const wanTextEncoder: ComponentSpec = {
  component: 'text_encoder',
  inputs: [
    {
      name: 'input_ids',
      types: ['int64', 'int32'],
      ranks: [2],
      what: `UMT5 token ids [batch, ${tokensOf('wan')}]`,
    },
    {
      name: 'attention_mask',
      types: ['int64', 'int32'],
      ranks: [2],
      what: `attention mask [batch, ${tokensOf('wan')}] (1 for the prompt and its </s>)`,
    },
  ],
  outputRanks: [3],
}

const wanTransformer = (
  component: string,
  extra: InputSpec[],
  optional = false,
): ComponentSpec => ({
  component,
  inputs: [
    {
      name: 'hidden_states',
      types: FLOAT,
      ranks: [5],
      what: 'latents [batch, channels, latent_frames, height/8, width/8]',
    },
    {
      name: 'timestep',
      types: TIMESTEP,
      ranks: [1, 2],
      what: 'timesteps [batch] (Wan2.2 TI2V: one per token, [batch, tokens])',
    },
    {
      name: 'encoder_hidden_states',
      types: FLOAT,
      ranks: [3],
      what: `prompt embeddings [batch, ${tokensOf('wan')}, dim]`,
    },
    ...extra,
  ],
  outputRanks: [5],
  optional,
})

const wanImageEmbeds: InputSpec = {
  name: 'encoder_hidden_states_image',
  types: FLOAT,
  ranks: [3],
  optional: true,
  what: 'CLIP image embeddings [batch, 257, 1280] (Wan2.1 I2V)',
}

/** The chunked causal VAE graphs: a chunk, the first-chunk flag, and the feature cache in and out. */
const wanChunkInputs = (sample: InputSpec, optionalCache: boolean): InputSpec[] => [
  sample,
  {
    name: 'first_chunk',
    types: ['int64'],
    ranks: [0, 1],
    optional: optionalCache,
    what: '1 for the first chunk of a clip, else 0',
  },
  {
    name: 'cache_in_',
    types: FLOAT,
    ranks: [5],
    repeated: true,
    optional: optionalCache,
    what: "the causal convolutions' feature cache [batch, channels, frames, h, w], one input each",
  },
]

const wanVaeDecoder: ComponentSpec = {
  component: 'vae_decoder',
  inputs: wanChunkInputs(
    {
      name: 'latent_sample',
      types: FLOAT,
      ranks: [5],
      what: 'latents [batch, z, latent_frames, h, w]',
    },
    false,
  ),
  outputRanks: [5],
}

const wanVaeEncoder: ComponentSpec = {
  component: 'vae_encoder',
  inputs: wanChunkInputs(
    {
      name: 'sample',
      types: FLOAT,
      ranks: [5],
      what: 'frames [batch, 3, frames, H, W] in [-1, 1]',
    },
    true,
  ),
  outputRanks: [5],
}

/** A CLIP vision tower (SVD: its image embeds; Wan: the penultimate hidden states). */
const clipImageEncoder = (outputRanks: number[], optional = false): ComponentSpec => ({
  component: 'image_encoder',
  inputs: [
    {
      name: 'pixel_values',
      types: FLOAT,
      ranks: [4],
      what: 'CLIP input [batch, 3, 224, 224]',
    },
  ],
  outputRanks,
  optional,
})

const wanImageEncoder = clipImageEncoder([3], true)

const wanOptions = (s: RenderSpec): Partial<PipelineCall> => ({
  guidanceScale2: s.guidance2,
})

export const PIPELINE_REGISTRY: Record<PipelineKind, PipelineRow> = {
  animatediff: {
    denoiser: 'unet',
    latentLayout: 'BCFHW',
    components: [
      textEncoder(tokensOf('animatediff')),
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
            types: TIMESTEP,
            ranks: [0, 1],
            what: 'the timestep, a scalar or [1]',
          },
          {
            name: 'encoder_hidden_states',
            types: FLOAT,
            ranks: [3],
            what: `prompt embeddings [batch*frames, ${tokensOf('animatediff')}, dim]`,
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
    vaeScaling: 0.18215,
    cameraInputs: { 'motionctrl-rt': 'camera_poses' },
    options: (s) => ({ motionScale: s.motionScale }),
    load: async () => (await import('./animatediff')).AnimateDiffPipeline,
  },
  svd: {
    denoiser: 'unet',
    latentLayout: 'BFCHW',
    components: [
      clipImageEncoder([2, 3]),
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
            types: FLOAT,
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
    vaeScaling: 0.18215,
    cameraInputs: { 'motionctrl-rt': 'camera_poses' },
    options: (s) => ({
      motionBucketId: s.motionBucketId,
      noiseAugStrength: s.noiseAugStrength,
      minGuidanceScale: s.minGuidance,
    }),
    load: async () => (await import('./svd')).StableVideoDiffusionPipeline,
  },
  cogvideox: {
    denoiser: 'transformer',
    latentLayout: 'BFCHW',
    components: [textEncoder(tokensOf('cogvideox')), cogTransformer(16), cogVaeDecoder],
    vaeScaling: 1.15258426,
    cameraInputs: {},
    options: (s) => ({ useDynamicCfg: s.dynamicCfg }),
    load: async () => (await import('./cogvideox')).CogVideoXPipeline,
  },
  // the same pipeline class: it reads the image branch from the facts (input 'image')
  'cogvideox-i2v': {
    denoiser: 'transformer',
    latentLayout: 'BFCHW',
    components: [
      textEncoder(tokensOf('cogvideox-i2v')),
      cogTransformer(32),
      {
        component: 'vae_encoder',
        inputs: [
          { name: 'sample', types: FLOAT, ranks: [5], what: 'the image [batch, 3, 1, H, W]' },
        ],
        outputRanks: [5],
      },
      cogVaeDecoder,
    ],
    vaeScaling: 1.15258426,
    cameraInputs: {},
    options: (s) => ({ useDynamicCfg: s.dynamicCfg }),
    load: async () => (await import('./cogvideox')).CogVideoXPipeline,
  },
  wan: {
    denoiser: 'transformer',
    latentLayout: 'BCFHW',
    components: [
      wanTextEncoder,
      wanTransformer('transformer', []),
      wanTransformer('transformer_2', [], true),
      wanVaeDecoder,
    ],
    // Wan normalises latents by the VAE config's latents_mean / latents_std instead
    vaeScaling: 1,
    cameraInputs: {},
    options: wanOptions,
    // Wan2.1's 16 channels (ComfyUI's factors); Wan2.2 TI2V-5B's 48 get no preview
    previewRgb: WAN21_LATENT_RGB,
    load: async () => (await import('./wan')).WanPipeline,
  },
  'wan-i2v': {
    denoiser: 'transformer',
    latentLayout: 'BCFHW',
    components: [
      wanTextEncoder,
      wanImageEncoder,
      wanTransformer('transformer', [wanImageEmbeds]),
      wanTransformer('transformer_2', [wanImageEmbeds], true),
      wanVaeEncoder,
      wanVaeDecoder,
    ],
    vaeScaling: 1,
    cameraInputs: {},
    options: wanOptions,
    previewRgb: WAN21_LATENT_RGB,
    load: async () => (await import('./wan')).WanImageToVideoPipeline,
  },
  'wan-fun-camera': {
    denoiser: 'transformer',
    latentLayout: 'BCFHW',
    components: [
      wanTextEncoder,
      wanImageEncoder,
      wanTransformer('transformer', [
        wanImageEmbeds,
        {
          name: 'control_camera',
          types: FLOAT,
          ranks: [5],
          what: "VideoX-Fun's camera input [1, 24, latent_frames, H, W]: Plücker rays, 4 frames per latent frame",
        },
      ]),
      wanVaeEncoder,
      wanVaeDecoder,
    ],
    vaeScaling: 1,
    cameraInputs: { 'cameractrl-plucker': 'control_camera' },
    options: wanOptions,
    previewRgb: WAN21_LATENT_RGB,
    load: async () => (await import('./wan')).WanFunControlPipeline,
  },
}

/** The render spec's fields that only some families read (through their row's options). */
export const FAMILY_SETTINGS = [
  'minGuidance',
  'motionBucketId',
  'noiseAugStrength',
  'motionScale',
  'dynamicCfg',
  'guidance2',
] as const
export type FamilySetting = (typeof FAMILY_SETTINGS)[number]

/**
 * Whether a kind's pipeline is handed this family setting: asked of the row's own options(),
 * so the answer cannot drift from what reaches the pipeline.
 */
export function familyTakes(kind: PipelineKind, field: FamilySetting): boolean {
  const probe = { model: '', prompt: '', out: '', [field]: field === 'dynamicCfg' ? true : 1 }
  return Object.values(PIPELINE_REGISTRY[kind].options(probe as RenderSpec)).some(
    (v) => v !== undefined,
  )
}

/** The kinds whose pipelines take this family setting. */
export function kindsTaking(field: FamilySetting): PipelineKind[] {
  return PIPELINE_KINDS.filter((k) => familyTakes(k, field))
}
