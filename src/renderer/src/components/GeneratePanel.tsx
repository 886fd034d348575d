import type { ModelSummary } from '../../../shared/contract'
import {
  CONTEXT_DEFAULTS,
  CONTEXT_NOISE,
  CONTEXT_WEIGHTINGS,
  describeContext,
  resolveContext,
  type ContextSettings,
} from '../../../shared/longtake'
import { describeMotion } from '../../../shared/motion'
import {
  PIPELINES,
  PLAN_HINTS,
  PlanSetting,
  SETTING_LIMITS,
  settingsForModel,
  validFrameCount,
} from '../../../shared/render'
import { randomSeed, type Settings } from '../state/project'
import { ImageDrop } from './ImageDrop'

type Props = {
  models: ModelSummary[]
  settings: Settings
  onChange: (patch: Partial<Settings>, mergeKey?: string) => void
  onGenerate: () => void
  busy: boolean
  uploadInput: (file: File) => Promise<{ id: string; name: string }>
  inputUrl: (id: string) => string
}

export function GeneratePanel({
  models,
  settings: s,
  onChange,
  onGenerate,
  busy,
  uploadInput,
  inputUrl,
}: Props) {
  const model = models.find((m) => m.id === s.modelId)
  const facts = model ? PIPELINES[model.pipeline] : null
  const blocked = generateBlocked(model, s)
  const motionFacts = model
    ? {
        motion:
          model.motion.kind === 'motion_bucket_id' || model.motion.kind === 'motion_scale'
            ? model.motion.kind
            : ('none' as const),
        camera: model.camera,
      }
    : null
  const motionDisabled = !model || model.motion.kind === 'none'
  // a pipeline with context windows renders past its motion window (as overlapping windows)
  const maxFrames = facts?.contextWindows
    ? SETTING_LIMITS.frames.max
    : (model?.maxFrames ?? SETTING_LIMITS.frames.max)
  const validFrames = facts ? validFrameCount(facts.frameRule, s.frames) : s.frames
  return (
    <form
      className="generate"
      onSubmit={(e) => {
        e.preventDefault()
        onGenerate()
      }}
    >
      <label className="field">
        <span>Model</span>
        <select
          value={s.modelId}
          onChange={(e) => {
            // the new model's own settings (frames, steps, guidance, fps, size...): one undo step
            const next = models.find((m) => m.id === e.target.value)
            if (next) onChange(settingsForModel(s, next))
          }}
          data-testid="model-picker"
        >
          {models.map((m) => (
            <option key={m.id} value={m.id} disabled={m.error !== null}>
              {m.label}
              {m.error ? ' (refused)' : ''}
            </option>
          ))}
        </select>
      </label>
      {model?.demo ? (
        <p className="hint warn">
          Demo model with random weights: its clips show patterns, not your prompt.
        </p>
      ) : null}
      {model?.error ? <p className="hint error">{model.error}</p> : null}
      {facts?.input === 'image' ? (
        <ImageDrop
          image={s.image}
          upload={uploadInput}
          urlOf={inputUrl}
          onChange={(image) => onChange({ image }, 'image')}
        />
      ) : null}
      {!facts || facts.prompt ? (
        <>
          <label className="field">
            <span>Prompt</span>
            <textarea
              rows={3}
              value={s.prompt}
              placeholder={
                facts?.input === 'image'
                  ? 'what happens to the image: waves rolling in, leaves moving'
                  : 'a lighthouse at dusk, waves crashing'
              }
              onChange={(e) => onChange({ prompt: e.target.value }, 'prompt')}
              data-testid="prompt"
            />
          </label>
          <label className="field">
            <span>Negative prompt</span>
            <input
              value={s.negativePrompt}
              onChange={(e) => onChange({ negativePrompt: e.target.value }, 'negative')}
            />
          </label>
        </>
      ) : null}
      <div className="row">
        <label className="field">
          <span>Seed</span>
          <input
            type="number"
            min={0}
            value={s.seed}
            onChange={(e) =>
              onChange({ seed: Math.max(0, Math.floor(num(e.target.value, s.seed))) }, 'seed')
            }
            data-testid="seed"
          />
        </label>
        <button
          type="button"
          className="small"
          title={
            s.seedLocked ? 'Seed locked: every render uses it' : 'Seed changes after each render'
          }
          onClick={() => onChange({ seedLocked: !s.seedLocked })}
          aria-pressed={s.seedLocked}
        >
          {s.seedLocked ? 'Locked' : 'Unlocked'}
        </button>
        <button
          type="button"
          className="small"
          onClick={() => onChange({ seed: randomSeed() })}
          title="A new random seed"
        >
          Random
        </button>
      </div>
      <div className="row">
        <IntField
          label="Steps"
          value={s.steps}
          min={SETTING_LIMITS.steps.min}
          max={SETTING_LIMITS.steps.max}
          onValue={(steps) => onChange({ steps }, 'steps')}
        />
        <label
          className="field"
          title={
            facts?.guidanceKind === 'frame-ramp'
              ? `${facts.label} guides each frame from ${facts.minGuidance} (the first) up to this value (the last)`
              : 'Classifier-free guidance scale'
          }
        >
          <span>{facts?.guidanceKind === 'frame-ramp' ? 'Max guidance' : 'Guidance'}</span>
          <input
            data-testid="guidance"
            type="number"
            min={SETTING_LIMITS.guidance.min}
            max={SETTING_LIMITS.guidance.max}
            step={0.5}
            value={s.guidance}
            onChange={(e) => onChange({ guidance: num(e.target.value, s.guidance) }, 'guidance')}
          />
        </label>
      </div>
      <div className="row">
        <IntField
          label="Frames"
          value={s.frames}
          min={2}
          max={maxFrames}
          onValue={(frames) => onChange({ frames }, 'frames')}
          testId="frames"
          title={
            model?.maxFrames
              ? facts?.contextWindows
                ? `${model.label}'s motion window is ${model.maxFrames} frames; longer clips run as overlapping windows`
                : `${model.label} takes up to ${model.maxFrames} frames in one render`
              : undefined
          }
        />
        <IntField
          label="FPS"
          value={s.fps}
          min={SETTING_LIMITS.fps.min}
          max={SETTING_LIMITS.fps.max}
          onValue={(fps) => onChange({ fps }, 'fps')}
        />
      </div>
      {model && facts?.contextWindows ? (
        <LongTake model={model} settings={s} onChange={onChange} />
      ) : null}
      {validFrames !== s.frames ? (
        <small className="hint warn" data-testid="frames-hint">
          {facts!.label} decodes 4k+1 frames: {s.frames} renders as {validFrames}
        </small>
      ) : null}
      {facts?.decodeChunk?.temporal ? (
        <label
          className="field"
          title="Frames per VAE decode call: more mixes frames more smoothly and needs more memory (the minimal plan lowers it)"
        >
          <span>Decode chunk</span>
          <input
            type="number"
            min={1}
            max={s.frames}
            placeholder={model?.defaults.decodeChunk === 'all' ? 'all frames' : ''}
            value={s.decodeChunk ?? ''}
            onChange={(e) =>
              onChange(
                {
                  decodeChunk:
                    e.target.value === ''
                      ? undefined
                      : Math.min(s.frames, Math.max(1, Math.floor(num(e.target.value, 1)))),
                },
                'decodeChunk',
              )
            }
            data-testid="decode-chunk"
          />
        </label>
      ) : null}
      <label className="field">
        <span>Size</span>
        <select
          value={s.width && s.height ? `${s.width}x${s.height}` : ''}
          disabled={!model || model.sizes.length <= 1}
          onChange={(e) => {
            const [w, h] = e.target.value.split('x').map(Number)
            onChange(w && h ? { width: w, height: h } : { width: undefined, height: undefined })
          }}
          data-testid="size"
          title="Output size (the model's own first; others keep about its pixel count)"
        >
          {model?.sizes.map((z, i) => (
            <option key={z.label} value={i === 0 ? '' : `${z.width}x${z.height}`}>
              {z.label}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Scheduler</span>
        <select
          value={s.scheduler}
          onChange={(e) => onChange({ scheduler: e.target.value as Settings['scheduler'] })}
          data-testid="scheduler"
        >
          <option value="">the model&apos;s own</option>
          {(facts?.schedulers ?? []).map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Memory plan</span>
        <select
          value={s.plan}
          onChange={(e) => onChange({ plan: e.target.value as Settings['plan'] })}
        >
          {PlanSetting.options.map((p) => (
            <option key={p} value={p}>
              {p} ({PLAN_HINTS[p]})
            </option>
          ))}
        </select>
      </label>
      <label className="field">
        <span>Motion strength</span>
        <input
          type="range"
          min={0}
          max={1}
          step={0.01}
          value={s.motion}
          disabled={motionDisabled}
          onChange={(e) => onChange({ motion: Number(e.target.value) }, 'motion')}
          data-testid="motion-slider"
        />
        <small className="hint" data-testid="motion-meaning">
          {model && motionFacts
            ? motionDisabled
              ? model.motion.reason
              : `${describeMotion(motionFacts, s.motion)}: ${model.motion.label}`
            : ''}
        </small>
      </label>
      {blocked ? (
        <small className="hint" data-testid="generate-blocked">
          {blocked}
        </small>
      ) : null}
      <button
        type="submit"
        className="primary"
        disabled={busy || blocked !== null}
        data-testid="generate"
        title="Generate (Ctrl+Enter)"
      >
        Generate
      </button>
    </form>
  )
}

/** Why Generate cannot run with these settings, or null when it can. */
export function generateBlocked(model: ModelSummary | undefined, s: Settings): string | null {
  if (!model) return 'Choose a model (Models… adds one)'
  if (model.error) return `${model.label} was refused: ${model.error}`
  const windows = PIPELINES[model.pipeline].contextWindows
  if (model.maxFrames !== null && s.frames > model.maxFrames && !windows)
    return `${model.label} takes at most ${model.maxFrames} frames in one render`
  if (windows) {
    const why = contextProblem(model, s)
    if (why) return why
  }
  if (PIPELINES[model.pipeline].input === 'image')
    return s.image ? null : 'Drop an image to animate'
  return s.prompt.trim() ? null : 'Type a prompt to generate'
}

/** Why the long-take settings cannot run on this model, or null. */
function contextProblem(model: ModelSummary, s: Settings): string | null {
  try {
    resolveContext(s.frames, model.maxFrames, s.context ?? {}, s.loop ?? false)
    return null
  } catch (err) {
    return `Context window: ${err instanceof Error ? err.message : String(err)}`
  }
}

/**
 * Long takes: a loop, and the context windows a clip past the motion window runs as (their
 * size, the frames they share, how they blend, the initial noise, colour anchoring), with
 * what that costs.
 */
function LongTake({
  model,
  settings: s,
  onChange,
}: {
  model: ModelSummary
  settings: Settings
  onChange: (patch: Partial<Settings>, mergeKey?: string) => void
}) {
  const c: ContextSettings = s.context ?? {}
  const setContext = (patch: Partial<ContextSettings>, key: string) => {
    const next: ContextSettings = { ...c, ...patch }
    for (const k of Object.keys(next) as (keyof ContextSettings)[])
      if (next[k] === undefined) delete next[k]
    onChange({ context: Object.keys(next).length ? next : undefined }, key)
  }
  const problem = contextProblem(model, s)
  const resolved = problem ? null : resolveContext(s.frames, model.maxFrames, c, s.loop ?? false)
  const window = c.window ?? model.maxFrames ?? s.frames
  return (
    <div className="longtake" data-testid="longtake">
      <label
        className="check"
        title="The camera path returns to its first pose and the last frames are denoised together with the first, so the clip plays in a loop without a seam"
      >
        <input
          type="checkbox"
          checked={s.loop ?? false}
          onChange={(e) => onChange({ loop: e.target.checked || undefined })}
          data-testid="loop"
        />
        Loop (seamless)
      </label>
      <small className={`hint${problem ? ' error' : ''}`} data-testid="context-summary">
        {problem ?? describeContext(s.frames, resolved)}
        {s.loop && !problem ? ' · camera path closed at render' : ''}
      </small>
      <details>
        <summary>Context windows</summary>
        <div className="row">
          <label
            className="field"
            title="Frames the denoiser sees at once (at most the motion window)"
          >
            <span>Window</span>
            <input
              type="number"
              min={2}
              max={model.maxFrames ?? 256}
              placeholder={String(model.maxFrames ?? '')}
              value={c.window ?? ''}
              onChange={(e) =>
                setContext(
                  {
                    window:
                      e.target.value === ''
                        ? undefined
                        : Math.max(2, Math.floor(num(e.target.value, window))),
                  },
                  'context-window',
                )
              }
              data-testid="context-window-size"
            />
          </label>
          <label
            className="field"
            title="Frames neighbouring windows share (more: smoother, slower)"
          >
            <span>Overlap</span>
            <input
              type="number"
              min={1}
              max={Math.max(1, window - 1)}
              placeholder={String(Math.max(1, Math.floor(window / 4)))}
              value={c.overlap ?? ''}
              onChange={(e) =>
                setContext(
                  {
                    overlap:
                      e.target.value === ''
                        ? undefined
                        : Math.max(1, Math.floor(num(e.target.value, 1))),
                  },
                  'context-overlap',
                )
              }
              data-testid="context-overlap"
            />
          </label>
        </div>
        <div className="row">
          <label
            className="field"
            title="How the windows' predictions are weighted where they overlap"
          >
            <span>Blend</span>
            <select
              value={c.weighting ?? CONTEXT_DEFAULTS.weighting}
              onChange={(e) =>
                setContext({ weighting: e.target.value as ContextSettings['weighting'] }, 'w')
              }
              data-testid="context-weighting"
            >
              {CONTEXT_WEIGHTINGS.map((w) => (
                <option key={w} value={w}>
                  {w.replace(/_/g, ' ')}
                </option>
              ))}
            </select>
          </label>
          <label
            className="field"
            title="FreeNoise's initial noise: shuffled copies of the first window's (steadier), repeated, or fresh for every frame"
          >
            <span>Noise</span>
            <select
              value={c.noise ?? CONTEXT_DEFAULTS.noise}
              onChange={(e) =>
                setContext({ noise: e.target.value as ContextSettings['noise'] }, 'n')
              }
              data-testid="context-noise"
            >
              {CONTEXT_NOISE.map((n) => (
                <option key={n} value={n}>
                  {n.replace(/_/g, ' ')}
                </option>
              ))}
            </select>
          </label>
        </div>
        <label
          className="check"
          title="Holds every window's colour statistics within 0.1 standard deviations of the first window's (off while prompt keys change the look)"
        >
          <input
            type="checkbox"
            checked={c.colourAnchor ?? CONTEXT_DEFAULTS.colourAnchor}
            onChange={(e) => setContext({ colourAnchor: e.target.checked }, 'anchor')}
            data-testid="context-anchor"
          />
          Hold colour to the first window
        </label>
      </details>
    </div>
  )
}

/** A whole-number setting, clamped to its range as the person types. */
function IntField(p: {
  label: string
  value: number
  min: number
  max: number
  onValue: (v: number) => void
  testId?: string
  title?: string | undefined
}) {
  return (
    <label className="field" title={p.title}>
      <span>{p.label}</span>
      <input
        type="number"
        min={p.min}
        max={p.max}
        value={p.value}
        onChange={(e) =>
          p.onValue(Math.min(p.max, Math.max(p.min, Math.floor(num(e.target.value, p.value)))))
        }
        data-testid={p.testId}
      />
    </label>
  )
}

/** A typed number, or the current value while the field is empty or not a number yet. */
function num(v: string, fallback: number): number {
  return Number.isFinite(Number(v)) && v !== '' ? Number(v) : fallback
}
