// Model folders: the reference exports and our tiny fixtures open; each corrupt variant is
// refused with a message naming the file and the input.
import {
  appendFileSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { ModelFolderError, openModelFolder, readOnnxSignature } from '../../../src/main/engine'
import {
  writeAnimateDiffFolder,
  writeCogVideoXFolder,
  writeSvdFolder,
} from '../../fixtures/model-folders'
import * as tiny from '../../../src/demo-model/tiny-models'
import { renameValue as renameInput } from '../../../src/demo-model/onnx-builder'
import { missing, sharedPath } from './reference'

const tmp = mkdtempSync(join(tmpdir(), 'dolly-models-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))
let n = 0
const fresh = () => join(tmp, `m${n++}`)
const clipTok = sharedPath('fixtures/tokenizers/clip')
const t5Tok = sharedPath('fixtures/tokenizers/t5')

describe('opening model folders', () => {
  for (const name of ['animatediff-tiny', 'svd-tiny', 'cogvideox-tiny']) {
    const dir = sharedPath('reference/models', name)
    it.skipIf(missing(dir))(`opens diffusers' exported ${name} as it is`, () => {
      const m = openModelFolder(dir)
      expect(m.pipeline).toBe(name.split('-')[0])
      expect(Object.keys(m.components).length).toBeGreaterThanOrEqual(3)
      expect(m.totalBytes).toBeGreaterThan(0)
    })
  }

  it('opens our AnimateDiff fixture with a MotionCtrl camera input, fp32 and fp16', () => {
    const a = openModelFolder(
      writeAnimateDiffFolder(fresh(), { cameraPoses: true, tokenizerFrom: clipTok }),
    )
    expect(a.pipeline).toBe('animatediff')
    expect(a.camera).toBe('motionctrl-rt')
    expect(a.components['unet']!.precision).toBe('fp32')
    expect(a.components['unet']!.inputs['timestep']).toEqual({
      name: 'timestep',
      type: 'int64',
      shape: [1],
    })
    const h = openModelFolder(
      writeAnimateDiffFolder(fresh(), { precision: 'fp16', tokenizerFrom: clipTok }),
    )
    expect(h.components['unet']!.precision).toBe('fp16')
    expect(h.camera).toBe('none')
  })

  it('opens SVD and CogVideoX fixtures (5B-shaped with RoPE inputs)', () => {
    const s = openModelFolder(writeSvdFolder(fresh(), { cameraPoses: true }))
    expect(s.motion).toBe('motion_bucket_id')
    expect(s.components['vae_decoder']!.inputNames['num_frames']).toBe('num_frames')
    const c = openModelFolder(writeCogVideoXFolder(fresh(), { rope: true, tokenizerFrom: t5Tok }))
    expect(c.components['transformer']!.inputNames['image_rotary_emb_cos']).toBe(
      'image_rotary_emb_cos',
    )
  })

  it('maps renamed inputs through dolly.json', () => {
    const dir = writeAnimateDiffFolder(fresh(), { tokenizerFrom: clipTok })
    writeFileSync(
      join(dir, 'unet', 'model.onnx'),
      renameInput(tiny.animateDiffUNet(), 'encoder_hidden_states', 'text_embeds'),
    )
    writeFileSync(
      join(dir, 'dolly.json'),
      JSON.stringify({ inputNames: { unet: { encoder_hidden_states: 'text_embeds' } } }),
    )
    expect(openModelFolder(dir).components['unet']!.inputNames['encoder_hidden_states']).toBe(
      'text_embeds',
    )
  })
})

describe('corrupt model folders are refused with the file and the input named', () => {
  const base = () => writeAnimateDiffFolder(fresh(), { tokenizerFrom: clipTok, cameraPoses: true })

  function refused(dir: string): ModelFolderError {
    try {
      openModelFolder(dir)
    } catch (err) {
      expect(err).toBeInstanceOf(ModelFolderError)
      return err as ModelFolderError
    }
    throw new Error('the folder was accepted')
  }

  it('a missing file', () => {
    const dir = base()
    unlinkSync(join(dir, 'vae_decoder', 'model.onnx'))
    expect(refused(dir).message).toMatch(/vae_decoder\/model\.onnx: missing/)
  })

  it('a truncated .onnx', () => {
    const dir = base()
    const f = join(dir, 'unet', 'model.onnx')
    truncateSync(f, Math.floor(readFileSync(f).length / 2))
    expect(refused(dir).message).toMatch(/unet\/model\.onnx: .*truncated/)
  })

  it('a file that is not ONNX at all', () => {
    const dir = base()
    writeFileSync(join(dir, 'text_encoder', 'model.onnx'), 'this is a text file, not a model\n')
    expect(refused(dir).message).toMatch(/text_encoder\/model\.onnx: /)
  })

  it('an empty .onnx', () => {
    const dir = base()
    writeFileSync(join(dir, 'text_encoder', 'model.onnx'), '')
    expect(refused(dir).message).toMatch(/text_encoder\/model\.onnx: file is empty/)
  })

  it('a renamed input', () => {
    const dir = base()
    writeFileSync(
      join(dir, 'unet', 'model.onnx'),
      renameInput(
        tiny.animateDiffUNet({ cameraPoses: true }),
        'encoder_hidden_states',
        'text_embeds',
      ),
    )
    const e = refused(dir)
    expect(e.message).toMatch(
      /unet\/model\.onnx: input "encoder_hidden_states" \(prompt embeddings .*\) is missing; the model's inputs are .*text_embeds/,
    )
    expect(e.message).toMatch(/dolly\.json "inputNames"/)
  })

  it('a wrong rank', () => {
    const dir = base()
    // a 4-D sample: an image UNet, not a motion UNet
    writeFileSync(join(dir, 'unet', 'model.onnx'), tiny.vaeEncoder())
    const e = refused(dir)
    expect(e.message).toMatch(/unet\/model\.onnx: input "sample" has rank 4 .*expected rank 5/)
  })

  it('a wrong dtype', () => {
    const dir = base()
    writeFileSync(
      join(dir, 'unet', 'model.onnx'),
      tiny.animateDiffUNet({ cameraPoses: true, timestep: { dtype: 'int32', rank: 1 } }),
    )
    // int32 timesteps are accepted; a float32 token-id input is not
    writeFileSync(
      join(dir, 'text_encoder', 'model.onnx'),
      renameInput(tiny.vaeEncoder(), 'sample', 'input_ids'),
    )
    const e = refused(dir)
    expect(e.message).toMatch(
      /text_encoder\/model\.onnx: input "input_ids" is float32; expected int64 or int32/,
    )
  })

  it('a missing external data file', () => {
    const dir = base()
    // point an initializer at an external file that is not there
    const f = join(dir, 'vae_decoder', 'model.onnx')
    writeFileSync(f, withExternalData(readFileSync(f)))
    const e = refused(dir)
    expect(e.message).toMatch(
      /vae_decoder\/model\.onnx: its weights are in external data file "model\.onnx_data", which is missing/,
    )
  })

  it('a broken dolly.json and an unknown pipeline class', () => {
    const dir = base()
    writeFileSync(join(dir, 'dolly.json'), '{"camera": "orbit"}')
    expect(refused(dir).message).toMatch(/dolly\.json: camera: /)
    const dir2 = base()
    writeFileSync(join(dir2, 'model_index.json'), '{"_class_name": "StableDiffusionPipeline"}')
    expect(refused(dir2).message).toMatch(
      /_class_name "StableDiffusionPipeline" is not a pipeline the studio runs/,
    )
  })

  it('reads Python-style NaN/Infinity in configs', () => {
    const dir = base()
    appendFileSync(join(dir, 'scheduler', 'scheduler_config.json'), '')
    writeFileSync(
      join(dir, 'scheduler', 'scheduler_config.json'),
      '{"_class_name": "DDIMScheduler", "lambda_min_clipped": -Infinity, "note": "NaN stays a string"}',
    )
    const m = openModelFolder(dir)
    expect(m.schedulerConfig['lambda_min_clipped']).toBe('-Infinity')
    expect(m.schedulerConfig['note']).toBe('NaN stays a string')
    renameSync(join(dir, 'scheduler'), join(dir, 'scheduler_gone'))
    expect(refused(dir).message).toMatch(/scheduler_config\.json: missing/)
  })
})

/** Appends an initializer whose data lives in an external file (TensorProto.external_data). */
function withExternalData(model: Buffer): Buffer {
  const v = (n: number) => {
    const out: number[] = []
    while (n > 127) {
      out.push((n & 127) | 128)
      n >>>= 7
    }
    out.push(n)
    return out
  }
  const field = (no: number, payload: number[]) => [
    ...v((no << 3) | 2),
    ...v(payload.length),
    ...payload,
  ]
  const str = (s: string) => Array.from(Buffer.from(s))
  const kv = [...field(1, str('location')), ...field(2, str('model.onnx_data'))]
  const tensor = [
    ...field(8, str('external_w')),
    ...v((2 << 3) | 0),
    1,
    ...field(13, kv),
    ...v((14 << 3) | 0),
    1,
  ]
  const graph = field(5, tensor)
  // a second graph field merges into the first (protobuf semantics)
  return Buffer.concat([model, Buffer.from(field(7, graph))])
}

describe('onnx signature reader', () => {
  it('reads names, types and symbolic shapes without a session', () => {
    const f = join(tmp, 'sig.onnx')
    writeFileSync(f, tiny.animateDiffUNet({ cameraPoses: true }))
    const s = readOnnxSignature(f)
    expect(s.inputs.map((i) => i.name)).toEqual([
      'sample',
      'timestep',
      'encoder_hidden_states',
      'camera_poses',
    ])
    expect(s.inputs[0]).toEqual({
      name: 'sample',
      type: 'float32',
      shape: ['batch', 4, 'frames', 16, 16],
    })
    expect(s.outputs[0]!.name).toBe('out_sample')
  })
})
