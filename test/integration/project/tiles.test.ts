import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBrowserMode, type BrowserMode } from '../../../src-main/server/browser-mode.js';
import { importSlides } from '../../../src-main/project/import.js';
import { createProject } from '../../../src-main/project/project.js';
import { slideToolkit } from '../../../src-main/project/slide-toolkit.js';
import { hasVips, makePyramidalTiff, sharedWsiDir } from '../../helpers/slides.js';
import { tempDir } from '../../helpers/temp.js';

let app: BrowserMode | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

async function serveProjectWithOneSlide() {
  const dir = path.join(tempDir(), 'p');
  const project = await createProject(dir);
  const slide = makePyramidalTiff(path.join(tempDir(), 'one.tif'), 1000, 700);
  await importSlides(project, path.dirname(slide), slideToolkit());
  project.close();
  app = await startBrowserMode({ userDataDir: tempDir(), projectDir: dir });
  const { url, token } = app.server;
  const get = (p: string, withToken = true) =>
    fetch(`${url}${p}`, { headers: withToken ? { Authorization: `Bearer ${token}` } : {} });
  const call = async (command: string, input: unknown) =>
    (await (
      await fetch(`${url}/api/${command}`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(input),
      })
    ).json()) as { ok: boolean; value?: unknown; error?: { message: string } };
  return { get, call };
}

describe.skipIf(!hasVips())('tile service (browser mode)', () => {
  it('serves Deep Zoom tiles and thumbnails of project slides, behind the token', async () => {
    const { get, call } = await serveProjectWithOneSlide();
    const detail = (await call('slides.get', { id: 1 })) as {
      value: { deepZoom: { width: number; height: number; tileSize: number }; levels: unknown[] };
    };
    expect(detail.value.deepZoom).toMatchObject({ width: 1000, height: 700 });
    const dz = detail.value.deepZoom;
    const top = Math.ceil(Math.log2(Math.max(dz.width, dz.height)));
    const tile = await get(`/tiles/1/${top}/0_0.jpg`);
    expect(tile.status).toBe(200);
    expect(tile.headers.get('content-type')).toBe('image/jpeg');
    const bytes = new Uint8Array(await tile.arrayBuffer());
    expect([bytes[0], bytes[1]]).toEqual([0xff, 0xd8]);
    expect((await get('/tiles/1/thumbnail.jpg')).status).toBe(200);
    expect((await get(`/tiles/1/${top}/0_0.jpg`, false)).status).toBe(401);
  });

  it('refuses unknown slides, tiles outside the image and malformed paths', async () => {
    const { get, call } = await serveProjectWithOneSlide();
    expect((await get('/tiles/99/0/0_0.jpg')).status).toBe(404);
    expect((await get('/tiles/1/0/5_5.jpg')).status).toBe(404);
    expect((await get('/tiles/1/40/0_0.jpg')).status).toBe(404);
    expect((await get('/tiles/1/../../etc/passwd')).status).toBe(404);
    expect((await get('/tiles/%2e%2e/1/0/0_0.jpg')).status).toBe(404);
    expect(await call('slides.get', { id: 99 })).toMatchObject({
      ok: false,
      error: { message: 'There is no slide 99 in this project.' },
    });
  });
});

const wsi = sharedWsiDir();

describe.skipIf(!wsi)('associated images of a real Aperio slide', () => {
  it('serves label and macro as PNG and refuses names the slide does not have', async () => {
    const dir = path.join(tempDir(), 'p');
    const project = await createProject(dir);
    await importSlides(project, wsi!, slideToolkit());
    const id = (
      project.db.prepare("SELECT id FROM slides WHERE name = 'CMU-1-Small-Region.svs'").get() as {
        id: number;
      }
    ).id;
    project.close();
    app = await startBrowserMode({ userDataDir: tempDir(), projectDir: dir });
    const auth = { headers: { Authorization: `Bearer ${app.server.token}` } };
    for (const name of ['label', 'macro']) {
      const res = await fetch(`${app.server.url}/tiles/${id}/associated/${name}.png`, auth);
      expect(res.status, name).toBe(200);
      const bytes = new Uint8Array(await res.arrayBuffer());
      expect([...bytes.subarray(1, 4)].map((c) => String.fromCharCode(c)).join('')).toBe('PNG');
    }
    expect((await fetch(`${app.server.url}/tiles/${id}/associated/nope.png`, auth)).status).toBe(404);
    // Shown once, kept: asking again answers the same encoded bytes without decoding the slide again.
    const request = { kind: 'associated', slideId: id, name: 'label' } as const;
    const first = await app.services.slideImages.serve(request);
    const again = await app.services.slideImages.serve(request);
    expect(first.status).toBe(200);
    expect(again.status === 200 && first.status === 200 && again.bytes === first.bytes).toBe(true);
  });
});
