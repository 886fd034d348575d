// `dolly render`: a clip from the command line, with the same engine as the studio.
// Exit codes: 0 done, 1 render failed, 2 bad usage, 3 the model folder was refused,
// 4 export (ffmpeg) failed, 130 cancelled (Ctrl-C), 143 terminated (SIGTERM).
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
} from 'node:fs'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { presetExpressionProblem, PRESET_SPEED } from '../../shared/camera'
import {
  cleanStaleTemps,
  formatFromPath,
  MAX_ENCODE_FPS,
  MediaError,
  namesFolder,
  removeLiveTemps,
  type ClipFormat,
} from '../engine/media/ffmpeg'
import { ImageInputError } from '../engine/media/image'
import { ModelFolderError } from '../engine/models/model-folder'
import { CancelledError, SettingsError } from '../engine/pipelines/common'
import {
  EXPORT_QUALITY,
  GIF_LOOP,
  MEMORY_PLANS,
  PIPELINE_KINDS,
  PIPELINES,
  SCHEDULER_NAMES,
  SchedulerName,
  type MemoryPlan,
  type PipelineFacts,
  type PipelineKind,
} from '../../shared/render'
import { CATALOG, DEFAULT_VAE_SCALE, vaeScaleOf } from '../../shared/catalog'
import {
  DEFAULT_MOTION_BUCKET,
  DEFAULT_NOISE_AUG_STRENGTH,
  MAX_MOTION_BUCKET,
} from '../../shared/motion'
import { kindsTaking } from '../engine/pipelines/registry'
import { Runtime } from '../engine/runtime/session'
import {
  renderClip,
  type JobProgress,
  type RenderSpec,
  type SettingKey,
} from '../engine/jobs/render'
import { probeProviders } from '../engine/runtime/providers'
import { deviceBudget, deviceFacts, queryAdapterMemory } from '../services/device-memory'
import { queryGpu } from '../services/gpu'
import { clock } from '../../shared/duration'
import { regularFileSize } from '../engine/files'
import {
  CONTEXT_DEFAULTS,
  CONTEXT_LIMITS,
  FIRST_PROMPT_KEY_FRAME,
  CONTEXT_NOISE,
  CONTEXT_WEIGHTINGS,
  ContextNoise,
  ContextWeighting,
} from '../../shared/longtake'

const here = dirname(fileURLToPath(import.meta.url))
export const DEMO_MODEL = resolve(here, '../../resources/demo-model')

export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  model: 3,
  export: 4,
  cancelled: 130,
  terminated: 143,
} as const

/**
 * The signals that stop a render, each with its own words and exit code (128 + the signal's
 * number, as a shell reports a process the signal ended): SIGTERM comes from a service manager,
 * a timeout or kill, not from someone at the keyboard, and a script tells the two apart.
 */
export const STOP_SIGNALS = {
  SIGINT: {
    code: EXIT.cancelled,
    name: 'Ctrl-C',
    stopping: 'cancelling… (Ctrl-C again to quit at once)',
    stopped: 'cancelled',
  },
  SIGTERM: {
    code: EXIT.terminated,
    name: 'SIGTERM',
    stopping: 'terminating on SIGTERM… (a second signal quits at once)',
    stopped: 'terminated (SIGTERM)',
  },
} as const
export type StopSignal = keyof typeof STOP_SIGNALS

// --- the help's per-family phrases, from the facts table (shared/render.ts PIPELINES) ---------

const listed = (xs: readonly string[], and = 'and') =>
  xs.length < 2 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} ${and} ${xs.at(-1)}`

const kindsWhere = (p: (f: PipelineFacts) => boolean) =>
  PIPELINE_KINDS.filter((k) => p(PIPELINES[k]))

/** The kinds' labels, a family's variants folded into it ('CogVideoX image-to-video' into 'CogVideoX'). */
function families(kinds: readonly PipelineKind[]): string {
  const labels = [...new Set(kinds.map((k) => PIPELINES[k].label))]
  return listed(
    labels.filter((l) => !labels.some((m) => l.startsWith(`${m} `) || l.startsWith(`${m}-`))),
  )
}

/** Words after the option column, in lines of about the help's width. */
function wrapped(text: string): string {
  const lines: string[] = []
  let line = ''
  for (const w of text.split(' ')) {
    if (line && line.length + 1 + w.length > 64) {
      lines.push(line)
      line = w
    } else line = line ? `${line} ${w}` : w
  }
  lines.push(line)
  return lines.join(`\n${' '.repeat(22)}`)
}

const ramp = kindsWhere((f) => f.guidanceKind === 'frame-ramp')
const rampFacts = PIPELINES[ramp[0] ?? 'svd']
// per family (VAE factor times patch size); an export with a larger VAE asks more of its folder
// (Wan2.2 TI2V-5B: 16 x 2), as the catalog knows before the folder exists
const SIZE_MULTIPLES = [...new Set(PIPELINE_KINDS.map((k) => PIPELINES[k].sizeMultiple))]
  .sort((a, b) => a - b)
  .map((m) => `${m} (${families(kindsWhere((f) => f.sizeMultiple === m))})`)
const LARGER_MULTIPLES = CATALOG.filter((e) => vaeScaleOf(e) > DEFAULT_VAE_SCALE).map(
  (e) => `${e.title}: ${(PIPELINES[e.pipeline].sizeMultiple / DEFAULT_VAE_SCALE) * vaeScaleOf(e)}`,
)

const HELP = `usage: dolly render [options]

  --model DIR         model folder (default: the demo model, random weights)
  --prompt TEXT       ${wrapped(`what the clip shows (every model reads one but ${families(kindsWhere((f) => !f.prompt))})`)}
  --image FILE        ${wrapped(`the image to animate (image-to-video models: ${families(kindsWhere((f) => f.input === 'image'))}); PNG, JPEG, WebP, GIF or a video's first frame`)}
  --fit MODE          how the image meets the clip's aspect: stretch (diffusers), crop, pad
  --motion-bucket N   ${wrapped(`${families(kindsTaking('motionBucketId'))}: motion (0 still .. ${MAX_MOTION_BUCKET} fast, default ${DEFAULT_MOTION_BUCKET})`)}
  --noise-aug S       ${wrapped(`${families(kindsTaking('noiseAugStrength'))}: noise added to the image (default ${DEFAULT_NOISE_AUG_STRENGTH})`)}
  --min-guidance G    ${wrapped(`${families(ramp)}: the first frame's guidance (default ${rampFacts.minGuidance})`)}
  --max-guidance G    ${wrapped(`${families(ramp)}'s name for --guidance (the last frame's, default ${rampFacts.guidance}); both with different values is an error`)}
  --decode-chunk N    ${wrapped(`frames per VAE decode call, memory vs temporal smoothness (${families(kindsWhere((f) => f.decodeChunk !== null))}; the others' 3D VAEs decode their own way)`)}
  --negative TEXT     what to avoid (default: the model's own, e.g. Wan's; '' for none)
  --frames N          frames (default: the model's native count, else 16)
  --width N --height N
                      ${wrapped(`size in pixels (default: the model's): multiples of ${listed(SIZE_MULTIPLES, 'or')}${LARGER_MULTIPLES.length ? `, or what the folder asks (${listed(LARGER_MULTIPLES)})` : ''}; an export with a fixed size takes only that size`)}
  --steps N           denoising steps (default: the model's)
  --guidance G        classifier-free guidance scale (default: the model's)
  --seed N            seed (default: random, printed)
  --scheduler NAME    ${wrapped(`${SCHEDULER_NAMES.join(', ')} (default: the model's)`)}
  --camera SPEC       a preset (orbit-left, pan-left+zoom-in, pan-left,tilt-up), one of
                      MotionCtrl's (motionctrl:L, motionctrl:Round-RI, ...), or a
                      MotionCtrl .json / RealEstate10K .txt pose file
  --speed S           preset speed (default 1)
  --motion-scale S    motion scale, for models with that input
  --fps N             frames per second (default: the model's)
  --out PATH          .mp4, .gif, .webm, or a folder for PNG frames (required)
  --quality Q         ${EXPORT_QUALITY.min} (best) .. ${EXPORT_QUALITY.max} (smallest), default ${EXPORT_QUALITY.default}
  --loop N            GIF: 0 loops forever, -1 plays once, N plays N+1 times (default ${GIF_LOOP.default})
  --plan P            auto (default), resident, offload or minimal
  --dynamic-cfg       ${wrapped(`${families(kindsTaking('dynamicCfg'))}: guidance that grows over the steps`)}
  --guidance-2 G      Wan2.2 A14B: the low-noise expert's guidance (default: --guidance)
  --prompt-at F:TEXT  ${wrapped(`prompt travel: TEXT takes over at frame F (1-based, repeatable); prompts in between are interpolated (${families(kindsWhere((f) => f.contextWindows === true))})`)}
  --seamless          a seamless loop: the camera path closed, cyclic context windows
  --window N          frames per context window (default: the motion window)
  --overlap N         frames neighbouring windows share (default: a quarter window)
  --weighting W       ${CONTEXT_WEIGHTINGS.join(', ')} (default ${CONTEXT_DEFAULTS.weighting})
  --noise-type T      ${CONTEXT_NOISE.join(', ')} (default ${CONTEXT_DEFAULTS.noise})
  --no-colour-anchor  let windows' colours drift (default: held to the first window)
  --json              print the run's metadata as JSON on stdout
  --cpu               do not try CUDA

An option the model does not take is named in a warning after the render.

exit codes: 0 done, 1 render failed, 2 bad usage or input image, 3 model folder refused,
            4 export failed, 130 cancelled (Ctrl-C), 143 terminated (SIGTERM)`

class UsageError extends Error {}

/** What a number option takes: an integer or a decimal in plain digits (no hex, binary or exponent). */
const INTEGER = /^-?\d+$/
const DECIMAL = /^-?(\d+\.?\d*|\.\d+)$/

function scheduler(name: string | undefined): SchedulerName | undefined {
  if (name === undefined) return undefined
  const known = SchedulerName.safeParse(name)
  if (!known.success)
    throw new UsageError(`--scheduler must be one of ${SCHEDULER_NAMES.join(', ')}, got "${name}"`)
  return known.data
}

export type CliArgs = {
  spec: RenderSpec
  json: boolean
  cpu: boolean
  /** Said on stderr before the render (not problems: nothing is refused). */
  notes?: string[]
}

/** The option that sets each setting a model may not take, for the engine's warnings. */
export const SETTING_OPTIONS: Record<SettingKey, string> = {
  minGuidance: '--min-guidance',
  motionBucketId: '--motion-bucket',
  noiseAugStrength: '--noise-aug',
  motionScale: '--motion-scale',
  dynamicCfg: '--dynamic-cfg',
  guidance2: '--guidance-2',
  prompt: '--prompt',
  negativePrompt: '--negative',
  fit: '--fit',
  decodeChunkSize: '--decode-chunk',
  quality: '--quality',
  loop: '--loop',
  'context.window': '--window',
  'context.overlap': '--overlap',
  'context.weighting': '--weighting',
  'context.noise': '--noise-type',
  'context.colourAnchor': '--no-colour-anchor',
}

export function parseArgs(argv: string[]): CliArgs | 'help' {
  const args = [...argv]
  if (args[0] === 'render') args.shift()
  if (args.includes('--help') || args.includes('-h')) return 'help'
  const opts: Record<string, string> = {}
  const flags = new Set<string>()
  const promptAt: { frame: number; prompt: string }[] = []
  const valued = new Set([
    'window',
    'overlap',
    'weighting',
    'noise-type',
    'image',
    'fit',
    'motion-bucket',
    'noise-aug',
    'min-guidance',
    'max-guidance',
    'model',
    'prompt',
    'negative',
    'frames',
    'width',
    'height',
    'steps',
    'guidance',
    'guidance-2',
    'seed',
    'scheduler',
    'camera',
    'speed',
    'motion-scale',
    'fps',
    'out',
    'quality',
    'loop',
    'plan',
    'decode-chunk',
  ])
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument "${a}"`)
    const name = a.slice(2)
    if (['json', 'cpu', 'dynamic-cfg', 'seamless', 'no-colour-anchor'].includes(name))
      flags.add(name)
    else if (name === 'prompt-at') {
      const v = args[++i]
      const m = v === undefined ? null : /^(\d+):(.*)$/s.exec(v)
      if (!m || Number(m[1]) - 1 < FIRST_PROMPT_KEY_FRAME)
        throw new UsageError(
          `--prompt-at needs FRAME:TEXT with FRAME from ${FIRST_PROMPT_KEY_FRAME + 1} (1-based), got "${v ?? ''}"`,
        )
      // a second key at one frame silently replaced the first
      const same = promptAt.find((k) => k.frame === Number(m[1]) - 1)
      if (same)
        throw new UsageError(
          `--prompt-at ${m[1]} is given twice ("${same.prompt}", then "${m[2]}"); give each frame one prompt`,
        )
      promptAt.push({ frame: Number(m[1]) - 1, prompt: m[2]! })
    } else if (valued.has(name)) {
      const v = args[++i]
      if (v === undefined) throw new UsageError(`--${name} needs a value`)
      // the last one silently won: --prompt a ... --prompt b rendered b
      if (opts[name] !== undefined)
        throw new UsageError(
          `--${name} is given twice ("${opts[name]}", then "${v}"); give it once (only --prompt-at repeats)`,
        )
      opts[name] = v
    } else throw new UsageError(`unknown option --${name}`)
  }
  // --camera "$CAM" or --model "$MODEL" with the variable unset: an empty camera rendered with no
  // camera and an empty model read the current folder as one, without a word
  for (const k of ['camera', 'model'])
    if (opts[k] !== undefined && !opts[k].trim())
      throw new UsageError(`--${k} needs a value; it was given an empty one`)
  const numberOpt = (k: string, min: number, max: number, whole: boolean) => {
    const v = opts[k]
    if (v === undefined) return undefined
    // Number('') is 0: --seed "$SEED" with SEED unset must not mean seed 0
    if (!v.trim()) throw new UsageError(`--${k} needs a number; it was given an empty value`)
    // plain digits only: Number() also reads 0x10, 0b101, 1e3 and ' 16 ', which nobody means here
    const n = (whole ? INTEGER : DECIMAL).test(v) ? Number(v) : NaN
    if (!(n >= min && n <= max))
      throw new UsageError(
        `--${k} must be ${whole ? 'an integer' : 'a number'} from ${min} to ${max} in plain digits (such as ${whole ? '16' : '7.5'}), got "${v}"`,
      )
    return n
  }
  const int = (k: string, min: number, max: number) => numberOpt(k, min, max, true)
  const num = (k: string, min: number, max: number) => numberOpt(k, min, max, false)
  if (opts['prompt'] === undefined && opts['image'] === undefined) {
    throw new UsageError('--prompt is required (or --image for an image-to-video model)')
  }
  if (opts['image'] !== undefined && !existsSync(opts['image']))
    throw new UsageError(`--image ${opts['image']}: no such file`)
  const fit = opts['fit'] ?? 'stretch'
  if (!['stretch', 'crop', 'pad'].includes(fit))
    throw new UsageError('--fit must be stretch, crop or pad')
  if (!opts['out'])
    throw new UsageError('--out is required (a .mp4, .gif, .webm file or a folder for PNGs)')
  // resolve() drops a trailing slash, which says the person means a folder: kept for the check,
  // and the format fixed to PNG frames below
  const outIsFolder = namesFolder(opts['out'])
  try {
    formatFromPath(resolve(opts['out']) + (outIsFolder ? '/' : ''))
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err))
  }
  const plan = opts['plan'] ?? 'auto'
  if (plan !== 'auto' && !MEMORY_PLANS.includes(plan as MemoryPlan))
    throw new UsageError(`--plan must be auto, ${MEMORY_PLANS.join(', ')}`)
  let camera: RenderSpec['camera']
  if (opts['camera']) {
    const c = opts['camera']
    const presetProblem = presetExpressionProblem(c)
    if (presetProblem === null)
      camera = { preset: c, speed: num('speed', PRESET_SPEED.min, PRESET_SPEED.max) ?? 1 }
    else if (existsSync(c)) {
      try {
        regularFileSize(c, 'the --camera pose file')
      } catch (err) {
        throw new UsageError((err as Error).message)
      }
      camera = { file: resolve(c) }
    } else if (/[\\/]|\.(json|txt)$/i.test(c))
      throw new UsageError(`--camera "${c}": no such pose file`)
    else throw new UsageError(`--camera "${c}": ${presetProblem} (or give a pose file)`)
  }
  if (opts['speed'] !== undefined && !(camera && 'preset' in camera))
    throw new UsageError('--speed sets a preset camera move: give one with --camera')
  const model =
    opts['model'] === undefined || opts['model'] === 'demo' ? DEMO_MODEL : resolve(opts['model'])
  // "demo" is the built-in model's name; a folder of that name here is not what runs
  const notes =
    opts['model'] === 'demo' && existsSync('demo') && statSync('demo').isDirectory()
      ? [
          `--model demo is the built-in demo model, not the folder ./demo here; give --model ./demo for that folder`,
        ]
      : []
  const weighting = opts['weighting']
  if (weighting !== undefined && !ContextWeighting.safeParse(weighting).success)
    throw new UsageError(`--weighting must be one of ${CONTEXT_WEIGHTINGS.join(', ')}`)
  const noiseType = opts['noise-type']
  if (noiseType !== undefined && !ContextNoise.safeParse(noiseType).success)
    throw new UsageError(`--noise-type must be one of ${CONTEXT_NOISE.join(', ')}`)
  // --max-guidance is SVD's name for its guidance scale (the per-frame ramp's last value) and
  // --guidance is the same setting on every model: two different values are refused, not one
  // silently preferred
  const maxGuidance = num('max-guidance', 0, 100)
  const plainGuidance = num('guidance', 0, 100)
  if (maxGuidance !== undefined && plainGuidance !== undefined && maxGuidance !== plainGuidance)
    throw new UsageError(
      `--guidance ${opts['guidance']} and --max-guidance ${opts['max-guidance']} set the same guidance scale (--max-guidance is SVD's name for it); give one`,
    )
  const guidance = maxGuidance ?? plainGuidance
  const context = {
    ...(opts['window'] !== undefined
      ? { window: int('window', CONTEXT_LIMITS.window.min, CONTEXT_LIMITS.window.max) }
      : {}),
    ...(opts['overlap'] !== undefined
      ? { overlap: int('overlap', CONTEXT_LIMITS.overlap.min, CONTEXT_LIMITS.overlap.max) }
      : {}),
    ...(weighting ? { weighting: weighting as ContextWeighting } : {}),
    ...(noiseType ? { noise: noiseType as ContextNoise } : {}),
    ...(flags.has('no-colour-anchor') ? { colourAnchor: false } : {}),
  }
  return {
    json: flags.has('json'),
    cpu: flags.has('cpu'),
    ...(notes.length ? { notes } : {}),
    spec: {
      model,
      prompt: opts['prompt'] ?? '',
      image: opts['image'] !== undefined ? resolve(opts['image']) : undefined,
      // only when given: a --fit without an image is said to have no effect
      ...(opts['fit'] !== undefined ? { fit: fit as 'stretch' | 'crop' | 'pad' } : {}),
      motionBucketId: int('motion-bucket', 0, MAX_MOTION_BUCKET),
      noiseAugStrength: num('noise-aug', 0, 10),
      minGuidance: num('min-guidance', 0, 100),
      guidance2: num('guidance-2', 0, 100),
      dynamicCfg: flags.has('dynamic-cfg'),
      negativePrompt: opts['negative'],
      frames: int('frames', 1, 512),
      width: int('width', 8, 8192),
      height: int('height', 8, 8192),
      steps: int('steps', 1, 1000),
      guidance,
      seed: int('seed', 0, Number.MAX_SAFE_INTEGER),
      scheduler: scheduler(opts['scheduler']),
      decodeChunkSize: int('decode-chunk', 1, 512),
      camera,
      motionScale: num('motion-scale', 0, 100),
      fps: num('fps', 0.1, MAX_ENCODE_FPS),
      out: resolve(opts['out']),
      ...(outIsFolder ? { format: 'png' as const } : {}),
      quality: int('quality', EXPORT_QUALITY.min, EXPORT_QUALITY.max),
      loop: int('loop', GIF_LOOP.min, GIF_LOOP.max),
      plan: plan as RenderSpec['plan'],
      ...(promptAt.length ? { promptKeys: promptAt } : {}),
      ...(Object.keys(context).length ? { context } : {}),
      ...(flags.has('seamless') ? { closedLoop: true } : {}),
    },
  }
}

/**
 * Why the clip cannot be written at `out`, checked before the render (it used to be found only
 * after the whole render): the folder must exist and take a new file, and a PNG folder must be
 * new or empty.
 */
export function destinationProblem(out: string, format: ClipFormat): string | null {
  const target = out.replace(/[\\/]+$/, '')
  const dir = dirname(target)
  if (!existsSync(dir)) return `--out ${out}: the folder ${dir} does not exist; create it first`
  if (!statSync(dir).isDirectory()) return `--out ${out}: ${dir} is not a folder`
  if (existsSync(target)) {
    const st = statSync(target)
    const isDir = st.isDirectory()
    // a device (/dev/null), a named pipe or a socket: neither a clip file nor a folder of frames
    // (/dev/null used to be taken for a PNG folder and called "not an empty folder")
    if (!isDir && !st.isFile()) {
      const kind =
        st.isCharacterDevice() || st.isBlockDevice()
          ? 'a device'
          : st.isFIFO()
            ? 'a named pipe'
            : 'a socket'
      return `--out ${out}: is ${kind}, not a file or folder a clip can be written to; give a new .mp4, .gif or .webm file name, or a new folder for PNG frames`
    }
    if (format === 'png' && !isDir)
      return `--out ${out}: is an existing file; a path without a clip extension is a folder for PNG frames: choose a new folder, or a file name ending in .mp4, .gif or .webm`
    if (format === 'png' && readdirSync(target).length > 0)
      return `--out ${out}: already exists and is not an empty folder; choose a new folder for the PNG frames`
    if (format !== 'png' && isDir)
      return `--out ${out}: is a folder; give a file name ending in .${format}`
  }
  // the only sure test of "can write here" (permissions, a read-only or full file system)
  const probe = join(dir, `.${basename(target)}.dolly-${process.pid}-00000000.tmp`)
  try {
    closeSync(openSync(probe, 'wx'))
    rmSync(probe, { force: true })
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    const why =
      code === 'EACCES' || code === 'EPERM'
        ? 'no permission'
        : code === 'EROFS'
          ? 'a read-only file system'
          : code === 'ENOSPC'
            ? 'the disk is full'
            : code
    return `--out ${out}: cannot write in ${dir} (${why}); choose another folder`
  }
  return null
}

export function progressLine(p: JobProgress): string {
  const rate = p.itPerSec ? ` ${p.itPerSec.toFixed(2)} it/s` : ''
  const eta = p.etaS !== null ? ` ETA ${clock(p.etaS)}` : ''
  return `${p.stage} ${p.step}/${p.steps}${rate}${eta}`
}

/**
 * The longest command line (bytes of /proc/self/cmdline) a render takes. onnxruntime-node
 * (1.20, Linux) parses this process's command line when it starts and overflows its stack on
 * one over about 28 KB: the render died of a segmentation fault without a word. A prompt that
 * long is cut by the tokenizer anyway (CLIP reads 77 tokens, T5 226 or 512).
 */
export const MAX_COMMAND_LINE_BYTES = 24 * 1024

/** Why this process's command line is too long for onnxruntime to start, or null. */
export function commandLineProblem(
  readCmdline: () => Buffer = () => readFileSync('/proc/self/cmdline'),
): string | null {
  let bytes: number
  try {
    bytes = readCmdline().length
  } catch {
    return null // not Linux (no /proc): onnxruntime does not read it there
  }
  if (bytes <= MAX_COMMAND_LINE_BYTES) return null
  return (
    `the command line is ${bytes} bytes; onnxruntime crashes on one over about 28 KB, so the ` +
    `render cannot start. Shorten --prompt, --negative or --prompt-at (the text encoder reads ` +
    `only its first 77 to 512 tokens, a few hundred words) to keep it under ${MAX_COMMAND_LINE_BYTES} bytes`
  )
}

export async function main(argv: string[]): Promise<number> {
  let parsed: CliArgs | 'help'
  try {
    parsed = parseArgs(argv)
  } catch (err) {
    if (err instanceof UsageError) {
      // the message alone: the whole help after it scrolled it out of sight
      process.stderr.write(`dolly render: ${err.message}\nsee dolly render --help\n`)
      return EXIT.usage
    }
    throw err
  }
  if (parsed === 'help') {
    process.stdout.write(`${HELP}\n`)
    return EXIT.ok
  }
  const { spec, json } = parsed
  for (const n of parsed.notes ?? []) process.stderr.write(`note: ${n}\n`)
  const cmdline = commandLineProblem()
  if (cmdline) {
    process.stderr.write(`dolly render: ${cmdline}\n`)
    return EXIT.usage
  }
  if (spec.model === DEMO_MODEL && !existsSync(DEMO_MODEL)) {
    process.stderr.write(
      `dolly render: the demo model is not built (${DEMO_MODEL}); run npm run build\n`,
    )
    return EXIT.model
  }
  const format = spec.format ?? formatFromPath(spec.out)
  const destination = destinationProblem(spec.out, format)
  if (destination) {
    process.stderr.write(`dolly render: ${destination}\n`)
    return EXIT.usage
  }
  // temp files of earlier runs that were killed mid-export (ours by name, older than us)
  const outDir = dirname(spec.out.replace(/[\\/]+$/, ''))
  const stale = cleanStaleTemps(outDir, Date.now() - process.uptime() * 1000)
  if (stale.length)
    process.stderr.write(
      `note: removed ${stale.length} temp file${stale.length > 1 ? 's' : ''} that an interrupted run left in ${outDir}\n`,
    )
  // whatever way this process ends, no temp output of ours stays behind
  process.on('exit', removeLiveTemps)
  const ac = new AbortController()
  // the first signal cancels (the render stops at its next check and cleans up); a second one
  // quits at once, with its own code
  let stoppedBy = null as StopSignal | null
  const onSignal = (sig: StopSignal) => {
    if (stoppedBy) {
      removeLiveTemps()
      // the person asked twice: no waiting for the render's next check (130 or 143, as a shell
      // reports a process ended by that signal)
      process.exit(STOP_SIGNALS[sig].code) // second signal: exit now with the signal's code
    }
    stoppedBy = sig
    process.stderr.write(`\n${STOP_SIGNALS[sig].stopping}\n`)
    ac.abort()
  }
  const onSigint = () => onSignal('SIGINT')
  const onSigterm = () => onSignal('SIGTERM')
  process.on('SIGINT', onSigint)
  process.on('SIGTERM', onSigterm)

  const tty = process.stderr.isTTY
  let lastLine = ''
  const report = (p: JobProgress) => {
    const line = progressLine(p)
    if (tty) {
      const width = 24
      const filled = Math.round((p.steps ? p.step / p.steps : 0) * width)
      process.stderr.write(
        `\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${line}`.padEnd(80),
      )
    } else if (line !== lastLine && (p.step === p.steps || p.step === 0 || p.stage === 'denoise')) {
      process.stderr.write(`${line}\n`)
    }
    lastLine = line
  }

  const gpu = parsed.cpu ? null : await queryGpu()
  const runtime = new Runtime({ preferCuda: !parsed.cpu })
  // the memory `auto` plans by, for the provider this run will use (services/device-memory.ts)
  const providers = parsed.cpu
    ? [{ name: 'cpu' as const, available: true, reason: null }]
    : await probeProviders()
  const budget = deviceBudget(
    deviceFacts({ providers, gpu: gpu?.gpu ?? null }, await queryAdapterMemory()),
  )
  try {
    const result = await renderClip(
      spec,
      {
        runtime,
        ...(budget
          ? {
              budgetMiB: budget.budgetMiB,
              budgetSource: budget.source,
              budgetDevice: budget.device,
            }
          : {}),
      },
      {
        signal: ac.signal,
        onProgress: report,
        onLog: (l) => process.stderr.write(`\n${l}\n`),
        settingName: (k) => SETTING_OPTIONS[k],
      },
    )
    if (tty) process.stderr.write('\n')
    // a signal after the last frame reached the file: the clip was complete, and is kept (said
    // so); the run succeeded, so it exits 0 whichever signal it was
    if (stoppedBy)
      process.stderr.write(
        `note: the clip was already complete when ${STOP_SIGNALS[stoppedBy].name} arrived; it is kept\n`,
      )
    for (const w of result.warnings) process.stderr.write(`warning: ${w}\n`)
    if (result.model.demo)
      process.stderr.write(
        `note: ${result.model.label}: the demo model has random weights; its clips show patterns, not the prompt\n`,
      )
    if (json) process.stdout.write(`${JSON.stringify(result, null, 2)}\n`)
    else
      process.stderr.write(
        `wrote ${result.out} (${result.frames} frames, ${result.width}x${result.height}, ${result.fps} fps, seed ${result.seed})${
          result.longTake
            ? `; ${result.longTake.windows} context windows of ${result.longTake.window}${result.longTake.loop ? ', looping' : ''}`
            : ''
        }${spec.closedLoop && result.loopScore !== null ? `; loop closure ${result.loopScore.toFixed(2)} (1 = no seam)` : ''}\n`,
      )
    return EXIT.ok
  } catch (err) {
    if (tty) process.stderr.write('\n')
    const msg = err instanceof Error ? err.message : String(err)
    if (err instanceof CancelledError || (err instanceof MediaError && msg === 'cancelled')) {
      const stop = STOP_SIGNALS[stoppedBy ?? 'SIGINT']
      process.stderr.write(`dolly render: ${stop.stopped}; nothing was written\n`)
      return stop.code
    }
    process.stderr.write(`dolly render: ${msg}\n`)
    if (err instanceof ModelFolderError) return EXIT.model
    // an input or setting the model cannot take: the person changes the command
    if (err instanceof ImageInputError || err instanceof SettingsError) return EXIT.usage
    if (err instanceof MediaError) return EXIT.export
    return EXIT.failed
  } finally {
    await runtime.releaseAll()
    process.off('SIGINT', onSigint)
    process.off('SIGTERM', onSigterm)
  }
}

// Run when executed directly (out/main/cli.js), not when imported by tests.
if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  void main(process.argv.slice(2)).then((code) => process.exit(code))
}
