// Where Electron's binary is, without requiring the `electron` package: since Electron 45
// its index.js tries to download a missing binary on first use, which hangs or fails offline.
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

/** @param {string} root the project root @returns {string | null} */
export function electronBinaryPath(root) {
  const pkg = join(root, 'node_modules', 'electron')
  const pathFile = join(pkg, 'path.txt')
  if (!existsSync(pathFile)) return null
  const rel = readFileSync(pathFile, 'utf8').trim()
  const full = process.env.ELECTRON_OVERRIDE_DIST_PATH
    ? join(process.env.ELECTRON_OVERRIDE_DIST_PATH, rel)
    : join(pkg, 'dist', rel)
  return existsSync(full) ? full : null
}

/** @returns {boolean} whether a window can open (always on macOS and Windows). */
export function hasDisplay() {
  if (process.platform !== 'linux') return true
  return Boolean(process.env.DISPLAY || process.env.WAYLAND_DISPLAY)
}
