// The main-side command handlers, shared by Electron IPC and the web host.
import type { AppInfo } from '../../shared/contract'
import { HandlerError, type Handlers } from './dispatch'
import type { EngineHost } from './engine-host'
import type { StudioService } from './studio'
import type { ProjectStore } from './projects'
import type { ModelDownloads, ModelRegistry } from './model-registry'
import type { ModelCatalog } from './catalog'
import type { InterpolationSlot } from './interpolation'

export type HandlerContext = {
  engine: EngineHost
  studio: StudioService
  projects: ProjectStore
  registry: ModelRegistry
  downloads: ModelDownloads
  catalog: ModelCatalog
  interpolation: InterpolationSlot
  appInfo: () => AppInfo
  /** The host's native folder dialog (the desktop app; the web host has none): a path or null. */
  pickFolder?: (purpose: 'model' | 'interpolation-model') => Promise<string | null>
}

export function createHandlers(ctx: HandlerContext): Handlers {
  return {
    'app.info': async () => ctx.appInfo(),
    'app.pickFolder': async ({ purpose }) => {
      if (!ctx.pickFolder)
        throw new HandlerError(
          'internal',
          "this host has no folder dialog (a browser cannot hand over a folder's path): type the folder's path",
        )
      return { path: await ctx.pickFolder(purpose) }
    },
    'engine.status': async () => ctx.engine.refreshStatus(),
    'engine.restart': async () => ctx.engine.restart(),
    'models.list': async () => ctx.studio.listModels(),
    'models.add': async ({ path }) => ctx.registry.add(path),
    'models.remove': async ({ id }) => ctx.registry.remove(id),
    'models.setDefault': async ({ id }) => ctx.registry.setDefault(id),
    'models.download': async ({ repo, revision }) => ctx.downloads.start(repo, revision),
    'models.cancelDownload': async ({ repo }) => ctx.downloads.cancel(repo),
    'models.catalog': async () => ctx.catalog.list(),
    'models.export': async (source) => ctx.catalog.startExport(source),
    'models.cancelExport': async ({ id }) => ctx.catalog.cancelExport(id),
    'jobs.submit': async (req) => ctx.studio.submit(req),
    'jobs.cancel': async ({ id }) => ctx.studio.cancel(id),
    'jobs.list': async () => ctx.studio.list(),
    'jobs.get': async ({ ids }) => ctx.studio.get(ids),
    'clip.export': async (req) => ctx.studio.exportClip(req),
    'clip.cancelExport': async ({ exportId }) => ctx.studio.cancelExport(exportId),
    'clip.interpolation': async () => ctx.interpolation.view(),
    'clip.setInterpolationModel': async ({ path }) => ctx.interpolation.set(path),
    'project.list': async () => ({ ...ctx.projects.list(), recent: ctx.projects.recent() }),
    'project.save': async ({ name, doc, page, base }) => ctx.projects.save(name, doc, page, base),
    'project.open': async ({ name }) => ctx.projects.open(name),
    'project.autosave': async ({ doc, name, page, base }) => {
      ctx.projects.autosave(doc, name, page, base)
      return { savedAt: Date.now() }
    },
    'project.recovery': async ({ page }) => ctx.projects.recovery(page),
    'project.discardRecovery': async ({ savedAt, page }) => ({
      discarded: ctx.projects.discardRecovery(savedAt, page),
    }),
    'project.clearAutosave': async ({ page }) => {
      ctx.projects.clearRecovery(page)
      return { cleared: true as const }
    },
  }
}
