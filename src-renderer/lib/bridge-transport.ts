/** The Electron transport: the `window.tessera` bridge that the preload exposes over IPC. */
import { asWireResult, type Transport } from './transport.js';

/** The shape of `window.tessera` (src-main/electron/preload.cts). */
export interface TesseraBridge {
  call(command: string, input: unknown): Promise<unknown>;
  on(event: string, listener: (payload: unknown) => void): () => void;
  pickFolder(title: string): Promise<string | null>;
}

declare global {
  interface Window {
    tessera?: TesseraBridge;
  }
}

export function createBridgeTransport(bridge: TesseraBridge): Transport {
  return {
    async call(command, input) {
      try {
        return asWireResult(await bridge.call(command, input), command);
      } catch (err) {
        const reason = err instanceof Error ? err.message : String(err);
        return {
          ok: false,
          error: { code: 'ipc', message: `The call ${command} did not reach the app: ${reason}` },
        };
      }
    },
    on: (event, listener) => bridge.on(event, listener),
    // IPC delivers every event while the window lives; nothing to catch up on.
    onResync: () => () => {},
  };
}
