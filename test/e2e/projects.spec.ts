// Projects in the studio: save and reopen through the UI, and a crash (kill -9 of the host)
// mid-edit recovered from the autosave on the next start.
import { existsSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from '@playwright/test'
import { browserMissing, startServe } from './helpers'

const missing = browserMissing()
test.skip(missing !== null && !process.env.CI, missing ?? '')

test('a crash mid-edit is recovered from the autosave; Save and Open keep the project', async ({
  page,
}) => {
  const env = {
    DOLLY_STATE_DIR: mkdtempSync(join(tmpdir(), 'dolly-state-')),
    DOLLY_PROJECTS_DIR: mkdtempSync(join(tmpdir(), 'dolly-projects-')),
  }
  let served = await startServe(env)
  await page.goto(served.url)
  await expect(page.getByTestId('engine-state')).toHaveAttribute('data-state', 'ready')
  await page.getByTestId('prompt').fill('waves at the lighthouse, recovered')
  await page.getByTestId('preset-name').selectOption('zoom-in')
  await page.getByTestId('apply-preset').click()
  await expect(page.getByTestId('project-name')).toContainText('Untitled •')
  await page.waitForTimeout(3000) // autosave runs 2 s after the last edit
  served.proc.kill('SIGKILL')
  await new Promise((r) => served.proc.once('exit', r))

  served = await startServe(env)
  await page.goto(served.url)
  await expect(page.getByTestId('recovery')).toBeVisible()
  await page.getByTestId('recover').click()
  await expect(page.getByTestId('prompt')).toHaveValue('waves at the lighthouse, recovered')

  page.once('dialog', (d) => void d.accept('Lighthouse shot'))
  await page.getByTestId('project-save').click()
  await expect(page.getByTestId('project-name')).toHaveText('Lighthouse shot')
  expect(existsSync(join(env.DOLLY_PROJECTS_DIR, 'Lighthouse shot.dolly'))).toBe(true)

  await page.reload()
  await expect(page.getByTestId('engine-state')).toHaveAttribute('data-state', 'ready')
  await expect(page.getByTestId('recovery')).toHaveCount(0) // saving cleared the recovery file
  await page.getByTestId('prompt').fill('something else')
  page.once('dialog', (d) => void d.accept())
  await page.getByTestId('project-open').selectOption('Lighthouse shot')
  await expect(page.getByTestId('prompt')).toHaveValue('waves at the lighthouse, recovered')
  await expect(page.getByTestId('project-name')).toHaveText('Lighthouse shot')
  await served.stop()
})
