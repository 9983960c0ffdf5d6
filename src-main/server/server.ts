/**
 * Browser mode: the API contract over HTTP (POST /api/<command>, JSON in, ApiResult out), events over a
 * WebSocket (/events), and the built renderer as static files. Every request needs the per-launch token.
 * Binds 127.0.0.1 unless a host is given deliberately.
 */
import { createReadStream } from 'node:fs';
import http, { STATUS_CODES, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { pipeline } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { eventNames } from '../contract/contract.js';
import { dispatch, type Handlers } from '../api/dispatch.js';
import type { ApiErrorCode, ApiResult } from '../contract/errors.js';
import type { AppSession } from '../app-state/session.js';
import { log } from '../log.js';
import { buildHint } from '../build-hint.js';
import { contentSecurityPolicy } from '../renderer-host/content-security-policy.js';
import { resolveStaticFile } from '../renderer-host/static-files.js';
import { authenticate, launchToken, newToken, tokenCookie, type Credential } from './auth.js';
import { bodyLimit, BodyRefusal, isJsonContentType, readJsonBody } from './body.js';
import { originRefusal } from './origin.js';
import { requestUrl } from './request-url.js';

/** Extra routes (e.g. slide tiles) mounted under a prefix; they run after the token check. */
export interface Route {
  prefix: string;
  handle(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> | void;
}

export interface ServerOptions {
  handlers: Handlers;
  session: AppSession;
  rendererDir: string | null;
  host?: string;
  port?: number;
  token?: string;
  routes?: Route[];
}

export interface RunningServer {
  url: string;
  /** The URL to open in a browser: carries the token once; the page then keeps it in a cookie. */
  launchUrl: string;
  token: string;
  port: number;
  host: string;
  /** The address the listening socket is really bound to, as the operating system reports it. */
  address: string;
  close(): Promise<void>;
}

const statusFor: Record<ApiErrorCode, number> = {
  'bad-input': 400,
  'unknown-command': 404,
  'not-found': 404,
  'no-project': 409,
  conflict: 409,
  unreadable: 422,
  'too-new': 422,
  unauthorized: 401,
  forbidden: 403,
  'method-not-allowed': 405,
  'too-large': 413,
  'unsupported-media-type': 415,
  internal: 500,
};

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? newToken();
  const loopbackOnly = isLoopback(host);
  let port = 0;

  const sendJson = (
    res: ServerResponse,
    status: number,
    body: unknown,
    headers: Record<string, string> = {},
  ) => {
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
      ...headers,
    });
    res.end(JSON.stringify(body));
  };
  const refuse = (
    res: ServerResponse,
    code: ApiErrorCode,
    message: string,
    headers?: Record<string, string>,
  ) =>
    sendJson(
      res,
      statusFor[code],
      { ok: false, error: { code, message } } satisfies ApiResult<never>,
      headers,
    );

  const hostAllowed = (req: IncomingMessage) => {
    if (!loopbackOnly) return true;
    const h = (req.headers.host ?? '').toLowerCase();
    return h === `127.0.0.1:${port}` || h === `localhost:${port}` || h === `[::1]:${port}`;
  };
  const unauthorized = 'Missing or wrong token. Open the URL that `tessera serve` printed.';

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      log.error('request failed', err);
      if (!res.headersSent) refuse(res, 'internal', 'Internal error.');
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = requestUrl(req.url);
    if (!url) return refuse(res, 'bad-input', 'The request target must be a path (starting with "/").');
    // A page on another origin that resolves a name to 127.0.0.1 (DNS rebinding) must not reach us.
    if (!hostAllowed(req)) return refuse(res, 'forbidden', 'Host not allowed.');
    if (launchToken(req, url, token)) {
      // Trade the token in the address bar for an HttpOnly cookie, then drop it from the URL.
      res.writeHead(303, {
        'Set-Cookie': tokenCookie(token),
        Location: '/',
        'Cache-Control': 'no-store',
        'Referrer-Policy': 'no-referrer',
      });
      return void res.end();
    }
    const credential = authenticate(req, token);
    if (!credential) return refuse(res, 'unauthorized', unauthorized);
    if (url.pathname.startsWith('/api/')) return handleApi(req, res, url, credential);
    for (const route of options.routes ?? []) {
      if (url.pathname.startsWith(route.prefix)) return route.handle(req, res, url);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return refuse(res, 'method-not-allowed', 'Method not allowed.', { Allow: 'GET, HEAD' });
    }
    if (!options.rendererDir)
      return refuse(res, 'not-found', `The renderer (out/renderer) is missing${buildHint('npm run build')}.`);
    const file = resolveStaticFile(options.rendererDir, url.pathname);
    if (!file) return refuse(res, 'not-found', 'Not found.');
    res.writeHead(200, {
      'Content-Type': file.contentType,
      'Content-Security-Policy': contentSecurityPolicy(),
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
    });
    if (req.method === 'HEAD') return void res.end();
    pipeline(createReadStream(file.file), res, (err) => {
      if (err) log.warn(`serving ${file.file} stopped`, err);
    });
  }

  async function handleApi(req: IncomingMessage, res: ServerResponse, url: URL, credential: Credential) {
    if (req.method !== 'POST') {
      return refuse(res, 'method-not-allowed', 'Use POST for API commands.', { Allow: 'POST' });
    }
    const refusal = originRefusal(req, credential);
    if (refusal) return refuse(res, 'forbidden', refusal);
    if (!isJsonContentType(req.headers['content-type'])) {
      return refuse(
        res,
        'unsupported-media-type',
        'API commands take a JSON body: send Content-Type: application/json.',
      );
    }
    let command: string;
    try {
      command = decodeURIComponent(url.pathname.slice('/api/'.length));
    } catch {
      return refuse(res, 'unknown-command', 'Unknown command (its name is not valid percent-encoding).');
    }
    let body: unknown;
    try {
      body = await readJsonBody(req, bodyLimit(command));
    } catch (err) {
      if (err instanceof BodyRefusal) return refuse(res, err.code, err.message);
      throw err;
    }
    const result = await dispatch(options.handlers, command, body);
    return sendJson(res, result.ok ? 200 : statusFor[result.error.code], result);
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const sockets = new Set<WebSocket>();
  // Nothing a client sends may throw here: an exception in this listener would end the process.
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    // Answered and half-closed; a client that then keeps the connection open is cut off after a while.
    const answer = (status: number, message: string) => {
      const cutOff = setTimeout(() => socket.destroy(), 5000).unref();
      socket.once('close', () => clearTimeout(cutOff));
      socket.end(
        `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
          `Content-Length: ${Buffer.byteLength(message)}\r\n\r\n${message}`,
      );
    };
    try {
      const url = requestUrl(req.url);
      if (!url) return answer(400, 'The request target must be a path (starting with "/").');
      if (!hostAllowed(req)) return answer(403, 'Host not allowed.');
      const credential = authenticate(req, token);
      if (!credential) return answer(401, unauthorized);
      if (url.pathname !== '/events') return answer(404, 'Not found.');
      const refusal = originRefusal(req, credential);
      if (refusal) return answer(403, refusal);
      wss.handleUpgrade(req, socket, head, (ws) => {
        sockets.add(ws);
        ws.on('close', () => sockets.delete(ws));
        ws.on('message', () => ws.close(1008, 'events socket is receive-only'));
      });
    } catch (err) {
      log.error('WebSocket upgrade failed', err);
      answer(500, 'Internal error.');
    }
  });
  const unsubscribers = eventNames.map((event) =>
    options.session.on(event, (payload) => {
      const message = JSON.stringify({ event, payload });
      for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(message);
    }),
  );

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const bound = server.address() as AddressInfo;
  port = bound.port;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const base = `http://${shownHost}:${port}`;
  return {
    url: base,
    launchUrl: `${base}/?token=${token}`,
    token,
    port,
    host,
    address: bound.address,
    close: async () => {
      for (const off of unsubscribers) off();
      for (const ws of sockets) ws.terminate();
      wss.close();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === 'localhost' || host === '::1';
}
