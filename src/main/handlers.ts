// The main-side command handlers, shared by Electron IPC and the web host.
import type { AppInfo } from '../shared/contract'
import type { Handlers } from './dispatch'
import type { EngineHost } from './engine-host'

export type HandlerContext = {
  engine: EngineHost
  appInfo: () => AppInfo
}

export function createHandlers(ctx: HandlerContext): Handlers {
  return {
    'app.info': async () => ctx.appInfo(),
    'engine.status': async () => ctx.engine.refreshStatus(),
    'engine.restart': async () => ctx.engine.restart(),
  }
}
