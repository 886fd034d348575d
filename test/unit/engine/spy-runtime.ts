// A Runtime whose sessions record every run (inputs, outputs, which sessions were alive), for
// tests that check what the pipelines feed their models.
import * as ort from 'onnxruntime-node'
import { basename, dirname } from 'node:path'
import { Runtime } from '../../../src/main/engine'

export type Call = {
  component: string
  feeds: Record<string, { dims: number[]; data: Float32Array | number[] }>
  outputs: Record<string, { dims: number[]; data: Float32Array }>
  live: string[]
}

/** A runtime whose sessions record every run: inputs, outputs, and which sessions were alive. */
export function spyRuntime(): { runtime: Runtime; calls: Call[] } {
  const calls: Call[] = []
  const runtime: Runtime = new Runtime({
    preferCuda: false,
    createSession: async (path, options) => {
      const s = await ort.InferenceSession.create(path, options)
      const component = basename(dirname(path))
      const run = s.run.bind(s) as (
        f: Record<string, ort.Tensor>,
      ) => Promise<Record<string, ort.Tensor>>
      Object.assign(s, {
        run: async (feeds: Record<string, ort.Tensor>) => {
          const live = runtime.liveLabels
          const out = await run(feeds)
          const copy = (t: ort.Tensor) => ({
            dims: [...t.dims],
            data:
              t.type === 'int64'
                ? Array.from(t.data as BigInt64Array, Number)
                : Float32Array.from(t.data as Float32Array),
          })
          calls.push({
            component,
            live,
            feeds: Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, copy(t)])),
            outputs: Object.fromEntries(
              Object.entries(out).map(([k, t]) => [
                k,
                copy(t) as { dims: number[]; data: Float32Array },
              ]),
            ),
          })
          return out
        },
      })
      return s
    },
  })
  return { runtime, calls }
}
