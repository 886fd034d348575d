// The only bridge between the sandboxed renderer and main: `window.dolly`, built from the
// contract. Each command is a fixed function bound to its own channel; there is no generic
// invoke(channel) and no ipcRenderer in the page.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron'
import {
  commandNames,
  ipcChannel,
  isEventName,
  splitCommandName,
  type CommandName,
  type DollyBridge,
  type EventName,
} from '../shared/contract'

export function buildBridge(): DollyBridge {
  const areas: Record<string, Record<string, (payload?: unknown) => Promise<unknown>>> = {}
  for (const name of commandNames) {
    const [area, verb] = splitCommandName(name)
    const channel = ipcChannel.command(name as CommandName)
    areas[area] ??= {}
    areas[area][verb] = (payload?: unknown) => ipcRenderer.invoke(channel, payload ?? {})
  }
  const on = (event: EventName, listener: (payload: unknown) => void): (() => void) => {
    if (!isEventName(event)) throw new Error(`unknown event "${String(event)}"`)
    if (typeof listener !== 'function') throw new Error('listener must be a function')
    const channel = ipcChannel.event(event)
    // Never hand the IpcRendererEvent (which carries `sender`) to the page.
    const wrapped = (_e: IpcRendererEvent, payload: unknown) => listener(payload)
    ipcRenderer.on(channel, wrapped)
    return () => void ipcRenderer.removeListener(channel, wrapped)
  }
  return Object.freeze({ ...areas, on }) as unknown as DollyBridge
}

contextBridge.exposeInMainWorld('dolly', buildBridge())
