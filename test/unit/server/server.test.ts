import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { createAppServices } from '../../../src-main/api/services.js';
import { startServer, type RunningServer } from '../../../src-main/server/server.js';
import { tempDir } from '../../helpers/temp.js';

let running: RunningServer | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

async function start() {
  const root = tempDir();
  const renderer = path.join(root, 'renderer');
  fs.mkdirSync(renderer);
  fs.writeFileSync(path.join(renderer, 'index.html'), '<!doctype html><title>Tessera</title>');
  fs.writeFileSync(path.join(root, 'secret.txt'), 'do not serve me');
  const { session, handlers } = createAppServices(tempDir(), 'browser');
  running = await startServer({ handlers, session, rendererDir: renderer });
  return { server: running, session };
}

/** Raw HTTP so paths are sent exactly as written (fetch would normalise `..`). */
function request(
  port: number,
  pathAndQuery: string,
  init: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path: pathAndQuery, method: init.method ?? 'GET', headers: init.headers },
      (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });
const json = { 'Content-Type': 'application/json' };

describe('browser-mode server', () => {
  it('binds 127.0.0.1 by default: the socket listens on loopback only', async () => {
    const { server } = await start();
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    // What the operating system says the listening socket is bound to, not the option passed in.
    expect(server.address).toBe('127.0.0.1');
    // And from outside loopback nothing answers: a connection to this machine's other addresses fails.
    const others = Object.values(os.networkInterfaces())
      .flat()
      .filter((a) => a && a.family === 'IPv4' && !a.internal)
      .map((a) => a!.address);
    for (const address of others) {
      const outcome = await new Promise<string>((resolve) => {
        const socket = net.connect({ host: address, port: server.port });
        socket.once('connect', () => {
          socket.destroy();
          resolve('connected');
        });
        socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      });
      expect(outcome, address).toBe('ECONNREFUSED');
    }
  });

  it('answers 401 without the token or with a wrong one, on pages and on the API', async () => {
    const { server } = await start();
    for (const p of ['/', '/index.html', '/api/app.info']) {
      expect((await request(server.port, p, { method: p.startsWith('/api') ? 'POST' : 'GET' })).status).toBe(
        401,
      );
      expect((await request(server.port, p, { headers: bearer('wrong') })).status).toBe(401);
    }
    const res = await request(server.port, '/api/project.current', {
      method: 'POST',
      headers: { ...bearer(server.token), ...json },
    });
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toEqual({ ok: true, value: null });
  });

  it('trades the launch token for an HttpOnly cookie that then authorises the page', async () => {
    const { server } = await start();
    const launch = await request(server.port, `/?token=${server.token}`);
    expect(launch.status).toBe(303);
    expect(launch.headers.location).toBe('/');
    const cookie = launch.headers['set-cookie']![0]!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const page = await request(server.port, '/', { headers: { Cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<title>Tessera</title>');
    expect(page.headers['content-security-policy']).toContain("script-src 'self'");
  });

  it('refuses path traversal out of the renderer folder', async () => {
    const { server } = await start();
    for (const p of [
      '/../secret.txt',
      '/%2e%2e/secret.txt',
      '/..%2fsecret.txt',
      '/%2e%2e%5csecret.txt',
      '/a/../../secret.txt',
    ]) {
      const res = await request(server.port, p, { headers: bearer(server.token) });
      expect(res.status, p).toBe(404);
      expect(res.body).not.toContain('do not serve me');
    }
  });

  it('refuses unknown commands and bad JSON with clear messages', async () => {
    const { server } = await start();
    const unknown = await request(server.port, '/api/format.disk', {
      method: 'POST',
      headers: { ...bearer(server.token), ...json },
    });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body).error).toEqual({
      code: 'unknown-command',
      message: 'Unknown command "format.disk".',
    });
    const badJson = await request(server.port, '/api/project.open', {
      method: 'POST',
      headers: { ...bearer(server.token), ...json },
      body: '{not json',
    });
    expect(badJson.status).toBe(400);
    expect(JSON.parse(badJson.body).error.message).toBe('Request body is not valid JSON.');
    const badInput = await request(server.port, '/api/project.open', {
      method: 'POST',
      headers: { ...bearer(server.token), ...json },
      body: JSON.stringify({ dir: 42 }),
    });
    expect(badInput.status).toBe(400);
    expect(JSON.parse(badInput.body).error.message).toMatch(/^Invalid input for project.open: dir: /);
    const get = await request(server.port, '/api/app.info', { headers: bearer(server.token) });
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
    expect(JSON.parse(get.body).error.code).toBe('method-not-allowed');
  });

  it('refuses requests whose Host is not the loopback address it serves (DNS rebinding)', async () => {
    const { server } = await start();
    const res = await request(server.port, '/api/app.info', {
      method: 'POST',
      headers: { ...bearer(server.token), ...json, Host: `evil.example:${server.port}` },
    });
    expect(res.status).toBe(403);
    expect(JSON.parse(res.body).error.code).toBe('forbidden');
  });

  it('requires the token on the events WebSocket and delivers events with it', async () => {
    const { server, session } = await start();
    const refused = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/events`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    expect(refused).toBe(401);
    const wrong = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/events?token=nope`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
    });
    expect(wrong).toBe(401);

    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/events`, { headers: bearer(server.token) });
    await new Promise((resolve) => ws.on('open', resolve));
    const message = new Promise<string>((resolve) => ws.on('message', (d) => resolve(d.toString())));
    const dir = tempDir();
    await session.create(dir, 'Events');
    const parsed = JSON.parse(await message);
    expect(parsed.event).toBe('onProjectChanged');
    expect(parsed.payload).toMatchObject({ name: 'Events', dir });
    ws.close();
  });
});

/** The page's cookie, got the way a browser gets it: by opening the launch URL. */
async function pageCookie(server: RunningServer): Promise<string> {
  const launch = await request(server.port, `/?token=${server.token}`);
  return launch.headers['set-cookie']![0]!.split(';')[0]!;
}

/** The status a WebSocket handshake to `path` gets: 101 when it opens. */
function wsStatus(port: number, pathAndQuery: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}${pathAndQuery}`, { headers });
    ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
    ws.on('open', () => {
      ws.close();
      resolve(101);
    });
    ws.on('error', () => resolve(-1));
  });
}

/** Writes `text` on a raw TCP connection and returns the status line of the answer ('' if none came). */
function rawStatusLine(port: number, text: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let got = '';
    socket.on('data', (d: Buffer) => (got += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(got.split('\r\n')[0] ?? ''));
    socket.end(text);
  });
}

describe('browser-mode server refusals', () => {
  it('answers malformed request targets and cookies with a status, and keeps serving', async () => {
    const { server } = await start();
    const host = `Host: 127.0.0.1:${server.port}\r\n`;
    const upgrade =
      'Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    // `//` as the target made `new URL` throw in the upgrade listener, which ended the process.
    expect(await rawStatusLine(server.port, `GET // HTTP/1.1\r\n${host}${upgrade}\r\n`)).toBe(
      'HTTP/1.1 401 Unauthorized',
    );
    expect(await rawStatusLine(server.port, `GET http://x/events HTTP/1.1\r\n${host}${upgrade}\r\n`)).toBe(
      'HTTP/1.1 400 Bad Request',
    );
    // A cookie that is not valid percent-encoding made decodeURIComponent throw there too.
    expect(
      await rawStatusLine(
        server.port,
        `GET /events HTTP/1.1\r\n${host}${upgrade}Cookie: tessera_token=%E0\r\n\r\n`,
      ),
    ).toBe('HTTP/1.1 401 Unauthorized');
    // The same on plain requests: 400 and 401, not 500.
    expect((await request(server.port, '//')).status).toBe(401);
    const plain = await request(server.port, '//', { headers: bearer(server.token) });
    expect(plain.status).toBe(404);
    expect(JSON.parse(plain.body).error.code).toBe('not-found');
    expect(await rawStatusLine(server.port, `GET http://x/ HTTP/1.1\r\n${host}\r\n`)).toBe(
      'HTTP/1.1 400 Bad Request',
    );
    const cookie = await request(server.port, '/', { headers: { Cookie: 'tessera_token=%E0' } });
    expect(cookie.status).toBe(401);
    const badName = await request(server.port, '/api/%E0%A4', {
      method: 'POST',
      headers: { ...bearer(server.token), ...json },
    });
    expect(badName.status).toBe(404);
    expect(JSON.parse(badName.body).error.code).toBe('unknown-command');
    const alive = await request(server.port, '/api/app.info', {
      method: 'POST',
      headers: { ...bearer(server.token), ...json },
    });
    expect(alive.status).toBe(200);
  });

  it('refuses API calls from another origin, even with the cookie', async () => {
    const { server, session } = await start();
    const cookie = await pageCookie(server);
    const dir = path.join(tempDir(), 'planted');
    // What a page on another port of 127.0.0.1 can send without a preflight: a "simple" text/plain POST.
    const simple = await request(server.port, '/api/project.create', {
      method: 'POST',
      headers: { Cookie: cookie, Origin: 'http://127.0.0.1:9999', 'Content-Type': 'text/plain' },
      body: JSON.stringify({ dir }),
    });
    expect(simple.status).toBe(403);
    expect(JSON.parse(simple.body).error).toMatchObject({ code: 'forbidden' });
    expect(JSON.parse(simple.body).error.message).toMatch(/http:\/\/127\.0\.0\.1:9999 .*refused/);
    for (const origin of ['http://evil.example', 'null', `https://127.0.0.1:${server.port}`]) {
      const res = await request(server.port, '/api/project.create', {
        method: 'POST',
        headers: { Cookie: cookie, Origin: origin, ...json },
        body: JSON.stringify({ dir }),
      });
      expect(res.status, origin).toBe(403);
    }
    expect(fs.existsSync(dir)).toBe(false);
    expect(session.current).toBeNull();

    // The page itself (its own origin, its cookie, JSON) is served.
    const own = await request(server.port, '/api/project.current', {
      method: 'POST',
      headers: { Cookie: cookie, Origin: `http://127.0.0.1:${server.port}`, ...json },
    });
    expect(own.status).toBe(200);
  });

  it('refuses a request without an Origin unless it carries the token in the Authorization header', async () => {
    const { server } = await start();
    const cookie = await pageCookie(server);
    const cookieOnly = await request(server.port, '/api/project.current', {
      method: 'POST',
      headers: { Cookie: cookie, ...json },
    });
    expect(cookieOnly.status).toBe(403);
    expect(JSON.parse(cookieOnly.body).error).toEqual({
      code: 'forbidden',
      message: 'A request without an Origin header must carry the token in its Authorization header.',
    });
    const script = await request(server.port, '/api/project.current', {
      method: 'POST',
      headers: { ...bearer(server.token), ...json },
    });
    expect(script.status).toBe(200);
  });

  it('opens the events socket only for its own origin', async () => {
    const { server } = await start();
    const cookie = await pageCookie(server);
    const own = `http://127.0.0.1:${server.port}`;
    expect(await wsStatus(server.port, '/events', { Cookie: cookie, Origin: 'http://evil.example' })).toBe(
      403,
    );
    expect(await wsStatus(server.port, '/events', { Cookie: cookie, Origin: 'http://127.0.0.1:9999' })).toBe(
      403,
    );
    expect(await wsStatus(server.port, '/events', { Cookie: cookie })).toBe(403);
    expect(
      await wsStatus(server.port, '/events', { ...bearer(server.token), Origin: 'http://evil.example' }),
    ).toBe(403);
    expect(await wsStatus(server.port, '/events', { Cookie: cookie, Origin: own })).toBe(101);
    expect(await wsStatus(server.port, '/elsewhere', { Cookie: cookie, Origin: own })).toBe(404);
  });

  it('requires Content-Type application/json on API calls', async () => {
    const { server } = await start();
    for (const type of [
      undefined,
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data',
    ]) {
      const res = await request(server.port, '/api/project.current', {
        method: 'POST',
        headers: { ...bearer(server.token), ...(type ? { 'Content-Type': type } : {}) },
        body: '{}',
      });
      expect(res.status, type).toBe(415);
      expect(JSON.parse(res.body).error.code).toBe('unsupported-media-type');
    }
    const withCharset = await request(server.port, '/api/project.current', {
      method: 'POST',
      headers: { ...bearer(server.token), 'Content-Type': 'application/json; charset=utf-8' },
      body: '{}',
    });
    expect(withCharset.status).toBe(200);
  });

  it('answers a 50 MB body with 413 "Request body too large", not a reset, and keeps serving', async () => {
    const { server } = await start();
    const big = await fetch(`${server.url}/api/project.open`, {
      method: 'POST',
      headers: { ...bearer(server.token), ...json },
      body: JSON.stringify({ dir: 'x'.repeat(50_000_000) }),
    });
    expect(big.status).toBe(413);
    const answer = (await big.json()) as { ok: boolean; error: { code: string; message: string } };
    expect(answer.error.code).toBe('too-large');
    expect(answer.error.message).toMatch(/^Request body too large/);
    // Without a Content-Length (chunked), the limit is found while reading.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = http.request(
        {
          host: '127.0.0.1',
          port: server.port,
          path: '/api/project.open',
          method: 'POST',
          headers: { ...bearer(server.token), ...json, 'Transfer-Encoding': 'chunked' },
        },
        (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        },
      );
      req.on('error', reject);
      for (let i = 0; i < 20; i++) req.write(Buffer.alloc(1 << 20, 0x20));
      req.end();
    });
    expect(chunked).toBe(413);
    const alive = await request(server.port, '/api/project.current', {
      method: 'POST',
      headers: { ...bearer(server.token), ...json },
    });
    expect(alive.status).toBe(200);
  });

  it('gives only the label-CSV commands room for a large CSV', async () => {
    const { server } = await start();
    const send = (command: string) =>
      fetch(`${server.url}/api/${command}`, {
        method: 'POST',
        headers: { ...bearer(server.token), ...json },
        body: JSON.stringify({ text: 'patient,slide\n' + 'p,s\n'.repeat(1_500_000) }),
      }).then((r) => r.status);
    // 6 MB: past the 1 MiB of other commands, within a CSV command's room (then refused for other reasons).
    expect(await send('project.open')).toBe(413);
    expect(await send('labels.previewCsv')).not.toBe(413);
  });

  it('accepts ?token= only on the launch URL, and sends it back to the clean address', async () => {
    const { server } = await start();
    const t = server.token;
    const launch = await request(server.port, `/?token=${t}`);
    expect(launch.status).toBe(303);
    expect(launch.headers.location).toBe('/');
    expect(launch.headers['set-cookie']![0]).toMatch(/^tessera_token=.*; HttpOnly; SameSite=Strict; Path=\//);
    for (const p of [`/index.html?token=${t}`, `/tiles/1/thumbnail.jpg?token=${t}`, `/?token=${t}x`]) {
      const res = await request(server.port, p);
      expect(res.status, p).toBe(401);
      expect(JSON.parse(res.body).error.code).toBe('unauthorized');
    }
    const api = await request(server.port, `/api/project.current?token=${t}`, {
      method: 'POST',
      headers: json,
    });
    expect(api.status).toBe(401);
    expect(await wsStatus(server.port, `/events?token=${t}`, {})).toBe(401);
  });

  it('gives each refusal its own status and code', async () => {
    const { server } = await start();
    const cases: [string, Parameters<typeof request>[2], number, string][] = [
      ['/api/app.info', { method: 'POST', headers: json }, 401, 'unauthorized'],
      [
        '/api/app.info',
        { method: 'PUT', headers: { ...bearer(server.token), ...json } },
        405,
        'method-not-allowed',
      ],
      ['/', { method: 'DELETE', headers: bearer(server.token) }, 405, 'method-not-allowed'],
      ['/no-such-file.js', { headers: bearer(server.token) }, 404, 'not-found'],
      [
        '/api/app.info',
        { method: 'POST', headers: { ...bearer(server.token), ...json, Host: 'evil.example' } },
        403,
        'forbidden',
      ],
      [
        '/api/app.info',
        { method: 'POST', headers: { ...bearer(server.token), 'Content-Type': 'text/plain' } },
        415,
        'unsupported-media-type',
      ],
      [
        '/api/project.open',
        { method: 'POST', headers: { ...bearer(server.token), ...json }, body: '[' },
        400,
        'bad-input',
      ],
    ];
    for (const [p, init, status, code] of cases) {
      const res = await request(server.port, p, init);
      expect(res.status, `${init?.method ?? 'GET'} ${p}`).toBe(status);
      expect(JSON.parse(res.body).error.code, `${init?.method ?? 'GET'} ${p}`).toBe(code);
    }
  });
});
