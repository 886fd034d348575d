// Saving never makes a project vanish: the temp file is renamed over the project in one step
// (the backup is a hard link made first), checked by killing a real process at each step; and
// open and list restore a project that an interrupted save of the older studio left only as
// .bak and temp file (it renamed the project to .bak, then the temp file in). One unreadable
// entry (a dangling link, a folder) is skipped and reported, never failing the list.
import { spawnSync } from 'node:child_process'
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ProjectStore } from '../../src/main/services/projects'
import { serializeProject, type ProjectDocData } from '../../src/shared/project'
import { presetPoses, trajectoryFromPoses } from '../../src/shared/camera'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-projects-recovery-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

function doc(prompt: string): ProjectDocData {
  return {
    shots: [
      {
        id: 'shot-1',
        settings: {
          modelId: '/models/demo',
          prompt,
          negativePrompt: '',
          seed: 1,
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
        preset: null,
        clip: null,
      },
    ],
    active: 0,
  }
}
const prompt = (d: ProjectDocData) => d.shots[0]!.settings.prompt
let n = 0
function store(): { s: ProjectStore; dir: string } {
  const dir = join(tmp, `p${++n}`)
  return { s: new ProjectStore(dir, join(tmp, `s${n}`)), dir }
}

describe('a save interrupted by the older studio (project renamed to .bak, temp file not yet in)', () => {
  function leftovers(withTemp: 'whole' | 'cut' | 'none') {
    const { s, dir } = store()
    s.save('Lighthouse', doc('version 1'))
    const path = join(dir, 'Lighthouse.dolly')
    renameSync(path, `${path}.bak`)
    const temp = join(dir, '.Lighthouse.dolly.0a1b2c3d.tmp')
    const v2 = serializeProject(doc('version 2'))
    if (withTemp === 'whole') writeFileSync(temp, v2)
    if (withTemp === 'cut') writeFileSync(temp, v2.slice(0, 100))
    if (withTemp !== 'none') utimesSync(temp, new Date(), new Date(Date.now() + 1000))
    return { s, dir, path, temp }
  }

  it('open restores the save that was in progress and says so', () => {
    const { s, path, temp } = leftovers('whole')
    const r = s.open('Lighthouse')
    expect(prompt(r.doc)).toBe('version 2')
    expect(r.recovered).toMatch(
      /Lighthouse\.dolly was missing after an interrupted save; it was restored from the save in progress/,
    )
    expect(existsSync(path)).toBe(true)
    expect(existsSync(temp)).toBe(false)
    expect(existsSync(`${path}.bak`)).toBe(true) // the previous version is still kept
    expect(s.open('Lighthouse').recovered).toBeUndefined()
  })

  it('open falls back to the .bak when the temp file was cut short, and removes it', () => {
    const { s, temp } = leftovers('cut')
    const r = s.open('Lighthouse')
    expect(prompt(r.doc)).toBe('version 1')
    expect(r.recovered).toMatch(/restored from its backup \(\.bak\)/)
    expect(existsSync(temp)).toBe(false)
  })

  it('list shows the project again and reports the restore', () => {
    const { s } = leftovers('none')
    const l = s.list()
    expect(l.projects.map((p) => p.name)).toEqual(['Lighthouse'])
    expect(l.problems.join('\n')).toMatch(/Lighthouse\.dolly was missing.*restored from its backup/)
    expect(prompt(s.open('Lighthouse').doc)).toBe('version 1')
  })
})

describe('a save killed at each step leaves the old or the new project, never none', () => {
  const root = resolve(__dirname, '../..')
  for (const [point, expected] of [
    ['atomic-write:temp-written', 'version 1'],
    ['atomic-write:backup-made', 'version 1'],
    ['atomic-write:renamed', 'version 2'],
  ] as const) {
    it(`killed after ${point.split(':')[1]}: ${expected}`, () => {
      const { s, dir } = store()
      s.save('Lighthouse', doc('version 1'))
      const script = `
        import { ProjectStore } from './src/main/services/projects.ts'
        const s = new ProjectStore(${JSON.stringify(dir)}, ${JSON.stringify(dir + '-state')})
        s.save('Lighthouse', ${JSON.stringify(doc('version 2'))})
      `
      const r = spawnSync(
        process.execPath,
        ['--import', 'tsx', '--input-type=module', '-e', script],
        {
          cwd: root,
          env: { ...process.env, DOLLY_CRASH_AT: point },
          encoding: 'utf8',
        },
      )
      expect(r.signal).toBe('SIGKILL')
      const opened = new ProjectStore(dir, join(tmp, `after-${point}`)).open('Lighthouse')
      expect(prompt(opened.doc)).toBe(expected)
      expect(opened.recovered).toBeUndefined()
      // an unfinished newer save stays beside it until a later save supersedes it
      s.list()
      const temps = () => readdirSync(dir).filter((f) => f.endsWith('.tmp'))
      expect(temps()).toHaveLength(expected === 'version 1' ? 1 : 0)
      s.save('Lighthouse', doc('version 3'))
      s.list()
      expect(temps()).toEqual([])
    })
  }
})

describe('one bad entry does not break the list', () => {
  it('skips a dangling .dolly link and a folder named .dolly, and says why', () => {
    const { s, dir } = store()
    s.save('Good', doc('fine'))
    symlinkSync(join(tmp, 'gone', 'Lost.dolly'), join(dir, 'Lost.dolly'))
    mkdirSync(join(dir, 'Folder.dolly'))
    const l = s.list()
    expect(l.projects.map((p) => p.name)).toEqual(['Good'])
    expect(l.problems.join('\n')).toMatch(
      /Lost\.dolly: skipped: it is a link to .*gone\/Lost\.dolly, which does not exist/,
    )
    expect(l.problems.join('\n')).toMatch(/Folder\.dolly: skipped: it is not a file/)
    expect(() => s.open('Lost')).toThrow(
      /Lost\.dolly: cannot be read \(it is a link to .*, which does not exist\)/,
    )
    // the link is left alone: restoring never writes over it
    expect(readdirSync(dir)).toContain('Lost.dolly')
  })

  it('keeps the backup as a hard link to the previous version', () => {
    const { s, dir } = store()
    s.save('Linked', doc('one'))
    const before = statSync(join(dir, 'Linked.dolly')).ino
    s.save('Linked', doc('two'))
    expect(statSync(join(dir, 'Linked.dolly.bak')).ino).toBe(before)
    expect(readFileSync(join(dir, 'Linked.dolly.bak'), 'utf8')).toContain('"one"')
  })
})
