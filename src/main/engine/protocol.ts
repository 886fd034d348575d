// The engine protocol: what main and the engine process say to each other over the
// utility process's message port (or a forked child's IPC channel). Both ends validate.
import { z } from 'zod'
import { ExecutionProvider } from '../../shared/contract'

export const EngineDescription = z
  .object({
    pid: z.number().int().positive(),
    onnxruntimeVersion: z.string(),
    // no length cap here (a CUDA load error can be long): main cuts the reason for the window;
    // a cap would make the whole description fail and the engine never become ready
    providers: z.array(ExecutionProvider.extend({ reason: z.string().nullable() })),
  })
  .strict()
export type EngineDescription = z.infer<typeof EngineDescription>

/** Methods the engine answers: name -> { params, result }. */
export const engineMethods = {
  describe: { params: z.object({}).strict(), result: EngineDescription },
  ping: { params: z.object({}).strict(), result: z.object({ pid: z.number() }).strict() },
  /** Queue a render. `spec` is built and checked by main (paths it chose, validated settings). */
  'jobs.submit': {
    params: z
      .object({ id: z.string().min(1).max(64), spec: z.record(z.string(), z.unknown()) })
      .strict(),
    result: z.object({ queued: z.boolean() }).strict(),
  },
  'jobs.cancel': {
    params: z.object({ id: z.string().min(1).max(64) }).strict(),
    result: z.object({ cancelled: z.boolean() }).strict(),
  },
  /** Re-encode a finished job's PNG frames into another clip format. */
  'clip.export': {
    params: z
      .object({
        framesDir: z.string(),
        numFrames: z.number().int().positive(),
        out: z.string(),
        format: z.enum(['mp4', 'gif', 'webm', 'png']),
        fps: z.number().positive(),
        quality: z.number().int().min(0).max(100),
        loop: z.number().int().min(-1).max(65535),
        scale: z.number().int().min(1).max(8).default(1),
      })
      .strict(),
    result: z.object({ out: z.string() }).strict(),
  },
} as const
export type EngineMethod = keyof typeof engineMethods
export type EngineParams<M extends EngineMethod> = z.input<(typeof engineMethods)[M]['params']>
export type EngineResult<M extends EngineMethod> = z.output<(typeof engineMethods)[M]['result']>

export const ToEngine = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('request'),
      id: z.number().int(),
      method: z.string(),
      params: z.unknown(),
    })
    .strict(),
  z.object({ type: z.literal('shutdown') }).strict(),
])
export type ToEngine = z.infer<typeof ToEngine>

export const FromEngine = z.discriminatedUnion('type', [
  /** Sent once the process has loaded onnxruntime and is ready for requests. */
  z.object({ type: z.literal('hello'), pid: z.number().int().positive() }).strict(),
  z
    .object({
      type: z.literal('response'),
      id: z.number().int(),
      ok: z.boolean(),
      result: z.unknown().optional(),
      error: z.string().optional(),
    })
    .strict(),
  z.object({ type: z.literal('event'), name: z.string(), data: z.unknown() }).strict(),
  /** The engine failed to start; `message` says why. */
  z.object({ type: z.literal('fatal'), message: z.string() }).strict(),
])
export type FromEngine = z.infer<typeof FromEngine>
