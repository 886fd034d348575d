#!/usr/bin/env node
// `dolly render ...`: runs the built CLI (out/main/cli.js).
import { existsSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'

const cli = fileURLToPath(new URL('../out/main/cli.js', import.meta.url))
if (!existsSync(cli)) {
  console.error(
    'dolly: the studio is not built yet; run `npm run build` (or `npm run setup`) first',
  )
  process.exit(2) // 2: a usage/setup error, as the CLI documents its exit codes (README)
}
const args = process.argv.slice(2)
if (args[0] !== 'render' && args[0] !== '--help' && args[0] !== '-h') {
  console.error('usage: dolly render [options]   (dolly render --help)')
  process.exit(2) // 2: unknown command, same code as the CLI's other usage errors
}
// `npm run render -- ...` runs this in the project's folder; the paths the person typed are
// relative to where they ran npm (INIT_CWD), as they would be for `dolly render ...`
if (process.env.npm_lifecycle_event === 'render' && process.env.INIT_CWD)
  process.chdir(process.env.INIT_CWD)
// onnxruntime starts Microsoft's telemetry as it loads (a device id and an event store in the
// cache folder, uploaded where it can; a /tmp/mat-debug-<pid>.log): off before the CLI loads it,
// unless the person set it (the engine process gets the same from engineEnv)
process.env.ORT_DISABLE_TELEMETRY ??= '1'
const { main } = await import(pathToFileURL(cli).href)
// the CLI's own exit code (0 done, 1 render failed, 2 usage, a setting or input the model cannot take, 3 model refused,
// 4 export failed, 130 cancelled (Ctrl-C), 143 terminated (SIGTERM); see src/main/cli/index.ts)
process.exit(await main(args))
