// Turns (command name, untrusted payload) into a typed Result. Used by the Electron IPC
// handlers and by the web host's WebSocket, so both validate exactly the same way.
import type { z } from 'zod'
import {
  commands,
  isCommandName,
  MAX_STRING,
  type CommandName,
  type CommandRequest,
  type CommandResponse,
  type DollyErrorShape,
  type Result,
} from '../../shared/contract'

export type Handlers = {
  [C in CommandName]: (
    payload: z.output<(typeof commands)[C]['request']>,
  ) => Promise<CommandResponse<C>>
}

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype'])
const MAX_DEPTH = 16
/** Keys are field names: long ones are no one's, and errors name them. */
const MAX_KEY = 256
// Enough for any project that fits MAX_PROJECT_BYTES (a keyframe is ~15 values in ~150 bytes;
// 10,000 refused projects of about 90 shots with a message about values, not size).
const MAX_NODES = 1_000_000

/**
 * Structural checks that run before the schema: only plain JSON-like data, no
 * prototype-pollution keys at any depth, bounded depth and size. zod's strict objects would
 * refuse most of these too, but records and future schemas must not have to remember.
 */
export function checkPayloadShape(value: unknown): DollyErrorShape | null {
  let nodes = 0
  const walk = (v: unknown, path: (string | number)[], depth: number): DollyErrorShape | null => {
    if (++nodes > MAX_NODES) return invalid(path, `payload has more than ${MAX_NODES} values`)
    if (depth > MAX_DEPTH) return invalid(path, `payload is nested deeper than ${MAX_DEPTH} levels`)
    if (v === null || typeof v === 'boolean') return null
    if (typeof v === 'number')
      return Number.isFinite(v) ? null : invalid(path, 'numbers must be finite')
    if (typeof v === 'string') {
      return v.length > MAX_STRING
        ? invalid(path, `string is longer than ${MAX_STRING} characters`)
        : null
    }
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const e = walk(v[i], [...path, i], depth + 1)
        if (e) return e
      }
      return null
    }
    if (typeof v === 'object') {
      const proto = Object.getPrototypeOf(v)
      if (proto !== Object.prototype && proto !== null) {
        return invalid(
          path,
          'only plain objects, arrays, strings, numbers, booleans and null are accepted',
        )
      }
      for (const key of Reflect.ownKeys(v)) {
        if (typeof key === 'symbol') return invalid(path, 'symbol keys are not accepted')
        if (key.length > MAX_KEY) return invalid(path, `a key is longer than ${MAX_KEY} characters`)
        if (FORBIDDEN_KEYS.has(key)) return invalid([...path, key], `key "${key}" is not accepted`)
        const e = walk((v as Record<string, unknown>)[key], [...path, key], depth + 1)
        if (e) return e
      }
      return null
    }
    return invalid(path, `values of type ${typeof v} are not accepted`)
  }
  return walk(value, [], 0)
}

function invalid(path: (string | number)[], message: string): DollyErrorShape {
  return {
    code: 'invalid-payload',
    message: path.length ? `${path.join('.')}: ${message}` : message,
    path,
  }
}

/** Text cut to what the contract carries (MAX_STRING unless told), marked as cut. */
export function clampText(text: string, max = MAX_STRING): string {
  return text.length > max ? text.slice(0, max - 1) + '…' : text
}

function describeError(err: unknown): string {
  return clampText(err instanceof Error ? err.message : String(err))
}

/** An error whose code the handler chose (e.g. engine-unavailable). */
export class HandlerError extends Error {
  constructor(
    readonly code: DollyErrorShape['code'],
    message: string,
  ) {
    super(message)
  }
}

export type Dispatch = (name: unknown, payload: unknown) => Promise<Result<unknown>>

export function createDispatcher(handlers: Handlers): Dispatch {
  return async (name, payload) => {
    if (!isCommandName(name)) {
      const shown = typeof name === 'string' ? name.slice(0, 64) : typeof name
      return {
        ok: false,
        error: { code: 'unknown-command', message: `unknown command "${shown}"` },
      }
    }
    // A missing payload means "no arguments".
    const raw = payload === undefined ? {} : payload
    const shapeError = checkPayloadShape(raw)
    if (shapeError)
      return { ok: false, error: { ...shapeError, message: `${name}: ${shapeError.message}` } }

    const parsed = commands[name].request.safeParse(raw)
    if (!parsed.success) {
      const issue = parsed.error.issues[0]
      const path = (issue?.path ?? []).map((p) => (typeof p === 'symbol' ? String(p) : p))
      const where = path.length ? ` at ${path.join('.')}` : ''
      return {
        ok: false,
        error: {
          code: 'invalid-payload',
          message: `${name}: invalid payload${where}: ${issue?.message ?? 'rejected'}`,
          path,
        },
      }
    }
    try {
      const handler = handlers[name] as (p: unknown) => Promise<unknown>
      const value = await handler(parsed.data as CommandRequest<typeof name>)
      const checked = commands[name].response.safeParse(value)
      if (!checked.success) {
        return {
          ok: false,
          error: {
            code: 'internal',
            message: `${name}: the handler's answer broke the contract: ${checked.error.issues[0]?.message}`,
          },
        }
      }
      return { ok: true, value: checked.data }
    } catch (err) {
      const code = err instanceof HandlerError ? err.code : 'internal'
      return { ok: false, error: { code, message: `${name}: ${describeError(err)}` } }
    }
  }
}
