/**
 * Browser mode: the API contract over HTTP (POST /api/<command>, JSON in, ApiResult out), events over a
 * WebSocket (/events), and the built renderer as static files. Every request needs the per-launch token.
 * Binds 127.0.0.1 unless a host is given deliberately.
 */
import { createReadStream } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import { eventNames, MAX_CSV_BYTES } from '../contract/contract.js';
import { dispatch, type Handlers } from '../api/dispatch.js';
import type { ApiResult } from '../contract/errors.js';
import type { AppSession } from '../app-state/session.js';
import { log } from '../log.js';
import { isAuthorized, newToken, TOKEN_COOKIE } from './auth.js';
import { contentSecurityPolicy } from '../renderer-host/content-security-policy.js';
import { resolveStaticFile } from '../renderer-host/static-files.js';

// Room for the largest label CSV sent as text (labels.previewCsv), which JSON escaping can double.
const MAX_BODY_BYTES = 2 * MAX_CSV_BYTES + (1 << 20);

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
  close(): Promise<void>;
}

const statusFor: Record<string, number> = {
  'bad-input': 400,
  'unknown-command': 404,
  'not-found': 404,
  'no-project': 409,
  conflict: 409,
  unreadable: 422,
  'too-new': 422,
  unauthorized: 401,
  internal: 500,
};

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  const token = options.token ?? newToken();
  const loopbackOnly = isLoopback(host);
  let port = 0;

  const sendJson = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, {
      'Content-Type': 'application/json; charset=utf-8',
      'Cache-Control': 'no-store',
      'X-Content-Type-Options': 'nosniff',
    });
    res.end(JSON.stringify(body));
  };
  const refuse = (res: ServerResponse, status: number, message: string) => {
    const code = status === 401 ? 'unauthorized' : status === 404 ? 'not-found' : 'bad-input';
    sendJson(res, status, { ok: false, error: { code, message } } satisfies ApiResult<never>);
  };

  const hostAllowed = (req: IncomingMessage) => {
    if (!loopbackOnly) return true;
    const h = (req.headers.host ?? '').toLowerCase();
    return h === `127.0.0.1:${port}` || h === `localhost:${port}` || h === `[::1]:${port}`;
  };

  const server = http.createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      log.error('request failed', err);
      if (!res.headersSent) refuse(res, 500, 'Internal error.');
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://placeholder');
    // A page on another origin that resolves a name to 127.0.0.1 (DNS rebinding) must not reach us.
    if (!hostAllowed(req)) return refuse(res, 403, 'Host not allowed.');
    if (!isAuthorized(req, url, token)) {
      return refuse(res, 401, 'Missing or wrong token. Open the URL that `tessera serve` printed.');
    }
    if (url.pathname.startsWith('/api/')) {
      if (req.method !== 'POST') return refuse(res, 405, 'Use POST for API commands.');
      const command = decodeURIComponent(url.pathname.slice('/api/'.length));
      let body: unknown;
      try {
        body = await readJsonBody(req);
      } catch (err) {
        return refuse(res, 400, (err as Error).message);
      }
      const result = await dispatch(options.handlers, command, body);
      return sendJson(res, result.ok ? 200 : (statusFor[result.error.code] ?? 500), result);
    }
    for (const route of options.routes ?? []) {
      if (url.pathname.startsWith(route.prefix)) return route.handle(req, res, url);
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return refuse(res, 405, 'Method not allowed.');
    if (url.searchParams.has('token')) {
      // Trade the token in the address bar for an HttpOnly cookie, then drop it from the URL.
      res.writeHead(303, {
        'Set-Cookie': `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
        Location: url.pathname,
        'Cache-Control': 'no-store',
      });
      return void res.end();
    }
    if (!options.rendererDir) return refuse(res, 404, 'The renderer is not built; run `npm run build`.');
    const file = resolveStaticFile(options.rendererDir, url.pathname);
    if (!file) return refuse(res, 404, 'Not found.');
    res.writeHead(200, {
      'Content-Type': file.contentType,
      'Content-Security-Policy': contentSecurityPolicy(),
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      'Cache-Control': 'no-cache',
    });
    if (req.method === 'HEAD') return void res.end();
    createReadStream(file.file).pipe(res);
  }

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://placeholder');
    if (url.pathname !== '/events' || !hostAllowed(req) || !isAuthorized(req, url, token)) {
      socket.write('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      socket.destroy();
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('message', () => ws.close(1008, 'events socket is receive-only'));
    });
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
  port = (server.address() as AddressInfo).port;
  const shownHost = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  const base = `http://${shownHost}:${port}`;
  return {
    url: base,
    launchUrl: `${base}/?token=${token}`,
    token,
    port,
    host,
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

function readJsonBody(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        reject(new Error('Request body too large.'));
        req.destroy();
      } else chunks.push(chunk);
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (!text.trim()) return resolve({});
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new Error('Request body is not valid JSON.'));
      }
    });
    req.on('error', reject);
  });
}
