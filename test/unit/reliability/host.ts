// The real web host for the reliability suite: the built `out/main/serve.js` in its own
// process, with its own cache, state, projects and models folders, so a fault that would end
// it really ends it.
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { ask, openRaw } from './raw-ws'

export const root = resolve(__dirname, '../../..')
const serveJs = join(root, 'out/main/serve.js')

/** Why the host cannot be started here, or null. */
export const hostMissing: string | null = existsSync(serveJs)
  ? null
  : 'the studio is not built (npm run build)'

export type Host = {
  port: number
  token: string
  proc: ChildProcess
  dirs: { cache: string; state: string; projects: string; models: string }
  /** What the host wrote on stderr. */
  stderr: () => string
  alive: () => boolean
  /** One command over a fresh connection. */
  call: (command: string, payload?: unknown, timeoutMs?: number) => ReturnType<typeof ask>
  stop: () => Promise<void>
}

export async function startHost(
  o: { dirs?: Partial<Host['dirs']>; env?: NodeJS.ProcessEnv } = {},
): Promise<Host> {
  const mk = (p: string) => mkdtempSync(join(tmpdir(), `dolly-rel-${p}-`))
  const dirs = {
    cache: o.dirs?.cache ?? mk('cache'),
    state: o.dirs?.state ?? mk('state'),
    projects: o.dirs?.projects ?? mk('projects'),
    models: o.dirs?.models ?? mk('models'),
  }
  const proc = spawn(process.execPath, [serveJs, '--port', '0', '--json'], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: {
      ...process.env,
      DOLLY_CACHE_DIR: dirs.cache,
      DOLLY_STATE_DIR: dirs.state,
      DOLLY_PROJECTS_DIR: dirs.projects,
      DOLLY_MODELS_DIR: dirs.models,
      ...o.env,
    },
  })
  let stderr = ''
  proc.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr = (stderr + d).slice(-20_000)))
  const line = await new Promise<string>((ok, fail) => {
    createInterface({ input: proc.stdout! }).once('line', ok)
    proc.once('exit', (code) => fail(new Error(`serve exited (${code}) first: ${stderr}`)))
  })
  const info = JSON.parse(line) as { port: number; token: string }
  let nextId = 1
  const host: Host = {
    ...info,
    proc,
    dirs,
    stderr: () => stderr,
    alive: () => proc.exitCode === null && proc.signalCode === null,
    call: async (command, payload = {}, timeoutMs = 20_000) => {
      const raw = await openRaw(info.port, info.token)
      try {
        return await ask(raw, nextId++, command, payload, timeoutMs)
      } finally {
        raw.socket.destroy()
      }
    },
    stop: () =>
      new Promise<void>((done) => {
        if (!host.alive()) return done()
        proc.once('exit', () => done())
        proc.kill('SIGTERM')
        setTimeout(() => proc.kill('SIGKILL'), 5000).unref()
      }),
  }
  return host
}

/** Waits until the engine says ready (it starts after the host prints its URL). */
export async function engineReady(host: Host, timeoutMs = 60_000): Promise<void> {
  const t0 = Date.now()
  for (;;) {
    const r = await host.call('engine.status')
    if (r.ok && (r.value as { state: string }).state === 'ready') return
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`the engine was not ready within ${timeoutMs} ms`)
    await new Promise((res) => setTimeout(res, 100))
  }
}

export function removeDirs(host: Host): void {
  for (const d of Object.values(host.dirs)) rmSync(d, { recursive: true, force: true })
}
