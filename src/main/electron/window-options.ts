// The main window's options, as a pure function so a test can pin every security setting;
// likewise the permission policy and which URL the window loads.
import type { BrowserWindowConstructorOptions, Session, WebContents } from 'electron'

export function mainWindowOptions(preloadPath: string): BrowserWindowConstructorOptions {
  return {
    width: 1440,
    height: 900,
    minWidth: 960,
    minHeight: 600,
    show: false,
    title: 'Dolly Studio',
    backgroundColor: '#15171c',
    webPreferences: {
      preload: preloadPath,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      spellcheck: false,
      navigateOnDragDrop: false,
    },
  }
}

/** The CSP the renderer runs under in Electron (also set as a meta tag in index.html). */
export const ELECTRON_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'",
  "img-src 'self' data: blob: dolly-media:",
  "media-src 'self' blob: dolly-media:",
  "connect-src 'self' dolly-media:",
  "object-src 'none'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
  "form-action 'none'",
].join('; ')

/**
 * No permission for the page, asked (a prompt: camera, notifications…) or checked (a
 * synchronous query, e.g. navigator.permissions, clipboard reads): both handlers deny.
 */
export function denyAllPermissions(
  session: Pick<Session, 'setPermissionRequestHandler' | 'setPermissionCheckHandler'>,
): void {
  session.setPermissionRequestHandler((_wc, _permission, callback) => callback(false))
  session.setPermissionCheckHandler(() => false)
}

/**
 * The renderer's URL: the dev server's only in a development run. A packaged app ignores
 * ELECTRON_RENDERER_URL, so an environment variable cannot point the window (and its IPC
 * trust) at another page.
 */
export function rendererUrlFor(
  env: Record<string, string | undefined>,
  isPackaged: boolean,
  builtIndexUrl: string,
): string {
  const dev = env['ELECTRON_RENDERER_URL']
  return !isPackaged && dev ? dev : builtIndexUrl
}

/**
 * What a page may open: no window, and nothing outside the studio. The studio shows no external
 * links, so a window.open or a target=_blank link is refused without handing its URL to the
 * person's browser (shell.openExternal of any https URL the page chose: a compromised page
 * could send the browser anywhere, as often as it liked). Navigation stays on the renderer's
 * document (`isOurs`), and no <webview> is attached.
 */
export function lockDownContents(
  contents: Pick<WebContents, 'setWindowOpenHandler' | 'on'>,
  isOurs: (url: string) => boolean,
): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  contents.on('will-navigate', (event, url) => {
    if (!isOurs(url)) event.preventDefault()
  })
  contents.on('will-attach-webview', (event) => event.preventDefault())
}
