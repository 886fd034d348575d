// Projects in the studio: save and reopen through the UI, and a crash (kill -9 of the host)
// mid-edit recovered from the autosave on the next start.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test, type BrowserContext, type Page } from '@playwright/test'
import { skipWithoutBrowser, startServe } from './helpers'

skipWithoutBrowser()

/** Opens the studio at `url` and waits for the engine. */
async function openReady(page: Page, url: string) {
  await page.goto(url)
  await expect(page.getByTestId('engine-state')).toHaveAttribute('data-state', 'ready')
}

/** A first Save: the name asked for is `name`, and the project bar shows it. */
/** A second tab of the studio on the same host, with the project `name` opened in it. */
async function openInNewTab(context: BrowserContext, url: string, name: string): Promise<Page> {
  const tab = await context.newPage()
  await openReady(tab, url)
  await tab.getByTestId('project-open').selectOption(name)
  return tab
}

async function saveNamed(page: Page, name: string) {
  page.once('dialog', (d) => void d.accept(name))
  await page.getByTestId('project-save').click()
  await expect(page.getByTestId('project-name')).toHaveText(name)
}

/** A state and a projects folder of the test's own (autosaves, recovery, project files). */
const freshFolders = () => ({
  DOLLY_STATE_DIR: mkdtempSync(join(tmpdir(), 'dolly-state-')),
  DOLLY_PROJECTS_DIR: mkdtempSync(join(tmpdir(), 'dolly-projects-')),
})

test('a crash mid-edit is recovered from the autosave; Save and Open keep the project', async ({
  page,
}) => {
  const env = freshFolders()
  let served = await startServe(env)
  await openReady(page, served.url)
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

  await saveNamed(page, 'Lighthouse shot')
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

test('a reload is a new page: it is offered what the page before it autosaved; unsaved-yet edits ask first', async ({
  page,
}) => {
  const env = freshFolders()
  const served = await startServe(env)
  await openReady(page, served.url)
  // an edit within the autosave's 2 s: leaving the tab asks (the browser's own dialog)
  await page.getByTestId('prompt').fill('typed, then F5')
  const asked = new Promise<string>((r) =>
    page.once('dialog', (d) => (r(d.type()), void d.accept())),
  )
  await page.reload()
  expect(await asked).toBe('beforeunload')
  await expect(page.getByTestId('engine-state')).toHaveAttribute('data-state', 'ready')
  // (the reload went ahead before the autosave: type again and let it run)
  await page.getByTestId('prompt').fill('typed, autosaved, then F5')
  await page.waitForTimeout(3000) // autosave runs 2 s after the last edit
  await page.reload()
  await expect(page.getByTestId('recovery')).toBeVisible()
  await page.getByTestId('recover').click()
  await expect(page.getByTestId('prompt')).toHaveValue('typed, autosaved, then F5')
  await served.stop()
})

test('a second crash while the recovery is on offer loses neither session', async ({ page }) => {
  const env = freshFolders()
  const crash = async (s: Awaited<ReturnType<typeof startServe>>) => {
    await page.waitForTimeout(3000) // autosave runs 2 s after the last edit
    s.proc.kill('SIGKILL')
    await new Promise((r) => s.proc.once('exit', r))
  }
  let served = await startServe(env)
  await openReady(page, served.url)
  await page.getByTestId('prompt').fill('first session')
  await crash(served)

  // the offer is left unanswered; the creator keeps working, and the studio crashes again
  served = await startServe(env)
  await page.goto(served.url)
  await expect(page.getByTestId('recovery')).toBeVisible()
  await page.getByTestId('prompt').fill('second session, banner unanswered')
  await crash(served)

  served = await startServe(env)
  await page.goto(served.url)
  await expect(page.getByTestId('recovery')).toContainText('and 1 earlier session')
  await page.getByTestId('recover').click()
  await expect(page.getByTestId('prompt')).toHaveValue('second session, banner unanswered')
  // then the earlier one is offered, and is there too; taking it would replace this page's
  // (recovered, unsaved) work, so the studio asks: No keeps it, Yes takes the earlier session
  await expect(page.getByTestId('recovery')).toBeVisible()
  const asked: string[] = []
  page.once('dialog', (d) => (asked.push(d.message()), void d.dismiss()))
  await page.getByTestId('recover').click()
  await expect.poll(() => asked.length).toBe(1)
  expect(asked[0]).toContain("Replace this page's unsaved changes with the recovered project?")
  await expect(page.getByTestId('prompt')).toHaveValue('second session, banner unanswered')
  page.once('dialog', (d) => void d.accept())
  await page.getByTestId('recover').click()
  await expect(page.getByTestId('prompt')).toHaveValue('first session')
  await expect(page.getByTestId('recovery')).toHaveCount(0)
  await served.stop()
})

test('a saved project reopened in a new session still has its shot renders', async ({ page }) => {
  const env = {
    ...freshFolders(),
    DOLLY_CACHE_DIR: mkdtempSync(join(tmpdir(), 'dolly-cache-')),
  }
  let served = await startServe(env)
  await openReady(page, served.url)
  await page.getByTestId('prompt').fill('a lighthouse, kept')
  await page.locator('input[type=number]').nth(1).fill('3') // steps
  await page.getByTestId('generate').click()
  const shot = page.getByTestId('shot').first()
  await expect(shot).toHaveAttribute('data-state', 'done', { timeout: 60_000 })
  page.once('dialog', (d) => void d.accept('Kept renders'))
  await page.getByTestId('project-save').click()
  await expect(page.getByTestId('project-name')).toContainText('Kept renders')
  await served.stop()

  served = await startServe(env)
  await openReady(page, served.url)
  await page.getByTestId('project-open').selectOption('Kept renders')
  await expect(page.getByTestId('shot').first()).toHaveAttribute('data-state', 'done')
  await expect(page.getByTestId('job')).toHaveCount(1)
  const video = page.getByTestId('clip')
  await expect
    .poll(() => video.evaluate((v: HTMLVideoElement) => v.readyState))
    .toBeGreaterThanOrEqual(2)
  await expect(page.getByTestId('export-all')).toBeEnabled()
  await served.stop()
})

test("two tabs on one project: saving over the other tab's newer save asks first", async ({
  page,
  context,
}) => {
  const env = freshFolders()
  const served = await startServe(env)
  await openReady(page, served.url)
  await page.getByTestId('prompt').fill('the first version')
  await saveNamed(page, 'Twotabs')

  // tab B opens it, works, saves
  const b = await openInNewTab(context, served.url, 'Twotabs')
  await b.getByTestId('prompt').fill('tab B: an hour of careful work')
  await b.getByTestId('project-save').click()
  await expect(b.getByTestId('project-name')).toHaveText('Twotabs')
  const file = join(env.DOLLY_PROJECTS_DIR, 'Twotabs.dolly')
  await expect.poll(() => readFileSync(file, 'utf8')).toContain('tab B: an hour of careful work')

  // tab A, still on the version it saved, saves a small tweak: asked, and No writes nothing
  await page.getByTestId('prompt').fill('tab A: a small tweak')
  const asked: string[] = []
  page.once('dialog', (d) => (asked.push(d.message()), void d.dismiss()))
  await page.getByTestId('project-save').click()
  await expect.poll(() => asked.length).toBe(1)
  expect(asked[0]).toContain(
    'Twotabs was saved from another tab or window since this page opened it',
  )
  expect(readFileSync(file, 'utf8')).toContain('tab B: an hour of careful work')
  // Yes replaces it (the other version kept as .bak)
  page.once('dialog', (d) => void d.accept())
  await page.getByTestId('project-save').click()
  await expect.poll(() => readFileSync(file, 'utf8')).toContain('tab A: a small tweak')
  expect(readFileSync(`${file}.bak`, 'utf8')).toContain('tab B: an hour of careful work')
  await b.close()
  await served.stop()
})

test('Ctrl+S saves from the studio, not from inside an open dialog', async ({ page }) => {
  const served = await startServe(freshFolders())
  await openReady(page, served.url)
  const asked: string[] = []
  page.on('dialog', (d) => {
    asked.push(d.message())
    void d.dismiss()
  })
  await page.getByTestId('open-models').click()
  await expect(page.getByRole('dialog')).toBeVisible()
  await page.getByRole('dialog').focus()
  await page.keyboard.press('Control+s')
  await page.waitForTimeout(500)
  expect(asked).toEqual([]) // the dialog kept the keyboard
  await page.keyboard.press('Escape')
  await expect(page.getByRole('dialog')).toHaveCount(0)
  await page.keyboard.press('Control+s')
  await expect.poll(() => asked.length).toBe(1) // an untitled project asks for its name
  await served.stop()
})

test('edits discarded for a new project (or another one opened) do not come back as a crash recovery', async ({
  page,
}) => {
  const served = await startServe(freshFolders())
  await openReady(page, served.url)
  await page.getByTestId('prompt').fill('edits I will throw away')
  await page.waitForTimeout(3000) // autosaved
  const asked: string[] = []
  page.on('dialog', (d) => {
    asked.push(d.message())
    void d.accept()
  })
  await page.getByTestId('project-new').click()
  expect(asked).toEqual(['Discard the unsaved changes of this project?'])
  await expect(page.getByTestId('prompt')).toHaveValue('')
  await page.reload()
  await expect(page.getByTestId('engine-state')).toHaveAttribute('data-state', 'ready')
  await page.waitForTimeout(1000) // the recovery offer is asked for at connect
  await expect(page.getByTestId('recovery')).toHaveCount(0)
  await served.stop()
})

test('the recovery offer can be put off for this page: Later hides it, the next page offers it again', async ({
  page,
}) => {
  const served = await startServe(freshFolders())
  await openReady(page, served.url)
  await page.getByTestId('prompt').fill('autosaved, offered, put off')
  await page.waitForTimeout(3000) // autosaved
  await page.reload()
  await expect(page.getByTestId('recovery')).toBeVisible()
  await page.getByTestId('recovery-later').click()
  await expect(page.getByTestId('recovery')).toHaveCount(0)
  await page.reload()
  await expect(page.getByTestId('recovery')).toBeVisible()
  await page.getByTestId('recover').click()
  await expect(page.getByTestId('prompt')).toHaveValue('autosaved, offered, put off')
  await served.stop()
})

test('a recovered project keeps the revision it was edited from: Save asks before overwriting a newer save', async ({
  page,
}) => {
  const env = freshFolders()
  let served = await startServe(env)
  await openReady(page, served.url)
  await page.getByTestId('prompt').fill('harbor, first save')
  await saveNamed(page, 'Harbor')
  // edited on from that save, autosaved, then the studio crashes
  await page.getByTestId('prompt').fill('harbor, edited then crashed')
  await page.waitForTimeout(3000) // autosave runs 2 s after the last edit
  served.proc.kill('SIGKILL')
  await new Promise((r) => served.proc.once('exit', r))
  // meanwhile another window saves a newer version of Harbor
  const file = join(env.DOLLY_PROJECTS_DIR, 'Harbor.dolly')
  const newer = readFileSync(file, 'utf8').replace('harbor, first save', 'harbor, newer save')
  writeFileSync(file, newer)

  served = await startServe(env)
  await page.goto(served.url)
  await expect(page.getByTestId('recovery')).toBeVisible()
  await page.getByTestId('recover').click()
  await expect(page.getByTestId('prompt')).toHaveValue('harbor, edited then crashed')
  await expect(page.getByTestId('project-name')).toContainText('Harbor')
  const asked: string[] = []
  page.once('dialog', (d) => (asked.push(d.message()), void d.dismiss()))
  await page.getByTestId('project-save').click()
  await expect.poll(() => asked.length).toBe(1)
  expect(asked[0]).toContain('saved from another tab or window')
  await expect(page.getByTestId('notice')).toContainText('Not saved')
  expect(readFileSync(file, 'utf8')).toBe(newer) // the newer save is left as it was
  // answering Yes replaces it (the older one kept as .bak)
  page.once('dialog', (d) => void d.accept())
  await page.getByTestId('project-save').click()
  await expect(page.getByTestId('notice')).toContainText('Saved Harbor')
  expect(readFileSync(file, 'utf8')).toContain('harbor, edited then crashed')
  await served.stop()
})

test('a recovered project whose file is unchanged saves over it without asking', async ({
  page,
}) => {
  const env = freshFolders()
  let served = await startServe(env)
  await openReady(page, served.url)
  await page.getByTestId('prompt').fill('pier, first save')
  await saveNamed(page, 'Pier')
  await page.getByTestId('prompt').fill('pier, edited then crashed')
  await page.waitForTimeout(3000) // autosave runs 2 s after the last edit
  served.proc.kill('SIGKILL')
  await new Promise((r) => served.proc.once('exit', r))

  served = await startServe(env)
  await page.goto(served.url)
  await page.getByTestId('recover').click()
  await expect(page.getByTestId('prompt')).toHaveValue('pier, edited then crashed')
  const asked: string[] = []
  page.on('dialog', (d) => (asked.push(d.message()), void d.dismiss()))
  await page.getByTestId('project-save').click()
  await expect(page.getByTestId('notice')).toContainText('Saved Pier')
  expect(asked).toEqual([])
  const file = join(env.DOLLY_PROJECTS_DIR, 'Pier.dolly')
  expect(readFileSync(file, 'utf8')).toContain('pier, edited then crashed')
  await served.stop()
})

test("Save As onto a name another tab saved since (its own name, or one this page's list lacks) asks first", async ({
  page,
  context,
}) => {
  const env = freshFolders()
  const served = await startServe(env)
  await openReady(page, served.url)
  await page.getByTestId('prompt').fill('tab A: the first version')
  await saveNamed(page, 'Café à Saint-Malo')

  // tab B opens it and saves its work, and saves a new project "Harbour" as well
  const b = await openInNewTab(context, served.url, 'Café à Saint-Malo')
  await expect(b.getByTestId('prompt')).toHaveValue('tab A: the first version')
  await b.getByTestId('prompt').fill('tab B: an hour of careful work')
  await b.getByTestId('project-save').click()
  const file = join(env.DOLLY_PROJECTS_DIR, 'Café à Saint-Malo.dolly')
  await expect.poll(() => readFileSync(file, 'utf8')).toContain('tab B: an hour of careful work')
  await b.getByTestId('prompt').fill('tab B: the harbour')
  b.once('dialog', (d) => void d.accept('Harbour'))
  await b.getByRole('button', { name: 'Save As' }).click()
  const harbour = join(env.DOLLY_PROJECTS_DIR, 'Harbour.dolly')
  await expect.poll(() => existsSync(harbour)).toBe(true)
  await b.close()

  // tab A: Save As under its own name, then under "Harbour" (its list predates it); each time
  // the name is given and the next question dismissed: nothing is written
  await page.getByTestId('prompt').fill('tab A: a small tweak')
  for (const [target, path, theirs] of [
    ['Café à Saint-Malo', file, 'tab B: an hour of careful work'],
    ['Harbour', harbour, 'tab B: the harbour'],
  ] as const) {
    const asked: string[] = []
    const answer = (d: import('@playwright/test').Dialog) => {
      asked.push(d.message())
      void (d.type() === 'prompt' ? d.accept(target) : d.dismiss())
    }
    page.on('dialog', answer)
    await page.getByRole('button', { name: 'Save As' }).click()
    await expect.poll(() => asked.length).toBe(2)
    page.off('dialog', answer)
    expect(asked[1]).toContain(target)
    expect(readFileSync(path, 'utf8')).toContain(theirs)
  }
  // its own file, unchanged since this page saved it, by its name with .dolly typed: no question
  page.once('dialog', (d) => void d.accept('Pier'))
  await page.getByRole('button', { name: 'Save As' }).click()
  await expect(page.getByTestId('project-name')).toHaveText('Pier')
  const asked: string[] = []
  page.on('dialog', (d) => (asked.push(d.message()), void d.accept('Pier.dolly')))
  await page.getByTestId('prompt').fill('tab A: the pier, again')
  await page.getByRole('button', { name: 'Save As' }).click()
  const pier = join(env.DOLLY_PROJECTS_DIR, 'Pier.dolly')
  await expect.poll(() => readFileSync(pier, 'utf8')).toContain('tab A: the pier, again')
  expect(asked).toHaveLength(1) // the name only
  await served.stop()
})

test('a reconnection leaves an opened project without a model as it is (the fresh model is for the fresh project)', async ({
  page,
}) => {
  const env = freshFolders()
  const served = await startServe(env)
  // the page's connection to the host, to drop it as a network hiccup would
  const sockets: import('@playwright/test').WebSocketRoute[] = []
  await page.routeWebSocket(/./, (ws) => {
    ws.connectToServer()
    sockets.push(ws)
  })
  await openReady(page, served.url)
  await saveNamed(page, 'Base')
  // a project saved before any model was installed: no model, the person's own settings
  const base = JSON.parse(readFileSync(join(env.DOLLY_PROJECTS_DIR, 'Base.dolly'), 'utf8')) as {
    doc: { shots: { settings: Record<string, unknown> }[] }
  }
  Object.assign(base.doc.shots[0]!.settings, { modelId: '', guidance: 3.5, frames: 12 })
  writeFileSync(join(env.DOLLY_PROJECTS_DIR, 'Bare.dolly'), JSON.stringify(base))
  await page.reload()
  await expect(page.getByTestId('engine-state')).toHaveAttribute('data-state', 'ready')
  await page.getByTestId('project-open').selectOption('Bare')
  await expect(page.getByTestId('project-name')).toHaveText('Bare')
  await expect(page.getByTestId('guidance')).toHaveValue('3.5')

  const before = sockets.length
  await sockets.at(-1)!.close()
  await expect.poll(() => sockets.length).toBeGreaterThan(before) // the page connects again
  await expect(page.getByTestId('connection')).toHaveCount(0)
  await page.waitForTimeout(1000) // the model list is asked for again at connect
  await expect(page.getByTestId('guidance')).toHaveValue('3.5')
  await expect(page.getByTestId('frames')).toHaveValue('12')
  await expect(page.getByTestId('project-name')).toHaveText('Bare') // no unsaved edits
  await served.stop()
})

test('Ctrl+S pressed again (or held) while its save is on its way does not take that save for another tab', async ({
  page,
}) => {
  const env = freshFolders()
  const served = await startServe(env)
  await openReady(page, served.url)
  await saveNamed(page, 'Twice')
  await page.getByTestId('prompt').fill('saved with a double press')
  const asked: string[] = []
  page.on('dialog', (d) => (asked.push(d.message()), void d.dismiss()))
  // the second press comes while the first save is on its way (a key held repeats it)
  await page.evaluate(() => {
    for (const repeat of [false, true])
      window.dispatchEvent(new KeyboardEvent('keydown', { key: 's', ctrlKey: true, repeat }))
  })
  await expect(page.getByTestId('project-name')).toHaveText('Twice') // saved: no unsaved mark
  const file = join(env.DOLLY_PROJECTS_DIR, 'Twice.dolly')
  await expect.poll(() => readFileSync(file, 'utf8')).toContain('saved with a double press')
  await page.waitForTimeout(500)
  expect(asked).toEqual([])
  await expect(page.getByTestId('notice')).not.toContainText('Not saved')
  await served.stop()
})
