import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import { expect, test, type Page } from '@playwright/test'

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

/**
 * Skips a spec's tests on a developer's machine without Debian's Chromium or a build, naming
 * what is missing; with CI set in the environment they run and fail, so a missing install step
 * shows.
 */
export function skipWithoutBrowser(): void {
  const missing = browserMissing()
  // skipped only off CI, with what is missing as the reason; under CI a missing browser fails
  test.skip(missing !== null && !process.env['CI'], missing ?? '')
}

/**
 * A fresh web host for each test of a spec (its own cache, state and projects folders), handed
 * to `set` before the test and stopped after it.
 */
export function serveEachTest(set: (served: Served) => void, env: NodeJS.ProcessEnv = {}): void {
  let served: Served | undefined
  test.beforeEach(async () => {
    served = await startServe(env)
    set(served)
  })
  test.afterEach(async () => {
    await served?.stop()
  })
}

/** Opens the studio at a web host's URL and waits for the engine and the demo model. */
export async function openStudio(page: Page, url: string): Promise<void> {
  await page.goto(url)
  await expect(page.getByTestId('engine-state')).toHaveAttribute('data-state', 'ready')
  await expect(page.getByTestId('model-picker')).toContainText('Demo (random weights)')
}

/** ffprobe's first video stream of a file (frames counted by decoding). */
export { ffprobeStream } from '../fixtures/ffprobe'

/** The camera keys' handles as the viewport draws them (its data-handles: id, screen x, y). */
export async function keyHandles(page: Page): Promise<{ id: string; x: number; y: number }[]> {
  const raw = await page.getByTestId('camera-viewport').getAttribute('data-handles')
  return JSON.parse(raw ?? '[]') as { id: string; x: number; y: number }[]
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

export type Seen = { previews: { step: number; image: string }[]; progress: string[] }

/**
 * Records, inside the page, every live preview (step and picture) and every progress line the
 * studio shows from now on. The demo models denoise at hundreds of steps a second, faster than
 * a poll from the test can follow; `seenSoFar` reads the record.
 */
export async function recordPreviews(page: Page): Promise<void> {
  await page.evaluate(() => {
    const seen: Seen = { previews: [], progress: [] }
    ;(window as unknown as { seen: Seen }).seen = seen
    const sample = () => {
      const c = document.querySelector<HTMLCanvasElement>('[data-testid=live-preview]')
      if (c) {
        const step = Number(c.dataset['step'])
        const image = c.toDataURL()
        const last = seen.previews.at(-1)
        if (step >= 0 && (!last || last.step !== step || last.image !== image))
          seen.previews.push({ step, image })
      }
      const p = document.querySelector('[data-testid=job-progress]')?.textContent ?? ''
      if (p && seen.progress.at(-1) !== p) seen.progress.push(p)
    }
    // the canvas is painted in an effect after its data-step changes: the interval catches it
    setInterval(sample, 5)
    new MutationObserver(sample).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
    })
  })
}

export function seenSoFar(page: Page): Promise<Seen> {
  return page.evaluate(() => (window as unknown as { seen: Seen }).seen)
}
