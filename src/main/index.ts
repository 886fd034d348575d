// Electron main: one window, the engine as a supervised utility process, IPC from the
// contract, cached renders served by the dolly-media:// protocol (with Range, so video seeks).
// Security settings: window-options.ts; sender checks: ipc.ts.
import { app, BrowserWindow, dialog, protocol, session, shell, type WebContents } from 'electron'
import { delimiter, dirname, join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { makeAppInfo } from './app-info'
import { createDispatcher } from './dispatch'
import { utilitySpawner } from './electron-spawn'
import { EngineHost } from './engine-host'
import { queryGpu } from './gpu'
import { createHandlers } from './handlers'
import { registerIpc, sameDocument, sendEvent } from './ipc'
import { mediaPath, mediaResponse } from './media-files'
import { StudioService } from './studio'
import { ProjectStore } from './projects'
import { ModelDownloads, ModelRegistry } from './model-registry'
import { ELECTRON_CSP, mainWindowOptions } from './window-options'
import { InputError, InputStore, MAX_INPUT_BYTES } from './inputs'

const here = dirname(fileURLToPath(import.meta.url))
const devServerUrl = process.env['ELECTRON_RENDERER_URL']
const rendererUrl = devServerUrl ?? pathToFileURL(join(here, '../renderer/index.html')).href
const windows = new Set<BrowserWindow>()
const webContentsList = (): WebContents[] => [...windows].map((w) => w.webContents)

// dolly-media:// must be privileged before the app is ready (streaming, fetch, secure)
protocol.registerSchemesAsPrivileged([
  {
    scheme: 'dolly-media',
    privileges: { standard: true, secure: true, stream: true, supportFetchAPI: true },
  },
])

const engine = new EngineHost({
  spawn: utilitySpawner(join(here, 'worker.js')),
  queryGpu: () => queryGpu(),
})

// No remote content, no new windows, no navigation away from the studio, no permissions.
app.on('web-contents-created', (_e, contents) => {
  contents.setWindowOpenHandler(({ url }) => {
    if (/^https:\/\//.test(url)) void shell.openExternal(url)
    return { action: 'deny' }
  })
  contents.on('will-navigate', (event, url) => {
    if (!sameDocument(url, rendererUrl)) event.preventDefault()
  })
  contents.on('will-attach-webview', (event) => event.preventDefault())
})

function createWindow(): BrowserWindow {
  const win = new BrowserWindow(mainWindowOptions(join(here, '../preload/index.cjs')))
  windows.add(win)
  win.on('closed', () => windows.delete(win))
  win.once('ready-to-show', () => win.show())
  void win.loadURL(rendererUrl)
  return win
}

if (!app.requestSingleInstanceLock()) {
  app.quit()
} else {
  app.on('second-instance', () => {
    const win = [...windows][0]
    if (win) {
      if (win.isMinimized()) win.restore()
      win.focus()
    }
  })

  void app.whenReady().then(() => {
    session.defaultSession.setPermissionRequestHandler((_wc, _perm, callback) => callback(false))
    session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
      callback({
        responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [ELECTRON_CSP] },
      })
    })

    const cacheDir = join(app.getPath('userData'), 'renders')
    const stateDir = join(app.getPath('userData'), 'state')
    const registry = new ModelRegistry(
      stateDir,
      [join(app.getAppPath(), 'resources', 'demo-model'), ...(process.env['DOLLY_MODEL_DIRS'] ?? '').split(delimiter).filter(Boolean).map((d) => resolve(d))],
      () => engine.status().gpu?.vramFreeMiB ?? null,
    )
    const downloads = new ModelDownloads(registry, join(app.getPath('documents'), 'Dolly Models'), (e) => sendEvent(webContentsList(), 'model.download', e))
    const inputs = new InputStore(join(stateDir, 'inputs'))
    const studio = new StudioService({
      engine,
      cacheDir,
      registry,
      inputs,
      mediaUrl: (jobId, file) => `dolly-media://job/${jobId}/${file}`,
      exportTarget: async (jobId, format) => {
        const win = [...windows][0]
        const r = await dialog.showSaveDialog(win!, {
          title: 'Export clip',
          defaultPath: `dolly-${jobId.slice(0, 8)}${format === 'png' ? '' : `.${format}`}`,
          filters: format === 'png' ? [] : [{ name: format.toUpperCase(), extensions: [format] }],
        })
        return r.canceled || !r.filePath ? null : r.filePath
      },
    })
    protocol.handle('dolly-media', async (request) => {
      const url = new URL(request.url)
      if (url.hostname === 'inputs' && request.method === 'POST') {
        // a dropped image's bytes (the sandboxed page has no paths); same checks as the web host
        const json = (status: number, body: unknown) =>
          new Response(JSON.stringify(body), {
            status,
            headers: { 'Content-Type': 'application/json' },
          })
        const declared = Number(request.headers.get('content-length') ?? NaN)
        if (declared > MAX_INPUT_BYTES)
          return json(413, { error: `images up to ${MAX_INPUT_BYTES / 2 ** 20} MiB are accepted` })
        try {
          const bytes = new Uint8Array(await request.arrayBuffer())
          return json(200, inputs.add(bytes, url.searchParams.get('name') ?? ''))
        } catch (err) {
          if (err instanceof InputError) return json(err.status, { error: err.message })
          return json(500, { error: err instanceof Error ? err.message : String(err) })
        }
      }
      const [, jobId = '', ...rest] = url.pathname.split('/')
      if (url.hostname === 'inputs' && request.method === 'GET') {
        let file: string | null = null
        try {
          file = inputs.path(jobId)
        } catch {
          file = null
        }
        const r = mediaResponse(file, request.headers.get('range') ?? undefined)
        const body = r.body ? (Readable.toWeb(r.body) as ReadableStream) : null
        return new Response(body, { status: r.status, headers: r.headers })
      }
      const r = mediaResponse(
        url.hostname === 'job' ? mediaPath(cacheDir, jobId, rest.join('/')) : null,
        request.headers.get('range') ?? undefined,
      )
      const body = r.body ? (Readable.toWeb(r.body) as ReadableStream) : null
      return new Response(body, { status: r.status, headers: r.headers })
    })

    const projects = new ProjectStore(join(app.getPath('documents'), 'Dolly Projects'), stateDir)
    const dispatch = createDispatcher(
      createHandlers({
        engine,
        studio,
        projects,
        registry,
        downloads,
        appInfo: () =>
          makeAppInfo('electron', app.getVersion(), engine.status().onnxruntimeVersion),
      }),
    )
    registerIpc(dispatch, () => rendererUrl, webContentsList)
    engine.onState((s) => sendEvent(webContentsList(), 'engine.state', s))
    studio.on((name, data) => sendEvent(webContentsList(), name, data as never))
    engine
      .start()
      .catch((err: Error) => console.error(`engine: ${err.message} (it will be restarted)`))
    createWindow()

    app.on('activate', () => {
      if (BrowserWindow.getAllWindows().length === 0) createWindow()
    })
  })

  let quitting = false
  app.on('before-quit', (event) => {
    if (quitting) return
    quitting = true
    event.preventDefault()
    void engine.stop().finally(() => app.quit())
  })

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit()
  })
}
