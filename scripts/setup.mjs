// `npm run setup`: install (online, or offline with the skip variables) and build.
import { fileURLToPath } from 'node:url'
import { installDependencies, runBin } from './lib/install.mjs'

const root = fileURLToPath(new URL('..', import.meta.url))
installDependencies(root, { offline: process.argv.includes('--offline') })
process.exit(runBin(root, 'electron-vite', ['build']))
