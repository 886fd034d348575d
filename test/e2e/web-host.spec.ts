// The studio in Chromium through the web host, against the real engine process.
import { expect, test } from '@playwright/test'
import WebSocket from 'ws'
import { type Served, serveEachTest, skipWithoutBrowser } from './helpers'

skipWithoutBrowser()

let served: Served
serveEachTest((s) => (served = s))

test('the status bar shows the real engine ready on the CPU provider', async ({ page }) => {
  await page.goto(served.url)
  const state = page.getByTestId('engine-state')
  await expect(state).toHaveAttribute('data-state', 'ready')
  await expect(state).toContainText('Engine ready')
  await expect(page.getByTestId('engine-provider')).toHaveText('CPU')
  await expect(page.getByTestId('engine-vram')).toHaveText('no GPU')
  // The token left the address bar once the page kept it.
  expect(page.url()).not.toContain('token=')
  for (const region of ['Generate', 'Camera', 'Jobs', 'Timeline']) {
    await expect(page.getByRole('region', { name: region })).toBeVisible()
  }
  await page.screenshot({ path: 'test-results/shell.png' })
})

test('killing the engine process shows restarting, then ready with a new process', async ({
  page,
}) => {
  await page.goto(served.url)
  const state = page.getByTestId('engine-state')
  await expect(state).toHaveAttribute('data-state', 'ready')
  const pid = Number(await state.getAttribute('data-pid'))
  expect(pid).toBeGreaterThan(0)
  expect(pid).not.toBe(served.proc.pid)

  process.kill(pid, 'SIGKILL')

  await expect(state).toHaveAttribute('data-history', /ready → crashed → restarting → ready$/)
  await expect(state).toHaveAttribute('data-state', 'ready')
  const newPid = Number(await state.getAttribute('data-pid'))
  expect(newPid).toBeGreaterThan(0)
  expect(newPid).not.toBe(pid)
  expect(() => process.kill(pid, 0)).toThrow()
})

test('the restart button replaces the engine process', async ({ page }) => {
  await page.goto(served.url)
  const state = page.getByTestId('engine-state')
  await expect(state).toHaveAttribute('data-state', 'ready')
  const pid = await state.getAttribute('data-pid')
  await page.getByRole('button', { name: 'Restart engine' }).click()
  await expect(state).toHaveAttribute('data-history', /restarting → ready$/)
  await expect(state).not.toHaveAttribute('data-pid', pid!)
})

test('a page with a wrong or missing token is refused', async ({ page }) => {
  for (const url of [
    `http://127.0.0.1:${served.port}/?token=wrong`,
    `http://127.0.0.1:${served.port}/`,
  ]) {
    await page.goto(url)
    await expect(page.getByTestId('connection')).toContainText('no valid token')
    await expect(page.getByTestId('engine-state')).not.toHaveAttribute('data-state', 'ready')
  }
  // And the socket itself says 401 to a client that skips the page.
  const status = await new Promise<number>((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${served.port}/ws?token=wrong`)
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0))
    ws.on('open', () => resolve(101))
    ws.on('error', () => undefined)
  })
  expect(status).toBe(401)
})
