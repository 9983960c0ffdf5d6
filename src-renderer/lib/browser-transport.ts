/**
 * The browser-mode transport: `POST /api/<command>` with a JSON body, and the `/events` WebSocket,
 * both on the page's own origin. The per-launch token travels in the HttpOnly cookie the server set
 * when the launch URL was opened, so nothing here ever sees it.
 */
import { EventSocket, type SocketLike } from './event-socket.js';
import { asWireResult, type Transport } from './transport.js';

export interface BrowserTransportOptions {
  /** Origin of the Tessera server, e.g. `http://127.0.0.1:5123`. */
  origin: string;
  fetch?: typeof fetch;
  openSocket?: (url: string) => SocketLike;
}

export function createBrowserTransport(options: BrowserTransportOptions): Transport {
  const doFetch = options.fetch ?? ((input, init) => fetch(input, init));
  const origin = new URL(options.origin);
  const host = origin.host;
  const socketUrl = `${origin.protocol === 'https:' ? 'wss' : 'ws'}://${host}/events`;
  const events = new EventSocket({ url: socketUrl, open: options.openSocket });

  return {
    async call(command, input) {
      let response: Response;
      try {
        response = await doFetch(new URL(`/api/${encodeURIComponent(command)}`, origin), {
          method: 'POST',
          credentials: 'same-origin',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify(input ?? {}),
        });
      } catch {
        return {
          ok: false,
          error: {
            code: 'unreachable',
            message: `Cannot reach the Tessera server at ${host}; check that \`tessera serve\` is still running.`,
          },
        };
      }
      let body: unknown;
      try {
        body = await response.json();
      } catch {
        return {
          ok: false,
          error: {
            code: 'bad-response',
            message: `The Tessera server answered ${command} with HTTP ${response.status} and no readable result.`,
          },
        };
      }
      return asWireResult(body, command);
    },
    on: (event, listener) => events.on(event, listener),
    onResync: (listener) => events.onResync(listener),
  };
}
