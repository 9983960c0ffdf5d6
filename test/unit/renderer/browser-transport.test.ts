/**
 * The renderer's browser-mode api client against the real `tessera serve` server: typed calls, the
 * server's error sentences, an unreachable server, and the event socket with its reconnect.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { WebSocket as NodeWebSocket } from 'ws';
import { startBrowserMode, type BrowserMode } from '../../../src-main/server/browser-mode.js';
import { ApiCallError, createApiClient } from '../../../src-renderer/lib/api-client.js';
import { createBrowserTransport } from '../../../src-renderer/lib/browser-transport.js';
import { EventSocket, type SocketLike } from '../../../src-renderer/lib/event-socket.js';

let work: string;
let app: BrowserMode | null;

beforeEach(async () => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-renderer-'));
  app = await startBrowserMode({ userDataDir: path.join(work, 'user-data') });
});

afterEach(async () => {
  await app?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

/** What the page's cookie does in a browser: present the launch token with every request. */
function authorised(token: string) {
  const headers = { Authorization: `Bearer ${token}` };
  return {
    fetch: ((input: URL | RequestInfo, init?: RequestInit) =>
      fetch(input, {
        ...init,
        headers: { ...(init?.headers as Record<string, string>), ...headers },
      })) as typeof fetch,
    openSocket: (url: string) => new NodeWebSocket(url, { headers }) as unknown as SocketLike,
  };
}

/**
 * What a browser adds to the page's requests: the HttpOnly cookie from the launch URL and the page's
 * Origin. No Authorization header, so the server's origin and content-type checks apply in full.
 */
async function asThePage(server: BrowserMode['server']) {
  const launch = await fetch(server.launchUrl, { redirect: 'manual' });
  const cookie = launch.headers.get('set-cookie')!.split(';')[0]!;
  const origin = server.url;
  return {
    fetch: ((input: URL | RequestInfo, init?: RequestInit) =>
      fetch(input, {
        ...init,
        headers: { ...(init?.headers as Record<string, string>), Cookie: cookie, Origin: origin },
      })) as typeof fetch,
    openSocket: (url: string) =>
      new NodeWebSocket(url, { headers: { Cookie: cookie }, origin }) as unknown as SocketLike,
  };
}

describe('browser-mode api client', () => {
  it("passes the server's origin and content-type checks as the page does (cookie, own Origin, JSON)", async () => {
    const page = await asThePage(app!.server);
    const transport = createBrowserTransport({ origin: app!.server.url, ...page });
    const api = createApiClient(transport);
    const names: string[] = [];
    transport.on('onProjectChanged', (payload) => names.push((payload as { name: string }).name));
    const dir = path.join(work, 'from-the-page');
    // The event socket opens on the first subscription; wait until a change made elsewhere arrives.
    await vi.waitFor(async () => {
      await app!.services.session.create(path.join(work, `probe-${names.length}-${Date.now()}`), 'probe');
      expect(names.length).toBeGreaterThan(0);
    });
    expect(await api.call('project.create', { dir, name: 'From the page' })).toMatchObject({ dir });
    await vi.waitFor(() => expect(names.at(-1)).toBe('From the page'));
  });

  it('calls commands and returns their typed results', async () => {
    const api = createApiClient(
      createBrowserTransport({ origin: app!.server.url, ...authorised(app!.server.token) }),
    );
    expect(await api.call('project.current')).toBeNull();
    const dir = path.join(work, 'study');
    const created = await api.call('project.create', { dir, name: 'Study' });
    expect(created).toMatchObject({ dir, name: 'Study', slideCount: 0 });
    expect(await api.call('slides.list')).toEqual({ total: 0, slides: [] });
    expect((await api.call('project.recent')).map((r) => r.dir)).toEqual([dir]);
  });

  it("throws the server's sentence as an ApiCallError", async () => {
    const api = createApiClient(
      createBrowserTransport({ origin: app!.server.url, ...authorised(app!.server.token) }),
    );
    const plain = path.join(work, 'plain');
    fs.mkdirSync(plain);
    const failure = await api.call('project.open', { dir: plain }).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(ApiCallError);
    expect(failure).toMatchObject({
      code: 'not-found',
      command: 'project.open',
      message: `${plain} is not a Tessera project (it has no project.sqlite).`,
    });
    await expect(api.call('project.open', { dir: '  ' })).rejects.toMatchObject({ code: 'bad-input' });
  });

  it('reports a missing token with the server sentence', async () => {
    const api = createApiClient(createBrowserTransport({ origin: app!.server.url }));
    await expect(api.call('app.info')).rejects.toMatchObject({
      code: 'unauthorized',
      message: expect.stringContaining('token'),
    });
  });

  it('says so in one sentence when the server is gone', async () => {
    const origin = app!.server.url;
    await app!.close();
    app = null;
    const api = createApiClient(createBrowserTransport({ origin }));
    await expect(api.call('app.info')).rejects.toMatchObject({
      code: 'unreachable',
      message: `Cannot reach the Tessera server at ${new URL(origin).host}; check that \`tessera serve\` is still running.`,
    });
  });
});

describe('event socket', () => {
  it('delivers events, reconnects after the server restarts, and asks for a resync', async () => {
    const { port, token } = app!.server;
    const { openSocket } = authorised(token);
    const api = () =>
      createApiClient(createBrowserTransport({ origin: `http://127.0.0.1:${port}`, ...authorised(token) }));
    const events = new EventSocket({
      url: `ws://127.0.0.1:${port}/events`,
      open: openSocket,
      minDelayMs: 50,
    });
    const names: (string | null)[] = [];
    const resyncs = vi.fn();
    events.on('onProjectChanged', (payload) =>
      names.push((payload as { name: string } | null)?.name ?? null),
    );
    events.onResync(resyncs);
    try {
      await vi.waitFor(() => expect(events.isOpen).toBe(true));
      await api().call('project.create', { dir: path.join(work, 'first'), name: 'First' });
      await vi.waitFor(() => expect(names).toEqual(['First']));
      expect(resyncs).not.toHaveBeenCalled();

      await app!.close();
      await vi.waitFor(() => expect(events.isOpen).toBe(false));
      app = await startBrowserMode({ userDataDir: path.join(work, 'user-data'), port, token });
      await vi.waitFor(() => expect(resyncs).toHaveBeenCalledTimes(1), { timeout: 10_000 });

      await api().call('project.create', { dir: path.join(work, 'second'), name: 'Second' });
      await vi.waitFor(() => expect(names).toEqual(['First', 'Second']));
    } finally {
      events.stop();
    }
  });
});
