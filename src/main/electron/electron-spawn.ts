// Spawning the engine as an Electron utilityProcess: its own OS process, plain Node inside,
// so a crash in onnxruntime or CUDA cannot take the window down.
import { utilityProcess } from 'electron'
import type { EngineProcess, SpawnEngine } from '../services/engine-host'
import { engineEnv } from '../services/engine-spawn'

export function utilitySpawner(workerPath: string): SpawnEngine {
  return () => {
    const child = utilityProcess.fork(workerPath, [], {
      serviceName: 'Dolly engine',
      stdio: 'inherit',
      env: engineEnv(),
    })
    let exited: { code: number } | null = null
    child.once('exit', (code) => {
      exited = { code }
    })
    const proc: EngineProcess = {
      get pid() {
        return child.pid
      },
      postMessage: (msg) => {
        if (!exited) child.postMessage(msg)
      },
      onMessage: (fn) => child.on('message', fn),
      onExit: (fn) => {
        if (exited) fn(exited.code, null)
        else child.once('exit', (code) => fn(code, null))
      },
      kill: () => {
        child.kill()
      },
    }
    return proc
  }
}
