// Which execution providers this engine can really use, in the one order each platform tries
// them: the GPU providers onnxruntime-node 1.30 ships for it, then the CPU. A provider counts as
// available only after a session was created with it and run once (probe-model.ts); otherwise
// `reason` says what stopped it.
//
// What the Node binding (onnxruntime-node 1.30, js/node/src/session_options_helper.cc) passes
// to each provider, read from its source and checked against the shipped binaries:
//   cuda    { deviceId } only: the rest of OrtCUDAProviderOptionsV2 keeps its defaults (no
//           memory limit, arena grows by powers of two, cuDNN exhaustive algorithm search, TF32
//           allowed). linux-x64 only; the provider library is downloaded at install.
//   dml     { deviceId } only (win32 x64/arm64, DirectML.dll bundled). DirectML wants memory
//           patterns off and sequential execution, which are session options.
//   coreml  { coreMlFlags } (bit flags: 0x010 ML Program, 0x020 CPU+GPU, 0x001 CPU only, ...),
//           darwin only.
//   cpu     nothing (the `useArena` in onnxruntime-common's types is not read by the binding).
// Session-wide options that do reach onnxruntime: graphOptimizationLevel, enableCpuMemArena,
// enableMemPattern, executionMode, intra/interOpNumThreads, logSeverityLevel,
// optimizedModelFilePath, externalData, preferredOutputLocation, and `extra` (any session
// config entry, e.g. session.use_device_allocator_for_initializers).
import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import * as ort from 'onnxruntime-node'
import type { ExecutionProvider } from '../../../shared/contract'
import { identityModelBytes } from './probe-model'

const requireHere = createRequire(import.meta.url)

export type GpuProviderName = 'cuda' | 'dml' | 'coreml'
export type ProviderName = GpuProviderName | 'cpu'

/** The order providers are tried in on each platform: GPUs first, the CPU last. */
export function providerOrder(platform: NodeJS.Platform = process.platform): ProviderName[] {
  switch (platform) {
    case 'linux':
      return ['cuda', 'cpu']
    case 'win32':
      return ['cuda', 'dml', 'cpu']
    case 'darwin':
      return ['coreml', 'cpu']
    default:
      return ['cpu']
  }
}

/** CoreML: COREML_FLAG_CREATE_MLPROGRAM (the ML Program format runs float16 and more ops). */
export const COREML_FLAGS = 0x010

/** The execution-provider entry and session options a session on `name` is created with. */
export function providerSessionOptions(
  name: ProviderName,
  deviceId = 0,
): ort.InferenceSession.SessionOptions {
  switch (name) {
    case 'cuda':
      // weights are allocated at their size outside the arena, which then holds activations only
      return {
        executionProviders: [{ name: 'cuda', deviceId }],
        extra: { session: { use_device_allocator_for_initializers: '1' } },
      }
    case 'dml':
      return {
        executionProviders: [{ name: 'dml', deviceId }],
        enableMemPattern: false,
        executionMode: 'sequential',
      }
    case 'coreml':
      return { executionProviders: [{ name: 'coreml', coreMlFlags: COREML_FLAGS }] }
    case 'cpu':
      return { executionProviders: ['cpu'] }
  }
}

/** Folder holding onnxruntime-node's native binding and provider libraries. */
export function ortBinaryDir(
  platform: NodeJS.Platform = process.platform,
  arch: string = process.arch,
): string {
  const pkg = dirname(requireHere.resolve('onnxruntime-node/package.json'))
  return join(pkg, 'bin', 'napi-v6', platform, arch)
}

export function onnxruntimeVersion(): string {
  return ort.env.versions?.node ?? ort.env.versions?.common ?? 'unknown'
}

/** What the probe depends on, injectable in tests. */
export type ProbeEnv = {
  platform: NodeJS.Platform
  arch: string
  /** onnxruntime-node's listSupportedBackends(). */
  backends: () => { name: string; bundled: boolean }[]
  fileExists: (path: string) => boolean
  createSession: (
    model: Uint8Array,
    options: ort.InferenceSession.SessionOptions,
  ) => Promise<Pick<ort.InferenceSession, 'run' | 'release'>>
}

export const defaultProbeEnv = (): ProbeEnv => ({
  platform: process.platform,
  arch: process.arch,
  backends: () => ort.listSupportedBackends(),
  fileExists: existsSync,
  createSession: (m, o) => ort.InferenceSession.create(m, o),
})

const PROVIDER_LABEL: Record<ProviderName, string> = {
  cuda: 'CUDA',
  dml: 'DirectML',
  coreml: 'CoreML',
  cpu: 'CPU',
}

/**
 * Why `name` cannot even be tried here (not this platform, not in this onnxruntime-node build,
 * its library missing), else null.
 */
export function providerUnavailableReason(name: ProviderName, env: ProbeEnv): string | null {
  if (name === 'cpu') return null
  const where = `${env.platform}-${env.arch}`
  if (!providerOrder(env.platform).includes(name))
    return `${PROVIDER_LABEL[name]} is not a provider onnxruntime-node has on ${env.platform}`
  const listed = env.backends().find((b) => b.name === name)
  if (!listed)
    return `this onnxruntime-node build has no ${PROVIDER_LABEL[name]} provider for ${where}`
  if (name === 'cuda') {
    const lib = join(
      ortBinaryDir(env.platform, env.arch),
      env.platform === 'win32'
        ? 'onnxruntime_providers_cuda.dll'
        : 'libonnxruntime_providers_cuda.so',
    )
    if (!env.fileExists(lib))
      return 'the CUDA provider library is not installed (onnxruntime-node was installed with ONNXRUNTIME_NODE_INSTALL=skip or without internet); reinstall it with internet to use the GPU'
  }
  if (name === 'dml') {
    const dll = join(ortBinaryDir(env.platform, env.arch), 'DirectML.dll')
    if (!env.fileExists(dll))
      return `DirectML.dll is missing from ${ortBinaryDir(env.platform, env.arch)}`
  }
  return null
}

/** Why CUDA cannot even be tried here, else null. */
export function cudaUnavailableReason(env: ProbeEnv = defaultProbeEnv()): string | null {
  return providerUnavailableReason('cuda', env)
}

function firstLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err)
  return text.split('\n')[0]!.slice(0, 500)
}

/** Creates a session on `name` with the probe model and runs it once; null when that worked. */
async function tryProvider(name: ProviderName, env: ProbeEnv): Promise<string | null> {
  let session: Pick<ort.InferenceSession, 'run' | 'release'> | undefined
  try {
    session = await env.createSession(identityModelBytes(), providerSessionOptions(name))
    const out = await session.run({ X: new ort.Tensor('float32', new Float32Array([1.5]), [1]) })
    const y = out['Y']?.data as Float32Array | undefined
    return y?.[0] === 1.5 ? null : 'a probe session ran but returned a wrong value'
  } catch (err) {
    return `a ${PROVIDER_LABEL[name]} session could not be created and run: ${firstLine(err)}`
  } finally {
    await session?.release().catch(() => undefined)
  }
}

/** Every provider of this platform in its order (GPUs first, CPU last), each proven or refused with the reason. */
export async function probeProviders(
  env: ProbeEnv = defaultProbeEnv(),
): Promise<ExecutionProvider[]> {
  const out: ExecutionProvider[] = []
  for (const name of providerOrder(env.platform)) {
    const reason = providerUnavailableReason(name, env) ?? (await tryProvider(name, env))
    out.push({ name, available: reason === null, reason })
  }
  return out
}
