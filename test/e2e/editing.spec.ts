/// <reference lib="dom" />
// A creator's edits against what the studio shows: the clip on show follows the playhead from
// the moment it loads.
import { readFileSync } from 'node:fs'
import { expect, test, type Page } from '@playwright/test'
import { openStudio, type Served, serveEachTest, skipWithoutBrowser } from './helpers'

skipWithoutBrowser()

let served: Served
serveEachTest((s) => (served = s))

const open = (page: Page) => openStudio(page, served.url)

/** Clicks the timeline at `x` (0..1 of its width). */
/** The studio with a 48-frame take of "a calm sea", ready for prompt keys. */
async function openCalmSea48(page: Page) {
  await open(page)
  await page.getByTestId('prompt').fill('a calm sea')
  await page.getByTestId('frames').fill('48')
  await page.getByTestId('frames').press('Enter')
}

async function scrub(page: Page, x: number) {
  const box = (await page.getByTestId('timeline-track').boundingBox())!
  // inside the track at both ends (its last pixel column is past the right edge)
  await page.mouse.click(box.x + box.width * Math.min(0.998, Math.max(0.002, x)), box.y + 5)
}

test('a clip that loads (a render finishing, another shot picked) shows the playhead’s frame', async ({
  page,
}) => {
  await open(page)
  await page.getByTestId('prompt').fill('a lighthouse at dusk')
  await page.locator('input[aria-label=Steps]').fill('4')
  await scrub(page, 0.75)
  await expect(page.getByTestId('playhead-label')).toContainText('frame 12 / 16')
  await page.getByTestId('generate').click()
  await expect(page.getByTestId('job').first()).toHaveAttribute('data-state', 'done', {
    timeout: 60_000,
  })
  const video = page.getByTestId('clip')
  // frame 12 of 16 at 8 fps: its middle is at 11.5 / 8 s
  await expect
    .poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime))
    .toBeCloseTo(11.5 / 8, 1)

  // a second shot, then back to the first: its clip loads again, at the playhead
  await page.getByTestId('shot-add').click()
  await expect(page.getByTestId('clip')).toHaveCount(0)
  await page.getByTestId('shot').first().click()
  await expect(page.getByTestId('playhead-label')).toContainText('frame 12 / 16')
  await expect
    .poll(() => video.evaluate((v: HTMLVideoElement) => v.currentTime))
    .toBeCloseTo(11.5 / 8, 1)
})

test('a pose file imported can be picked again (after an undo, say): the picker lets go of it', async ({
  page,
}) => {
  await open(page)
  await page.getByTestId('preset-name').selectOption('orbit-left')
  await page.getByTestId('apply-preset').click()
  const downloading = page.waitForEvent('download')
  await page.getByTestId('export-motionctrl').click()
  const poses = await (await downloading).path()

  // a static camera, then the orbit back from its file
  await page.getByTestId('preset-name').selectOption('static')
  await page.getByTestId('apply-preset').click()
  const picker = page.locator('input[type=file][accept=".json,.txt"]')
  await picker.setInputFiles({
    name: 'orbit.json',
    mimeType: 'application/json',
    buffer: readFileSync(poses),
  })
  await expect(page.getByTestId('notice')).toContainText('Imported orbit.json')
  // a browser fires no change for the file its input already holds: the input must let go of it
  await expect(picker).toHaveValue('')
})

test('a frame refused (another key holds it) shows the key’s own frame again, not the refused one', async ({
  page,
}) => {
  await openCalmSea48(page)
  // two prompt keys, at frames 17 and 33
  await scrub(page, 16 / 47)
  await page.getByTestId('add-prompt-key').click()
  await scrub(page, 32 / 47)
  await page.getByTestId('add-prompt-key').click()
  const field = page.getByTestId('prompt-key-frame')
  await expect(field).toHaveValue('33')
  await field.fill('17')
  await field.press('Enter')
  await expect(page.getByTestId('notice')).toContainText(
    'Frame 17: a prompt key needs a free frame',
  )
  await expect(page.getByTestId('prompt-key')).toHaveCount(2)
  await expect(page.locator('[data-testid=prompt-key][data-frame="32"]')).toHaveCount(1)
  await expect(field).toHaveValue('33')

  // the camera keyframe's Frame field: the key stays at frame 9, and its field says so
  await page.getByTestId('frames').fill('16')
  await page.getByTestId('frames').press('Enter')
  await page.getByTestId('preset-name').selectOption('orbit-left')
  await page.getByTestId('apply-preset').click()
  await scrub(page, 8 / 15)
  await page.getByRole('button', { name: '+ Key' }).click()
  const frame = page.getByTestId('keyframe-fields').getByLabel('Frame')
  await expect(frame).toHaveValue('9')
  await frame.fill('1') // the preset's first key
  await frame.press('Enter')
  await expect(page.getByTestId('notice')).toContainText('Another keyframe holds that frame')
  await expect(frame).toHaveValue('9')
})

test('Delete on the path’s only keyframe says why it stays, and keeps it selected', async ({
  page,
}) => {
  await open(page)
  const keys = page.locator('.keys .key')
  const fields = page.getByTestId('keyframe-fields')
  // select each keyframe in turn (+ Key on a key's frame selects it) and delete it, down to one
  while ((await keys.count()) > 1) {
    const title = (await keys.first().getAttribute('title'))!
    const at = Number(/frame (\d+)/.exec(title)![1])
    await scrub(page, (at - 1) / 15)
    await page.getByRole('button', { name: '+ Key' }).click()
    await expect(fields).toBeVisible()
    const before = await keys.count()
    await page.keyboard.press('Delete')
    await expect(keys).toHaveCount(before - 1)
  }
  const title = (await keys.first().getAttribute('title'))!
  await scrub(page, (Number(/frame (\d+)/.exec(title)![1]) - 1) / 15)
  await page.getByRole('button', { name: '+ Key' }).click()
  await expect(fields).toBeVisible()
  await expect(keys).toHaveCount(1)
  await page.keyboard.press('Delete')
  await expect(page.getByTestId('notice')).toContainText('needs at least one keyframe')
  await expect(keys).toHaveCount(1)
  await expect(fields).toBeVisible()
})

test('Export all says which shots were edited since their render (it joins the renders shown)', async ({
  page,
}) => {
  await open(page)
  const shots = page.getByTestId('shot')
  await page.getByTestId('prompt').fill('a lighthouse at dusk')
  await page.locator('input[aria-label=Steps]').fill('3')
  await page.getByTestId('generate').click()
  await expect(shots.nth(0)).toHaveAttribute('data-state', 'done', { timeout: 60_000 })
  await page.getByTestId('shot-add').click()
  await page.getByTestId('generate').click()
  await expect(shots.nth(1)).toHaveAttribute('data-state', 'done', { timeout: 60_000 })
  await page.getByTestId('export-all').click()
  await expect(page.getByTestId('export-dialog')).not.toContainText('edited since')
  await page.keyboard.press('Escape')

  // the second shot's prompt changes after its render: the export still has the old render
  await page.getByTestId('prompt').fill('a lighthouse in a storm')
  await expect(shots.nth(1)).toHaveAttribute('data-changed', 'true')
  await page.getByTestId('export-all').click()
  await expect(page.getByTestId('export-dialog')).toContainText(
    'Shot 2 was edited since its render',
  )
})

test('a prompt key added where one already is selects it and adds no undo step (one Ctrl+Z removes the key)', async ({
  page,
}) => {
  await openCalmSea48(page)
  await scrub(page, 16 / 47)
  await page.getByTestId('add-prompt-key').click()
  await expect(page.getByTestId('prompt-key')).toHaveCount(1)
  await page.getByTestId('add-prompt-key').click() // the same frame: that key, selected
  await expect(page.getByTestId('prompt-key')).toHaveCount(1)
  await expect(page.getByTestId('prompt-key-frame')).toHaveValue('17')
  await page.getByTestId('add-prompt-key').focus()
  await page.keyboard.press('Control+z')
  await expect(page.getByTestId('prompt-key')).toHaveCount(0)
  await expect(page.getByTestId('prompt')).toHaveValue('a calm sea')
})
