/**
 * Browser-mode access control: a random per-launch token must come with every request, as
 * `Authorization: Bearer <token>` (scripts, the dev proxy) or as the HttpOnly `tessera_token` cookie
 * (the page). The launch URL's `?token=` is not a credential of its own: the server trades it for the
 * cookie on that one URL (see launchToken), so it never spreads to other addresses, logs or Referers.
 * Compared in constant time; nothing a client sends here can throw.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

export const TOKEN_COOKIE = 'tessera_token';

/** How a request proved it holds the token. */
export type Credential = 'bearer' | 'cookie';

export function newToken(): string {
  return randomBytes(24).toString('base64url');
}

export function tokensEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The cookie's value, or null when absent or not valid percent-encoding. */
export function cookieValue(header: string | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0 || part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return null;
    }
  }
  return null;
}

export function bearerToken(req: IncomingMessage): string | null {
  const auth = req.headers.authorization;
  return auth?.startsWith('Bearer ') ? auth.slice(7).trim() : null;
}

/**
 * Which credential carries the right token, or null. A request that sends an Authorization header is
 * judged by it alone, so a wrong bearer token is not rescued by a cookie.
 */
export function authenticate(req: IncomingMessage, token: string): Credential | null {
  const bearer = bearerToken(req);
  if (bearer !== null) return tokensEqual(bearer, token) ? 'bearer' : null;
  const cookie = cookieValue(req.headers.cookie, TOKEN_COOKIE);
  return cookie !== null && tokensEqual(cookie, token) ? 'cookie' : null;
}

/** The launch URL is `/?token=…`; the token is honoured there only, by a GET, and only when right. */
export function launchToken(req: IncomingMessage, url: URL, token: string): boolean {
  if (url.pathname !== '/' || (req.method !== 'GET' && req.method !== 'HEAD')) return false;
  const presented = url.searchParams.get('token');
  return presented !== null && tokensEqual(presented, token);
}

export function tokenCookie(token: string): string {
  return `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`;
}
