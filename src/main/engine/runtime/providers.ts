// Which execution providers this engine can really use. A provider counts as available only
// after a session was created with it and run once; otherwise `reason` says what stopped it.
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import * as ort from 'onnxruntime-node'
import type { ExecutionProvider } from '../../../shared/contract'
import { identityModelBytes } from './probe-model'

const requireHere = createRequire(import.meta.url)

/** Folder holding onnxruntime-node's native binding and provider libraries. */
export function ortBinaryDir(): string {
  const pkg = dirname(requireHere.resolve('onnxruntime-node/package.json'))
  return join(pkg, 'bin', 'napi-v6', process.platform, process.arch)
}

export function onnxruntimeVersion(): string {
  return ort.env.versions?.node ?? ort.env.versions?.common ?? 'unknown'
}

async function tryProvider(name: 'cpu' | 'cuda'): Promise<string | null> {
  let session: ort.InferenceSession | undefined
  try {
    session = await ort.InferenceSession.create(identityModelBytes(), {
      executionProviders: [name],
    })
    const out = await session.run({ X: new ort.Tensor('float32', new Float32Array([1.5]), [1]) })
    const y = out['Y']?.data as Float32Array | undefined
    return y?.[0] === 1.5 ? null : 'a probe session ran but returned a wrong value'
  } catch (err) {
    return err instanceof Error ? err.message.split('\n')[0]!.slice(0, 500) : String(err)
  } finally {
    await session?.release()
  }
}

/** Why CUDA cannot even be tried here (no provider in this build, or its library is missing), else null. */
export function cudaUnavailableReason(): string | null {
  const supported = ort.listSupportedBackends().some((b) => b.name === 'cuda')
  const lib = join(
    ortBinaryDir(),
    process.platform === 'win32'
      ? 'onnxruntime_providers_cuda.dll'
      : 'libonnxruntime_providers_cuda.so',
  )
  if (!supported)
    return `this onnxruntime-node build has no CUDA provider for ${process.platform}-${process.arch}`
  if (!existsSync(lib)) {
    return 'the CUDA provider library is not installed (onnxruntime-node was installed with ONNXRUNTIME_NODE_INSTALL=skip or without internet); reinstall it with internet to use the GPU'
  }
  return null
}

export async function probeProviders(): Promise<ExecutionProvider[]> {
  const cpuError = await tryProvider('cpu')
  const cpu: ExecutionProvider = { name: 'cpu', available: cpuError === null, reason: cpuError }
  const cudaReason = cudaUnavailableReason() ?? (await tryProvider('cuda'))
  const cuda: ExecutionProvider = {
    name: 'cuda',
    available: cudaReason === null,
    reason: cudaReason,
  }
  return [cuda, cpu]
}
