// Electron IPC generated from the contract: one ipcMain.handle per command, each checking
// that the sender is the main frame of one of our windows showing our renderer, then
// dispatching through the same validator the web host uses.
import { ipcMain, type WebContents, type WebFrameMain } from 'electron'
import {
  commandNames,
  ipcChannel,
  events,
  type EventName,
  type EventPayload,
  type Result,
} from '../../shared/contract'
import type { Dispatch } from '../services/dispatch'

export function isTrustedSender(
  frame: WebFrameMain | null | undefined,
  rendererUrl: string,
  windows: WebContents[],
): boolean {
  if (!frame) return false
  const owner = windows.find((wc) => !wc.isDestroyed() && wc.mainFrame === frame)
  if (!owner) return false
  return sameDocument(frame.url, rendererUrl)
}

/** Same scheme, host and path; the query and hash may differ. */
export function sameDocument(actual: string, expected: string): boolean {
  try {
    const a = new URL(actual)
    const e = new URL(expected)
    return a.protocol === e.protocol && a.host === e.host && a.pathname === e.pathname
  } catch {
    return false
  }
}

export function registerIpc(
  dispatch: Dispatch,
  rendererUrl: () => string,
  windows: () => WebContents[],
): void {
  for (const name of commandNames) {
    ipcMain.handle(ipcChannel.command(name), async (event, payload): Promise<Result<unknown>> => {
      if (!isTrustedSender(event.senderFrame, rendererUrl(), windows())) {
        return {
          ok: false,
          error: {
            code: 'forbidden',
            message: `${name}: the request did not come from the studio's window`,
          },
        }
      }
      return dispatch(name, payload)
    })
  }
}

export function sendEvent<E extends EventName>(
  targets: WebContents[],
  event: E,
  payload: EventPayload<E>,
): void {
  const checked = events[event].safeParse(payload)
  if (!checked.success) return
  for (const wc of targets) if (!wc.isDestroyed()) wc.send(ipcChannel.event(event), checked.data)
}
