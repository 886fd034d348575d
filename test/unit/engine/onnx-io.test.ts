// Every ONNX file of the tiny reference folders (../shared/reference/models/*/reference/io) run
// on the inputs torch was given, through the engine's own ModelSession, and compared with the
// torch module's outputs. The pipeline tests compare whole runs; this pins each graph on its own,
// including the extra batch / frame / size cases no pipeline run reaches, and builds every feed
// with the helpers the pipelines use (floatInput, intInput, timestep), so a dtype or rank the
// engine gets wrong shows here against what torch actually fed.
import type * as ort from 'onnxruntime-node'
import { describe, expect, it } from 'vitest'
import { openModelFolder, Runtime, type ModelSession } from '../../../src/main/engine'
import { maxAbs, missing, readJson, readNpy, sharedPath } from './reference'

type IoSpec = { file: string; shape: number[]; dtype: 'float32' | 'int64' }
type IoCase = {
  case: string
  model: string
  inputs: Record<string, IoSpec>
  outputs: Record<string, IoSpec>
  note: string
}

// The README's maximum absolute error of each ONNX file against its torch module
// (reference/README.md, "Tolerances that hold", measured with onnxruntime-node 1.20.1, CPU).
const README_ERROR: Record<string, Record<string, number>> = {
  'animatediff-tiny': { text_encoder: 2.4e-7, unet: 9.5e-7, vae_decoder: 1.1e-6 },
  'svd-tiny': { image_encoder: 3.3e-7, vae_encoder: 2.6e-6, unet: 2.3e-6, vae_decoder: 9.5e-7 },
  'cogvideox-tiny': { text_encoder: 4.8e-7, transformer: 3.6e-7, vae_decoder: 2.3e-6 },
}
// Those figures are one version's rounding, not a law: onnxruntime-node 1.30 (the engine's) gives
// AnimateDiff's unet 1.07e-6, CogVideoX's text_encoder 5.96e-7 and transformer 7.15e-7, i.e. up
// to 2x the README's (1 to 3 float32 ulps more at outputs of magnitude ~1.7); every other file
// lands on the README's figure. 2.5x leaves room for that and for another CPU's kernels, and is
// still far under what a wrong feed costs: a timestep off by one gives 1e-2 to 4e-2, an input
// with h and w swapped 1.6, SVD's float timestep rounded to 1/1024 7.7e-6 (>= 2.5x its 2.3e-6).
const HEADROOM = 2.5

/**
 * The feeds for one case, built as the pipelines build them:
 * - `timestep`: `s.timestep(name, t, batch)` with the batch of the latent input, as
 *   animatediff.ts / svd.ts / cogvideox.ts call it (dtype and rank from the graph);
 * - `input_ids`: `s.intInput` (steps.ts' text encoding);
 * - SVD's `num_frames`: `s.intInput(nf, [k], rank 0 ? [] : [1])`, as svd.ts' decode does;
 * - anything else: `s.floatInput`.
 * Each built tensor is checked against what torch was given.
 */
function feedsFor(
  s: ModelSession,
  c: IoCase,
  dir: string,
  names: Record<string, string>,
): Record<string, ort.Tensor> {
  const latent = c.inputs['sample'] ?? c.inputs['hidden_states'] ?? c.inputs['latent_sample']
  const feeds: Record<string, ort.Tensor> = {}
  for (const [ours, spec] of Object.entries(c.inputs)) {
    const name = names[ours] ?? ours
    const values = readNpy(`${dir}/reference/io/${spec.file}`).data
    const recorded = Array.from(values as ArrayLike<number | bigint>)
    if (ours === 'timestep') {
      // the engine feeds one t for the whole batch: torch must have been given one too
      expect(new Set(recorded).size, `${c.case}: one timestep per call`).toBe(1)
      feeds[name] = s.timestep(name, Number(recorded[0]), latent!.shape[0]!)
    } else if (ours === 'input_ids') {
      feeds[name] = s.intInput(name, recorded.map(Number), spec.shape)
    } else if (ours === 'num_frames') {
      const k = Number(recorded[0])
      feeds[name] = s.intInput(name, [k], s.meta(name).shape.length === 0 ? [] : [1])
    } else {
      expect(values, `${c.case}/${ours} is float32`).toBeInstanceOf(Float32Array)
      feeds[name] = s.floatInput(name, values as Float32Array, spec.shape)
    }
    const t = feeds[name]
    expect(t.type, `${c.case}/${ours} dtype`).toBe(spec.dtype)
    let want = recorded
    const declared = s.meta(name).shape
    if (ours === 'timestep' && typeof declared[0] === 'string' && t.dims[0] !== spec.shape[0]) {
      // Where the graph's timestep axis is symbolic (AnimateDiff's and SVD's "timestep_batch")
      // the engine passes one copy per batch item, [B], where diffusers passed [1]; the UNets
      // expand t to the batch inside (meta.json unet_expects: "[B] also accepted"), and the
      // output check below shows the two give the same result.
      expect([...t.dims], `${c.case}/timestep shape`).toEqual([latent!.shape[0]])
      want = new Array<number | bigint>(t.dims[0]!).fill(recorded[0]!)
    } else expect([...t.dims], `${c.case}/${ours} shape`).toEqual(spec.shape)
    expect(Array.from(t.data as ArrayLike<number | bigint>), `${c.case}/${ours} values`).toEqual(
      want,
    )
  }
  return feeds
}

for (const [folder, readmeError] of Object.entries(README_ERROR)) {
  const dir = sharedPath('reference/models', folder)
  const casesPath = `${dir}/reference/io/cases.json`
  const skip = missing(casesPath)
  describe.skipIf(skip)(`${folder}: each ONNX file vs its torch module ${skip ?? ''}`, () => {
    it(`reproduces every io case's outputs within ${HEADROOM}x the README's error`, async () => {
      const { cases } = readJson<{ cases: IoCase[] }>(casesPath)
      const model = openModelFolder(dir)
      const runtime = new Runtime({ preferCuda: false })
      const sessions = new Map<string, ModelSession>()
      const worst: Record<string, number> = {}
      let compared = 0
      try {
        for (const c of cases) {
          const component = c.model.replace(/\/model\.onnx$/, '')
          const info = model.components[component]
          expect(info, `${c.case}: ${component} is a component the folder opens`).toBeDefined()
          const gone = missing(
            ...[...Object.values(c.inputs), ...Object.values(c.outputs)].map(
              (o) => `${dir}/reference/io/${o.file}`,
            ),
          )
          // a case listed but not on disk is a failure, not a skip: it would drop silently
          expect(gone, c.case).toBeNull()
          let s = sessions.get(component)
          if (!s) {
            s = await runtime.load(info!.path, component)
            sessions.set(component, s)
          }
          const out = await s.run(feedsFor(s, c, dir, info!.inputNames))
          // the graph's outputs are the ones torch's module returned, no more and no fewer
          expect(Object.keys(out).sort(), c.case).toEqual(Object.keys(c.outputs).sort())
          for (const [name, spec] of Object.entries(c.outputs)) {
            const got = out[name]!
            expect(got.type, `${c.case}/${name} dtype`).toBe('float32')
            expect([...got.dims], `${c.case}/${name} shape`).toEqual(spec.shape)
            const want = readNpy(`${dir}/reference/io/${spec.file}`)
            expect(want.shape).toEqual(spec.shape)
            const err = maxAbs(got.data as Float32Array, want.data as Float32Array)
            worst[component] = Math.max(worst[component] ?? 0, err)
            expect(err, `${c.case}/${name} max abs error`).toBeLessThanOrEqual(
              HEADROOM * readmeError[component]!,
            )
          }
          compared++
        }
      } finally {
        await runtime.releaseAll()
      }
      // none dropped: every case in cases.json ran, and every ONNX file of the folder ran at least once
      expect(compared).toBe(cases.length)
      expect(cases.length).toBeGreaterThan(0)
      expect(Object.keys(worst).sort()).toEqual(Object.keys(model.components).sort())
      expect(Object.keys(worst).sort()).toEqual(Object.keys(readmeError).sort())
      expect(runtime.liveSessions).toBe(0)
    })
  })
}
