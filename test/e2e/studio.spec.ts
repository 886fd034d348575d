/// <reference lib="dom" />
// The studio in Chromium through the web host with the demo model: a creator's whole flow,
// a crash mid-render, and the camera editor's drag/undo/export.
import { execFileSync } from 'node:child_process'
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test, type Page } from '@playwright/test'
import {
  ffprobeStream,
  keyHandles,
  openStudio,
  recordPreviews,
  root,
  seenSoFar,
  type Served,
  serveEachTest,
  skipWithoutBrowser,
  startServe,
} from './helpers'

skipWithoutBrowser()

let served: Served
serveEachTest((s) => (served = s))

const open = (page: Page) => openStudio(page, served.url)

test('prompt, preset, motion, generate with live preview, play, scrub, export MP4', async ({
  page,
}) => {
  await open(page)
  await page.getByTestId('prompt').fill('a lighthouse at dusk')
  await page.getByTestId('preset-name').selectOption('orbit-left')
  await page.getByTestId('apply-preset').click()
  await page.getByTestId('motion-slider').fill('0.8')
  await expect(page.getByTestId('motion-meaning')).toContainText('camera travel x1.60')
  // enough steps to watch it denoise
  await page.locator('input[type=number]').nth(1).fill('120')
  await recordPreviews(page)
  await page.getByTestId('generate').click()

  const canvas = page.getByTestId('live-preview')
  await expect(canvas).toBeVisible()
  await page.screenshot({ path: 'test-results/studio-rendering.png' })
  await expect(page.getByTestId('job')).toHaveAttribute('data-state', 'done', { timeout: 60_000 })
  const seen = await seenSoFar(page)
  // the preview followed the denoising: steps went forward, and the picture changed with them
  const steps = seen.previews.map((p) => p.step)
  expect(new Set(steps).size).toBeGreaterThan(3)
  expect(steps).toEqual([...steps].sort((a, b) => a - b))
  expect(Math.max(...steps) - Math.min(...steps)).toBeGreaterThan(10)
  expect(new Set(seen.previews.map((p) => p.image)).size).toBeGreaterThan(3)
  expect(seen.progress.some((p) => /denoise \d+\/120 · [\d.]+ it\/s · ETA/.test(p))).toBe(true)
  // which memory plan auto chose, and why
  await expect(page.getByTestId('job-plan-reason')).toContainText(
    /memory plan (resident|offload|minimal): .*(free system memory|free VRAM)/,
  )
  const video = page.getByTestId('clip')
  await expect
    .poll(() => video.evaluate((v: HTMLVideoElement) => v.readyState))
    .toBeGreaterThanOrEqual(2)
  expect(await video.evaluate((v: HTMLVideoElement) => v.duration)).toBeCloseTo(2, 1) // 16 frames at 8 fps

  // scrub: the timeline moves the playhead, the clip seeks, the editor follows
  const track = page.getByTestId('timeline-track')
  const box = (await track.boundingBox())!
  await page.mouse.click(box.x + box.width * 0.75, box.y + box.height / 2)
  await expect(page.getByTestId('playhead-label')).toContainText('frame 12 / 16')
  await expect
    .poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime))
    .toBeCloseTo(11.5 / 8, 1)
  await page.keyboard.press('ArrowRight')
  await expect(page.getByTestId('playhead-label')).toContainText('frame 13 / 16')

  await page.screenshot({ path: 'test-results/studio-after-render.png' })
  const downloading = page.waitForEvent('download')
  await page.getByTestId('export-mp4').click()
  const dl = await downloading
  const file = await dl.path()
  expect(ffprobeStream(file)).toMatchObject({
    codec_name: 'h264',
    nb_read_frames: '16',
    width: 256,
    height: 256,
    r_frame_rate: '8/1',
  })

  // the export dialog: GIF at 2x, 10 fps, played once
  await page.getByTestId('export-open').click()
  const dialog = page.getByTestId('export-dialog')
  await dialog.getByLabel('Format').selectOption('gif')
  await dialog.getByLabel('Frame rate').fill('10')
  await dialog.getByLabel('Size').selectOption('2')
  await dialog.getByLabel('Loop forever').uncheck()
  await page.screenshot({ path: 'test-results/export-dialog.png' })
  const gifDownload = page.waitForEvent('download')
  await dialog.getByTestId('export-confirm').click()
  const gif = await (await gifDownload).path()
  expect(ffprobeStream(gif)).toMatchObject({
    codec_name: 'gif',
    nb_read_frames: '16',
    width: 512,
    height: 512,
    r_frame_rate: '10/1',
  })
  // played once: ffmpeg writes no NETSCAPE2.0 looping block for -loop -1
  expect(readFileSync(gif).includes('NETSCAPE2.0')).toBe(false)

  // PNG frames through the browser come as one ZIP with every frame
  await page.getByTestId('export-open').click()
  await page.getByTestId('export-dialog').getByLabel('Format').selectOption('png')
  const zipDownload = page.waitForEvent('download')
  await page.getByTestId('export-confirm').click()
  const zip = await (await zipDownload).path()
  const listing = execFileSync('unzip', ['-t', zip], { encoding: 'utf8' })
  expect(listing).toContain('No errors detected')
  expect(listing.match(/testing: frame_\d{4}\.png\s+OK/g)).toHaveLength(16)
})

test('killing the engine mid-render fails the job with the reason; retry succeeds', async ({
  page,
}) => {
  await open(page)
  await page.getByTestId('prompt').fill('a lighthouse at dusk')
  await page.locator('input[type=number]').nth(1).fill('400')
  const pid = Number(await page.getByTestId('engine-state').getAttribute('data-pid'))
  await page.getByTestId('generate').click()
  await expect(page.getByTestId('job-progress')).toContainText('denoise')
  process.kill(pid, 'SIGKILL')
  const job = page.getByTestId('job').first()
  await expect(job).toHaveAttribute('data-state', 'failed')
  await expect(page.getByTestId('job-error')).toContainText(
    /the engine stopped during the render: the engine process exited unexpectedly \(signal SIGKILL\)/,
  )
  await expect(page.getByTestId('engine-state')).toHaveAttribute('data-state', 'ready')
  // the project (prompt, settings) is as it was
  await expect(page.getByTestId('prompt')).toHaveValue('a lighthouse at dusk')
  await page.locator('input[type=number]').nth(1).fill('5')
  await expect(page.getByTestId('shot').first()).toHaveAttribute('data-state', 'failed')
  await page.getByTestId('job-retry').click()
  await expect(page.getByTestId('job').first()).toHaveAttribute('data-state', 'done', {
    timeout: 90_000,
  })
  // the shot follows its retried render
  await expect(page.getByTestId('shot').first()).toHaveAttribute('data-state', 'done')
})

test('camera editor: drag a keyframe, the MotionCtrl export follows; undo restores it byte for byte', async ({
  page,
}) => {
  await open(page)
  await page.getByTestId('preset-name').selectOption('orbit-left')
  await page.getByTestId('apply-preset').click()
  const exportJson = async () => {
    const d = page.waitForEvent('download')
    await page.getByTestId('export-motionctrl').click()
    return readFileSync(await (await d).path(), 'utf8')
  }
  const before = await exportJson()
  const viewport = page.getByTestId('camera-viewport')
  await expect.poll(async () => (await keyHandles(page)).length).toBeGreaterThan(1)
  const handles = await keyHandles(page)
  const box = (await viewport.boundingBox())!
  const h = handles[handles.length - 1]!
  await page.mouse.move(box.x + h.x, box.y + h.y)
  await page.mouse.down()
  for (let i = 1; i <= 10; i++) {
    await page.mouse.move(box.x + h.x + i * 6, box.y + h.y - i * 3)
    // a rest mid-drag: still one drag, one undo step
    if (i === 5) await page.waitForTimeout(800)
  }
  await page.mouse.up()
  const after = await exportJson()
  expect(after).not.toBe(before)
  const last = (s: string) => (JSON.parse(s) as number[][]).at(-1)!
  expect(last(after)).not.toEqual(last(before))
  await page.screenshot({ path: 'test-results/camera-editor.png' })
  await page.keyboard.press('Control+z')
  expect(await exportJson()).toBe(before)
})

test('camera editor: numeric fields edit the selected keyframe in one undo step; duplicate copies it to the playhead', async ({
  page,
}) => {
  await open(page)
  await page.getByTestId('preset-name').selectOption('pan-left')
  await page.getByTestId('apply-preset').click()
  const exportRows = async () => {
    const d = page.waitForEvent('download')
    await page.getByTestId('export-motionctrl').click()
    return readFileSync(await (await d).path(), 'utf8')
  }
  const viewport = page.getByTestId('camera-viewport')
  const handles = () => keyHandles(page)
  await expect.poll(async () => (await handles()).length).toBeGreaterThan(1)
  const keyCount = (await handles()).length
  const before = await exportRows()
  // select the first keyframe by clicking its handle
  const box = (await viewport.boundingBox())!
  const first = (await handles())[0]!
  await page.mouse.click(box.x + first.x, box.y + first.y)
  const fields = page.getByTestId('keyframe-fields')
  await expect(fields).toBeVisible()
  await expect(fields.getByLabel('X', { exact: true })).toHaveValue('0')
  // the frame as the timeline counts it (from 1), not the path's own 0-based timeline
  await expect(fields.getByLabel('Frame', { exact: true })).toHaveValue('1')
  // type a new height: each keystroke is an edit, merged into one undo step
  await fields.getByLabel('Y', { exact: true }).fill('')
  await fields.getByLabel('Y', { exact: true }).pressSequentially('0.75')
  const moved = JSON.parse(await exportRows()) as number[][]
  // OpenCV world-to-camera ty = -(camera y) in the OpenCV frame: y down, so ty = +0.75 at frame 0
  expect(moved[0]![7]).toBeCloseTo(0.75, 9)
  await fields.getByLabel('Yaw').fill('30')
  const yawed = JSON.parse(await exportRows()) as number[][]
  // yaw 30 deg left about +y: the world-to-camera R[0][0] is cos(30 deg)
  expect(yawed[0]![0]).toBeCloseTo(Math.cos(Math.PI / 6), 6)
  await page.screenshot({ path: 'test-results/camera-keyframe-fields.png' })
  // out of the field (Ctrl+Z inside a field is the field's own text undo)
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur())
  await page.keyboard.press('Control+z')
  await page.keyboard.press('Control+z')
  expect(await exportRows()).toBe(before)

  // duplicate the first keyframe at frame 8: the path holds there
  await page.mouse.click(box.x + first.x, box.y + first.y)
  await expect(fields).toBeVisible()
  for (let i = 0; i < 8; i++) await page.keyboard.press('ArrowRight')
  await page.getByTestId('duplicate-key').click()
  await expect.poll(async () => (await handles()).length).toBe(keyCount + 1)
  const dup = JSON.parse(await exportRows()) as number[][]
  dup[8]!.forEach((v, i) => expect(v).toBeCloseTo(dup[0]![i]!, 6))
  await page.keyboard.press('Control+z')
  await expect.poll(async () => (await handles()).length).toBe(keyCount)
  expect(await exportRows()).toBe(before)

  // an edit made with a drop-down keeps the focus there; Ctrl+Z is still the studio's undo
  await page.mouse.click(box.x + first.x, box.y + first.y)
  const easing = fields.getByLabel('Easing')
  await easing.selectOption('hold')
  expect(await exportRows()).not.toBe(before)
  await easing.focus()
  await page.keyboard.press('Control+z')
  expect(await exportRows()).toBe(before)
})

test('camera editor: a click on empty space deselects the keyframe; a drag there orbits and keeps it', async ({
  page,
}) => {
  await open(page)
  await page.getByTestId('preset-name').selectOption('orbit-left')
  await page.getByTestId('apply-preset').click()
  const viewport = page.getByTestId('camera-viewport')
  const handles = () => keyHandles(page)
  await expect.poll(async () => (await handles()).length).toBeGreaterThan(1)
  const box = (await viewport.boundingBox())!
  const first = (await handles())[0]!
  const fields = page.getByTestId('keyframe-fields')
  // empty space: the point of the viewport farthest from every handle
  const empty = async () => {
    const hs = await handles()
    let best = { x: 0, y: 0, d: -1 }
    for (let fx = 0.1; fx < 0.95; fx += 0.1)
      for (let fy = 0.1; fy < 0.95; fy += 0.1) {
        const x = box.width * fx
        const y = box.height * fy
        const d = Math.min(...hs.map((h) => Math.hypot(h.x - x, h.y - y)))
        if (d > best.d) best = { x, y, d }
      }
    return { x: box.x + best.x, y: box.y + best.y }
  }
  await page.mouse.click(box.x + first.x, box.y + first.y)
  await expect(fields).toBeVisible()
  // a drag on empty space orbits the view: the keyframe stays selected
  const e = await empty()
  await page.mouse.move(e.x, e.y)
  await page.mouse.down()
  for (let i = 1; i <= 8; i++) await page.mouse.move(e.x + i * 8, e.y + i * 2)
  await page.mouse.up()
  await expect(fields).toBeVisible()
  expect((await handles())[0]).not.toEqual(first) // the view did turn
  // a click there (no drag, no keyframe) clears the selection
  const e2 = await empty()
  await page.mouse.click(e2.x, e2.y)
  await expect(fields).toHaveCount(0)
  // and a click on a handle selects again
  const again = (await handles())[0]!
  await page.mouse.click(box.x + again.x, box.y + again.y)
  await expect(fields).toBeVisible()
})

test('shots: render two, export all as one clip; split at the playhead, undo, reorder', async ({
  page,
}) => {
  await open(page)
  const shots = page.getByTestId('shot')
  const framesOf = async () =>
    Promise.all((await shots.all()).map(async (s) => Number(await s.getAttribute('data-frames'))))
  await expect(shots).toHaveCount(1)
  // text-to-video without a prompt: Generate says why it waits
  await expect(page.getByTestId('generate')).toBeDisabled()
  await expect(page.getByTestId('generate-blocked')).toHaveText('Type a prompt to generate')
  await page.getByTestId('prompt').fill('a lighthouse at dusk')
  await expect(page.getByTestId('generate-blocked')).toHaveCount(0)
  await page.locator('input[type=number]').nth(1).fill('3') // steps
  await page.getByTestId('generate').click()
  await expect(shots.nth(0)).toHaveAttribute('data-state', 'done', { timeout: 60_000 })
  await expect(page.getByTestId('export-all')).toBeEnabled()
  // undo takes back the next seed drawn after the render (an edit), never the render the
  // shot holds; redo brings the next seed back
  const nextSeed = await page.getByTestId('seed').inputValue()
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur())
  await page.keyboard.press('Control+z')
  await expect(page.getByTestId('seed')).not.toHaveValue(nextSeed)
  await expect(shots.nth(0)).toHaveAttribute('data-state', 'done')
  await page.keyboard.press('Control+Shift+z')
  await expect(page.getByTestId('seed')).toHaveValue(nextSeed)

  // a second shot continues the camera; it is not rendered yet, so export all waits for it
  await page.getByTestId('shot-add').click()
  await expect(shots).toHaveCount(2)
  await expect(shots.nth(1)).toHaveAttribute('aria-pressed', 'true')
  await expect(shots.nth(1)).toHaveAttribute('data-state', 'none')
  await expect(page.getByTestId('export-all')).toBeDisabled()
  await page.getByTestId('frames').fill('8')
  await page.getByTestId('generate').click()
  await expect(shots.nth(1)).toHaveAttribute('data-state', 'done', { timeout: 60_000 })
  expect(await framesOf()).toEqual([16, 8])
  // picking the first shot's render in the jobs panel goes to that shot (its camera and
  // timeline under its frames), not just its clip under the second shot's timeline
  const jobs = page.getByTestId('job')
  await jobs.nth(1).click() // newest first
  await expect(shots.nth(0)).toHaveAttribute('aria-pressed', 'true')
  await expect(jobs.nth(1)).toHaveClass(/selected/)
  await expect(page.getByTestId('frames')).toHaveValue('16')
  await jobs.nth(0).click()
  await expect(shots.nth(1)).toHaveAttribute('aria-pressed', 'true')
  await expect(jobs.nth(0)).toHaveClass(/selected/)

  await page.getByTestId('export-all').click()
  await expect(page.getByTestId('export-dialog')).toContainText('2 shots, 24 frames')
  const downloading = page.waitForEvent('download')
  await page.getByTestId('export-confirm').click()
  const file = await (await downloading).path()
  expect(ffprobeStream(file)).toMatchObject({ nb_read_frames: '24', width: 256 })

  // split shot 1 before frame 6: 5 + 11 frames, neither rendered any more
  await shots.nth(0).click()
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur())
  for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight')
  await page.getByTestId('shot-split').click()
  expect(await framesOf()).toEqual([5, 11, 8])
  await expect(shots.nth(0)).toHaveAttribute('data-state', 'none')
  await expect(shots.nth(2)).toHaveAttribute('data-state', 'done')
  await page.keyboard.press('Control+z')
  expect(await framesOf()).toEqual([16, 8])
  await expect(shots.nth(0)).toHaveAttribute('data-state', 'done')

  // move the first shot after the second
  await shots.nth(0).click()
  await page.getByTestId('shot-right').click()
  expect(await framesOf()).toEqual([8, 16])
  await expect(shots.nth(1)).toHaveAttribute('aria-pressed', 'true')
  await page.screenshot({ path: 'test-results/studio-shots.png' })

  // zoom the timeline: the track gets 4x wider and follows the playhead
  await page.getByTestId('timeline-zoom').fill('4')
  const track = page.getByTestId('timeline-track')
  const scroller = track.locator('..')
  const [tw, sw] = [(await track.boundingBox())!.width, (await scroller.boundingBox())!.width]
  expect(tw / sw).toBeCloseTo(4, 1)
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur())
  for (let i = 0; i < 15; i++) await page.keyboard.press('ArrowRight')
  await expect(page.getByTestId('playhead-label')).toContainText('frame 16 / 16')
  expect(await scroller.evaluate((el) => el.scrollLeft)).toBeGreaterThan(sw)
})

test('keys: Space after a click plays (it does not press the button again); an open dialog keeps every key', async ({
  page,
}) => {
  await open(page)
  const shots = page.getByTestId('shot')
  await page.getByTestId('shot-add').click()
  await page.getByTestId('shot-add').click()
  await expect(shots).toHaveCount(3)
  await page.getByTestId('shot-delete').click()
  await expect(shots).toHaveCount(2)
  await page.keyboard.press(' ')
  await expect(page.getByTestId('play')).toHaveText('Pause')
  await expect(shots).toHaveCount(2) // Space did not delete another shot
  await page.keyboard.press(' ')
  await expect(page.getByTestId('play')).toHaveText('Play')
  // a button the keyboard went to takes Space as its press...
  await page.getByTestId('shot-add').click()
  await expect(shots).toHaveCount(3)
  await page.keyboard.press('Tab')
  await page.keyboard.press('Shift+Tab')
  await expect(page.getByTestId('shot-add')).toBeFocused()
  await page.keyboard.press(' ')
  await expect(shots).toHaveCount(4)
  // ... until the mouse clicks it: then Space plays again
  await page.getByTestId('shot-add').click()
  await expect(shots).toHaveCount(5)
  await page.keyboard.press(' ')
  await expect(page.getByTestId('play')).toHaveText('Pause')
  await expect(shots).toHaveCount(5)
  await page.keyboard.press(' ')
  await expect(page.getByTestId('play')).toHaveText('Play')

  // a dialog open, a click on its text: Ctrl+Enter, Space, Backspace stay out of the studio
  await page.getByTestId('prompt').fill('a lighthouse at dusk')
  await page.getByTestId('open-models').click()
  const dialog = page.getByRole('dialog')
  await dialog.locator('.modal-title span').click()
  for (const key of ['Control+Enter', ' ', 'Backspace', 'Control+z']) await page.keyboard.press(key)
  await page.waitForTimeout(500)
  await expect(page.getByTestId('job')).toHaveCount(0)
  await expect(page.getByTestId('play')).toHaveText('Play')
  await expect(page.getByTestId('prompt')).toHaveValue('a lighthouse at dusk')
  await expect(shots).toHaveCount(5)
  await page.keyboard.press('Escape')
  await expect(dialog).toHaveCount(0)
  // the keyboard took the focus back to the Models button: there Space presses it, as anywhere
  await expect(page.getByTestId('open-models')).toBeFocused()
  await page.keyboard.press(' ')
  await expect(dialog).toBeVisible()
  await expect(page.getByTestId('play')).toHaveText('Play')
})

test('a shot edited since its render says so; undoing the edit takes it back', async ({ page }) => {
  await open(page)
  const shot = page.getByTestId('shot').first()
  await page.getByTestId('prompt').fill('a lighthouse at dusk')
  await page.locator('input[type=number]').nth(1).fill('3') // steps
  await page.getByTestId('generate').click()
  await expect(shot).toHaveAttribute('data-state', 'done', { timeout: 60_000 })
  await expect(shot).toHaveAttribute('data-changed', 'false')
  await expect(shot).not.toContainText('edited since')
  // (the seed box now shows the next seed: not an edit of what was rendered)
  await page.getByTestId('frames').fill('12')
  await page.getByTestId('frames').press('Enter')
  await expect(shot).toHaveAttribute('data-changed', 'true')
  // Enter committed the field; it did not also start a render (the form's implicit submit did)
  await expect(page.getByTestId('job')).toHaveCount(1)
  await expect(shot).toHaveAttribute('data-state', 'done')
  await expect(shot).toContainText('rendered · edited since')
  await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur())
  await page.keyboard.press('Control+z')
  await expect(page.getByTestId('frames')).toHaveValue('16')
  await expect(shot).toHaveAttribute('data-changed', 'false')
})

test('the models dialog says one refusal after another and closes, the studio still there', async ({
  page,
}) => {
  await open(page)
  await page.getByTestId('prompt').fill('kept through the dialog')
  await page.getByTestId('open-models').click()
  const message = page.getByTestId('model-message')
  await page.getByTestId('model-path').fill('relative/path')
  await page.getByTestId('model-path').press('Enter')
  await expect(message).toContainText('"relative/path": give the folder\'s full path')
  // a second message (its effect's cleanup once threw here and unmounted the whole page)
  await page.getByTestId('model-path').fill('/no/such/dolly/folder')
  await page.getByTestId('model-path').press('Enter')
  await expect(message).toContainText('/no/such/dolly/folder: no such folder')
  await page.getByRole('dialog').getByRole('button', { name: 'Close' }).click()
  await expect(page.getByRole('dialog')).toHaveCount(0)
  await expect(page.getByTestId('page-error')).toHaveCount(0)
  await expect(page.getByTestId('prompt')).toHaveValue('kept through the dialog')
})

test('the models dialog says a folder already listed was not added, and why Default or Remove failed', async ({
  page,
  context,
}) => {
  const state = mkdtempSync(join(tmpdir(), 'dolly-e2e-state-'))
  const dir = mkdtempSync(join(tmpdir(), 'dolly-e2e-models-'))
  const folder = join(dir, 'my-demo')
  symlinkSync(join(root, 'resources', 'demo-model'), folder)
  await served.stop()
  served = await startServe({ DOLLY_STATE_DIR: state })
  await open(page)
  await page.getByTestId('open-models').click()
  const message = page.getByTestId('model-message')
  const row = page.getByTestId('model-row').filter({ has: page.locator(`td[title*="my-demo"]`) })
  const add = async () => {
    await page.getByTestId('model-path').fill(folder)
    await page.getByTestId('model-path').press('Enter')
  }
  await add()
  await expect(message).toContainText('Added Demo (random weights)')
  await expect(row).toHaveCount(1)
  // the same folder again: nothing is added, and the dialog says so
  await add()
  await expect(message).toContainText('already in the list')
  await expect(message).not.toContainText('Added')
  await expect(row).toHaveCount(1)

  // another tab removes it while this dialog still lists it: Default says why it failed
  const other = await context.newPage()
  await other.goto(served.url)
  await other.getByTestId('open-models').click()
  await other
    .getByTestId('model-row')
    .filter({ has: other.locator(`td[title*="my-demo"]`) })
    .getByRole('button', { name: 'Remove' })
    .click()
  await expect(
    other.getByTestId('model-row').filter({ has: other.locator(`td[title*="my-demo"]`) }),
  ).toHaveCount(0)
  await other.close()
  await row.getByRole('button', { name: 'Default' }).click()
  await expect(message).toContainText('no model')
  await expect(row).toHaveCount(0)

  // a Remove whose list cannot be written says why
  await add()
  await expect(row).toHaveCount(1)
  rmSync(join(state, 'models.json'))
  mkdirSync(join(state, 'models.json'))
  await row.getByRole('button', { name: 'Remove' }).click()
  await expect(message).toContainText('models.json')
  await expect(row).toHaveCount(1) // still listed, as it still is on disk
})

test("the catalog says an export's refusal in the entry's own row", async ({ page }) => {
  // a Python that passes the exporter's import probe (the export itself is refused before it
  // would run: MotionCtrl-SVD's checkpoint is not in this machine's Hugging Face cache)
  const dir = mkdtempSync(join(tmpdir(), 'dolly-e2e-py-'))
  const python = join(dir, 'python')
  writeFileSync(python, `#!/bin/sh\necho '{"version": "3.11.2", "missing": []}'\n`)
  chmodSync(python, 0o755)
  await served.stop()
  served = await startServe({
    DOLLY_EXPORT_PYTHON: python,
    HF_HOME: join(dir, 'hf'),
    DOLLY_MODELS_DIR: join(dir, 'models'),
  })
  await open(page)
  await page.getByTestId('open-models').click()
  const row = page.getByTestId('catalog-row').filter({ hasText: 'MotionCtrl for SVD' })
  await row.getByRole('button', { name: 'Export here' }).click()
  await expect(row.getByTestId('export-refused')).toContainText('motionctrl_svd.ckpt')
  await expect(row.getByTestId('export-refused')).not.toContainText('models.export:')
  // only that row says it
  await expect(page.getByTestId('export-refused')).toHaveCount(1)
})
