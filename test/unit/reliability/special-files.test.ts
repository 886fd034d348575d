// Files that are not files (found in a security audit): a named pipe where a model folder's
// model_index.json, a project's .bak or a pose file should be froze the web host (readFileSync
// blocks until someone writes) or the CLI, and /dev/zero as a pose file ran the CLI out of
// memory. Hand-edited state files (recent.json, an autosave's name) broke open and save. Each
// is refused by name now, and nothing waits.
import { execFileSync, spawnSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { readTextFile, regularFileSize } from '../../../src/main/engine/files'
import { InterpolationSlot } from '../../../src/main/services/interpolation'
import { ModelRegistry } from '../../../src/main/services/model-registry'
import { ProjectStore } from '../../../src/main/services/projects'
import { initialProject } from '../../../src/shared/shots'
import { serializeProject } from '../../../src/shared/project'
import { missing, sharedPath } from '../engine/reference'
import { externalize } from '../../../src/demo-model/onnx-builder'
import * as tiny from '../../../src/demo-model/tiny-models'
import { openModelFolder } from '../../../src/main/engine/models/model-folder'
import { checkPayloadShape } from '../../../src/main/services/dispatch'
import { writeCogVideoXFolder } from '../../fixtures/model-folders'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-special-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
const fifo = (path: string) => (execFileSync('mkfifo', [path]), path)
const root = join(__dirname, '..', '..', '..')

describe('files that are not regular files are refused, never waited on', () => {
  it('names a named pipe, a device, a folder and an oversized file', () => {
    const p = fifo(join(tmp, 'pipe.json'))
    expect(() => readTextFile(p, 'the pose file')).toThrow(
      /pipe\.json: the pose file is a named pipe; expected a file/,
    )
    expect(() => readTextFile('/dev/zero')).toThrow(/is a device; expected a file/)
    expect(() => regularFileSize(tmp)).toThrow(/is a folder; expected a file/)
    const big = join(tmp, 'big.txt')
    writeFileSync(big, 'x'.repeat(2048))
    expect(() => readTextFile(big, 'the pose file', 1024)).toThrow(/0\.0 MiB; at most 0 MiB/)
    expect(readTextFile(big)).toHaveLength(2048)
  })

  it.skipIf(missing(sharedPath('reference/models/animatediff-tiny')))(
    'a model folder whose model_index.json is a named pipe is refused (the host froze)',
    () => {
      const dir = join(tmp, 'fifo-model')
      cpSync(sharedPath('reference/models/animatediff-tiny'), dir, { recursive: true })
      rmSync(join(dir, 'model_index.json'))
      fifo(join(dir, 'model_index.json'))
      const registry = new ModelRegistry(join(tmp, 'state-m'), [], () => null)
      expect(() => registry.add(dir)).toThrow(/model_index\.json: .*is a named pipe/)
    },
  )

  it('project.list and project.open skip a named-pipe leftover and refuse a pipe as the project', () => {
    const dir = join(tmp, 'projects')
    mkdirSync(dir)
    const store = new ProjectStore(dir, join(tmp, 'state-p'))
    store.save('good', initialProject('m'))
    fifo(join(dir, 'evil.dolly.bak'))
    fifo(join(dir, 'pipe.dolly'))
    const listed = store.list()
    expect(listed.projects.map((p) => p.name)).toEqual(['good'])
    expect(listed.problems.join(' ')).toMatch(/pipe\.dolly: skipped/)
    expect(() => store.open('pipe')).toThrow(/the project is a named pipe/)
    expect(store.open('good').doc.shots).toHaveLength(1)
  })

  it('dolly render --camera refuses a named pipe, a device and a folder as bad usage (exit 2)', () => {
    const pipe = fifo(join(tmp, 'poses.txt'))
    const dev = join(tmp, 'zero.txt')
    symlinkSync('/dev/zero', dev)
    for (const [camera, why] of [
      [pipe, /is a named pipe; expected a file/],
      [dev, /is a device; expected a file/],
      [tmp, /is a folder; expected a file/],
    ] as const) {
      const r = spawnSync(
        process.execPath,
        [
          join(root, 'bin/dolly.mjs'),
          'render',
          '--prompt',
          'x',
          '--camera',
          camera,
          '--out',
          join(tmp, 'o.mp4'),
        ],
        { encoding: 'utf8', timeout: 30_000 },
      )
      expect(r.status, r.stderr).toBe(2)
      expect(r.stderr).toMatch(why)
    }
  })
})

describe('state files edited by hand', () => {
  const doc = initialProject('m')

  it('a recent.json that is not a list of names neither blocks open nor fails a save that worked', () => {
    const state = join(tmp, 'state-r')
    const store = new ProjectStore(join(tmp, 'projects-r'), state)
    store.save('first', doc)
    for (const bad of ['null', '{"a":1}', '[1, {"x": 2}, "../escape"]', 'not json']) {
      writeFileSync(join(state, 'recent.json'), bad)
      expect(store.open('first').doc.shots).toHaveLength(1)
      expect(store.save('second', doc).name).toBe('second')
      expect(store.recent()).toEqual(['second', 'first'])
    }
  })

  it('an autosave whose name or time the contract cannot carry is still offered (its work counts)', () => {
    const state = join(tmp, 'state-a')
    mkdirSync(join(state, 'recovery'), { recursive: true })
    const project = serializeProject(doc)
    writeFileSync(
      join(state, 'recovery', '1-1.dolly'),
      JSON.stringify({ name: 'n'.repeat(300), savedAt: 'yesterday', project }),
    )
    const r = new ProjectStore(join(tmp, 'projects-a'), state).recovery()!
    expect(r.name).toBeNull()
    expect(Number.isFinite(r.savedAt)).toBe(true)
    expect(r.doc.shots).toHaveLength(1)
    // and it can be discarded by that time
    expect(new ProjectStore(join(tmp, 'projects-a'), state).discardRecovery(r.savedAt)).toBe(true)
  })

  it('an interpolation folder whose label the contract cannot carry is refused and not kept', () => {
    const state = join(tmp, 'state-i')
    mkdirSync(state)
    const dir = join(tmp, 'rife-long-label')
    mkdirSync(dir)
    writeFileSync(join(dir, 'model.onnx'), tiny.blendInterpolator())
    writeFileSync(
      join(dir, 'dolly.json'),
      JSON.stringify({ kind: 'frame-interpolation', label: 'L'.repeat(300) }),
    )
    const slot = new InterpolationSlot(state)
    expect(() => slot.set(dir)).toThrow(/dolly\.json: "label" must be a name of 1-200 characters/)
    expect(slot.view().model.path).toBeNull()
  })
})

describe('paths a model folder names stay inside it; payload keys are bounded', () => {
  const t5 = sharedPath('fixtures/tokenizers/t5')

  it.skipIf(missing(t5))(
    'external data outside the graph folder is refused when the folder is opened (not at render)',
    () => {
      const dir = writeCogVideoXFolder(join(tmp, 'ext-escape'), { tokenizerFrom: t5 })
      const { model, data } = externalize(tiny.cogVideoXTransformer(), '../../secret.bin')
      writeFileSync(join(dir, 'transformer', 'model.onnx'), model)
      writeFileSync(join(tmp, 'secret.bin'), data)
      expect(() => openModelFolder(dir)).toThrow(
        /external data location "\.\.\/\.\.\/secret\.bin" leaves .*transformer; weights must sit beside the graph/,
      )
    },
  )

  it.skipIf(missing(sharedPath('reference/models/animatediff-tiny')))(
    "dolly.json's previewDecoder must name a graph inside the folder",
    () => {
      const dir = join(tmp, 'preview-escape')
      cpSync(sharedPath('reference/models/animatediff-tiny'), dir, { recursive: true })
      writeFileSync(join(dir, 'dolly.json'), JSON.stringify({ previewDecoder: '../../x.onnx' }))
      expect(() => openModelFolder(dir)).toThrow(
        /previewDecoder.*must be a path inside the model folder/,
      )
    },
  )

  it('a payload key over 256 characters is refused without being echoed back', () => {
    const e = checkPayloadShape({ ['k'.repeat(5_000_000)]: 1 })!
    expect(e.message).toBe('a key is longer than 256 characters')
    expect(checkPayloadShape({ ['k'.repeat(256)]: 1 })).toBeNull()
  })
})
