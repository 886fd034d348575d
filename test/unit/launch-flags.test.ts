// The launchers' command lines: `npm run studio` (scripts/studio.mjs) ignored flags it did not
// know, --help included (it rebuilt and started the studio), and dropped --json; the web host
// blamed --port for a bad DOLLY_PORT.
import { spawnSync } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(__dirname, '../..')
const run = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, args, {
    cwd: root,
    encoding: 'utf8',
    timeout: 60_000,
    env: { ...process.env, ...env },
  })

describe('npm run studio flags', () => {
  it('--help prints the usage and starts nothing', () => {
    const r = run(['scripts/studio.mjs', '--help'])
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/^usage: npm run studio/)
    expect(r.stdout).toMatch(/--json +print the browser studio's URL, port and token/)
  })

  it('an unknown flag or a --port without a number is refused with exit 2', () => {
    const bogus = run(['scripts/studio.mjs', '--webb'])
    expect(bogus.status).toBe(2)
    expect(bogus.stderr).toMatch(/^studio: unknown option --webb\n/)
    const port = run(['scripts/studio.mjs', '--port', 'eighty'])
    expect(port.status).toBe(2)
    expect(port.stderr).toBe('studio: --port takes a port number from 0 to 65535, got eighty\n')
  })
})

describe('the web host names where a bad port came from', () => {
  const serve = ['--import', 'tsx', 'src/main/web/serve.ts']
  it('DOLLY_PORT', () => {
    const r = run(serve, { DOLLY_PORT: 'abc' })
    expect(r.status).toBe(2)
    expect(r.stderr).toBe('serve: DOLLY_PORT ("abc") must be a port number from 0 to 65535\n')
  })
  it('--port', () => {
    const r = run([...serve, '--port', '7x'])
    expect(r.status).toBe(2)
    expect(r.stderr).toBe('serve: --port ("7x") must be a port number from 0 to 65535\n')
  })
})
