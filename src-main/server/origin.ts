/**
 * Which pages may drive the API and the event socket: the Tessera page itself, and nothing else.
 * SameSite cookies do not separate ports, so a page served from any other port of 127.0.0.1 would
 * otherwise have its requests carry our cookie; the browser's Origin header says who is asking. A
 * client that sends no Origin (curl, a script, the Vite dev proxy) is no browser and must show the token
 * in its Authorization header instead.
 */
import type { IncomingMessage } from 'node:http';
import type { Credential } from './auth.js';

/** The server's own origin as the browser names it: the scheme plus the Host header it reached us by. */
export function ownOrigin(req: IncomingMessage): string {
  return `http://${(req.headers.host ?? '').toLowerCase()}`;
}

/** Why this request may not use the API or the event socket, or null when it may. */
export function originRefusal(req: IncomingMessage, credential: Credential): string | null {
  const origin = req.headers.origin;
  if (origin === undefined) {
    return credential === 'bearer'
      ? null
      : 'A request without an Origin header must carry the token in its Authorization header.';
  }
  if (origin.toLowerCase() === ownOrigin(req)) return null;
  return `Requests from ${origin.slice(0, 200)} are refused: only the Tessera page itself may use this API.`;
}
