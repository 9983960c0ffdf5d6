import fs from 'node:fs';
import http from 'node:http';
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

describe('browser-mode server', () => {
  it('binds 127.0.0.1 by default', async () => {
    const { server } = await start();
    expect(server.host).toBe('127.0.0.1');
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
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
      headers: bearer(server.token),
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
      headers: bearer(server.token),
    });
    expect(unknown.status).toBe(404);
    expect(JSON.parse(unknown.body).error.message).toBe('Unknown command "format.disk".');
    const badJson = await request(server.port, '/api/project.open', {
      method: 'POST',
      headers: bearer(server.token),
      body: '{not json',
    });
    expect(badJson.status).toBe(400);
    expect(JSON.parse(badJson.body).error.message).toBe('Request body is not valid JSON.');
    const badInput = await request(server.port, '/api/project.open', {
      method: 'POST',
      headers: bearer(server.token),
      body: JSON.stringify({ dir: 42 }),
    });
    expect(badInput.status).toBe(400);
    expect(JSON.parse(badInput.body).error.message).toMatch(/^Invalid input for project.open: dir: /);
    const get = await request(server.port, '/api/app.info', { headers: bearer(server.token) });
    expect(get.status).toBe(405);
  });

  it('refuses requests whose Host is not the loopback address it serves (DNS rebinding)', async () => {
    const { server } = await start();
    const res = await request(server.port, '/api/app.info', {
      method: 'POST',
      headers: { ...bearer(server.token), Host: `evil.example:${server.port}` },
    });
    expect(res.status).toBe(403);
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
