// Reading files a person or a folder hands us. Only regular files: a FIFO blocks the process
// that opens it until someone writes (the web host froze on a model_index.json that was a named
// pipe), and a device such as /dev/zero never ends (the CLI ran out of memory on one as a pose
// file). Text files have a size bound, since they are read whole.
import { openSync, readFileSync, statSync, type Stats } from 'node:fs'

/**
 * The device Windows takes a file or folder name for, or null: CON, PRN, AUX, NUL, COM0-9 and
 * LPT0-9, also with an extension (nul.txt), with ISO 8859-1's superscript digits (COM¹ is COM1)
 * and with spaces before the dot or the end ("con .txt"). Project names and a repository's file
 * names are checked with it.
 */
export function windowsDeviceName(name: string): string | null {
  const m = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³])(\.|$)/i.exec(name.replace(/ +(?=\.|$)/, ''))
  return m ? m[1]! : null
}

/** JSON and text files read whole (configs, tokenizers, pose files, projects): 256 MiB. */
export const MAX_TEXT_FILE = 256 * 1024 * 1024

export class UnreadableFileError extends Error {
  constructor(
    message: string,
    readonly path: string,
    /** The errno code when the file could not be looked at (ENOENT, EACCES, ...). */
    readonly code?: string,
  ) {
    super(message)
  }
}

function kindOf(s: Stats): string {
  if (s.isDirectory()) return 'a folder'
  if (s.isFIFO()) return 'a named pipe'
  if (s.isCharacterDevice() || s.isBlockDevice()) return 'a device'
  if (s.isSocket()) return 'a socket'
  return 'not a regular file'
}

/**
 * The file's size once it is known to be a regular file (symlinks followed), else an
 * UnreadableFileError naming it: "<path>: <what> is a named pipe; expected a file".
 */
export function regularFileSize(path: string, what = 'this'): number {
  let s: Stats
  try {
    s = statSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new UnreadableFileError(`${path}: cannot be read (${code ?? String(err)})`, path, code)
  }
  if (!s.isFile())
    throw new UnreadableFileError(`${path}: ${what} is ${kindOf(s)}; expected a file`, path)
  return s.size
}

/** Whether `path` is a regular file (symlinks followed): for optional files, skipped otherwise. */
export function isRegularFile(path: string): boolean {
  try {
    regularFileSize(path)
    return true
  } catch {
    return false
  }
}

/** A regular file's text, at most `maxBytes` of it (else an UnreadableFileError saying so). */
export function readTextFile(path: string, what?: string, maxBytes = MAX_TEXT_FILE): string {
  const size = regularFileSize(path, what)
  if (size > maxBytes)
    throw new UnreadableFileError(
      `${path}: ${what ?? 'the file'} is ${(size / 2 ** 20).toFixed(1)} MiB; at most ${(maxBytes / 2 ** 20).toFixed(0)} MiB is read`,
      path,
    )
  return readFileSync(path, 'utf8')
}

/** openSync(path, 'r') for a regular file only (never blocks on a FIFO). */
export function openRegularFile(path: string, what?: string): number {
  regularFileSize(path, what)
  return openSync(path, 'r')
}
