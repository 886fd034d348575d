// Electron main: one window, the engine as a supervised utility process, IPC from the
// contract. Security settings: window-options.ts; sender checks: ipc.ts.
import { app, BrowserWindow, session, shell, type WebContents } from 'electron'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { makeAppInfo } from './app-info'
import { createDispatcher } from './dispatch'
import { utilitySpawner } from './electron-spawn'
import { EngineHost } from './engine-host'
import { queryGpu } from './gpu'
import { createHandlers } from './handlers'
import { registerIpc, sameDocument, sendEvent } from './ipc'
import { ELECTRON_CSP, mainWindowOptions } from './window-options'

const here = dirname(fileURLToPath(import.meta.url))
const devServerUrl = process.env['ELECTRON_RENDERER_URL']
const rendererUrl = devServerUrl ?? pathToFileURL(join(here, '../renderer/index.html')).href
const windows = new Set<BrowserWindow>()
const webContentsList = (): WebContents[] => [...windows].map((w) => w.webContents)

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

    const dispatch = createDispatcher(
      createHandlers({
        engine,
        appInfo: () =>
          makeAppInfo('electron', app.getVersion(), engine.status().onnxruntimeVersion),
      }),
    )
    registerIpc(dispatch, () => rendererUrl, webContentsList)
    engine.onState((s) => sendEvent(webContentsList(), 'engine.state', s))
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
