/// <reference lib="dom" />
// Wan-Fun Control-Camera in the studio: a tiny model folder with the exports' signatures (written
// in TypeScript, test/fixtures/model-folders.ts) is listed; pick it, give it an image, draw a path,
// see the model's lens in the camera editor, render with a live preview, get the clip.
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { expect, test } from '@playwright/test'
import { writeWanFolder } from '../fixtures/model-folders'
import {
  recordPreviews,
  root,
  seenSoFar,
  type Served,
  skipWithoutBrowser,
  startServe,
} from './helpers'

skipWithoutBrowser()

const t5 = resolve(root, '../shared/fixtures/tokenizers/t5')
const images = resolve(root, '../shared/fixtures/images')

let served: Served
let wanDir: string
test.beforeEach(async () => {
  wanDir = writeWanFolder(join(mkdtempSync(join(tmpdir(), 'dolly-e2e-wan-')), 'wan-fun-camera'), {
    kind: 'camera',
    tokenizerFrom: t5,
    dolly: { label: 'Wan-Fun camera (tiny)' },
  })
  served = await startServe({ DOLLY_MODEL_DIRS: wanDir })
})
test.afterEach(async () => {
  await served.stop()
})

test('pick the Wan-Fun camera model, see its lens, draw a path, render with a live preview, play the clip', async ({
  page,
}) => {
  await page.goto(served.url)
  await expect(page.getByTestId('engine-state')).toHaveAttribute('data-state', 'ready')
  const picker = page.getByTestId('model-picker')
  await expect(picker).toContainText('Wan-Fun camera (tiny)')
  await picker.selectOption(wanDir)
  // the model's defaults arrive with it: 9 frames (4k+1), Wan's negative prompt when none was written
  await expect(page.getByTestId('frames')).toHaveValue('9')

  // the camera editor shows the lens the model reads the path through, at the clip's aspect
  const lens = page.getByTestId('camera-lens')
  await expect(lens).toContainText(
    'Wan-Fun camera (tiny) reads the path as Plücker rays through a 55.7° lens',
  )
  await expect(lens).toContainText('at 32×32')
  await expect(page.getByTestId('camera-viewport')).toHaveAttribute('data-aspect', '1.000')

  // draw a path: a preset, then the keyframes take the model's field of view in one edit
  await page.getByTestId('preset-name').selectOption('orbit-left')
  await page.getByTestId('apply-preset').click()
  const useFov = page.getByTestId('use-model-fov')
  if (await useFov.isVisible()) await useFov.click()
  await expect(page.getByTestId('use-model-fov')).toHaveCount(0)
  await expect(lens).not.toContainText("This path's keyframes use")
  // on a Plücker camera model the motion slider is the camera's travel
  await page.getByTestId('motion-slider').fill('0.75')
  await expect(page.getByTestId('motion-meaning')).toContainText('camera travel x1.50')

  await page.getByTestId('prompt').fill('a cat on a sofa, the camera circles')
  await page.getByTestId('image-file').setInputFiles(resolve(images, 'chelsea.png'))
  await expect(page.getByTestId('image-name')).toContainText('chelsea.png')
  await page.locator('input[type=number]').nth(1).fill('60') // steps: enough to watch it denoise
  const generate = page.getByTestId('generate')
  await expect(generate).toBeEnabled()
  await page.screenshot({ path: 'test-results/wan-camera-before-render.png' })
  await recordPreviews(page)
  await generate.click()

  // the engine loads six sessions and encodes the image first: on a loaded 2-core machine
  // that alone has taken over 20 s, so the job gets its own patience
  const job = page.getByTestId('job').first()
  await expect(job).toHaveAttribute('data-state', 'done', { timeout: 120_000 })
  const steps = (await seenSoFar(page)).previews.map((p) => p.step)
  expect(Math.max(...steps)).toBeGreaterThan(2)
  expect(steps).toEqual([...steps].sort((a, b) => a - b))
  await expect(job).toContainText('9 frames · 32x32')
  const video = page.getByTestId('clip')
  await expect
    .poll(() => video.evaluate((v: HTMLVideoElement) => v.readyState))
    .toBeGreaterThanOrEqual(2)
  expect(await video.evaluate((v: HTMLVideoElement) => v.duration)).toBeCloseTo(9 / 16, 1)
  await page.screenshot({ path: 'test-results/wan-camera-after-render.png' })
})

test("the RealEstate10K export carries the intrinsics of the size chosen, not the model's default", async ({
  page,
}) => {
  await page.goto(served.url)
  await expect(page.getByTestId('engine-state')).toHaveAttribute('data-state', 'ready')
  await page.getByTestId('model-picker').selectOption(wanDir)
  await page.getByTestId('preset-name').selectOption('pan-left')
  await page.getByTestId('apply-preset').click()
  // a size other than the model's own 32×32: a wider one
  const size = page.getByTestId('size')
  const wide = await size
    .locator('option')
    .evaluateAll((os) =>
      (os as HTMLOptionElement[])
        .map((o) => o.value)
        .find((v) => /^\d+x\d+$/.test(v) && Number(v.split('x')[0]) > Number(v.split('x')[1])),
    )
  expect(wide).toBeDefined()
  await size.selectOption(wide!)
  const [w, h] = wide!.split('x').map(Number)
  const downloading = page.waitForEvent('download')
  await page.getByRole('button', { name: 'RE10K txt' }).click()
  const text = readFileSync((await (await downloading).path())!, 'utf8')
  const row = text.trim().split('\n')[1]!.split(' ').map(Number)
  // normalised intrinsics: fx = f / width, fy = f / height, so fx / fy is the height over the width
  expect(row[1]! / row[2]!).toBeCloseTo(h! / w!, 6)
})
