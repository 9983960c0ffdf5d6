/**
 * Fuzz of the browser-mode server over loopback: seeded, bounded raw HTTP/1.1 requests with mutated
 * request lines, headers (Upgrade included) and cookies, some with the real token. Every connection must
 * get a status line, none may be an internal error, and the server must still answer afterwards.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAppServices } from '../../../src-main/api/services.js';
import { startServer, type RunningServer } from '../../../src-main/server/server.js';
import { tempDir } from '../../helpers/temp.js';

const SEED = 20261206;
const REQUESTS = 600;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

let running: RunningServer | null = null;
afterEach(async () => {
  await running?.close();
  running = null;
});

/** Raw bytes in, the answer's first line out ('' when the server closed without answering). */
function exchange(port: number, request: Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    let got = '';
    const timer = setTimeout(() => socket.destroy(), 3000);
    socket.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      // A 101 keeps the socket open as a WebSocket; the status line is all this test needs.
      if (got.includes('\r\n')) socket.destroy();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(got.split('\r\n')[0] ?? '');
    });
    socket.end(request);
  });
}

describe('browser-mode server fuzz', () => {
  it(`answers ${REQUESTS} mutated requests with a status, never an internal error, and keeps serving`, async () => {
    const { session, handlers } = createAppServices(tempDir(), 'browser');
    const server = (running = await startServer({ handlers, session, rendererDir: null }));
    const rand = rng(SEED);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
    // Mostly printable bytes and high latin1, now and then any byte (a CR, LF or NUL breaks the framing).
    const junk = (n: number) =>
      Array.from({ length: Math.floor(rand() * n) }, () =>
        String.fromCharCode(rand() < 0.05 ? Math.floor(rand() * 256) : 0x20 + Math.floor(rand() * 0xdf)),
      ).join('');
    const percentJunk = () =>
      Array.from({ length: 1 + Math.floor(rand() * 4) }, () =>
        pick(['%E0', '%', '%zz', '%00', '%C0%AF', '%2e%2e', '%FF']),
      ).join('');

    // Read-only commands only: the token is real in part of the requests, and nothing may change the disk.
    const paths = [
      '/',
      '//',
      '///x',
      '/events',
      '//events',
      '/events/',
      '/api/app.info',
      '/api/project.current',
      '/api/project.recent',
      '/api/slides.list',
      '/api/slides.get',
      '/api/no.such',
      '/api/',
      '/tiles/1/0/0_0.jpg',
      '/tiles/../../etc/passwd',
      '/index.html',
      '*',
      'http://evil.example/',
      '',
    ];
    const target = () => {
      let p = pick(paths);
      if (rand() < 0.4) p += percentJunk();
      if (rand() < 0.1) p += junk(12);
      if (rand() < 0.3) p += `?token=${pick([server.token, 'x', '%E0', ''])}`;
      return p;
    };
    const cookie = () =>
      pick([
        `tessera_token=${encodeURIComponent(server.token)}`,
        'tessera_token=%E0',
        `tessera_token=${junk(20)}`,
        `a=b; tessera_token=${percentJunk()}; c`,
        '=;;=',
        junk(40),
      ]);
    const header = (): string =>
      pick([
        () => `Cookie: ${cookie()}`,
        () =>
          `Authorization: ${pick([`Bearer ${server.token}`, 'Bearer ', 'Basic x', `Bearer ${junk(30)}`, junk(30)])}`,
        () =>
          `Origin: ${pick([`http://127.0.0.1:${server.port}`, 'http://127.0.0.1:9999', 'null', junk(20), ''])}`,
        () =>
          `Content-Type: ${pick(['application/json', 'text/plain', 'application/json; charset=utf-8', junk(20)])}`,
        () =>
          `Content-Length: ${pick(['0', '5', '-1', '99999999999', 'abc', String(Math.floor(rand() * 64))])}`,
        () => 'Transfer-Encoding: chunked',
        () => `Upgrade: ${pick(['websocket', 'WebSocket', 'h2c', junk(8)])}`,
        () => `Connection: ${pick(['Upgrade', 'keep-alive', 'close', 'Upgrade, keep-alive'])}`,
        () => `Sec-WebSocket-Key: ${pick(['dGhlIHNhbXBsZSBub25jZQ==', '', junk(24)])}`,
        () => `Sec-WebSocket-Version: ${pick(['13', '8', junk(3)])}`,
        () =>
          `Host: ${pick([`127.0.0.1:${server.port}`, `localhost:${server.port}`, 'evil.example', junk(10)])}`,
        () => (rand() < 0.2 ? `${junk(10)}: ${junk(20)}` : `X-${Math.floor(rand() * 1e6)}: ${junk(20)}`),
      ])();
    const body = () => pick(['', '{}', '{"dir":', '[]', 'null', '{"id":1}', '{"id":"x"}', junk(200)]);

    const seen = new Map<string, number>();
    const failures: string[] = [];
    const safeCommands = [
      'app.info',
      'project.current',
      'project.recent',
      'slides.list',
      'slides.get',
      'no.such',
    ];
    for (let i = 0; i < REQUESTS; i++) {
      const lines: string[] = [];
      let payload = body();
      if (rand() < 0.35) {
        // A nearly valid call of a read-only command, so mutations reach the body reader and dispatch.
        lines.push(
          `${pick(['POST', 'POST', 'GET'])} /api/${pick(safeCommands)}${rand() < 0.2 ? percentJunk() : ''} HTTP/1.1`,
          `Host: 127.0.0.1:${server.port}`,
          `Authorization: Bearer ${server.token}`,
          'Content-Type: application/json',
        );
        if (rand() < 0.3) lines.push(`Origin: http://127.0.0.1:${server.port}`);
        payload = pick([
          payload,
          JSON.stringify({ id: Math.floor(rand() * 1e9), dir: junk(20), offset: -1 }),
        ]);
      } else {
        const method =
          rand() < 0.05 ? junk(6) : pick(['GET', 'POST', 'HEAD', 'PUT', 'OPTIONS', 'DELETE', 'GET', 'POST']);
        lines.push(
          `${method} ${target()} ${rand() < 0.05 ? junk(8) : pick(['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/9.9'])}`,
        );
        if (rand() < 0.9) lines.push(`Host: 127.0.0.1:${server.port}`);
        if (rand() < 0.3)
          lines.push(
            'Connection: Upgrade',
            'Upgrade: websocket',
            'Sec-WebSocket-Version: 13',
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
          );
        if (rand() < 0.5) lines.push(`Cookie: ${cookie()}`);
      }
      for (let h = Math.floor(rand() * 4); h > 0; h--) lines.push(header());
      if (rand() < 0.7) lines.push(`Content-Length: ${Buffer.byteLength(payload, 'latin1')}`);
      const request = Buffer.from(`${lines.join('\r\n')}\r\n\r\n${payload}`, 'latin1');
      const status = await exchange(server.port, request);
      const code = /^HTTP\/1\.[01] (\d{3}) /.exec(status)?.[1] ?? `no answer: ${JSON.stringify(status)}`;
      seen.set(code, (seen.get(code) ?? 0) + 1);
      if (!/^[1-4]\d\d$/.test(code))
        failures.push(`${code} for ${JSON.stringify(request.toString('latin1').slice(0, 300))}`);
    }
    console.log(
      `server fuzz (seed ${SEED}): statuses ${JSON.stringify(Object.fromEntries([...seen].sort()))}`,
    );
    expect(failures).toEqual([]);

    const alive = await fetch(`${server.url}/api/app.info`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(alive.status).toBe(200);
  });
});
