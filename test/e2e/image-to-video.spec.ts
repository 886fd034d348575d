/// <reference lib="dom" />
// Image-to-video in the window: pick the SVD model, drop an image (its bytes go to main, which
// keeps them by content), generate, and the clip has the model's size; a non-image is refused
// with its name, and the project keeps the image across save and open.
import { resolve } from 'node:path'
import { expect, test } from '@playwright/test'
import { root, type Served, serveEachTest, skipWithoutBrowser } from './helpers'

skipWithoutBrowser()

const svdTiny = resolve(root, '../shared/reference/models/svd-tiny')
const images = resolve(root, '../shared/fixtures/images')

let served: Served
serveEachTest((s) => (served = s), { DOLLY_MODEL_DIRS: svdTiny })

test('drop an image on the SVD model, generate, the clip follows; a non-image is refused', async ({
  page,
}) => {
  await page.goto(served.url)
  await expect(page.getByTestId('engine-state')).toHaveAttribute('data-state', 'ready')
  await page.getByTestId('model-picker').selectOption(svdTiny)
  const generate = page.getByTestId('generate')
  await expect(generate).toBeDisabled() // no image yet
  await expect(page.getByTestId('prompt')).toHaveCount(0)

  // a text file with an image's name is refused by main, with the file named
  await page.getByTestId('image-file').setInputFiles({
    name: 'holiday.png',
    mimeType: 'image/png',
    buffer: Buffer.from('not really a picture'),
  })
  await expect(page.getByTestId('image-error')).toContainText(
    'holiday.png: not an image this studio reads; expected PNG, JPEG, WebP, BMP or TIFF',
  )
  await expect(generate).toBeDisabled()

  await page.getByTestId('image-file').setInputFiles(resolve(images, 'chelsea.png'))
  await expect(page.getByTestId('image-name')).toContainText('chelsea.png')
  await expect(page.getByTestId('image-drop').locator('img')).toBeVisible()
  // the editor shows the image on a plane at the focus distance instead of the box
  await expect(page.getByTestId('camera-viewport')).toHaveAttribute('data-subject', 'image')
  await expect(page.getByTestId('image-error')).toHaveCount(0)
  // SVD ramps guidance per frame: the panel's field is the last frame's (max) scale
  await expect(page.getByText('Max guidance', { exact: true })).toBeVisible()
  await page.getByTestId('guidance').fill('2.5')
  await page.getByTestId('frames').fill('4')
  await page.locator('input[type=number]').nth(1).fill('4') // steps
  await expect(generate).toBeEnabled()
  await page.screenshot({ path: 'test-results/image-to-video.png' })
  await generate.click()
  const job = page.getByTestId('job').first()
  await expect(job).toHaveAttribute('data-state', 'done', { timeout: 90_000 })
  await expect(job).toContainText('4 frames · 32x32')

  // the project keeps the image: save, start a new one, open it again
  page.once('dialog', (d) => void d.accept('svd shot'))
  await page.getByTestId('project-save').click()
  await expect(page.getByTestId('project-name')).toContainText('svd shot')
  await page.getByRole('button', { name: 'New' }).click()
  await page.getByTestId('model-picker').selectOption(svdTiny)
  await expect(page.getByTestId('image-name')).toContainText('Drop an image')
  page.once('dialog', (d) => void d.accept()) // discard the unsaved model change
  await page.getByTestId('project-open').selectOption('svd shot')
  await expect(page.getByTestId('image-name')).toContainText('chelsea.png')
  await expect(generate).toBeEnabled()
  // main serves the stored image, so the reopened project shows it too
  await expect
    .poll(() =>
      page
        .getByTestId('image-drop')
        .locator('img')
        .evaluate((img: HTMLImageElement) => img.complete && img.naturalWidth),
    )
    .toBe(451)
  await expect(page.getByTestId('camera-viewport')).toHaveAttribute('data-subject', 'image')
})
