// The main-side command handlers, shared by Electron IPC and the web host.
import type { AppInfo } from '../shared/contract'
import type { Handlers } from './dispatch'
import type { EngineHost } from './engine-host'
import type { StudioService } from './studio'

export type HandlerContext = {
  engine: EngineHost
  studio: StudioService
  appInfo: () => AppInfo
}

export function createHandlers(ctx: HandlerContext): Handlers {
  return {
    'app.info': async () => ctx.appInfo(),
    'engine.status': async () => ctx.engine.refreshStatus(),
    'engine.restart': async () => ctx.engine.restart(),
    'models.list': async () => ctx.studio.listModels(),
    'jobs.submit': async (req) => ctx.studio.submit(req),
    'jobs.cancel': async ({ id }) => ctx.studio.cancel(id),
    'jobs.list': async () => ctx.studio.list(),
    'clip.export': async (req) => ctx.studio.exportClip(req),
  }
}
