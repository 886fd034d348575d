// .dolly projects: canonical save (byte-identical after reopen), migrations, corrupt files
// refused and left untouched, atomic writes with a backup, autosave recovery.
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { projectNameProblem, ProjectStore } from '../../src/main/services/projects'
import { parseProject, serializeProject, type ProjectDocData } from '../../src/shared/project'
import { presetPoses, trajectoryFromPoses } from '../../src/shared/camera'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-projects-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

const shot: ProjectDocData['shots'][number] = {
  id: 'shot-1',
  settings: {
    modelId: '/models/demo',
    prompt: 'a lighthouse at dusk',
    negativePrompt: 'blurry',
    seed: 42,
    seedLocked: false,
    steps: 25,
    guidance: 7.5,
    frames: 16,
    fps: 8,
    scheduler: '',
    plan: 'auto',
    motion: 0.5,
  },
  camera: trajectoryFromPoses(presetPoses([{ name: 'orbit-left' }], { frames: 4 }), 16),
  preset: { name: 'orbit-left', speed: 1 },
  clip: null,
}
const doc: ProjectDocData = {
  shots: [shot, { ...shot, id: 'shot-2', preset: null, clip: { jobId: 'job-2' } }],
  active: 1,
}

describe('project files', () => {
  it('saved, reopened and saved again is byte-identical', () => {
    const store = new ProjectStore(join(tmp, 'p1'), join(tmp, 's1'))
    store.save('Lighthouse', doc)
    const first = readFileSync(join(tmp, 'p1', 'Lighthouse.dolly'))
    const opened = store.open('Lighthouse')
    store.save('Lighthouse', opened.doc)
    expect(readFileSync(join(tmp, 'p1', 'Lighthouse.dolly'))).toEqual(first)
    // the previous version is kept as .bak
    expect(readFileSync(join(tmp, 'p1', 'Lighthouse.dolly.bak'))).toEqual(first)
    expect(first.toString()).toMatch(/^\{\n {2}"doc": \{/)
  })

  it("two tabs on one project: a save over the other tab's newer save is refused, not silent", () => {
    const store = new ProjectStore(join(tmp, 'p-tabs'), join(tmp, 's-tabs'))
    const first = store.save('Twotabs', doc)
    const tabA = store.open('Twotabs')
    const tabB = store.open('Twotabs')
    expect(tabA.revision).toBe(first.revision)
    // tab B saves an hour of work; tab A, still on the version it opened, then saves
    const bWork = { ...doc, active: 0 }
    const b = store.save('Twotabs', bWork, undefined, tabB.revision)
    expect(b.revision).not.toBe(tabA.revision)
    const onDisk = readFileSync(join(tmp, 'p-tabs', 'Twotabs.dolly'), 'utf8')
    let err: unknown
    try {
      store.save('Twotabs', doc, undefined, tabA.revision)
    } catch (e) {
      err = e
    }
    expect(err).toMatchObject({ code: 'conflict' })
    expect((err as Error).message).toBe(
      'Twotabs was saved from another tab or window since this page opened it; nothing was written',
    )
    expect(readFileSync(join(tmp, 'p-tabs', 'Twotabs.dolly'), 'utf8')).toBe(onDisk)
    // B saving again on its own revision goes through; a save without a base (a replace the
    // person confirmed, or Save As) is not checked
    expect(() => store.save('Twotabs', bWork, undefined, b.revision)).not.toThrow()
    expect(() => store.save('Twotabs', doc)).not.toThrow()
    // a base of null: the page knew no file by that name
    expect(() => store.save('Twotabs', doc, undefined, null)).toThrow(/saved from another tab/)
  })

  it('opens a version-2 project (one document, no shots) as one shot', () => {
    const { id: _id, clip: _clip, ...single } = shot
    const v2 = { format: 'dolly-project', version: 2, media: [], doc: single }
    const { file, migratedFrom } = parseProject(JSON.stringify(v2))
    expect(migratedFrom).toBe(2)
    expect(file.doc).toEqual({ shots: [{ ...single, id: 'shot-1', clip: null }], active: 0 })
  })

  it('refuses an active index past the shots', () => {
    const text = serializeProject(doc).replace('"active": 1', '"active": 5')
    expect(() => parseProject(text)).toThrow(/doc\.active: active must name one of the shots/)
  })

  it('refuses duplicate ids (shots, camera keyframes, prompt keys) by their place, file untouched', () => {
    // the studio finds shots, keyframes and prompt keys by id: a render recorded for one shot
    // would land on both, a keyframe or prompt key deleted or moved would take its twin along
    const store = new ProjectStore(join(tmp, 'p-dup'), join(tmp, 's-dup'))
    const f = join(tmp, 'p-dup', 'Dup.dolly')
    const twinShots = serializeProject(doc).replace('"id": "shot-2"', '"id": "shot-1"')
    writeFileSync(f, twinShots)
    expect(() => store.open('Dup')).toThrow(
      /doc\.shots\.1\.id: the shot id "shot-1" is also used at shots\.0; the file was left as it is/,
    )
    expect(readFileSync(f, 'utf8')).toBe(twinShots)
    const keys = JSON.parse(serializeProject(doc)) as { doc: ProjectDocData }
    const k = keys.doc.shots[1]!.camera.keyframes
    k[1] = { ...k[1]!, id: k[0]!.id }
    expect(() => parseProject(JSON.stringify(keys))).toThrow(
      /doc\.shots\.1\.camera\.keyframes\.1\.id: the keyframe id "[^"]+" is also used at keyframes\.0/,
    )
    const prompts = JSON.parse(serializeProject(doc)) as { doc: ProjectDocData }
    prompts.doc.shots[0]!.settings.promptKeys = [
      { id: 'p1', frame: 4, prompt: 'dawn' },
      { id: 'p1', frame: 8, prompt: 'noon' },
    ]
    expect(() => parseProject(JSON.stringify(prompts))).toThrow(
      /doc\.shots\.0\.settings\.promptKeys\.1\.id: the prompt key id "p1" is also used at promptKeys\.0/,
    )
    // the same ids in different shots are fine (a split or an added shot keeps them)
    const shared = JSON.parse(serializeProject(doc)) as { doc: ProjectDocData }
    for (const s of shared.doc.shots) s.settings.promptKeys = [{ id: 'p1', frame: 4, prompt: 'x' }]
    expect(() => parseProject(JSON.stringify(shared))).not.toThrow()
  })

  it('opens a version-1 project through its migration', () => {
    const v1 = {
      format: 'dolly-project',
      version: 1,
      modelId: '/models/demo',
      prompt: 'an old project',
      negativePrompt: '',
      seed: 7,
      steps: 20,
      guidance: 6,
      frames: 16,
      fps: 8,
      camera: shot.camera,
    }
    const { file, migratedFrom } = parseProject(JSON.stringify(v1))
    expect(migratedFrom).toBe(1)
    expect(file.version).toBe(5)
    // v1 -> v2 (settings grouped) -> v3 (one shot) -> v4 (schedulers the engine has) -> v5
    expect(file.doc.shots).toHaveLength(1)
    expect(file.doc.active).toBe(0)
    expect(file.doc.shots[0]!.clip).toBeNull()
    expect(file.doc.shots[0]!.camera).toEqual(shot.camera)
    expect(file.doc.shots[0]!.settings).toMatchObject({
      prompt: 'an old project',
      seed: 7,
      steps: 20,
      seedLocked: true,
      plan: 'auto',
    })
    const store = new ProjectStore(join(tmp, 'p2'), join(tmp, 's2'))
    writeFileSync(join(tmp, 'p2', 'Old.dolly'), JSON.stringify(v1))
    expect(store.open('Old').migratedFrom).toBe(1)
  })

  it('an older file refused after its migration names the field where that file has it', () => {
    // v1 kept the settings at the top level, v2 one document: "doc.shots.0.settings.seed" is
    // nowhere in either file
    const v1 = { format: 'dolly-project', version: 1, seed: -1, camera: shot.camera }
    expect(() => parseProject(JSON.stringify(v1))).toThrow(
      /^seed: Too small: expected number to be >=0 \(a version-1 file\)$/,
    )
    const badFov = {
      ...v1,
      seed: 7,
      camera: { ...shot.camera, keyframes: [{ ...shot.camera.keyframes[0]!, fov: 0 }] },
    }
    expect(() => parseProject(JSON.stringify(badFov))).toThrow(/^camera\.keyframes\.0\.fov: /)
    const { id: _id, clip: _clip, ...single } = shot
    const v2 = {
      format: 'dolly-project',
      version: 2,
      media: [],
      doc: { ...single, settings: { ...single.settings, steps: 0 } },
    }
    expect(() => parseProject(JSON.stringify(v2))).toThrow(
      /^doc\.settings\.steps: .* \(a version-2 file\)$/,
    )
    // what a migration cannot read is refused as the file has it, not as the migration left it
    const notList = {
      format: 'dolly-project',
      version: 3,
      media: [],
      doc: { shots: { a: 1 }, active: 0 },
    }
    expect(() => parseProject(JSON.stringify(notList))).toThrow(
      /^doc\.shots: Invalid input: expected array, received object$/,
    )
    // version 3 on: the places are the same
    const v3 = JSON.parse(serializeProject(doc).replace('"steps": 25', '"steps": 0')) as Record<
      string,
      unknown
    >
    v3['version'] = 3
    expect(() => parseProject(JSON.stringify(v3))).toThrow(/^doc\.shots\.0\.settings\.steps: /)
  })

  it("v3 -> v4: a scheduler the engine does not implement becomes the model's own", () => {
    const v3 = JSON.parse(serializeProject(doc)) as Record<string, unknown> & { doc: typeof doc }
    v3['version'] = 3
    v3.doc.shots[0]!.settings.scheduler = 'PNDMScheduler' as never
    v3.doc.shots[1]!.settings.scheduler = 'EulerDiscreteScheduler'
    const { file, migratedFrom } = parseProject(JSON.stringify(v3))
    expect(migratedFrom).toBe(3)
    expect(file.doc.shots.map((s) => s.settings.scheduler)).toEqual(['', 'EulerDiscreteScheduler'])
    // the current version refuses the unknown name, by its place in the file
    const bad = serializeProject(doc).replace(
      /"scheduler": "[^"]*"/,
      '"scheduler": "PNDMScheduler"',
    )
    expect(() => parseProject(bad)).toThrow(/shots\.0\.settings\.scheduler/)
  })

  it('v4 -> v5: a v4 file opens unchanged; prompt keyframes, loop and long-take settings round-trip', () => {
    const v4 = JSON.parse(serializeProject(doc)) as Record<string, unknown>
    v4['version'] = 4
    const { file, migratedFrom } = parseProject(JSON.stringify(v4))
    expect(migratedFrom).toBe(4)
    expect(file.version).toBe(5)
    expect(file.doc).toEqual(doc)
    // a long take: keys, loop and windows are saved, reopened and saved byte-identically
    const long: ProjectDocData = {
      shots: [
        {
          ...shot,
          settings: {
            ...shot.settings,
            frames: 96,
            promptKeys: [
              { id: 'p1', frame: 40, prompt: 'the lighthouse at night' },
              { id: 'p2', frame: 80, prompt: 'a storm over the sea' },
            ],
            loop: true,
            context: { window: 16, overlap: 4, weighting: 'pyramid', noise: 'shuffle_context' },
          },
        },
      ],
      active: 0,
    }
    const text = serializeProject(long)
    const back = parseProject(text)
    expect(back.migratedFrom).toBeNull()
    expect(back.file.doc).toEqual(long)
    expect(serializeProject(back.file.doc)).toBe(text)
    // a v4 reader's answer to it: this v5 file is newer (the version moved with the fields)
    expect(text).toMatch(/"version": 5/)
    // a key with frame 0 is refused (frame 0 is the shot's own prompt), by its place
    expect(() => parseProject(text.replace('"frame": 40', '"frame": 0'))).toThrow(
      /shots\.0\.settings\.promptKeys\.0\.frame/,
    )
  })

  const corrupt: [string, string, RegExp][] = [
    ['broken JSON', '{"format": "dolly-project", "version": 2,\n "doc": {', /not valid JSON/],
    ['another program’s file', '{"hello": "world"}', /not a Dolly Studio project/],
    [
      'a newer format',
      JSON.stringify({ format: 'dolly-project', version: 9 }),
      /saved by a newer Dolly Studio \(format version 9/,
    ],
    [
      'a wrong field',
      serializeProject(doc).replace('"steps": 25', '"steps": "many"'),
      /doc\.shots\.0\.settings\.steps: /,
    ],
  ]
  for (const [what, text, msg] of corrupt) {
    it(`refuses ${what} with a clear error and leaves the file untouched`, () => {
      const store = new ProjectStore(join(tmp, 'p3'), join(tmp, 's3'))
      const f = join(tmp, 'p3', 'Broken.dolly')
      writeFileSync(f, text)
      expect(() => store.open('Broken')).toThrow(msg)
      expect(() => store.open('Broken')).toThrow(/the file was left as it is/)
      expect(readFileSync(f, 'utf8')).toBe(text)
    })
  }

  it('a project file that is not UTF-8 is refused by name, not opened with its letters replaced', () => {
    const store = new ProjectStore(join(tmp, 'p-enc'), join(tmp, 's-enc'))
    const f = join(tmp, 'p-enc', 'Latin.dolly')
    // a hand edit saved as Windows-1252: "Café" with é as the one byte 0xE9
    const text = serializeProject(doc).replace('a lighthouse at dusk', 'Café at dusk')
    const bytes = Buffer.from(text.replace('é', '\u0000'), 'utf8')
    bytes[bytes.indexOf(0)] = 0xe9
    writeFileSync(f, bytes)
    expect(() => store.open('Latin')).toThrow(
      /Latin\.dolly: not UTF-8 text \(line \d+\); save it as UTF-8; the file was left as it is/,
    )
    expect(readFileSync(f)).toEqual(bytes)
    // a byte-order mark (Notepad's UTF-8) is UTF-8: the project opens
    writeFileSync(join(tmp, 'p-enc', 'Bom.dolly'), '\ufeff' + text)
    expect(store.open('Bom').doc.shots[0]!.settings.prompt).toBe('Café at dusk')
  })

  it('takes any name a file can carry on every desktop OS, and says why it refuses one', () => {
    const store = new ProjectStore(join(tmp, 'p4n'), join(tmp, 's4n'))
    // refused before: an apostrophe, '#', a comma, an accent written as e + combining mark
    for (const ok of ["Tom's shot #2", 'Café, take 3', 'Cafe\u0301', '渋谷 at night', 'a+b & c!'])
      expect(store.save(ok, doc).name).toBe(ok)
    for (const [bad, why] of [
      ['CON', /Windows reserves that name/],
      ['nul.txt', /Windows reserves that name/],
      ['a:b', /it has ":", which file names cannot hold/],
      ['end.', /ends with a dot/],
      ['bell\u0007', /which file names cannot hold/],
      ['x'.repeat(300), /it has 300 characters; up to 100/],
    ] as const)
      expect(() => store.save(bad, doc)).toThrow(why)
    expect(projectNameProblem('fine')).toBeNull()
  })

  it('a name the checks take can be saved: its bytes, with the temp and backup names, fit a file name', () => {
    // a file name holds 255 bytes: 80 CJK characters (240 bytes in UTF-8) passed the
    // 100-character check, and every save failed with a raw ENAMETOOLONG from the cleanup
    const store = new ProjectStore(join(tmp, 'p-long'), join(tmp, 's-long'))
    const longest = '渋'.repeat(77) // 231 bytes
    expect(store.save(longest, doc).name).toBe(longest)
    expect(store.save(longest, doc).name).toBe(longest) // over it: backup and temp names too
    expect(store.open(longest).doc).toEqual(doc)
    expect(projectNameProblem('渋'.repeat(78))).toBe(
      'it is 234 bytes in UTF-8; up to 231 (fewer characters with accents or non-Latin scripts)',
    )
    expect(() => store.save('渋'.repeat(80), doc)).toThrow(
      /is not a usable project name: it is 240 bytes in UTF-8; up to 231/,
    )
    expect(readdirSync(join(tmp, 'p-long')).sort()).toEqual([
      `${longest}.dolly`,
      `${longest}.dolly.bak`,
    ])
  })

  it('refuses names that would leave the projects folder', () => {
    const store = new ProjectStore(join(tmp, 'p4'), join(tmp, 's4'))
    for (const bad of ['../escape', 'a/b', '.hidden', ''])
      expect(() => store.save(bad, doc)).toThrow(/not a usable project name/)
  })

  it('keeps each page apart in one running host: a reload (a new page) is offered what the page before it autosaved', () => {
    const store = new ProjectStore(join(tmp, 'p5p'), join(tmp, 's5p'))
    const edited = (prompt: string) => ({
      ...doc,
      shots: [{ ...shot, settings: { ...shot.settings, prompt } }],
      active: 0,
    })
    const before = 'page-before-reload-1'
    const after = 'page-after-reload-2'
    store.autosave(edited('typed, then F5'), null, before)
    expect(store.recovery(before)).toBeNull() // a page is not offered its own autosave
    // while that page is still open (another tab of the web host), no one else is offered it
    store.livePage = (p) => p === before
    expect(store.recovery(after)).toBeNull()
    expect(store.discardRecovery(undefined, after)).toBe(false)
    store.livePage = () => false
    // before: one session per process, so the reloaded page was offered nothing and its first
    // autosave overwrote the work
    const r = store.recovery(after)!
    expect(r.doc.shots[0]!.settings.prompt).toBe('typed, then F5')
    store.autosave(edited('the reloaded page edits on'), null, after)
    expect(store.recovery(after)!.doc.shots[0]!.settings.prompt).toBe('typed, then F5')
    // saving clears the saving page's autosave only
    store.save('Kept', edited('the reloaded page edits on'), after)
    expect(store.recovery(before)).toBeNull()
    expect(store.recovery(after)!.doc.shots[0]!.settings.prompt).toBe('typed, then F5')
    expect(store.discardRecovery(undefined, after)).toBe(true)
    expect(store.recovery('a-third-page-3')).toBeNull()
    expect(() => store.autosave(doc, null, '../../etc')).toThrow(/page: expected/)
  })

  it('autosaves to a recovery file, offers it back in the next session, and a save clears it', () => {
    const session1 = new ProjectStore(join(tmp, 'p5'), join(tmp, 's5'))
    expect(session1.recovery()).toBeNull()
    session1.autosave(
      {
        ...doc,
        shots: [{ ...shot, settings: { ...shot.settings, prompt: 'unsaved edit' } }],
        active: 0,
      },
      'Draft',
    )
    // a session is not offered its own autosave
    expect(session1.recovery()).toBeNull()
    const session2 = new ProjectStore(join(tmp, 'p5'), join(tmp, 's5'))
    const r = session2.recovery()!
    expect(r).toMatchObject({ name: 'Draft', more: 0 })
    expect(r.doc.shots[0]!.settings.prompt).toBe('unsaved edit')
    // recovering: this session autosaves it, the earlier copy goes, a save clears this one
    session2.autosave(r.doc, 'Draft')
    expect(session2.discardRecovery(r.savedAt)).toBe(true)
    session2.save('Draft', r.doc)
    expect(new ProjectStore(join(tmp, 'p5'), join(tmp, 's5')).recovery()).toBeNull()
    expect(session2.recent()).toEqual(['Draft'])
    expect(readdirSync(join(tmp, 'p5')).filter((f) => f.includes('.tmp'))).toEqual([])
    expect(existsSync(join(tmp, 'p5', 'Draft.dolly'))).toBe(true)
  })

  it('an autosave keeps the revision its document was edited from, so a Save of the recovered work is checked for a newer save', () => {
    const session1 = new ProjectStore(join(tmp, 'p5b'), join(tmp, 's5b'))
    const first = session1.save('Harbor', doc)
    const edited = {
      ...doc,
      shots: [{ ...shot, settings: { ...shot.settings, prompt: 'edited, then a crash' } }],
      active: 0,
    }
    session1.autosave(edited, 'Harbor', undefined, first.revision)
    // another window saves a newer Harbor
    const other = new ProjectStore(join(tmp, 'p5b'), join(tmp, 's5b'))
    const newer = {
      ...doc,
      shots: [{ ...shot, settings: { ...shot.settings, prompt: 'newer save' } }],
      active: 0,
    }
    other.save('Harbor', newer, undefined, first.revision)
    const session2 = new ProjectStore(join(tmp, 'p5b'), join(tmp, 's5b'))
    const r = session2.recovery()!
    expect(r.base).toBe(first.revision)
    expect(() => session2.save('Harbor', r.doc, undefined, r.base)).toThrow(/another tab or window/)
    expect(session2.open('Harbor').doc.shots[0]!.settings.prompt).toBe('newer save')
  })

  it('a crash while a recovery is on offer loses neither session (offered newest first)', () => {
    const edit = (prompt: string) => ({
      ...doc,
      shots: [{ ...shot, settings: { ...shot.settings, prompt } }],
      active: 0,
    })
    // session 1 autosaves, then crashes
    new ProjectStore(join(tmp, 'p6'), join(tmp, 's6')).autosave(edit('first session'), null)
    // session 2 is offered it, does not answer, keeps editing (autosaves), crashes
    const s2 = new ProjectStore(join(tmp, 'p6'), join(tmp, 's6'))
    expect(s2.recovery()!.doc.shots[0]!.settings.prompt).toBe('first session')
    s2.autosave(edit('second session'), null)
    // session 3: the newest first, the earlier one after it
    const s3 = new ProjectStore(join(tmp, 'p6'), join(tmp, 's6'))
    const newest = s3.recovery()!
    expect(newest.doc.shots[0]!.settings.prompt).toBe('second session')
    expect(newest.more).toBe(1)
    expect(s3.discardRecovery(newest.savedAt)).toBe(true)
    const earlier = s3.recovery()!
    expect(earlier.doc.shots[0]!.settings.prompt).toBe('first session')
    expect(earlier.more).toBe(0)
    expect(s3.discardRecovery(earlier.savedAt)).toBe(true)
    expect(s3.recovery()).toBeNull()
  })

  it('an autosave this studio cannot read is kept, never deleted: it may be the only copy of the work', () => {
    const stateDir = join(tmp, 's-unread')
    const store = new ProjectStore(join(tmp, 'p-unread'), stateDir)
    const rec = join(stateDir, 'recovery')
    mkdirSync(rec, { recursive: true })
    // a newer studio's autosave (it crashed; the person then started this older one) and one
    // this studio's schema refuses
    const newer = join(rec, '1000-1-1.dolly')
    const newerText = JSON.stringify({
      name: 'Future',
      savedAt: 1000,
      project: serializeProject(doc).replace('"version": 5', '"version": 6'),
    })
    writeFileSync(newer, newerText)
    const refused = join(rec, '2000-1-1.dolly')
    const refusedText = JSON.stringify({
      name: 'Odd',
      savedAt: 2000,
      project: serializeProject(doc).replace('"steps": 25', '"steps": 9999'),
    })
    writeFileSync(refused, refusedText)
    expect(store.recovery()).toBeNull()
    expect(readFileSync(newer, 'utf8')).toBe(newerText) // where the newer studio looks for it
    expect(readFileSync(`${refused}.unreadable`, 'utf8')).toBe(refusedText) // out of the way
    expect(store.recovery()).toBeNull()
  })

  it("reads an older studio's single recovery file", () => {
    mkdirSync(join(tmp, 's7'), { recursive: true })
    writeFileSync(
      join(tmp, 's7', 'recovery.dolly'),
      JSON.stringify({ name: 'Old', savedAt: 5, project: serializeProject(doc) }),
    )
    const r = new ProjectStore(join(tmp, 'p7'), join(tmp, 's7')).recovery()!
    expect(r).toMatchObject({ name: 'Old', savedAt: 5, more: 0 })
  })
})
