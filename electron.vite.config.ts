import { resolve } from 'node:path'
import { defineConfig } from 'electron-vite'

export default defineConfig({
  main: {
    build: {
      rollupOptions: {
        input: {
          index: resolve('src/main/electron/main.ts'),
          worker: resolve('src/main/engine/worker.ts'),
          serve: resolve('src/main/web/serve.ts'),
          cli: resolve('src/main/cli/index.ts'),
        },
      },
    },
  },
  preload: {
    build: {
      // A sandboxed preload cannot require node_modules: bundle zod and the contract in, and
      // emit CommonJS, which is what sandboxed preloads run.
      externalizeDeps: false,
      rollupOptions: {
        external: ['electron'],
        input: { index: resolve('src/preload/index.ts') },
        output: { format: 'cjs', entryFileNames: '[name].cjs' },
      },
    },
  },
  renderer: {
    root: resolve('src/renderer'),
    build: {
      rollupOptions: { input: { index: resolve('src/renderer/index.html') } },
    },
  },
})
