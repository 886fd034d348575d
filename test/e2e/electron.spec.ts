// The real desktop app through Playwright's Electron driver. Needs the Electron binary
// (downloaded by `npm install` on a machine with internet) and a display.
import { resolve } from 'node:path'
import { _electron as electron, expect, test } from '@playwright/test'
import { electronBinaryPath } from '../../scripts/lib/electron-binary.mjs'
import { root } from './helpers'

function electronBinary(): { path: string | null; reason: string | null } {
  const path = electronBinaryPath(root)
  if (path) return { path, reason: null }
  return {
    path: null,
    reason:
      'Electron binary not installed (ELECTRON_SKIP_BINARY_DOWNLOAD=1, or no internet at install time)',
  }
}

const bin = electronBinary()
const noDisplay =
  process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY
test.skip(bin.path === null, bin.reason ?? '')
test.skip(bin.path !== null && noDisplay, 'no display for the Electron window (run under xvfb-run)')

test('the desktop app opens with the engine ready and only window.dolly exposed', async () => {
  const app = await electron.launch({
    executablePath: bin.path!,
    args: [resolve(root, 'out/main/index.js'), ...(process.env.CI ? ['--no-sandbox'] : [])],
    cwd: root,
  })
  try {
    const page = await app.firstWindow()
    await expect(page.getByTestId('engine-state')).toHaveAttribute('data-state', 'ready', {
      timeout: 60_000,
    })
    await expect(page.getByTestId('engine-provider')).toHaveText(/CPU|CUDA/)
    // With nodeIntegration off, context isolation and the sandbox, the page sees only
    // window.dolly: no require, no process, no ipcRenderer.
    const globals = await page.evaluate(() => {
      const g = globalThis as Record<string, unknown>
      return {
        dolly: typeof g['dolly'],
        require: typeof g['require'],
        process: typeof g['process'],
        ipc: typeof g['ipcRenderer'],
      }
    })
    expect(globals).toEqual({
      dolly: 'object',
      require: 'undefined',
      process: 'undefined',
      ipc: 'undefined',
    })
    const info = await page.evaluate(async () => {
      const d = (
        globalThis as unknown as {
          dolly: { app: { info(): Promise<{ ok: boolean; value?: { host: string } }> } }
        }
      ).dolly
      return d.app.info()
    })
    expect(info).toMatchObject({ ok: true, value: { host: 'electron' } })
  } finally {
    await app.close()
  }
})
