/**
 * The viewer's tile addressing against the real server: for slides imported into a real project
 * (a vips-made pyramidal TIFF, and the shared scanner slide where present), the Deep Zoom grid the
 * renderer's tile source assumes is exactly the one `/tiles/` serves: every level's last tile exists
 * with the expected size, the next one is refused, and thumbnails load through the same URL helper.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Transformer } from '@napi-rs/image';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImportProgress, SlideDetail } from '../../../src-main/contract/contract.js';
import { startBrowserMode, type BrowserMode } from '../../../src-main/server/browser-mode.js';
import { createApiClient, type ApiClient } from '../../../src-renderer/lib/api-client.js';
import { createBrowserTransport } from '../../../src-renderer/lib/browser-transport.js';
import { deepZoomLowestUsefulLevel, deepZoomTopLevel } from '../../../src-renderer/lib/deep-zoom.js';
import { createSlideImageUrls, parseSlideImagePath } from '../../../src-main/contract/slide-image-urls.js';
import { hasVips, makePyramidalTiff, sharedWsiDir } from '../../helpers/slides.js';
import { tempDir } from '../../helpers/temp.js';

const wsi = sharedWsiDir();

// The grid OpenSeadragon derives from the tile source's size and tile size (the DZI convention: each
// level halves the next, rounding up), written out here as the expectation the server must meet.
function levelSize(width: number, height: number, level: number): { width: number; height: number } {
  const scale = 2 ** (deepZoomTopLevel(width, height) - level);
  return { width: Math.ceil(width / scale), height: Math.ceil(height / scale) };
}

function tileGrid(
  width: number,
  height: number,
  tileSize: number,
  level: number,
): { cols: number; rows: number } {
  const size = levelSize(width, height, level);
  return { cols: Math.ceil(size.width / tileSize), rows: Math.ceil(size.height / tileSize) };
}
let work: string;
let app: BrowserMode;
let api: ApiClient;
let get: (url: string) => Promise<Response>;
let slides: SlideDetail[] = [];

async function importFolder(folder: string): Promise<ImportProgress> {
  return new Promise<ImportProgress>((resolve, reject) => {
    const off = api.on('onImportProgress', (p) => {
      if (p.state === 'running') return;
      off();
      resolve(p);
    });
    api.call('slides.import', { folder }).catch(reject);
  });
}

beforeAll(async () => {
  work = tempDir('tessera-renderer-tiles-');
  app = await startBrowserMode({ userDataDir: path.join(work, 'user-data') });
  const headers = { Authorization: `Bearer ${app.server.token}` };
  get = (url) => fetch(url, { headers });
  const { WebSocket } = await import('ws');
  api = createApiClient(
    createBrowserTransport({
      origin: app.server.url,
      fetch: ((input: URL | RequestInfo, init?: RequestInit) =>
        fetch(input, {
          ...init,
          headers: { ...(init?.headers as Record<string, string>), ...headers },
        })) as typeof fetch,
      openSocket: (url) => new WebSocket(url, { headers }) as never,
    }),
  );
  await api.call('project.create', { dir: path.join(work, 'project') });
  const folders: string[] = [];
  if (hasVips()) {
    const generated = path.join(work, 'generated');
    fs.mkdirSync(generated);
    makePyramidalTiff(path.join(generated, 'gradient.tif'), 1900, 1300);
    folders.push(generated);
  }
  if (wsi) folders.push(wsi);
  for (const folder of folders) {
    const result = await importFolder(folder);
    expect(result.errors).toEqual([]);
  }
  const list = await api.call('slides.list');
  slides = await Promise.all(list.slides.map((s) => api.call('slides.get', { id: s.id })));
}, 120_000);

afterAll(async () => {
  await app?.close();
  if (work) fs.rmSync(work, { recursive: true, force: true });
});

describe('viewer tile addressing', () => {
  it.skipIf(!hasVips() && !wsi)('matches the Deep Zoom grid the server serves, level by level', async () => {
    expect(slides.length).toBe((hasVips() ? 1 : 0) + (wsi ? 2 : 0));
    const project = await api.call('project.current');
    const urls = createSlideImageUrls(`${app.server.url}/tiles/`, project!.id);
    for (const slide of slides.filter((s) => s.width! > 64)) {
      const { width, height, tileSize, overlap } = slide.deepZoom;
      const top = deepZoomTopLevel(width, height);
      expect(levelSize(width, height, top)).toEqual({ width, height });
      const lowest = deepZoomLowestUsefulLevel(width, height, tileSize);
      expect(tileGrid(width, height, tileSize, lowest)).toEqual({ cols: 1, rows: 1 });
      expect(tileGrid(width, height, tileSize, lowest + 1)).not.toEqual({ cols: 1, rows: 1 });
      for (let level = lowest; level <= top; level++) {
        const size = levelSize(width, height, level);
        const { cols, rows } = tileGrid(width, height, tileSize, level);
        const last = await get(urls.tile(slide.id, level, cols - 1, rows - 1));
        expect(last.status, `${slide.name} level ${level} tile ${cols - 1}_${rows - 1}`).toBe(200);
        expect(last.headers.get('content-type')).toBe('image/jpeg');
        const meta = (await new Transformer(new Uint8Array(await last.arrayBuffer())).metadata()) as {
          width: number;
          height: number;
        };
        // The last tile holds the rest of the level plus the overlap on its left and top.
        const lead = (n: number) => (n > 1 ? overlap : 0);
        expect([meta.width, meta.height]).toEqual([
          size.width - (cols - 1) * tileSize + lead(cols),
          size.height - (rows - 1) * tileSize + lead(rows),
        ]);
        expect((await get(urls.tile(slide.id, level, cols, 0))).status).toBe(404);
        expect((await get(urls.tile(slide.id, level, 0, rows))).status).toBe(404);
      }
      expect((await get(urls.tile(slide.id, top + 1, 0, 0))).status).toBe(404);
      const thumbnail = await get(urls.thumbnail(slide.id));
      expect(thumbnail.status).toBe(200);
      expect(thumbnail.headers.get('content-type')).toBe('image/jpeg');
    }
  });

  it('addresses the same tile in Electron as in browser mode', () => {
    const browser = createSlideImageUrls('http://127.0.0.1:9/tiles/', 'p-1');
    const electron = createSlideImageUrls('slide://tessera/', 'p-1');
    const expected = { kind: 'tile', slideId: 12, level: 9, col: 3, row: 4 };
    const web = new URL(browser.tile(12, 9, 3, 4));
    expect(parseSlideImagePath(web.pathname.slice('/tiles/'.length))).toEqual(expected);
    const shell = new URL(electron.tile(12, 9, 3, 4));
    expect(shell.protocol).toBe('slide:');
    expect(shell.host).toBe('tessera');
    expect(parseSlideImagePath(shell.pathname.replace(/^\//, ''))).toEqual(expected);
    expect(parseSlideImagePath(new URL(electron.thumbnail(12)).pathname.slice(1))).toEqual({
      kind: 'thumbnail',
      slideId: 12,
    });
    expect(parseSlideImagePath(new URL(browser.tissue(12)).pathname.slice('/tiles/'.length))).toEqual({
      kind: 'tissue',
      slideId: 12,
    });
    expect(parseSlideImagePath('12/tissue.jpg')).toBeNull();
    // Another project's slide 12 is another URL, so a cached tile is never shown for the wrong slide.
    expect(createSlideImageUrls('slide://tessera/', 'p-2').tile(12, 9, 3, 4)).not.toBe(shell.href);
  });
});
