// Electron main: one window, the engine as a supervised utility process, IPC from the
// contract, cached renders served by the dolly-media:// protocol (with Range, so video seeks).
// Security settings: window-options.ts; sender checks: ipc.ts.
import { app, BrowserWindow, dialog, protocol, session, type WebContents } from 'electron'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { composeStudio, hostFolders, type StudioHost } from '../services/compose'
import { utilitySpawner } from './electron-spawn'
import { registerIpc, sameDocument, sendEvent } from './ipc'
import { handleMediaRequest } from './media-protocol'
import {
  denyAllPermissions,
  ELECTRON_CSP,
  lockDownContents,
  mainWindowOptions,
  rendererUrlFor,
} from './window-options'

const here = dirname(fileURLToPath(import.meta.url))
const rendererUrl = rendererUrlFor(
  process.env,
  app.isPackaged,
  pathToFileURL(join(here, '../renderer/index.html')).href,
)
const windows = new Set<BrowserWindow>()
const webContentsList = (): WebContents[] => [...windows].map((w) => w.webContents)

// dolly-media:// must be privileged before the app is ready (streaming, fetch, secure)
protocol.registerSchemesAsPrivileged([
  {
    scheme: 'dolly-media',
    privileges: { standard: true, secure: true, stream: true, supportFetchAPI: true },
  },
])

let services: StudioHost | null = null

// No remote content, no new windows, no navigation away from the studio, no permissions.
app.on('web-contents-created', (_e, contents) =>
  lockDownContents(contents, (url) => sameDocument(url, rendererUrl)),
)

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
    denyAllPermissions(session.defaultSession)
    session.defaultSession.webRequest.onHeadersReceived((details, callback) => {
      callback({
        responseHeaders: { ...details.responseHeaders, 'Content-Security-Policy': [ELECTRON_CSP] },
      })
    })

    const folders = hostFolders(process.env, {
      cacheDir: join(app.getPath('userData'), 'renders'),
      stateDir: join(app.getPath('userData'), 'state'),
      projectsDir: join(app.getPath('documents'), 'Dolly Projects'),
      modelsDir: join(app.getPath('documents'), 'Dolly Models'),
      demoModel: join(app.getAppPath(), 'resources', 'demo-model'),
    })
    const { cacheDir } = folders
    const s = composeStudio({
      host: 'electron',
      version: app.getVersion(),
      spawn: utilitySpawner(join(here, 'worker.js')),
      ...folders,
      exporterScript: join(app.getAppPath(), 'tools', 'export', 'export_model.py'),
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
      pickFolder: async (purpose) => {
        const win = [...windows][0]
        const title =
          purpose === 'model' ? 'Add a model folder' : 'Choose the interpolation model folder'
        const options = { title, properties: ['openDirectory' as const] }
        const r = await (win ? dialog.showOpenDialog(win, options) : dialog.showOpenDialog(options))
        return r.canceled ? null : (r.filePaths[0] ?? null)
      },
      emit: (name, payload) => sendEvent(webContentsList(), name, payload),
    })
    services = s
    protocol.handle('dolly-media', (request) => handleMediaRequest(request, cacheDir, s.inputs))
    registerIpc(s.dispatch, () => rendererUrl, webContentsList)
    s.engine
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
    void (services?.engine.stop() ?? Promise.resolve()).finally(() => app.quit())
  })

  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit()
  })
}
