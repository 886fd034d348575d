import type { ModelSummary } from '../../../shared/contract'
import {
  CONTEXT_DEFAULTS,
  CONTEXT_LIMITS,
  CONTEXT_NOISE,
  CONTEXT_WEIGHTINGS,
  defaultOverlap,
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
  framesNotice,
} from '../../../shared/render'
import { randomSeed, type Settings } from '../state/project'
import { ImageDrop } from './ImageDrop'
import { NumberField, SelectField } from './Fields'
import { SmallButton } from './SmallButton'

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
  const framesHint = facts ? framesNotice(facts, s.frames) : null
  return (
    <form
      className="generate"
      onSubmit={(e) => {
        e.preventDefault()
        onGenerate()
      }}
      onKeyDown={(e) => {
        // Enter in a field commits it (README); it must not also start a render through the
        // form's implicit submission (Ctrl+Enter and the Generate button do that)
        if (e.key === 'Enter' && e.target instanceof HTMLInputElement) e.preventDefault()
      }}
    >
      <SelectField
        label="Model"
        value={s.modelId}
        choices={[
          // a shot made with a model this studio no longer has: said, not shown as another one
          ...(models.some((m) => m.id === s.modelId)
            ? []
            : [
                {
                  value: s.modelId,
                  label: `${s.modelId || 'no model'} (missing: pick one)`,
                  disabled: true,
                },
              ]),
          ...models.map((m) => ({
            value: m.id,
            // same-named folders are told apart by their folder
            label: `${m.error ? `${m.label} (refused)` : m.label}${
              models.filter((o) => o.label === m.label).length > 1 ? ` · ${m.id}` : ''
            }`,
            disabled: m.error !== null,
          })),
        ]}
        onChange={(id) => {
          // the new model's own settings (frames, steps, guidance, fps, size...): one undo step
          const next = models.find((m) => m.id === id)
          if (next) onChange(settingsForModel(s, next))
        }}
        testId="model-picker"
      />
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
      <div className="row seed-row">
        <NumberField
          label="Seed"
          value={s.seed}
          integer
          {...SETTING_LIMITS.seed}
          onCommit={(seed) => onChange({ seed }, 'seed')}
          testId="seed"
        />
        <SmallButton
          title={
            s.seedLocked ? 'Seed locked: every render uses it' : 'Seed changes after each render'
          }
          onClick={() => onChange({ seedLocked: !s.seedLocked })}
          aria-pressed={s.seedLocked}
        >
          {s.seedLocked ? 'Locked' : 'Unlocked'}
        </SmallButton>
        <SmallButton onClick={() => onChange({ seed: randomSeed() })} title="A new random seed">
          Random
        </SmallButton>
      </div>
      <div className="row">
        <NumberField
          label="Steps"
          value={s.steps}
          integer
          {...SETTING_LIMITS.steps}
          onCommit={(steps) => onChange({ steps }, 'steps')}
        />
        <NumberField
          label={facts?.guidanceKind === 'frame-ramp' ? 'Max guidance' : 'Guidance'}
          value={s.guidance}
          {...SETTING_LIMITS.guidance}
          step={0.5}
          onCommit={(guidance) => onChange({ guidance }, 'guidance')}
          testId="guidance"
          title={
            facts?.guidanceKind === 'frame-ramp'
              ? `${facts.label} guides each frame from ${facts.minGuidance} (the first) up to this value (the last)`
              : 'Classifier-free guidance scale'
          }
        />
      </div>
      <div className="row">
        <NumberField
          label="Frames"
          value={s.frames}
          integer
          min={2}
          max={maxFrames}
          onCommit={(frames) => onChange({ frames }, 'frames')}
          testId="frames"
          title={
            model?.maxFrames
              ? facts?.contextWindows
                ? `${model.label}'s motion window is ${model.maxFrames} frames; longer clips run as overlapping windows`
                : `${model.label} takes up to ${model.maxFrames} frames in one render`
              : undefined
          }
        />
        <NumberField
          label="FPS"
          value={s.fps}
          integer
          {...SETTING_LIMITS.fps}
          onCommit={(fps) => onChange({ fps }, 'fps')}
        />
      </div>
      {model && facts?.contextWindows ? (
        <LongTake model={model} settings={s} onChange={onChange} />
      ) : null}
      {framesHint ? (
        <small className="hint warn" data-testid="frames-hint">
          {framesHint}
        </small>
      ) : null}
      {facts?.decodeChunk?.temporal ? (
        <NumberField
          label="Decode chunk"
          value={s.decodeChunk}
          integer
          min={1}
          max={s.frames}
          placeholder={model?.defaults.decodeChunk === 'all' ? 'all frames' : ''}
          onCommit={(decodeChunk) => onChange({ decodeChunk }, 'decodeChunk')}
          onClear={() => onChange({ decodeChunk: undefined }, 'decodeChunk')}
          testId="decode-chunk"
          title="Frames per VAE decode call: more mixes frames more smoothly and needs more memory (the minimal plan lowers it)"
        />
      ) : null}
      <SelectField
        label="Size"
        value={s.width && s.height ? `${s.width}x${s.height}` : ''}
        choices={(model?.sizes ?? []).map((z, i) => ({
          value: i === 0 ? '' : `${z.width}x${z.height}`,
          label: z.label,
        }))}
        onChange={(v) => {
          const [w, h] = v.split('x').map(Number)
          onChange(w && h ? { width: w, height: h } : { width: undefined, height: undefined })
        }}
        disabled={!model || model.sizes.length <= 1}
        testId="size"
        title="Output size (the model's own first; others keep about its pixel count)"
      />
      <SelectField
        label="Scheduler"
        value={s.scheduler}
        choices={[{ value: '', label: "the model's own" }, ...(facts?.schedulers ?? [])]}
        onChange={(scheduler) => onChange({ scheduler })}
        testId="scheduler"
      />
      <SelectField
        label="Memory plan"
        value={s.plan}
        choices={PlanSetting.options.map((p) => ({ value: p, label: `${p} (${PLAN_HINTS[p]})` }))}
        onChange={(plan) => onChange({ plan })}
      />
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
      <div className="generate-bar">
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
      </div>
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
          <NumberField
            label="Window"
            value={c.window}
            integer
            min={CONTEXT_LIMITS.window.min}
            max={model.maxFrames ?? SETTING_LIMITS.frames.max}
            placeholder={String(model.maxFrames ?? '')}
            onCommit={(v) => setContext({ window: v }, 'context-window')}
            onClear={() => setContext({ window: undefined }, 'context-window')}
            testId="context-window-size"
            title="Frames the denoiser sees at once (at most the motion window)"
          />
          <NumberField
            label="Overlap"
            value={c.overlap}
            integer
            min={CONTEXT_LIMITS.overlap.min}
            max={Math.max(CONTEXT_LIMITS.overlap.min, window - 1)}
            placeholder={String(Math.max(CONTEXT_LIMITS.overlap.min, defaultOverlap(window)))}
            onCommit={(v) => setContext({ overlap: v }, 'context-overlap')}
            onClear={() => setContext({ overlap: undefined }, 'context-overlap')}
            testId="context-overlap"
            title="Frames neighbouring windows share (more: smoother, slower)"
          />
        </div>
        <div className="row">
          <SelectField
            label="Blend"
            value={c.weighting ?? CONTEXT_DEFAULTS.weighting}
            choices={CONTEXT_WEIGHTINGS.map((w) => ({ value: w, label: w.replace(/_/g, ' ') }))}
            onChange={(weighting) => setContext({ weighting }, 'w')}
            testId="context-weighting"
            title="How the windows' predictions are weighted where they overlap"
          />
          <SelectField
            label="Noise"
            value={c.noise ?? CONTEXT_DEFAULTS.noise}
            choices={CONTEXT_NOISE.map((n) => ({ value: n, label: n.replace(/_/g, ' ') }))}
            onChange={(noise) => setContext({ noise }, 'n')}
            testId="context-noise"
            title="FreeNoise's initial noise: shuffled copies of the first window's (steadier), repeated, or fresh for every frame"
          />
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
