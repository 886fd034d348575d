// Spawning the engine with child_process.fork, where Electron is absent (web host, tests; the
// CLI runs renderClip in its own process). Electron's utilityProcess spawner lives in electron-spawn.ts.
import { fork } from 'node:child_process'
import type { EngineProcess, SpawnEngine } from './engine-host'

/**
 * The engine's environment: the host's, less the Hugging Face access token, with onnxruntime's
 * telemetry off. The engine renders from folders main chose and never talks to the hub (main
 * downloads, compose.ts hubToken), so the token stays out of it and out of the ffmpeg and
 * onnxruntime work it runs. onnxruntime (1.30, Linux too) starts Microsoft's telemetry when it
 * loads, before any code of ours could turn it off: a device id and an event store under the
 * cache folder, uploaded where it can, and a /tmp/mat-debug-<pid>.log per process. A local
 * studio sends nothing anywhere, so it is off unless the person set ORT_DISABLE_TELEMETRY.
 */
export function engineEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  // names compared without case: Windows' environment ignores it (Hf_Token is HF_TOKEN there),
  // and a copy into a plain object no longer does
  const out: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(env))
    if (!/^(HF_TOKEN|HUGGING_FACE_HUB_TOKEN)$/i.test(k)) out[k] = v
  if (!Object.keys(out).some((k) => k.toUpperCase() === 'ORT_DISABLE_TELEMETRY'))
    out['ORT_DISABLE_TELEMETRY'] = '1'
  return out
}

export function forkSpawner(
  workerPath: string,
  opts: { execArgv?: string[]; env?: NodeJS.ProcessEnv } = {},
): SpawnEngine {
  return () => {
    const child = fork(workerPath, [], {
      serialization: 'advanced', // typed arrays cross as typed arrays, not JSON
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      execArgv: opts.execArgv ?? [],
      env: engineEnv(opts.env ?? process.env),
    })
    // A write to a child that just died raises EPIPE on the child object; the exit handler
    // reports the death, so the error itself needs no further handling.
    child.on('error', () => undefined)
    const proc: EngineProcess = {
      get pid() {
        return child.pid
      },
      postMessage: (msg) => {
        if (child.connected) child.send(msg, (err) => void err)
      },
      onMessage: (fn) => child.on('message', fn),
      onExit: (fn) => {
        if (child.exitCode !== null || child.signalCode !== null)
          fn(child.exitCode, child.signalCode)
        else child.once('exit', (code, signal) => fn(code, signal))
      },
      kill: () => {
        child.kill('SIGKILL')
      },
    }
    return proc
  }
}
