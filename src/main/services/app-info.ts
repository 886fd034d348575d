// What `app.info` reports. Kept free of Electron so the web host can use it too.
import { readFileSync } from 'node:fs'
import type { AppInfo } from '../../shared/contract'

export function readPackageVersion(packageJsonPath: string): string {
  try {
    const pkg = JSON.parse(readFileSync(packageJsonPath, 'utf8')) as { version?: unknown }
    return typeof pkg.version === 'string' ? pkg.version : '0.0.0'
  } catch {
    return '0.0.0'
  }
}

export function makeAppInfo(
  host: AppInfo['host'],
  version: string,
  ortVersion: string | null,
): AppInfo {
  const versions: Record<string, string> = { node: process.versions.node, v8: process.versions.v8 }
  if (process.versions['electron']) versions['electron'] = process.versions['electron']
  if (process.versions['chrome']) versions['chrome'] = process.versions['chrome']
  if (ortVersion) versions['onnxruntime'] = ortVersion
  return {
    name: 'Dolly Studio',
    version,
    host,
    platform: process.platform,
    arch: process.arch,
    versions,
  }
}
