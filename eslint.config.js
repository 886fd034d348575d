// Flat config: TypeScript-aware rules for every layer, plus the layering rule that
// keeps src/shared free of Node and DOM, and the engine free of Electron.
import js from '@eslint/js'
import tseslint from 'typescript-eslint'

/** A no-restricted-imports rule for one layer: packages it may not use, folders it may not reach. */
function layer(files, packages, folders) {
  return [
    {
      files: [files],
      rules: {
        'no-restricted-imports': [
          'error',
          {
            patterns: [
              ...packages.map((p) => ({ group: [p], message: `${files} may not import ${p}` })),
              ...folders.map((f) => ({
                group: [f],
                message: `${files} may not import from ${f} (a higher layer; see docs/ARCHITECTURE.md)`,
              })),
            ],
          },
        ],
      },
    },
  ]
}

export default tseslint.config(
  { ignores: ['out/**', 'node_modules/**', 'test-results/**', 'playwright-report/**', '.scratch/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
  // Layers (docs/ARCHITECTURE.md): each folder may import only the ones below it.
  //   shared            pure TypeScript: no Node, DOM, Electron, React or three.js
  //   main/engine       the engine process: shared only (never Electron or main's services)
  //   main/services     host-neutral main-side services: engine modules and shared, no Electron
  //   main/web, cli     the web host and the CLI: services, engine, shared; no Electron
  //   main/electron     the desktop host: anything in main
  //   preload, renderer the page side: shared only
  ...layer('src/shared/**/*.ts', ['node:*', 'electron', 'react', 'three'], [
    '**/main/**',
    '**/renderer/**',
    '**/preload/**',
    '**/test/**',
  ]),
  ...layer('src/main/engine/**/*.ts', ['electron'], [
    '**/services/*',
    '**/electron/*',
    '**/web/*',
    '**/cli/*',
    '**/renderer/**',
    '**/test/**',
  ]),
  ...layer('src/main/services/**/*.ts', ['electron'], [
    '**/electron/*',
    '**/web/*',
    '**/cli/*',
    '**/renderer/**',
    '**/test/**',
  ]),
  ...layer('src/main/{web,cli}/**/*.ts', ['electron'], [
    '**/electron/*',
    '**/renderer/**',
    '**/test/**',
  ]),
  ...layer('src/{renderer,preload}/**/*.{ts,tsx}', ['node:*'], ['**/main/**', '**/test/**']),
  // the demo model's builder ships with the product build: no test code in it
  ...layer('src/demo-model/**/*.ts', ['electron'], ['**/test/**', '**/services/*', '**/electron/*']),
  {
    files: ['scripts/**/*.mjs', 'bin/**/*.mjs'],
    languageOptions: { globals: { process: 'readonly', console: 'readonly', URL: 'readonly' } },
  },
)
