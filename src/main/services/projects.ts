// Projects on disk: named .dolly files in the studio's projects folder, written atomically
// (temp file and fsync, the previous version kept as .bak by a hard link, the temp renamed
// over the file, the folder fsynced), an autosave recovery file per session written every few
// seconds while there are unsaved edits, and the recent list. Open and list recover a project that an
// interrupted save of an older version left only as .bak or temp file.
import {
  closeSync,
  copyFileSync,
  existsSync,
  fsyncSync,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeSync,
} from 'node:fs'
import { createHash, randomBytes } from 'node:crypto'
import { basename, dirname, join } from 'node:path'
import { isUtf8 } from 'node:buffer'
import {
  parseProject,
  ProjectFormatError,
  serializeProject,
  type ProjectDocData,
} from '../../shared/project'
import { MAX_LISTED_PROJECTS } from '../../shared/contract'
import { readTextFile, UnreadableFileError, windowsDeviceName } from '../engine/files'
import { crashPoint } from './crash-points'
import { clampText, HandlerError } from './dispatch'

/** A project file is read whole; the document itself is bounded at 8 MiB (MAX_PROJECT_BYTES). */
const MAX_PROJECT_FILE = 64 * 1024 * 1024
/** Stores made in this process (each is a session of its own). */
let sessions = 0
/** A page's name for itself (random, made at page load): autosaves are kept per page. */
export const PAGE_SESSION = /^[A-Za-z0-9-]{8,64}$/

/** Flushes a folder's entries (renames, links) to disk; not possible everywhere (Windows). */
function fsyncDir(dir: string): void {
  let fd: number | null = null
  try {
    fd = openSync(dir, 'r')
    fsyncSync(fd)
  } catch {
    // a platform or file system without directory fsync: the rename is still atomic
  } finally {
    if (fd !== null) closeSync(fd)
  }
}

/** A temp file's name beside `path`: hidden, and recognisable by openers and cleaners. */
function tempBeside(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`)
}

/**
 * Writes `text` to `path` so that a crash at any point leaves the old file or the new one at
 * `path`, never neither: the temp file is written and fsynced, the old version is kept as
 * `.bak` by a hard link (a copy where links fail) made first, then the temp file is renamed
 * over `path` in one step, and the folder is fsynced.
 */
/** A project file's revision: a hash of its text (null when there is no file). */
export function revisionOfText(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32)
}

function revisionOf(path: string): string | null {
  try {
    return revisionOfText(readTextFile(path, 'the project', MAX_PROJECT_FILE))
  } catch {
    return null
  }
}

export function atomicWrite(path: string, text: string, keepBackup = true): void {
  const dir = dirname(path)
  mkdirSync(dir, { recursive: true })
  const tmp = tempBeside(path)
  let bakTmp: string | null = null
  try {
    const fd = openSync(tmp, 'w')
    try {
      writeSync(fd, text)
      fsyncSync(fd)
    } finally {
      closeSync(fd)
    }
    crashPoint('atomic-write:temp-written')
    if (keepBackup && existsSync(path)) {
      bakTmp = tempBeside(`${path}.bak`)
      try {
        linkSync(path, bakTmp)
      } catch {
        copyFileSync(path, bakTmp)
        const bfd = openSync(bakTmp, 'r+')
        try {
          fsyncSync(bfd)
        } finally {
          closeSync(bfd)
        }
      }
      renameSync(bakTmp, `${path}.bak`)
      bakTmp = null
      crashPoint('atomic-write:backup-made')
    }
    renameSync(tmp, path)
    crashPoint('atomic-write:renamed')
    fsyncDir(dir)
  } catch (err) {
    // best effort: a cleanup that fails too must not hide why the write failed
    for (const leftover of [tmp, bakTmp])
      if (leftover)
        try {
          rmSync(leftover, { force: true })
        } catch {
          // nothing more to do
        }
    const code = (err as NodeJS.ErrnoException).code
    throw new HandlerError(
      'internal',
      code === 'ENOSPC'
        ? `${path}: the disk is full; nothing was changed`
        : `${path}: could not be written (${code ?? err})`,
    )
  }
}

/**
 * The most UTF-8 bytes of a name: file systems hold 255-byte names, and a save's backup temp
 * file is the longest (`.<name>.dolly.bak.<8 hex>.tmp`, 24 bytes more than the name).
 */
const MAX_NAME_BYTES = 255 - '.'.length - '.dolly.bak.'.length - 8 - '.tmp'.length

/**
 * Why a project name cannot be a file name on every desktop OS, or null. Any letters (composed
 * or as letter + accent, as macOS writes them), digits, spaces and punctuation, except what
 * Windows forbids in file names (< > : " / \\ | ? * and control characters), a leading dot
 * (hidden), a trailing dot or space, and Windows' device names (CON, NUL, COM1, ...).
 */
export function projectNameProblem(n: string): string | null {
  if (!n.trim()) return 'it is empty'
  if (n.length > 100) return `it has ${n.length} characters; up to 100`
  const bytes = Buffer.byteLength(n, 'utf8')
  if (bytes > MAX_NAME_BYTES)
    return `it is ${bytes} bytes in UTF-8; up to ${MAX_NAME_BYTES} (fewer characters with accents or non-Latin scripts)`
  // eslint-disable-next-line no-control-regex
  const bad = /[<>:"/\\|?*\u0000-\u001f\u007f]/u.exec(n)
  if (bad) return `it has ${JSON.stringify(bad[0])}, which file names cannot hold`
  if (n.startsWith('.')) return 'it starts with a dot'
  if (/[. ]$/.test(n) || n.startsWith(' '))
    return 'it starts or ends with a space, or ends with a dot'
  // COM¹ and "con .txt" too: on Windows a save there writes to the device, and the backup
  // step (a copy where a link fails) reads from it
  if (windowsDeviceName(n)) return 'Windows reserves that name'
  return null
}

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
    const why = projectNameProblem(n)
    if (why)
      throw new HandlerError(
        'invalid-payload',
        `"${clampText(name, 120)}" is not a usable project name: ${why}`,
      )
    return join(this.dir, `${n}.dolly`)
  }

  /**
   * The projects, newest first (at most MAX_LISTED_PROJECTS, the contract's bound). One entry
   * that cannot be read (a dangling link, a folder named .dolly, a name the studio cannot open)
   * is skipped and reported in `problems`, never failing the list; a project that an
   * interrupted save left only as .bak or temp file is restored first (and reported).
   */
  list(): { projects: { name: string; modifiedAt: number }[]; problems: string[] } {
    const problems: string[] = []
    const entries = readdirSync(this.dir)
    const names = new Set<string>()
    for (const f of entries) {
      const m = /^\.?(.+)\.dolly(?:\.bak|\.[0-9a-f]{8}\.tmp)?$/.exec(f)
      if (!m || f.startsWith('.') !== f.endsWith('.tmp')) continue
      const why = projectNameProblem(m[1]!)
      if (!why) names.add(m[1]!)
      else if (f.endsWith('.dolly'))
        problems.push(
          `${f.slice(0, 200)}: skipped: the studio cannot open this name (${why}); rename the file`,
        )
    }
    const projects: { name: string; modifiedAt: number }[] = []
    for (const name of names) {
      const path = join(this.dir, `${name}.dolly`)
      try {
        const restored = this.restoreLeftovers(path, entries)
        if (restored) problems.push(restored)
        if (!lstatExists(path)) continue // only leftovers, none of them readable
        const st = statSync(path)
        if (!st.isFile()) throw new Error('it is not a file')
        projects.push({ name, modifiedAt: st.mtimeMs })
      } catch (err) {
        problems.push(`${path}: skipped: ${describeUnreadable(path, err)}`)
      }
    }
    projects.sort((a, b) => b.modifiedAt - a.modifiedAt)
    if (projects.length > MAX_LISTED_PROJECTS)
      problems.push(
        `${projects.length} projects: the newest ${MAX_LISTED_PROJECTS} are listed; open an older one by its name`,
      )
    for (const p of problems) console.error(`projects: ${p}`)
    return {
      projects: projects.slice(0, MAX_LISTED_PROJECTS),
      problems: problems.slice(0, 100).map((p) => clampText(p)),
    }
  }

  /**
   * When `path` is missing but an interrupted save left its content beside it (the temp file
   * it was writing, or the .bak of the previous version: the older studio renamed the file to
   * .bak before renaming the temp file in), puts the newest readable one back at `path` and
   * says so; null when there was nothing to do. Leftover temp files that the file at `path`
   * supersedes are removed. `entries` is the folder's listing.
   */
  private restoreLeftovers(path: string, entries: string[] = readdirSync(this.dir)): string | null {
    const base = basename(path)
    const temps: string[] = []
    for (const f of entries) {
      if (!f.startsWith(`.${base}.`) || !f.endsWith('.tmp')) continue
      const rest = f.slice(base.length + 2, -4)
      // .<base>.bak.<hex>.tmp: a backup being made; the file it copies is still there
      if (/^bak\.[0-9a-f]{8}$/.test(rest)) rmSync(join(this.dir, f), { force: true })
      else if (/^[0-9a-f]{8}$/.test(rest)) temps.push(join(this.dir, f))
    }
    if (lstatExists(path)) {
      // saves that never finished, superseded by the file now there
      const now = statSafe(path)
      for (const t of temps)
        if (now !== null && (statSafe(t) ?? 0) <= now) rmSync(t, { force: true })
      return null
    }
    const best = [...temps, `${path}.bak`]
      .map((file) => ({ file, mtime: statSafe(file) }))
      .filter((c): c is { file: string; mtime: number } => c.mtime !== null && readable(c.file))
      .sort((a, b) => b.mtime - a.mtime)[0]
    if (!best) return null
    const fromBackup = best.file === `${path}.bak`
    if (fromBackup) {
      // the .bak stays: a copy of it is renamed in
      const tmp = tempBeside(path)
      copyFileSync(best.file, tmp)
      renameSync(tmp, path)
    } else renameSync(best.file, path)
    fsyncDir(this.dir)
    for (const t of temps) if (t !== best.file) rmSync(t, { force: true })
    return `${base} was missing after an interrupted save; it was restored from ${fromBackup ? 'its backup (.bak)' : 'the save in progress'}, written ${new Date(best.mtime).toISOString()}`
  }

  /**
   * Writes the project. With `base` (the revision this page last read or wrote; null: it knew
   * no file), a file that changed since is refused with 'conflict' and left as it is: two tabs
   * on one project no longer overwrite each other's work without a word.
   */
  save(
    name: string,
    doc: ProjectDocData,
    page?: string,
    base?: string | null,
  ): { name: string; savedAt: number; revision: string } {
    const path = this.pathOf(name)
    if (base !== undefined) {
      const now = revisionOf(path)
      if (now !== base)
        throw new HandlerError(
          'conflict',
          `${basename(path, '.dolly')} was saved from another tab or window since this page opened it; nothing was written`,
        )
    }
    const text = serializeProject(doc)
    atomicWrite(path, text)
    this.clearRecovery(page)
    this.touchRecent(basename(path, '.dolly'))
    return { name: basename(path, '.dolly'), savedAt: Date.now(), revision: revisionOfText(text) }
  }

  open(name: string): {
    doc: ProjectDocData
    migratedFrom: number | null
    recovered?: string
    revision: string
  } {
    const path = this.pathOf(name)
    let text: string
    let recovered: string | null = null
    try {
      recovered = this.restoreLeftovers(path)
      text = readTextFile(path, 'the project', MAX_PROJECT_FILE)
    } catch (err) {
      // a pipe or a device is named as such; a missing file or a dangling link as before
      if (err instanceof UnreadableFileError && !err.code)
        throw new HandlerError('invalid-payload', err.message)
      throw new HandlerError(
        'invalid-payload',
        `${path}: cannot be read (${describeUnreadable(path, err)})`,
      )
    }
    // bytes that are not UTF-8 (a hand edit saved as Windows-1252) were read as U+FFFD, and the
    // next save wrote the replaced letters for good
    if (text.includes('\ufffd') && !isUtf8(readFileSync(path)))
      throw new HandlerError(
        'invalid-payload',
        `${path}: not UTF-8 text (line ${text.slice(0, text.indexOf('\ufffd')).split('\n').length}); save it as UTF-8; the file was left as it is`,
      )
    try {
      const { file, migratedFrom } = parseProject(text)
      this.touchRecent(basename(path, '.dolly'))
      if (recovered) console.error(`projects: ${recovered}`)
      return {
        doc: file.doc,
        migratedFrom,
        ...(recovered ? { recovered } : {}),
        revision: revisionOfText(text),
      }
    } catch (err) {
      if (err instanceof ProjectFormatError)
        throw new HandlerError(
          'invalid-payload',
          `${path}: ${err.message}; the file was left as it is`,
        )
      throw err
    }
  }

  /**
   * Autosaves are kept per session, so a session that crashes while the previous one's recovery
   * is still on offer loses neither: the next start offers the newest, then the older ones. A
   * session is one page load when the page names itself (`page`: a reload, or a second tab of
   * the web host, is a session of its own, so a reload offers what the page before it
   * autosaved), else the process run. Files: <state>/recovery/<started>-<pid>-<n>.dolly, or
   * page-<id>.dolly.
   */
  private readonly session = `${Date.now()}-${process.pid}-${++sessions}`
  /** Pages still open (the web host's connections): their autosaves are not another's to take. */
  livePage: (page: string) => boolean = () => false

  private get recoveryDir(): string {
    return join(this.stateDir, 'recovery')
  }

  private sessionFile(page?: string): string {
    if (page !== undefined && !PAGE_SESSION.test(page))
      throw new HandlerError('invalid-payload', 'page: expected 8-64 letters, digits or dashes')
    return page !== undefined ? `page-${page}.dolly` : `${this.session}.dolly`
  }

  /**
   * `base`: the revision of the file `name` the document was edited from (null: none), kept so
   * that a Save of the recovered document is checked for a newer save as any other Save is.
   */
  autosave(doc: ProjectDocData, name: string | null, page?: string, base?: string | null): void {
    const file = join(this.recoveryDir, this.sessionFile(page))
    mkdirSync(this.recoveryDir, { recursive: true })
    atomicWrite(
      file,
      JSON.stringify({
        name,
        savedAt: Date.now(),
        project: serializeProject(doc),
        ...(base !== undefined ? { base } : {}),
      }),
      false,
    )
  }

  /** Other sessions' autosaves, newest first (an older studio's single file included). */
  private earlierRecoveries(page?: string): string[] {
    const legacy = join(this.stateDir, 'recovery.dolly')
    const own = this.sessionFile(page)
    let files: string[] = []
    try {
      files = readdirSync(this.recoveryDir)
        .filter((f) => /^(\d+-\d+(-\d+)?|page-[A-Za-z0-9-]{8,64})\.dolly$/.test(f) && f !== own)
        .filter((f) => !(f.startsWith('page-') && this.livePage(f.slice(5, -6))))
        .map((f) => join(this.recoveryDir, f))
    } catch {
      // no folder yet
    }
    if (existsSync(legacy)) files.push(legacy)
    const mtime = (f: string) => {
      try {
        return statSync(f).mtimeMs
      } catch {
        return 0
      }
    }
    return files.sort((a, b) => mtime(b) - mtime(a))
  }

  /** The newest autosave an earlier session left, and how many more there are after it. */
  recovery(page?: string): {
    doc: ProjectDocData
    name: string | null
    savedAt: number
    more: number
    /** The revision the document was edited from; absent: not known (an older autosave). */
    base?: string | null
  } | null {
    const files = this.earlierRecoveries(page)
    for (const [i, file] of files.entries()) {
      try {
        const r = JSON.parse(readTextFile(file, 'an autosave', MAX_PROJECT_FILE)) as {
          name?: unknown
          savedAt?: unknown
          project?: unknown
          base?: unknown
        }
        if (typeof r.project !== 'string') throw new Error('no project')
        const doc = parseProject(r.project).file.doc
        // the work counts, not the label: a name or time the contract cannot carry is dropped
        const name =
          typeof r.name === 'string' && r.name.length <= 256 && r.name.trim() ? r.name : null
        const savedAt =
          typeof r.savedAt === 'number' && Number.isFinite(r.savedAt)
            ? r.savedAt
            : statSync(file).mtimeMs
        // a base the contract cannot carry counts as not known
        const base =
          r.base === null || (typeof r.base === 'string' && r.base.length <= 64)
            ? r.base
            : undefined
        if (savedAt !== r.savedAt || name !== r.name) {
          // best effort, and the file keeps its place in the newest-first order; a failed
          // rewrite (a full disk) must never cost the autosave itself
          try {
            const { atimeMs, mtimeMs } = statSync(file)
            atomicWrite(file, JSON.stringify({ name, savedAt, project: r.project, base }), false)
            utimesSync(file, atimeMs / 1000, mtimeMs / 1000)
          } catch (err) {
            console.error(`projects: ${file}: not relabelled: ${(err as Error).message}`)
          }
        }
        return {
          doc,
          name,
          savedAt,
          more: files.length - i - 1,
          ...(base !== undefined ? { base } : {}),
        }
      } catch (err) {
        // an autosave this studio cannot read offers nothing, but it may be the only copy of
        // the work: a newer studio's stays where that studio looks for it, any other is moved
        // out of the way (never offered again, and there to recover by hand)
        if (err instanceof ProjectFormatError && err.newerVersion !== undefined) continue
        const why = err instanceof Error ? err.message : String(err)
        try {
          renameSync(file, `${file}.unreadable`)
          console.error(`projects: ${file}: cannot be offered (${why}); kept as .unreadable`)
        } catch (e) {
          console.error(`projects: ${file}: cannot be offered (${why}): ${(e as Error).message}`)
        }
      }
    }
    return null
  }

  /**
   * Discards the autosave on offer (the one `savedAt` names, else the newest earlier one);
   * the next earlier one, if any, is offered after it.
   */
  discardRecovery(savedAt?: number, page?: string): boolean {
    for (const file of this.earlierRecoveries(page)) {
      let at: number | null = null
      try {
        at = (
          JSON.parse(readTextFile(file, 'an autosave', MAX_PROJECT_FILE)) as { savedAt: number }
        ).savedAt
      } catch {
        at = null
      }
      if (savedAt === undefined || at === savedAt) {
        rmSync(file, { force: true })
        return true
      }
    }
    return false
  }

  /** This session's autosave goes once its work is saved to a project file. */
  clearRecovery(page?: string): void {
    rmSync(join(this.recoveryDir, this.sessionFile(page)), { force: true })
  }

  /** recent.json's names; anything else there (a hand edit, a broken write) counts as none. */
  private readRecent(): string[] {
    try {
      const v: unknown = JSON.parse(
        readTextFile(join(this.stateDir, 'recent.json'), 'recent.json', 1024 * 1024),
      )
      return Array.isArray(v)
        ? v.filter((n): n is string => typeof n === 'string' && !projectNameProblem(n)).slice(0, 10)
        : []
    } catch {
      return []
    }
  }

  /** Best effort: a save or open that worked is never reported failed for its recent list. */
  private touchRecent(name: string): void {
    try {
      const list = [name, ...this.readRecent().filter((n) => n !== name)].slice(0, 10)
      atomicWrite(join(this.stateDir, 'recent.json'), JSON.stringify(list), false)
    } catch (err) {
      console.error(
        `projects: recent.json not updated: ${err instanceof Error ? err.message : err}`,
      )
    }
  }

  recent(): string[] {
    return this.readRecent().filter((n) => existsSync(join(this.dir, `${n}.dolly`)))
  }
}

/** A leftover worth restoring: a whole project file (a temp file cut short by a crash is not). */
function readable(file: string): boolean {
  try {
    parseProject(readTextFile(file, 'a leftover', MAX_PROJECT_FILE))
    return true
  } catch {
    return false
  }
}

function statSafe(path: string): number | null {
  try {
    return statSync(path).mtimeMs
  } catch {
    return null
  }
}

function lstatExists(path: string): boolean {
  try {
    lstatSync(path)
    return true
  } catch {
    return false
  }
}

/** Why a project path cannot be read, in words: a dangling link names its target. */
function describeUnreadable(path: string, err: unknown): string {
  try {
    if (lstatSync(path).isSymbolicLink() && !existsSync(path))
      return `it is a link to ${readlinkSync(path)}, which does not exist`
  } catch {
    // not there at all
  }
  const code = (err as NodeJS.ErrnoException).code
  return code === 'ENOENT'
    ? 'no such project'
    : (code ?? (err instanceof Error ? err.message : String(err)))
}
