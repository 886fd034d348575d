// Input images the user dropped into the studio (image-to-video). The renderer cannot hand
// main a path, so it sends the bytes (web host: POST /inputs; Electron: POST dolly-media://inputs);
// main keeps them under the state folder by content hash and a render names them by that id.
// Only ids this code made resolve to a file: a page cannot point the engine at another path.
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { INPUT_IMAGE_ID, type InputImageType } from '../../shared/render'

export const MAX_INPUT_BYTES = 64 * 1024 * 1024
const ID = INPUT_IMAGE_ID

export class InputError extends Error {
  constructor(
    message: string,
    readonly status = 400,
  ) {
    super(message)
    this.name = 'InputError'
  }
}

/** The image type from the first bytes, or null when it is not one we read. */
export function sniffImage(b: Uint8Array): InputImageType | null {
  const at = (i: number, s: string) => [...s].every((c, k) => b[i + k] === c.charCodeAt(0))
  if (b.length >= 8 && b[0] === 0x89 && at(1, 'PNG\r\n')) return 'png'
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpg'
  if (b.length >= 12 && at(0, 'RIFF') && at(8, 'WEBP')) return 'webp'
  if (b.length >= 14 && at(0, 'BM')) return 'bmp'
  if (b.length >= 4 && (at(0, 'II*\0') || at(0, 'MM\0*'))) return 'tif'
  return null
}

export class InputStore {
  /** `check`: what is wrong with a stored image beyond its first bytes (the engine's reader). */
  constructor(
    private readonly dir: string,
    private readonly check?: (path: string) => Promise<string | null>,
  ) {}

  /** Stores the bytes (atomically, deduplicated by content) and returns their id. Asynchronous
   * throughout: the host serves sockets and renders while a large drop is written and checked. */
  async add(bytes: Uint8Array, name: string): Promise<{ id: string; name: string; bytes: number }> {
    const label = name.slice(0, 255) || 'the image'
    if (bytes.length === 0) throw new InputError(`${label}: the file is empty`)
    if (bytes.length > MAX_INPUT_BYTES)
      throw new InputError(
        `${label}: ${(bytes.length / 2 ** 20).toFixed(1)} MiB; images up to ${MAX_INPUT_BYTES / 2 ** 20} MiB are accepted`,
        413,
      )
    const type = sniffImage(bytes)
    if (!type)
      throw new InputError(
        `${label}: not an image this studio reads; expected PNG, JPEG, WebP, BMP or TIFF`,
        415,
      )
    const id = `${createHash('sha256').update(bytes).digest('hex')}.${type}`
    const path = join(this.dir, id)
    if (!existsSync(path)) {
      const tmp = join(this.dir, `.${id}.${randomBytes(4).toString('hex')}.tmp`)
      try {
        await mkdir(this.dir, { recursive: true })
        await writeFile(tmp, bytes)
        // refused at the drop, naming the file, not at the render as an unreadable input
        const problem = await this.check?.(tmp)
        if (problem) throw new InputError(`${label}: ${problem}`, 415)
        await rename(tmp, path)
      } catch (err) {
        await rm(tmp, { force: true })
        if (err instanceof InputError) throw err
        // the same bytes dropped twice at once: the other drop stored them first (on Windows a
        // rename over a file just opened fails); they are the same content, so this is done
        if (existsSync(path)) return { id, name: label, bytes: bytes.length }
        if ((err as NodeJS.ErrnoException).code === 'ENOSPC')
          throw new InputError(
            `${label}: the disk holding the studio's inputs (${this.dir}) is full; free some space and drop the image again`,
            507,
          )
        throw err
      }
    }
    return { id, name: label, bytes: bytes.length }
  }

  /** The file for an id this store made, or an error that says what to do. */
  path(id: string): string {
    if (!ID.test(id))
      throw new InputError(`input image id "${id.slice(0, 80)}" is not one the studio made`)
    const p = join(this.dir, id)
    if (!existsSync(p))
      throw new InputError('the input image is no longer in the studio’s inputs; drop it again')
    return p
  }
}
