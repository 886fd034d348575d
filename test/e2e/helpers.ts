import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

export const root = resolve(fileURLToPath(new URL('../..', import.meta.url)))
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium'

/** Why the browser tests cannot run here, or null when they can. */
export function browserMissing(): string | null {
  if (!existsSync(chromiumPath))
    return `Chromium not found at ${chromiumPath} (apt-get install -y chromium)`
  if (!existsSync(resolve(root, 'out/main/serve.js')))
    return 'the studio is not built (npm run build)'
  return null
}

export type Served = {
  url: string
  port: number
  token: string
  proc: ChildProcess
  cacheDir: string
  stop(): Promise<void>
}

/** Starts the real web host (built output) on a free port, with its own render cache. */
export async function startServe(env: NodeJS.ProcessEnv = {}): Promise<Served> {
  const cacheDir = mkdtempSync(join(tmpdir(), 'dolly-e2e-cache-'))
  const proc = spawn(
    process.execPath,
    [resolve(root, 'out/main/serve.js'), '--port', '0', '--json'],
    {
      cwd: root,
      stdio: ['ignore', 'pipe', 'inherit'],
      // every host gets its own cache, state and projects folders unless the test shares them
      env: {
        ...process.env,
        DOLLY_CACHE_DIR: cacheDir,
        DOLLY_STATE_DIR: mkdtempSync(join(tmpdir(), 'dolly-e2e-state-')),
        DOLLY_PROJECTS_DIR: mkdtempSync(join(tmpdir(), 'dolly-e2e-projects-')),
        ...env,
      },
    },
  )
  const line = await new Promise<string>((ok, fail) => {
    const rl = createInterface({ input: proc.stdout! })
    rl.once('line', ok)
    proc.once('exit', (code) =>
      fail(new Error(`serve exited with ${code} before printing its URL`)),
    )
  })
  const info = JSON.parse(line) as { url: string; port: number; token: string }
  return {
    ...info,
    proc,
    cacheDir,
    stop: () =>
      new Promise<void>((done) => {
        if (proc.exitCode !== null) return done()
        proc.once('exit', () => done())
        proc.kill('SIGTERM')
      }),
  }
}
