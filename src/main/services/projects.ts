// Projects on disk: named .dolly files in the studio's projects folder, written atomically
// (temp file, fsync, the previous version kept as .bak, rename), an autosave recovery file
// written every few seconds while there are unsaved edits, and the recent list.
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs'
import { randomBytes } from 'node:crypto'
import { basename, dirname, join } from 'node:path'
import {
  parseProject,
  ProjectFormatError,
  serializeProject,
  type ProjectDocData,
} from '../../shared/project'
import { HandlerError } from './dispatch'

/** Writes `text` to `path` so that a crash at any point leaves either the old or the new file. */
export function atomicWrite(path: string, text: string, keepBackup = true): void {
  const dir = dirname(path)
  mkdirSync(dir, { recursive: true })
  const tmp = join(dir, `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`)
  try {
    const fd = openSync(tmp, 'w')
    try {
      writeSync(fd, text)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    if (keepBackup && existsSync(path)) renameSync(path, `${path}.bak`)
    renameSync(tmp, path)
  } catch (err) {
    rmSync(tmp, { force: true })
    const code = (err as NodeJS.ErrnoException).code
    throw new HandlerError(
      'internal',
      code === 'ENOSPC'
        ? `${path}: the disk is full; nothing was changed`
        : `${path}: could not be written (${code ?? err})`,
    )
  }
}

const NAME = /^[\p{L}\p{N} ._()-]{1,100}$/u

export class ProjectStore {
  constructor(
    readonly dir: string,
    readonly stateDir: string,
  ) {
    mkdirSync(dir, { recursive: true })
    mkdirSync(stateDir, { recursive: true })
  }

  private pathOf(name: string): string {
    const n = name.endsWith('.dolly') ? name.slice(0, -6) : name
    if (!NAME.test(n) || n.startsWith('.'))
      throw new HandlerError(
        'invalid-payload',
        `"${name}" is not a usable project name (letters, digits, spaces, . _ ( ) - ; up to 100)`,
      )
    return join(this.dir, `${n}.dolly`)
  }

  list(): { name: string; modifiedAt: number }[] {
    return readdirSync(this.dir)
      .filter((f) => f.endsWith('.dolly') && !f.startsWith('.'))
      .map((f) => ({ name: f.slice(0, -6), modifiedAt: statSync(join(this.dir, f)).mtimeMs }))
      .sort((a, b) => b.modifiedAt - a.modifiedAt)
  }

  save(name: string, doc: ProjectDocData): { name: string; savedAt: number } {
    const path = this.pathOf(name)
    atomicWrite(path, serializeProject(doc))
    this.clearRecovery()
    this.touchRecent(basename(path, '.dolly'))
    return { name: basename(path, '.dolly'), savedAt: Date.now() }
  }

  open(name: string): { doc: ProjectDocData; migratedFrom: number | null } {
    const path = this.pathOf(name)
    let text: string
    try {
      text = readFileSync(path, 'utf8')
    } catch (err) {
      throw new HandlerError(
        'invalid-payload',
        `${path}: cannot be read (${(err as NodeJS.ErrnoException).code ?? err})`,
      )
    }
    try {
      const { file, migratedFrom } = parseProject(text)
      this.touchRecent(basename(path, '.dolly'))
      return { doc: file.doc, migratedFrom }
    } catch (err) {
      if (err instanceof ProjectFormatError)
        throw new HandlerError(
          'invalid-payload',
          `${path}: ${err.message}; the file was left as it is`,
        )
      throw err
    }
  }

  private get recoveryPath(): string {
    return join(this.stateDir, 'recovery.dolly')
  }

  autosave(doc: ProjectDocData, name: string | null): void {
    atomicWrite(
      this.recoveryPath,
      JSON.stringify({ name, savedAt: Date.now(), project: serializeProject(doc) }),
      false,
    )
  }

  recovery(): { doc: ProjectDocData; name: string | null; savedAt: number } | null {
    if (!existsSync(this.recoveryPath)) return null
    try {
      const r = JSON.parse(readFileSync(this.recoveryPath, 'utf8')) as {
        name: string | null
        savedAt: number
        project: string
      }
      return { doc: parseProject(r.project).file.doc, name: r.name, savedAt: r.savedAt }
    } catch {
      return null // an unreadable recovery file offers nothing (it is never the only copy of a save)
    }
  }

  clearRecovery(): void {
    rmSync(this.recoveryPath, { force: true })
  }

  private touchRecent(name: string): void {
    const p = join(this.stateDir, 'recent.json')
    let list: string[] = []
    try {
      list = JSON.parse(readFileSync(p, 'utf8')) as string[]
    } catch {
      list = []
    }
    list = [name, ...list.filter((n) => n !== name)].slice(0, 10)
    atomicWrite(p, JSON.stringify(list), false)
  }

  recent(): string[] {
    try {
      return (
        JSON.parse(readFileSync(join(this.stateDir, 'recent.json'), 'utf8')) as string[]
      ).filter((n) => existsSync(join(this.dir, `${n}.dolly`)))
    } catch {
      return []
    }
  }
}
