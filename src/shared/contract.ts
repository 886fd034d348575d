// The one contract between the renderer and main (and, over the web host, a browser and the
// host). Every command and event is declared here once, with runtime schemas; both sides take
// their types from these declarations. Main validates every incoming payload against the
// request schema and every outgoing value against the response/event schema.
import { z } from 'zod'

/** Longest string any payload field may carry unless its schema says less. */
export const MAX_STRING = 4096

/** Payloads that take no arguments still get a strict empty object: extra keys are refused. */
const Empty = z.object({}).strict()

export const EngineStateName = z.enum(['starting', 'ready', 'crashed', 'restarting', 'stopped'])
export type EngineStateName = z.infer<typeof EngineStateName>

export const ExecutionProvider = z
  .object({
    name: z.enum(['cuda', 'cpu']),
    available: z.boolean(),
    /** Why a provider is unavailable, in words a person can act on. */
    reason: z.string().max(MAX_STRING).nullable(),
  })
  .strict()
export type ExecutionProvider = z.infer<typeof ExecutionProvider>

export const GpuInfo = z
  .object({
    name: z.string().max(256),
    vramTotalMiB: z.number().int().nonnegative(),
    vramFreeMiB: z.number().int().nonnegative(),
    driverVersion: z.string().max(64).nullable(),
  })
  .strict()
export type GpuInfo = z.infer<typeof GpuInfo>

export const EngineStatus = z
  .object({
    state: EngineStateName,
    /** OS pid of the engine process while one is running. */
    pid: z.number().int().positive().nullable(),
    providers: z.array(ExecutionProvider).max(8),
    onnxruntimeVersion: z.string().max(64).nullable(),
    gpu: GpuInfo.nullable(),
    /** Why `gpu` is null (no nvidia-smi, no device, query failed). */
    gpuReason: z.string().max(MAX_STRING).nullable(),
    /** Unexpected exits since the host started. */
    restarts: z.number().int().nonnegative(),
    /** The last crash or start failure, for the status bar's tooltip. */
    lastError: z.string().max(MAX_STRING).nullable(),
  })
  .strict()
export type EngineStatus = z.infer<typeof EngineStatus>

export const AppInfo = z
  .object({
    name: z.string().max(256),
    version: z.string().max(64),
    /** 'electron' inside the desktop app, 'web' behind the web host. */
    host: z.enum(['electron', 'web']),
    platform: z.string().max(64),
    arch: z.string().max(64),
    versions: z.record(z.string().max(64), z.string().max(128)),
  })
  .strict()
export type AppInfo = z.infer<typeof AppInfo>

/**
 * Commands: `name -> { request, response }`. Names are `area.verb`; the preload turns each
 * into `window.dolly.area.verb(payload)`.
 */
export const commands = {
  'app.info': { request: Empty, response: AppInfo },
  'engine.status': { request: Empty, response: EngineStatus },
  'engine.restart': { request: Empty, response: EngineStatus },
} as const

/** Events pushed from main to every window: `name -> payload schema`. */
export const events = {
  'engine.state': EngineStatus,
} as const

export type CommandName = keyof typeof commands
export type EventName = keyof typeof events
export type CommandRequest<C extends CommandName> = z.input<(typeof commands)[C]['request']>
export type CommandResponse<C extends CommandName> = z.output<(typeof commands)[C]['response']>
export type EventPayload<E extends EventName> = z.output<(typeof events)[E]>

export const commandNames = Object.keys(commands) as CommandName[]
export const eventNames = Object.keys(events) as EventName[]

export function isCommandName(name: unknown): name is CommandName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(commands, name)
}

export function isEventName(name: unknown): name is EventName {
  return typeof name === 'string' && Object.prototype.hasOwnProperty.call(events, name)
}

// ---------------------------------------------------------------------------------------------
// Errors: nothing is ever thrown across IPC. Every command answers with a Result.

export const ErrorCode = z.enum([
  /** The payload did not match the command's request schema. */
  'invalid-payload',
  /** No such command. */
  'unknown-command',
  /** The caller is not a frame of ours, or the web client has no valid token. */
  'forbidden',
  /** The engine process is not running or did not answer. */
  'engine-unavailable',
  /** The handler failed; the message says why. */
  'internal',
])
export type ErrorCode = z.infer<typeof ErrorCode>

export const DollyErrorShape = z
  .object({
    code: ErrorCode,
    message: z.string().max(MAX_STRING),
    /** Where in the payload validation failed, e.g. `["prompt"]`. */
    path: z
      .array(z.union([z.string().max(256), z.number()]))
      .max(32)
      .optional(),
  })
  .strict()
export type DollyErrorShape = z.infer<typeof DollyErrorShape>

export type Result<T> = { ok: true; value: T } | { ok: false; error: DollyErrorShape }

/** Thrown on the renderer side when a Result is an error, so UI code can use try/catch. */
export class DollyError extends Error {
  readonly code: ErrorCode
  readonly path: (string | number)[] | undefined
  constructor(shape: DollyErrorShape) {
    super(shape.message)
    this.name = 'DollyError'
    this.code = shape.code
    this.path = shape.path
  }
}

// ---------------------------------------------------------------------------------------------
// The API object the renderer sees, derived from `commands` and `events`.

type Split<S extends string> = S extends `${infer A}.${infer B}` ? [A, B] : never
type Area = Split<CommandName>[0]
type VerbsOf<A extends string> = {
  [C in CommandName as Split<C>[0] extends A ? Split<C>[1] : never]: (
    payload?: CommandRequest<C>,
  ) => Promise<Result<CommandResponse<C>>>
}

/** `window.dolly`: one async function per command, grouped by area, plus event subscription. */
export type DollyBridge = { [A in Area]: VerbsOf<A> } & {
  /** Subscribe to an event; returns the function that unsubscribes. */
  on<E extends EventName>(event: E, listener: (payload: EventPayload<E>) => void): () => void
}

/** Splits `area.verb` for the preload and the web client, which build the same shape. */
export function splitCommandName(name: CommandName): [string, string] {
  const dot = name.indexOf('.')
  return [name.slice(0, dot), name.slice(dot + 1)]
}

/** IPC channel names, fixed here so the preload and main cannot drift apart. */
export const ipcChannel = {
  command: (name: CommandName) => `dolly:cmd:${name}`,
  event: (name: EventName) => `dolly:evt:${name}`,
}
