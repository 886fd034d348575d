// The public checkpoints the studio knows how to turn into model folders: what each is, where
// it comes from, what its export weighs and needs, and the exact exporter command. Sizes are
// the published parameter counts at the precisions the exporter writes (denoiser float16 with
// --fp16, VAEs and CLIP encoders float32, T5 float16 with float32 islands), so they are
// estimates until the folder exists (the models list then shows the real figures).
import { PIPELINES, type PipelineKind } from './render'
import { ARCHITECTURE_MEMORY } from './realsize'
import type { CallSize, MemoryModel } from './vram'

export type CatalogSource = {
  /** A Hugging Face repository (diffusers layout), or the repository holding `file`. */
  repo: string
  /** One file of the repository (MotionCtrl's checkpoints are single files). */
  file?: string
  /** fun-camera: VideoX-Fun's Control-Camera transformer (its repository's root files). */
  role: 'base' | 'motion-adapter' | 'motionctrl' | 'fun-camera'
}

export type CatalogEntry = {
  id: string
  title: string
  pipeline: PipelineKind
  /** What a creator gets, in a sentence. */
  description: string
  license: string
  /** export_model.py's first argument. */
  exportKind: 'animatediff' | 'svd' | 'cogvideox' | 'wan'
  sources: CatalogSource[]
  /** --fp16: the denoiser in float16, and T5 / UMT5 (FP16_TEXT_ENCODER) with float32 islands. */
  fp16: boolean
  /** The exported folder's components and their approximate bytes. */
  components: Record<string, number>
  /** The clip it makes by default, where it is not its family's (PIPELINES). */
  native?: { width: number; height: number; frames: number }
  /** Pixels per latent pixel, where not DEFAULT_VAE_SCALE (Wan2.2's VAE: 16). */
  vaeScale?: number
  /** The published architecture whose activation rules it shares (shared/realsize.ts), where
   *  one was built at full size; without one the plans allow a flat figure per stage. */
  architecture?: string
}

/** Exports whose T5 / UMT5 text encoder goes to float16 (with float32 islands where it would
 *  overflow) with --fp16-text-encoder; the sizes below count it so. CLIP encoders stay float32. */
export const FP16_TEXT_ENCODER: ReadonlySet<CatalogEntry['exportKind']> = new Set([
  'cogvideox',
  'wan',
])

/** How to fetch one file of a repository, into `dir` or else the Hugging Face cache (huggingface_hub
 *  1.x, which requirements.txt installs, has `hf`; its `huggingface-cli` only says it is gone). */
export function downloadCommand(repo: string, file: string, dir?: string): string {
  return `hf download ${repo} ${file}${dir ? ` --local-dir ${dir}` : ''}`
}

/** Pixels per latent pixel of every family's usual VAE (the families' size multiples build on it). */
export const DEFAULT_VAE_SCALE = 8

/** An entry's pixels per latent pixel. */
export const vaeScaleOf = (e: CatalogEntry): number => e.vaeScale ?? DEFAULT_VAE_SCALE

const GB = 1e9
const fp16 = (params: number) => params * 2
const fp32 = (params: number) => params * 4

const SD15_TEXT = fp32(123e6)
const SD15_VAE = fp32(49.5e6)
const T5_XXL = fp16(4.76e9)
// Wan: UMT5-XXL's encoder (float16 with float32 islands: --fp16-text-encoder), the 2.1 causal
// VAE's decoder and encoder, open-clip ViT-H/14's vision tower (2.1 image-to-video)
const UMT5_XXL = fp16(5.68e9)
const WAN21_VAE_DECODER = fp32(73e6)
const WAN21_VAE_ENCODER = fp32(54e6)
const WAN_CLIP = fp32(632e6)

/** A clip's size in a description's words, "W×H, F frames": its family's (PIPELINES) or its own. */
function clipWords(kind: PipelineKind, native?: CatalogEntry['native']): string {
  const c = native ?? PIPELINES[kind]
  return `${c.width}×${c.height}, ${c.frames} frames`
}

/** SVD-XT's clip: its family's size, 25 frames (the family's native count is SVD's 14). */
const SVD_XT_NATIVE = { width: PIPELINES.svd.width, height: PIPELINES.svd.height, frames: 25 }
/** Wan2.2 TI2V-5B's clip (its 16x VAE), not the family's 832x480x81. */
const WAN22_TI2V_NATIVE = { width: 1280, height: 704, frames: 121 }

/** AnimateDiff on SD1.5 with a guoyww motion adapter (`version` as in its repository name). */
function animateDiff(
  version: string,
  name: string,
  adapterParams: number,
  what: string,
): CatalogEntry {
  return {
    id: `animatediff-v${version}`,
    title: `AnimateDiff ${name} (SD1.5)`,
    pipeline: 'animatediff',
    description: `Text-to-video at ${clipWords('animatediff')}: Stable Diffusion 1.5 ${what}.`,
    license: 'CreativeML Open RAIL-M (SD1.5), Apache-2.0 (motion module)',
    exportKind: 'animatediff',
    sources: [
      { repo: 'stable-diffusion-v1-5/stable-diffusion-v1-5', role: 'base' },
      { repo: `guoyww/animatediff-motion-adapter-v${version}`, role: 'motion-adapter' },
    ],
    fp16: true,
    components: {
      text_encoder: SD15_TEXT,
      unet: fp16(860e6 + adapterParams),
      vae_decoder: SD15_VAE,
    },
    // v2's motion mid block runs at an eighth of the size, below where the UNet peaks
    architecture: 'sd15-animatediff-v3',
  }
}

export const CATALOG: CatalogEntry[] = [
  animateDiff('1-5-3', 'v3', 419e6, 'with the v3 motion module'),
  animateDiff('1-5-2', 'v2', 453e6, 'with the v2 motion module'),
  {
    id: 'motionctrl-animatediff',
    title: 'MotionCtrl for AnimateDiff',
    pipeline: 'animatediff',
    description:
      'AnimateDiff v3 that follows the camera path you draw (MotionCtrl camera module, RT poses).',
    license: 'Apache-2.0 (MotionCtrl), CreativeML Open RAIL-M (SD1.5)',
    exportKind: 'animatediff',
    sources: [
      { repo: 'stable-diffusion-v1-5/stable-diffusion-v1-5', role: 'base' },
      { repo: 'guoyww/animatediff-motion-adapter-v1-5-3', role: 'motion-adapter' },
      {
        repo: 'TencentARC/MotionCtrl',
        file: 'motionctrl_animatediff_cmcm.ckpt',
        role: 'motionctrl',
      },
    ],
    fp16: true,
    components: { text_encoder: SD15_TEXT, unet: fp16(860e6 + 419e6 + 6e6), vae_decoder: SD15_VAE },
    architecture: 'sd15-animatediff-v3',
  },
  ...(['svd', 'svd-xt'] as const).map((v): CatalogEntry => {
    const native = v === 'svd-xt' ? SVD_XT_NATIVE : undefined
    return {
      id: v,
      title:
        v === 'svd'
          ? 'Stable Video Diffusion (14 frames)'
          : 'Stable Video Diffusion XT (25 frames)',
      pipeline: 'svd',
      description: `Image-to-video at ${clipWords('svd', native)}; the motion slider sets how much moves.`,
      license: 'Stability AI Community License',
      exportKind: 'svd',
      sources: [
        {
          repo:
            v === 'svd'
              ? 'stabilityai/stable-video-diffusion-img2vid'
              : 'stabilityai/stable-video-diffusion-img2vid-xt',
          role: 'base',
        },
      ],
      fp16: true,
      components: {
        image_encoder: fp32(632e6),
        vae_encoder: fp32(34e6),
        unet: fp16(1.52e9),
        vae_decoder: fp32(63e6),
      },
      ...(native ? { native } : {}),
      architecture: 'svd-xt',
    }
  }),
  {
    id: 'motionctrl-svd',
    title: 'MotionCtrl for SVD',
    pipeline: 'svd',
    description: `SVD (${PIPELINES.svd.frames} frames) that follows your camera path; MotionCtrl scales it [3, 1, 4].`,
    license: 'Apache-2.0 (MotionCtrl), Stability AI Community License',
    exportKind: 'svd',
    sources: [
      { repo: 'stabilityai/stable-video-diffusion-img2vid', role: 'base' },
      { repo: 'TencentARC/MotionCtrl', file: 'motionctrl_svd.ckpt', role: 'motionctrl' },
    ],
    fp16: true,
    components: {
      image_encoder: fp32(632e6),
      vae_encoder: fp32(34e6),
      unet: fp16(1.52e9 + 12e6),
      vae_decoder: fp32(63e6),
    },
    // SVD's UNet with MotionCtrl's camera projection (12 M parameters) at its inputs
    architecture: 'svd-xt',
  },
  {
    id: 'cogvideox-2b',
    title: 'CogVideoX 2B',
    pipeline: 'cogvideox',
    description: `Text-to-video at ${clipWords('cogvideox')} (${PIPELINES.cogvideox.fps} fps), with a T5-XXL text encoder.`,
    license: 'Apache-2.0',
    exportKind: 'cogvideox',
    sources: [{ repo: 'THUDM/CogVideoX-2b', role: 'base' }],
    fp16: true,
    components: { text_encoder: T5_XXL, transformer: fp16(1.69e9), vae_decoder: fp32(216e6) },
    architecture: 'cogvideox-2b',
  },
  {
    id: 'cogvideox-5b',
    title: 'CogVideoX 5B',
    pipeline: 'cogvideox',
    description: `Text-to-video at ${clipWords('cogvideox')}; larger and sharper than 2B.`,
    license: 'CogVideoX License',
    exportKind: 'cogvideox',
    sources: [{ repo: 'THUDM/CogVideoX-5b', role: 'base' }],
    fp16: true,
    components: { text_encoder: T5_XXL, transformer: fp16(5.57e9), vae_decoder: fp32(216e6) },
    architecture: 'cogvideox-5b',
  },
  {
    id: 'cogvideox-5b-i2v',
    title: 'CogVideoX 5B image-to-video',
    pipeline: 'cogvideox-i2v',
    description: `Image-to-video at ${clipWords('cogvideox-i2v')}, guided by a prompt.`,
    license: 'CogVideoX License',
    exportKind: 'cogvideox',
    sources: [{ repo: 'THUDM/CogVideoX-5b-I2V', role: 'base' }],
    fp16: true,
    components: {
      text_encoder: T5_XXL,
      transformer: fp16(5.57e9),
      vae_encoder: fp32(216e6),
      vae_decoder: fp32(216e6),
    },
    // CogVideoX-5B's blocks with the image latents at the input (and a VAE encoder, no rule yet)
    architecture: 'cogvideox-5b',
  },
  {
    id: 'wan21-t2v-1.3b',
    title: 'Wan2.1 1.3B',
    pipeline: 'wan',
    description: `Text-to-video at ${clipWords('wan')} (${PIPELINES.wan.fps} fps); the smallest Wan (its UMT5 text encoder is most of the size).`,
    license: 'Apache-2.0',
    exportKind: 'wan',
    sources: [{ repo: 'Wan-AI/Wan2.1-T2V-1.3B-Diffusers', role: 'base' }],
    fp16: true,
    components: {
      text_encoder: UMT5_XXL,
      transformer: fp16(1.42e9),
      vae_decoder: WAN21_VAE_DECODER,
    },
    architecture: 'wan2.1-t2v-1.3b',
  },
  {
    id: 'wan21-i2v-14b-480p',
    title: 'Wan2.1 14B image-to-video (480p)',
    pipeline: 'wan-i2v',
    description: `Image-to-video at ${clipWords('wan-i2v')}, guided by a prompt.`,
    license: 'Apache-2.0',
    exportKind: 'wan',
    sources: [{ repo: 'Wan-AI/Wan2.1-I2V-14B-480P-Diffusers', role: 'base' }],
    fp16: true,
    components: {
      text_encoder: UMT5_XXL,
      image_encoder: WAN_CLIP,
      transformer: fp16(16.4e9),
      vae_encoder: WAN21_VAE_ENCODER,
      vae_decoder: WAN21_VAE_DECODER,
    },
  },
  {
    id: 'wan22-ti2v-5b',
    title: 'Wan2.2 TI2V 5B',
    pipeline: 'wan',
    description: `Text-to-video at ${clipWords('wan', WAN22_TI2V_NATIVE)} (24 fps), with Wan2.2’s 16× VAE.`,
    license: 'Apache-2.0',
    exportKind: 'wan',
    sources: [{ repo: 'Wan-AI/Wan2.2-TI2V-5B-Diffusers', role: 'base' }],
    fp16: true,
    components: { text_encoder: UMT5_XXL, transformer: fp16(5e9), vae_decoder: fp32(555e6) },
    native: WAN22_TI2V_NATIVE,
    vaeScale: 16,
  },
  {
    id: 'wan22-t2v-a14b',
    title: 'Wan2.2 A14B',
    pipeline: 'wan',
    description: `Text-to-video at ${clipWords('wan')}: two 14B experts (high noise, then low noise); offload loads one at a time.`,
    license: 'Apache-2.0',
    exportKind: 'wan',
    sources: [{ repo: 'Wan-AI/Wan2.2-T2V-A14B-Diffusers', role: 'base' }],
    fp16: true,
    components: {
      text_encoder: UMT5_XXL,
      transformer: fp16(14.3e9),
      transformer_2: fp16(14.3e9),
      vae_decoder: WAN21_VAE_DECODER,
    },
  },
  {
    id: 'wan21-fun-camera-1.3b',
    title: 'Wan2.1-Fun 1.3B Control-Camera',
    pipeline: 'wan-fun-camera',
    description: `Image-to-video that follows the camera path you draw (VideoX-Fun, Plücker rays), ${clipWords('wan-fun-camera')}. UMT5, the VAE and CLIP come from the Wan2.1 I2V base.`,
    license: 'Apache-2.0',
    exportKind: 'wan',
    sources: [
      { repo: 'Wan-AI/Wan2.1-I2V-14B-480P-Diffusers', role: 'base' },
      { repo: 'alibaba-pai/Wan2.1-Fun-V1.1-1.3B-Control-Camera', role: 'fun-camera' },
    ],
    fp16: true,
    components: {
      text_encoder: UMT5_XXL,
      image_encoder: WAN_CLIP,
      transformer: fp16(1.56e9),
      vae_encoder: WAN21_VAE_ENCODER,
      vae_decoder: WAN21_VAE_DECODER,
    },
    // Wan2.1 1.3B with VideoX-Fun's camera adapter at its input (the blocks are the same)
    architecture: 'wan2.1-t2v-1.3b',
  },
]

/** Total bytes of an entry's exported folder (estimated). */
export function catalogBytes(e: CatalogEntry): number {
  return Object.values(e.components).reduce((a, b) => a + b, 0)
}

/**
 * What the memory plans (shared/vram.ts) know of an entry before it is exported: its components'
 * bytes, the activation rules of its architecture where one was built at full size (else none:
 * the plans allow their flat figure per stage; the exported folder's dolly.json brings its own),
 * and the clip it makes by default.
 */
export function catalogMemory(e: CatalogEntry): { model: MemoryModel; call: CallSize } {
  const facts = PIPELINES[e.pipeline]
  const native = e.native ?? { width: facts.width, height: facts.height, frames: facts.frames }
  const arch = e.architecture ? ARCHITECTURE_MEMORY[e.architecture] : undefined
  if (e.architecture && !arch)
    throw new Error(`catalog ${e.id}: no architecture "${e.architecture}" in memory-realsize.json`)
  return {
    model: {
      pipeline: e.pipeline,
      components: Object.fromEntries(
        Object.entries(e.components).map(([k, bytes]) => [
          k,
          { bytes, activations: arch?.components[k]?.activations ?? null },
        ]),
      ),
      decodeChunk: facts.decodeChunk?.default ?? null,
      vaeScale: vaeScaleOf(e),
    },
    call: { ...native, guidance: facts.guidance },
  }
}

/** A size in the units people read: "2.6 GB". */
export function formatBytes(b: number): string {
  return b >= GB ? `${(b / GB).toFixed(1)} GB` : `${Math.round(b / 1e6)} MB`
}

/**
 * The commands that make the entry's folder: a download of each single-file source (unless it
 * is already at a known path) and the exporter. `paths` maps "repo/file" to a local path
 * (found in the Hugging Face cache); `out` is the folder to write (in the text; `args` leaves
 * --out to whoever runs it).
 */
export function exportCommand(
  e: CatalogEntry,
  out: string,
  paths: Record<string, string> = {},
): { download: string[]; args: string[]; text: string } {
  const download: string[] = []
  const args: string[] = [e.exportKind]
  for (const s of e.sources) {
    if (s.role === 'base') args.push('--base', s.repo)
    else if (s.role === 'motion-adapter') args.push('--motion-adapter', s.repo)
    else if (s.role === 'fun-camera') args.push('--fun-camera', s.repo)
    else {
      const key = `${s.repo}/${s.file}`
      const local = paths[key]
      if (!local) download.push(downloadCommand(s.repo, s.file!, 'ckpt'))
      args.push('--motionctrl', local ?? `ckpt/${s.file}`)
    }
  }
  if (e.fp16) args.push('--fp16')
  if (e.fp16 && FP16_TEXT_ENCODER.has(e.exportKind)) args.push('--fp16-text-encoder')
  const quote = (a: string) => (/^[\w./:@=-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)
  const text = [
    ...download,
    `python tools/export/export_model.py ${[...args, '--out', out].map(quote).join(' ')}`,
  ].join('\n')
  return { download, args, text }
}
