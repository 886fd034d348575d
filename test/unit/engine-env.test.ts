// The engine process gets no Hugging Face token: it renders from folders main chose and never
// talks to the hub (main downloads), so the token stays out of it and of the ffmpeg and
// onnxruntime work it runs, whatever those print or crash with.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { engineEnv, forkSpawner } from '../../src/main/services/engine-spawn'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-engine-env-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

describe("the engine's environment", () => {
  it('has no HF_TOKEN or HUGGING_FACE_HUB_TOKEN, and keeps the rest', async () => {
    // a stand-in worker that reports what it was given
    const worker = join(tmp, 'worker.mjs')
    writeFileSync(
      worker,
      `process.send({ hf: process.env.HF_TOKEN ?? null, hub: process.env.HUGGING_FACE_HUB_TOKEN ?? null, path: process.env.DOLLY_ENV_PROBE ?? null, ort: process.env.ORT_DISABLE_TELEMETRY ?? null }, () => process.exit(0))\n`,
    )
    const saved = { ...process.env }
    delete process.env['ORT_DISABLE_TELEMETRY']
    process.env['HF_TOKEN'] = 'hf_not_for_the_engine'
    process.env['HUGGING_FACE_HUB_TOKEN'] = 'hf_nor_this'
    process.env['DOLLY_ENV_PROBE'] = 'kept'
    try {
      const proc = forkSpawner(worker)()
      const got = await new Promise<unknown>((resolve) => proc.onMessage(resolve))
      // onnxruntime's telemetry (a device id, an event store uploaded where it can) is off
      // unless the person set ORT_DISABLE_TELEMETRY themselves
      expect(got).toEqual({ hf: null, hub: null, path: 'kept', ort: '1' })
      process.env['ORT_DISABLE_TELEMETRY'] = '0'
      const mine = forkSpawner(worker)()
      const kept = await new Promise<unknown>((resolve) => mine.onMessage(resolve))
      expect(kept).toMatchObject({ ort: '0' })
    } finally {
      for (const k of [
        'HF_TOKEN',
        'HUGGING_FACE_HUB_TOKEN',
        'DOLLY_ENV_PROBE',
        'ORT_DISABLE_TELEMETRY',
      ])
        if (saved[k] === undefined) delete process.env[k]
        else process.env[k] = saved[k]
    }
  })

  it("drops the token and keeps the person's telemetry choice whatever the names' case (Windows ignores it)", () => {
    const out = engineEnv({
      Hf_Token: 'hf_x',
      hugging_face_hub_token: 'hf_y',
      ort_disable_telemetry: '0',
      PATH: '/bin',
    })
    expect(out).toEqual({ ort_disable_telemetry: '0', PATH: '/bin' })
    expect(engineEnv({ PATH: '/bin' })).toEqual({ PATH: '/bin', ORT_DISABLE_TELEMETRY: '1' })
  })
})
