/// <reference lib="dom" />
// Long takes in the studio (web host, demo model; 16-frame windows): prompt keyframes on the
// timeline, a clip past the window rendered as context windows, a seamless loop with its
// closure score, and 2x interpolated exports checked with ffprobe.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { expect, test, type Page } from '@playwright/test'
import {
  ffprobeStream,
  openStudio,
  type Served,
  serveEachTest,
  skipWithoutBrowser,
} from './helpers'

skipWithoutBrowser()

let served: Served
serveEachTest((s) => (served = s))

const open = (page: Page) => openStudio(page, served.url)

/** Clicks the timeline at a fraction of its width (the playhead moves there). */
/** Renders the shot as set and opens its job's export dialog. */
async function renderThenExportDialog(page: Page) {
  await page.getByTestId('generate').click()
  const job = page.getByTestId('job').first()
  await expect(job).toHaveAttribute('data-state', 'done', { timeout: 80_000 })
  await job.getByTestId('export-open').click()
  return page.getByTestId('export-dialog')
}

async function scrubTo(page: Page, fraction: number) {
  const box = (await page.getByTestId('timeline-track').boundingBox())!
  await page.mouse.click(box.x + box.width * fraction, box.y + 36)
}

test('prompt keyframes on the timeline: add, edit, drag, undo; a 48-frame take renders as 16-frame context windows', async ({
  page,
}) => {
  await open(page)
  await page.getByTestId('prompt').fill('a lighthouse at dawn')
  await page.getByTestId('frames').fill('48')
  // the demo's stand-in motion layers take any frame count in one call; a 16-frame window
  // (a real motion module's) makes this a long take: the windows, and what they cost
  await expect(page.getByTestId('context-summary')).toContainText('one window of 48 frames')
  await page.getByTestId('longtake').getByText('Context windows').click()
  await page.getByTestId('context-window-size').fill('16')
  await expect(page.getByTestId('context-summary')).toContainText(
    '4 windows of 16 frames, 4 shared',
  )
  await expect(page.getByTestId('context-window')).toHaveCount(4)

  // a prompt key at frame 24 holds the prompt in effect there, then gets its own text
  await scrubTo(page, 23 / 47)
  await expect(page.getByTestId('playhead-label')).toContainText('frame 24 / 48')
  await page.getByTestId('add-prompt-key').click()
  await expect(page.getByTestId('prompt-key')).toHaveCount(1)
  await expect(page.getByTestId('prompt-key-text')).toHaveValue('a lighthouse at dawn')
  await page.getByTestId('prompt-key-text').fill('a lighthouse in a storm at night')
  await expect(page.getByTestId('prompt-key')).toHaveText('a lighthouse in a storm at night')
  await expect(page.getByTestId('prompt-key')).toHaveAttribute('data-frame', '23')

  // a second key by its frame field; frame 1 is the shot's own prompt and is refused
  await scrubTo(page, 40 / 47)
  await page.getByTestId('add-prompt-key').click()
  await expect(page.getByTestId('prompt-key')).toHaveCount(2)
  await page.getByTestId('prompt-key-text').fill('the sea at sunrise')
  // the frame commits on Enter: typing "44" never visits frame 4
  await page.getByTestId('prompt-key-frame').fill('44')
  await expect(page.getByTestId('prompt-key').nth(1)).not.toHaveAttribute('data-frame', '43')
  await page.getByTestId('prompt-key-frame').press('Enter')
  await expect(page.getByTestId('prompt-key').nth(1)).toHaveAttribute('data-frame', '43')

  // drag the first key along the track, resting half-way (one drag is one undo step)
  const key = page.getByTestId('prompt-key').first()
  const track = (await page.getByTestId('timeline-track').boundingBox())!
  const dragKeyTo = async (frame: number, rest = false) => {
    const kb = (await key.boundingBox())!
    const y = kb.y + kb.height / 2
    await page.mouse.move(kb.x + kb.width / 2, y)
    await page.mouse.down()
    const to = track.x + (track.width * frame) / 47
    const from = kb.x + kb.width / 2
    await page.mouse.move((from + to) / 2, y, { steps: 3 })
    if (rest) await page.waitForTimeout(800)
    await page.mouse.move(to, y, { steps: 3 })
    await page.mouse.up()
  }
  await dragKeyTo(15, true)
  await expect(key).toHaveAttribute('data-frame', '15')
  await page.screenshot({ path: 'test-results/longtake-prompt-track.png' })
  await page.locator('body').click({ position: { x: 5, y: 5 } })
  await page.keyboard.press('Control+z')
  await expect(key).toHaveAttribute('data-frame', '23')

  // past the other key (frame 44): the drag carries on to where the pointer is, and the
  // playhead stays (the track's scrubbing never takes over the drag)
  const playhead = await page.getByTestId('playhead-label').textContent()
  await dragKeyTo(46)
  await expect(key).toHaveAttribute('data-frame', '46')
  await expect(page.getByTestId('playhead-label')).toHaveText(playhead!)
  await page.locator('body').click({ position: { x: 5, y: 5 } })
  await page.keyboard.press('Control+z')
  await expect(key).toHaveAttribute('data-frame', '23')

  // Delete removes the selected prompt key (it did nothing: the shortcut was the camera's)
  const cameraKeys = await page.getByTestId('camera-viewport').getAttribute('data-handles')
  await page.getByTestId('prompt-key').nth(1).click()
  await page.keyboard.press('Delete')
  await expect(page.getByTestId('prompt-key')).toHaveCount(1)
  expect(await page.getByTestId('camera-viewport').getAttribute('data-handles')).toBe(cameraKeys)
  await page.locator('body').click({ position: { x: 5, y: 5 } })
  await page.keyboard.press('Control+z')
  await expect(page.getByTestId('prompt-key')).toHaveCount(2)

  await page.getByTestId('generate').click()
  const job = page.getByTestId('job').first()
  await expect(job).toHaveAttribute('data-state', 'done', { timeout: 80_000 })
  await expect(job.getByTestId('job-longtake')).toContainText('4 windows of 16')
  await expect(job).toContainText('48 frames')
  // the job's record (main's cache) holds the request with the keys as authored (0-based)
  const rec = readdirSync(served.cacheDir)
    .map((d) => join(served.cacheDir, d, 'job.json'))
    .filter((f) => existsSync(f))
    .map((f) => JSON.parse(readFileSync(f, 'utf8')) as { request: { promptKeys?: unknown } })
  expect(rec).toHaveLength(1)
  expect(rec[0]!.request.promptKeys).toMatchObject([
    { frame: 23, prompt: 'a lighthouse in a storm at night' },
    { frame: 43, prompt: 'the sea at sunrise' },
  ])

  // fewer frames: the keys past the end are not drawn, the controls say they will be left out
  await page.getByTestId('frames').fill('16')
  await expect(page.getByTestId('prompt-key')).toHaveCount(0)
  await expect(page.getByTestId('prompt-keys-past')).toContainText(
    "2 prompt keys at frame 24, 44 lie past the clip's 16 frames and will be left out",
  )
  await page.getByTestId('prompt-keys-past-remove').click()
  await expect(page.getByTestId('prompt-keys-past')).toHaveCount(0)
  await page.getByTestId('frames').fill('48')
  await expect(page.getByTestId('prompt-key')).toHaveCount(0)
})

test('a loop render: cyclic windows, the closure score shown with the clip', async ({ page }) => {
  await open(page)
  await page.getByTestId('prompt').fill('waves rolling onto a beach')
  await page.getByTestId('preset-name').selectOption('orbit-left')
  await page.getByTestId('apply-preset').click()
  await page.getByTestId('frames').fill('24')
  await page.getByTestId('loop').check()
  // 24 frames fit one window; a loop still runs a second window across the seam
  await expect(page.getByTestId('context-summary')).toContainText('looping')
  await expect(page.getByTestId('context-summary')).toContainText('camera path closed')
  await page.getByTestId('generate').click()
  const job = page.getByTestId('job').first()
  await expect(job).toHaveAttribute('data-state', 'done', { timeout: 80_000 })
  await expect(job.getByTestId('job-loop-score')).toContainText(/loop \d+\.\d\d/)
  await page.screenshot({ path: 'test-results/longtake-loop.png' })

  // a 2x interpolated export: in-betweens by minterpolate, the last ones back into the first
  await job.getByTestId('export-open').click()
  const dialog = page.getByTestId('export-dialog')
  await dialog.getByLabel('Interpolation', { exact: true }).selectOption('2')
  await expect(dialog.getByTestId('export-interp-cost')).toContainText(
    '24 → 48 frames at 16 fps (3.00 s): 24 new frames, the last ones leading back into the first',
  )
  // the model slot refuses a folder without a model, and the export waits for a usable method
  await dialog.getByLabel('Interpolation method').selectOption('model')
  await expect(dialog.getByTestId('interp-model-status')).toContainText(
    'no frame-interpolation model folder added',
  )
  await dialog.getByTestId('interp-model-path').fill(served.cacheDir)
  await dialog.getByRole('button', { name: 'Use folder' }).click()
  await expect(dialog.getByTestId('interp-model-status')).toContainText('no model.onnx')
  await expect(dialog.getByTestId('export-confirm')).toBeDisabled()
  await dialog.getByLabel('Interpolation method').selectOption('minterpolate')
  await page.screenshot({ path: 'test-results/longtake-export-interpolate.png' })
  const download = page.waitForEvent('download')
  await dialog.getByTestId('export-confirm').click()
  const file = await (await download).path()
  expect(ffprobeStream(file)).toMatchObject({
    codec_name: 'h264',
    nb_read_frames: '48',
    r_frame_rate: '16/1',
  })
})

test("Export all with one looping shot promises and writes the loop's frame count", async ({
  page,
}) => {
  await open(page)
  await page.getByTestId('prompt').fill('waves rolling onto a beach')
  await page.getByTestId('frames').fill('24')
  await page.getByTestId('loop').check()
  await page.getByTestId('generate').click()
  const job = page.getByTestId('job').first()
  await expect(job).toHaveAttribute('data-state', 'done', { timeout: 80_000 })
  // the project's only shot is the loop: Export all is that clip, in-betweens wrapping round
  // (the dialog used to count it as a straight clip, 47 frames, and the file had 48)
  await page.getByTestId('export-all').click()
  const dialog = page.getByTestId('export-dialog')
  await dialog.getByLabel('Interpolation', { exact: true }).selectOption('2')
  await expect(dialog.getByTestId('export-interp-cost')).toContainText(
    '24 → 48 frames at 16 fps (3.00 s): 24 new frames, the last ones leading back into the first',
  )
  const download = page.waitForEvent('download')
  await dialog.getByTestId('export-confirm').click()
  const file = await (await download).path()
  expect(ffprobeStream(file)).toMatchObject({ nb_read_frames: '48', r_frame_rate: '16/1' })
})

test('an export under way can be cancelled: nothing is downloaded or left in the cache', async ({
  page,
}) => {
  await open(page)
  await page.getByTestId('prompt').fill('a lighthouse at dusk')
  await page.getByTestId('frames').fill('48')
  // 4x in-betweens at 4x the size: minutes of ffmpeg, long enough to change one's mind
  const dialog = await renderThenExportDialog(page)
  await dialog.getByLabel('Format').selectOption('webm')
  await dialog.getByLabel('Size').selectOption('4')
  await dialog.getByLabel('Interpolation', { exact: true }).selectOption('4')
  await dialog.getByTestId('export-confirm').click()
  const running = page.getByTestId('exports-running')
  await expect(running).toContainText('Exporting WEBM')
  await running.getByRole('button', { name: 'Cancel' }).click()
  await expect(page.getByTestId('notice')).toContainText('Export cancelled')
  await expect(running).toHaveCount(0)
  // the engine's ffmpeg stopped and its temp output went with it
  const jobDir = readdirSync(served.cacheDir).find((d) =>
    existsSync(join(served.cacheDir, d, 'job.json')),
  )!
  await expect
    .poll(() => readdirSync(join(served.cacheDir, jobDir)).filter((f) => /export|tmp/.test(f)))
    .toEqual([])
})

test('a 2x interpolated export of a straight clip: (n - 1) x 2 + 1 frames at twice the rate', async ({
  page,
}) => {
  await open(page)
  await page.getByTestId('prompt').fill('a lighthouse at dusk')
  const dialog = await renderThenExportDialog(page)
  await dialog.getByLabel('Format').selectOption('webm')
  await dialog.getByLabel('Interpolation', { exact: true }).selectOption('2')
  await expect(dialog.getByTestId('export-interp-cost')).toContainText('16 → 31 frames at 16 fps')
  const download = page.waitForEvent('download')
  await dialog.getByTestId('export-confirm').click()
  const file = await (await download).path()
  expect(ffprobeStream(file)).toMatchObject({
    codec_name: 'vp9',
    nb_read_frames: '31',
    r_frame_rate: '16/1',
  })
})
