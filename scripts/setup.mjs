// `npm run setup`: install (online, or offline with the skip variables) and build.
import { fileURLToPath } from 'node:url'
import { buildAll, installDependencies } from './lib/install.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
installDependencies(root, { offline: process.argv.includes('--offline') })
process.exit(buildAll(root, false))
