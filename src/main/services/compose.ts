// The one composition root for both hosts: the desktop app (electron/main.ts) and the web host
// (web/serve.ts) build the same services the same way and differ only in what they inject:
// how the engine process is spawned, where files live, how media URLs look, where an export
// goes and how events reach the page.
import { homedir } from 'node:os'
import { delimiter, join, resolve } from 'node:path'
import type { AppInfo, EventName, EventPayload } from '../../shared/contract'
import { makeAppInfo } from './app-info'
import { createDispatcher, type Dispatch } from './dispatch'
import { EngineHost, type SpawnEngine } from './engine-host'
import { deviceBudget, deviceFacts, queryAdapterMemory } from './device-memory'
import { queryGpu } from './gpu'
import { createHandlers, type HandlerContext } from './handlers'
import { ModelCatalog } from './catalog'
import { InputStore } from './inputs'
import { imageProblem } from '../engine/media/image'
import { readTextFile } from '../engine/files'
import { InterpolationSlot } from './interpolation'
import { ModelDownloads, ModelRegistry } from './model-registry'
import { ProjectStore } from './projects'
import { StudioService, type StudioOptions } from './studio'

export type StudioHostOptions = {
  host: AppInfo['host']
  version: string
  spawn: SpawnEngine
  /** Cached renders (one folder per job). */
  cacheDir: string
  /** The studio's own state: model list, recovery file, stored input images. */
  stateDir: string
  projectsDir: string
  /** Where downloaded models go. */
  modelsDir: string
  /** Model folders always offered (the demo model, DOLLY_MODEL_DIRS). */
  builtInModels: string[]
  /** tools/export/export_model.py as this install ships it (null: none). */
  exporterScript: string | null
  mediaUrl: StudioOptions['mediaUrl']
  exportTarget?: StudioOptions['exportTarget']
  /** The desktop app's native folder dialog (app.pickFolder); the web host has none. */
  pickFolder?: HandlerContext['pickFolder']
  /** Delivers an event to every open page (IPC or WebSocket). */
  emit: <E extends EventName>(name: E, payload: EventPayload<E>) => void
}

export type StudioHost = {
  engine: EngineHost
  registry: ModelRegistry
  downloads: ModelDownloads
  catalog: ModelCatalog
  inputs: InputStore
  studio: StudioService
  projects: ProjectStore
  dispatch: Dispatch
}

/** Where each host keeps its files by default (the platform's places). */
export type FolderDefaults = Pick<
  StudioHostOptions,
  'stateDir' | 'cacheDir' | 'projectsDir' | 'modelsDir'
> & {
  /** The demo model shipped with this install. */
  demoModel: string
}

/**
 * The folders both hosts use: the environment's choice where set (DOLLY_STATE_DIR,
 * DOLLY_CACHE_DIR, DOLLY_PROJECTS_DIR, DOLLY_MODELS_DIR), else the host's default, and the
 * model folders always offered: the demo model and DOLLY_MODEL_DIRS (path-delimiter separated).
 */
export function hostFolders(
  env: NodeJS.ProcessEnv,
  d: FolderDefaults,
): Pick<
  StudioHostOptions,
  'stateDir' | 'cacheDir' | 'projectsDir' | 'modelsDir' | 'builtInModels'
> {
  const dir = (name: string, fallback: string) => (env[name] ? resolve(env[name]) : fallback)
  return {
    stateDir: dir('DOLLY_STATE_DIR', d.stateDir),
    cacheDir: dir('DOLLY_CACHE_DIR', d.cacheDir),
    projectsDir: dir('DOLLY_PROJECTS_DIR', d.projectsDir),
    modelsDir: dir('DOLLY_MODELS_DIR', d.modelsDir),
    builtInModels: [
      d.demoModel,
      ...(env['DOLLY_MODEL_DIRS'] ?? '')
        .split(delimiter)
        .filter(Boolean)
        .map((p) => resolve(p)),
    ],
  }
}

/**
 * The Hugging Face access token for downloads, where huggingface_hub (Python) finds it:
 * HF_TOKEN, then HUGGING_FACE_HUB_TOKEN, then the file `hf auth login` writes (HF_TOKEN_PATH,
 * else $HF_HOME/token, HF_HOME defaulting to $XDG_CACHE_HOME/huggingface, else
 * ~/.cache/huggingface). `from` names the variable or file (messages name it, never the token).
 */
export function hubToken(
  env: NodeJS.ProcessEnv,
  home = homedir(),
): { token: string; from: string } | null {
  for (const name of ['HF_TOKEN', 'HUGGING_FACE_HUB_TOKEN']) {
    const token = env[name]?.trim()
    if (token) return { token, from: name }
  }
  const path = (p: string) => resolve(p.replace(/^~(?=$|[\\/])/, home))
  const hfHome = env['HF_HOME']
    ? path(env['HF_HOME'])
    : join(
        env['XDG_CACHE_HOME'] ? path(env['XDG_CACHE_HOME']) : join(home, '.cache'),
        'huggingface',
      )
  const file = env['HF_TOKEN_PATH'] ? path(env['HF_TOKEN_PATH']) : join(hfHome, 'token')
  try {
    const token = readTextFile(file, 'the Hugging Face token file', 64 * 1024).trim()
    return token ? { token, from: file } : null
  } catch {
    return null // no token file: anonymous, as huggingface_hub
  }
}

export function composeStudio(o: StudioHostOptions): StudioHost {
  const engine = new EngineHost({ spawn: o.spawn, queryGpu: () => queryGpu() })
  // the memory the plans decide by, for the provider the engine uses (device-memory.ts)
  let adapter: Awaited<ReturnType<typeof queryAdapterMemory>> = null
  void queryAdapterMemory().then((a) => (adapter = a))
  const budget = () => deviceBudget(deviceFacts(engine.status(), adapter))
  const registry = new ModelRegistry(
    o.stateDir,
    o.builtInModels,
    () => budget()?.budgetMiB ?? null,
    () => budget()?.device ?? 'shared',
  )
  // the token is looked up at each download, so an `hf auth login` meanwhile counts
  const downloads = new ModelDownloads(registry, o.modelsDir, (e) => o.emit('model.download', e), {
    hubToken: () => hubToken(process.env),
  })
  const inputs = new InputStore(join(o.stateDir, 'inputs'), imageProblem)
  const catalog = new ModelCatalog({
    registry,
    modelsDir: o.modelsDir,
    exporterScript: o.exporterScript,
    freeVramMiB: () => engine.status().gpu?.vramFreeMiB ?? null,
    emit: (e) => o.emit('model.export', e),
  })
  const interpolation = new InterpolationSlot(o.stateDir)
  const studio = new StudioService({
    engine,
    cacheDir: o.cacheDir,
    registry,
    inputs,
    interpolationModel: () => interpolation.modelDir(),
    mediaUrl: o.mediaUrl,
    deviceBudget: budget,
    ...(o.exportTarget ? { exportTarget: o.exportTarget } : {}),
  })
  const projects = new ProjectStore(o.projectsDir, o.stateDir)
  const dispatch = createDispatcher(
    createHandlers({
      engine,
      studio,
      projects,
      registry,
      downloads,
      catalog,
      interpolation,
      appInfo: () => makeAppInfo(o.host, o.version, engine.status().onnxruntimeVersion),
      ...(o.pickFolder ? { pickFolder: o.pickFolder } : {}),
    }),
  )
  engine.onState((s) => o.emit('engine.state', s))
  studio.on((name, data) => o.emit(name, data as never))
  return { engine, registry, downloads, catalog, inputs, studio, projects, dispatch }
}
