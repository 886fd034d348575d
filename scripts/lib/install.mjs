// Installing the project's dependencies, online or not. With internet, a plain `npm ci`
// runs the approved install scripts (allowScripts in package.json): Electron's binary,
// onnxruntime-node's CUDA provider, ffmpeg-static's binary. Without it those downloads
// fail, so we install with the documented skip variables and without those downloads, and
// the studio falls back to the browser.
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm'

export const OFFLINE_ENV = { ELECTRON_SKIP_BINARY_DOWNLOAD: '1', ONNXRUNTIME_NODE_INSTALL: 'skip' }

function lockHash(root) {
  return createHash('sha256')
    .update(readFileSync(join(root, 'package-lock.json')))
    .digest('hex')
}

function stampPath(root) {
  return join(root, 'node_modules', '.dolly-install')
}

/** @returns {boolean} whether node_modules matches package-lock.json. */
export function isInstalled(root) {
  const stamp = stampPath(root)
  if (!existsSync(stamp)) return false
  try {
    return JSON.parse(readFileSync(stamp, 'utf8')).lock === lockHash(root)
  } catch {
    return false
  }
}

function run(root, args, env, quiet) {
  const r = spawnSync(npm, args, {
    cwd: root,
    env: { ...process.env, ...env },
    stdio: quiet ? ['ignore', 'pipe', 'pipe'] : 'inherit',
    encoding: 'utf8',
  })
  return { ok: r.status === 0, output: `${r.stdout ?? ''}${r.stderr ?? ''}` }
}

/**
 * Offline install: every package from the registry, no install scripts, then the scripts
 * that need no download (ffmpeg-installer's chmod; Electron and onnxruntime-node exit early
 * under the skip variables).
 */
function installOffline(root, log) {
  const env = { ...OFFLINE_ENV }
  const ci = run(root, ['ci', '--ignore-scripts', '--no-audit', '--no-fund'], env, false)
  if (!ci.ok) throw new Error('npm ci failed (see above); the npm registry must be reachable')
  const ffmpegPkg = `@ffmpeg-installer/${process.platform}-${process.arch}`
  const rebuild = ['electron', 'onnxruntime-node']
  if (existsSync(join(root, 'node_modules', ffmpegPkg))) rebuild.push(ffmpegPkg)
  const rb = run(root, ['rebuild', ...rebuild], env, true)
  if (!rb.ok) log(`warning: npm rebuild ${rebuild.join(' ')} failed:\n${rb.output.slice(-2000)}`)
}

/**
 * @param {string} root
 * @param {{ log?: (s: string) => void, offline?: boolean }} [opts]
 * @returns {{ mode: 'online' | 'offline' }}
 */
export function installDependencies(root, opts = {}) {
  const log = opts.log ?? ((s) => console.log(s))
  const offline =
    opts.offline ||
    process.env.ELECTRON_SKIP_BINARY_DOWNLOAD === '1' ||
    process.env.DOLLY_OFFLINE_INSTALL === '1'
  let mode = 'offline'
  if (!offline) {
    log('Installing dependencies (npm ci)…')
    const full = run(root, ['ci', '--no-audit', '--no-fund'], {}, true)
    if (full.ok) mode = 'online'
    else {
      log(
        "Could not download Electron's binary and the other native downloads (no internet?): installing without them.",
      )
      installOffline(root, log)
    }
  } else {
    log(
      'Installing dependencies without native downloads (ELECTRON_SKIP_BINARY_DOWNLOAD=1, ONNXRUNTIME_NODE_INSTALL=skip)…',
    )
    installOffline(root, log)
  }
  writeFileSync(
    stampPath(root),
    JSON.stringify({ lock: lockHash(root), mode, at: new Date().toISOString() }),
  )
  return { mode }
}

export function ensureInstalled(root, opts = {}) {
  if (isInstalled(root)) return
  installDependencies(root, opts)
}

/** Runs a binary from node_modules/.bin; returns its exit code. */
export function runBin(root, bin, args, opts = {}) {
  const exe = join(root, 'node_modules', '.bin', process.platform === 'win32' ? `${bin}.cmd` : bin)
  const r = spawnSync(exe, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...(opts.env ?? {}) },
  })
  if (r.error) throw r.error
  return r.status ?? 1
}

/** Builds the app (electron-vite) and the demo model; returns the first non-zero exit code. */
export function buildAll(root, quiet = true) {
  const built = runBin(root, 'electron-vite', quiet ? ['build', '--logLevel', 'warn'] : ['build'])
  if (built !== 0) return built
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'src/demo-model/cli.ts')], {
    cwd: root,
    stdio: 'inherit',
  })
  return r.status ?? 1
}
