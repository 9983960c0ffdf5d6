/**
 * The only bridge between the sandboxed renderer and the main process: the API transport (call a
 * contract command, listen to a contract event) and the native folder picker. Nothing else is exposed.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';

const bridge = {
  call: (command: string, input: unknown): Promise<unknown> =>
    ipcRenderer.invoke('tessera:call', command, input),
  on: (event: string, listener: (payload: unknown) => void): (() => void) => {
    const channel = `tessera:event:${event}`;
    const wrapped = (_e: IpcRendererEvent, payload: unknown) => listener(payload);
    ipcRenderer.on(channel, wrapped);
    return () => {
      ipcRenderer.removeListener(channel, wrapped);
    };
  },
  pickFolder: (title: string): Promise<string | null> => ipcRenderer.invoke('tessera:pickFolder', title),
};

contextBridge.exposeInMainWorld('tessera', bridge);
