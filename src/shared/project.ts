// The .dolly project file: versioned JSON with migrations. Serialisation is canonical (keys
// sorted, two-space indent, newline at the end), so a project saved, reopened and saved again
// is byte-identical. Media are referenced by paths relative to the project's folder.
import { z } from 'zod'
import { ProjectDoc } from './contract'
import { SCHEDULER_NAMES } from './render'
import { parseJsonFile } from './json'

export const PROJECT_FORMAT = 'dolly-project'
export const PROJECT_VERSION = 5

/** The document itself is declared once, in the contract (the renderer sends it over IPC). */
export const ProjectDocSchema = ProjectDoc
export type ProjectDocData = z.infer<typeof ProjectDocSchema>

const ProjectFileSchema = z
  .object({
    format: z.literal(PROJECT_FORMAT),
    version: z.literal(PROJECT_VERSION),
    doc: ProjectDocSchema,
    /** Files the project uses (rendered clips), relative to the project's folder. */
    media: z.array(z.string().max(1024)).max(10_000),
  })
  .strict()
export type ProjectFile = z.infer<typeof ProjectFileSchema>

export class ProjectFormatError extends Error {
  constructor(
    message: string,
    /** Set when the file is a newer Dolly Studio's (its format version): it is not broken. */
    readonly newerVersion?: number,
  ) {
    super(message)
    this.name = 'ProjectFormatError'
  }
}

/** Stable JSON: object keys sorted at every level. */
function canonical(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(canonical)
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {}
    for (const k of Object.keys(v as object).sort())
      out[k] = canonical((v as Record<string, unknown>)[k])
    return out
  }
  return v
}

export function serializeProject(doc: ProjectDocData, media: string[] = []): string {
  const file: ProjectFile = { format: PROJECT_FORMAT, version: PROJECT_VERSION, doc, media }
  return JSON.stringify(canonical(file), null, 2) + '\n'
}

type Migration = (old: Record<string, unknown>) => Record<string, unknown>

/**
 * v1 (the first format) kept the settings flat at the top level and had no preset or media:
 * { format, version: 1, prompt, negativePrompt, seed, steps, guidance, frames, fps, modelId, camera }.
 */
const MIGRATIONS: Record<number, Migration> = {
  1: (old) => ({
    format: PROJECT_FORMAT,
    version: 2,
    media: [],
    doc: {
      settings: {
        modelId: old['modelId'] ?? '',
        prompt: old['prompt'] ?? '',
        negativePrompt: old['negativePrompt'] ?? '',
        seed: old['seed'] ?? 0,
        seedLocked: true,
        steps: old['steps'] ?? 25,
        guidance: old['guidance'] ?? 7.5,
        frames: old['frames'] ?? 16,
        fps: old['fps'] ?? 8,
        scheduler: '',
        plan: 'auto',
        motion: 0.5,
      },
      camera: old['camera'],
      preset: null,
    },
  }),
  // v3: the project holds shots; a v2 project is one shot (its clip was never recorded)
  2: (old) => {
    const doc = (old['doc'] ?? {}) as Record<string, unknown>
    return {
      ...old,
      version: 3,
      doc: { shots: [{ id: 'shot-1', ...doc, clip: null }], active: 0 },
    }
  },
  // v4: a shot's scheduler is '' (the model's own) or one the engine implements; v3 took any
  // string, which failed only at render time, so an unknown name becomes the model's own
  3: (old) => {
    const doc = (old['doc'] ?? {}) as Record<string, unknown>
    const known = new Set<string>(SCHEDULER_NAMES)
    // shots that are not a list stay as they are, for the schema to refuse as the file has them
    if (!Array.isArray(doc['shots'])) return { ...old, version: 4 }
    const shots = doc['shots'] as Record<string, unknown>[]
    return {
      ...old,
      version: 4,
      doc: {
        ...doc,
        shots: shots.map((shot) => {
          const settings = (shot?.['settings'] ?? {}) as Record<string, unknown>
          const sched = settings['scheduler']
          return typeof sched === 'string' && sched !== '' && !known.has(sched)
            ? { ...shot, settings: { ...settings, scheduler: '' } }
            : shot
        }),
      },
    }
  },
  // v5: shots may carry prompt keyframes, a loop flag and long-take (context window) settings,
  // all optional: a v4 shot is a v5 shot without them. The version moves so a v4 studio refuses
  // a file that uses them with "saved by a newer Dolly Studio" instead of a schema error.
  4: (old) => ({ ...old, version: 5 }),
}

/**
 * Where a field of the migrated document sits in the file as written: version 1 kept the one
 * shot's settings and camera at the top level, version 2 its one document under "doc"
 * (version 3 on: where they are now). Also whether the place moved.
 */
function placeInFile(path: PropertyKey[], from: number): [PropertyKey[], boolean] {
  if (from > 2 || path[0] !== 'doc' || path[1] !== 'shots' || path[2] !== 0 || path.length < 4)
    return [path, false]
  const rest = path.slice(3)
  if (from === 2) return [['doc', ...rest], true]
  return [rest[0] === 'settings' ? rest.slice(1) : rest, true]
}

/** Parses a project file (any supported version) into the current form. */
export function parseProject(text: string): { file: ProjectFile; migratedFrom: number | null } {
  const raw = parseJsonFile(text, (message) => new ProjectFormatError(message))
  if (
    !raw ||
    typeof raw !== 'object' ||
    (raw as Record<string, unknown>)['format'] !== PROJECT_FORMAT
  ) {
    throw new ProjectFormatError(
      `not a Dolly Studio project (expected "format": "${PROJECT_FORMAT}")`,
    )
  }
  let obj = raw as Record<string, unknown>
  const from = obj['version']
  if (typeof from !== 'number' || !Number.isInteger(from) || from < 1)
    throw new ProjectFormatError(
      `"version" must be a positive integer, found ${JSON.stringify(from)}`,
    )
  if (from > PROJECT_VERSION)
    throw new ProjectFormatError(
      `this project was saved by a newer Dolly Studio (format version ${from}; this one reads up to ${PROJECT_VERSION})`,
      from,
    )
  for (let v = from; v < PROJECT_VERSION; v++) obj = MIGRATIONS[v]!(obj)
  const parsed = ProjectFileSchema.safeParse(obj)
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!
    const [path, moved] = placeInFile(issue.path, from)
    throw new ProjectFormatError(
      `${path.join('.') || 'project'}: ${issue.message}${moved ? ` (a version-${from} file)` : ''}`,
    )
  }
  return { file: parsed.data, migratedFrom: from === PROJECT_VERSION ? null : from }
}
