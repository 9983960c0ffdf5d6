/**
 * Single-level slides: the import keeps the reduced copy their coarse Deep Zoom levels come from, the
 * viewer's tiles made from it equal those made by reading the level again, and a copy that no longer
 * belongs to the slide (another fingerprint, damaged) is ignored.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startBrowserMode, type BrowserMode } from '../../../src-main/server/browser-mode.js';
import { importSlides } from '../../../src-main/project/import.js';
import { createProject, openProject } from '../../../src-main/project/project.js';
import {
  loadReducedCopy,
  reducedCopyPath,
  REDUCED_COPY_MIN_PIXELS,
  saveReducedCopy,
} from '../../../src-main/project/reduced-copies.js';
import { getSlide } from '../../../src-main/project/slides-repo.js';
import { slideToolkit } from '../../../src-main/project/slide-toolkit.js';
import { hasVips, makePyramidalTiff } from '../../helpers/slides.js';
import { tempDir } from '../../helpers/temp.js';

let app: BrowserMode | null = null;
afterEach(async () => {
  await app?.close();
  app = null;
});

/** Every tile of the Deep Zoom levels made from the reduced copy (all levels up to 1/4 scale). */
async function coarseTiles(projectDir: string): Promise<Map<string, Buffer>> {
  app = await startBrowserMode({ userDataDir: tempDir(), projectDir });
  const { url, token } = app.server;
  const headers = { Authorization: `Bearer ${token}` };
  const detail = (await (
    await fetch(`${url}/api/slides.get`, {
      method: 'POST',
      headers: { ...headers, 'Content-Type': 'application/json' },
      body: JSON.stringify({ id: 1 }),
    })
  ).json()) as { value: { deepZoom: { width: number; height: number; tileSize: number } } };
  const { width, height, tileSize } = detail.value.deepZoom;
  const top = Math.ceil(Math.log2(Math.max(width, height)));
  const tiles = new Map<string, Buffer>();
  for (let level = 0; level <= top - 2; level++) {
    const scale = 2 ** (top - level);
    const cols = Math.ceil(Math.ceil(width / scale) / tileSize);
    const rows = Math.ceil(Math.ceil(height / scale) / tileSize);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const res = await fetch(`${url}/tiles/1/${level}/${c}_${r}.jpg`, { headers });
        expect(res.status, `${level}/${c}_${r}`).toBe(200);
        tiles.set(`${level}/${c}_${r}`, Buffer.from(await res.arrayBuffer()));
      }
    }
  }
  await app.close();
  app = null;
  return tiles;
}

describe.skipIf(!hasVips())('reduced copies of single-level slides', () => {
  it('are kept at import and give the same coarse tiles as reading the level', async () => {
    const dir = path.join(tempDir(), 'p');
    const project = await createProject(dir);
    // 2300 x 2000 in one level: 4.6 Mpx, over the size for which a copy is kept.
    const slide = makePyramidalTiff(path.join(tempDir(), 'single.tif'), 2300, 2000, true);
    expect(2300 * 2000).toBeGreaterThan(REDUCED_COPY_MIN_PIXELS);
    await importSlides(project, path.dirname(slide), slideToolkit());
    const file = reducedCopyPath(project, 1);
    expect(fs.existsSync(file)).toBe(true);
    const fingerprint = getSlide(project.db, 1)!.fingerprint;
    const copy = (await loadReducedCopy(project, 1, fingerprint))!;
    expect(copy).toMatchObject({ slideLevel: 0, factor: 2, width: 1150, height: 1000 });
    expect(await loadReducedCopy(project, 1, 'another-fingerprint')).toBeUndefined();
    project.close();

    const fromCopy = await coarseTiles(dir);
    const kept = fs.readFileSync(file);
    fs.rmSync(file);
    const fromLevel = await coarseTiles(dir);
    expect(fromCopy.size).toBeGreaterThan(10);
    for (const [key, bytes] of fromLevel) expect(Buffer.compare(fromCopy.get(key)!, bytes), key).toBe(0);

    // The viewer really draws from the kept copy: a copy with other pixels (same fingerprint) shows.
    const reopenedForEdit = await openProject(dir);
    await saveReducedCopy(reopenedForEdit, 1, fingerprint, { ...copy, rgba: copy.rgba.map((v) => 255 - v) });
    reopenedForEdit.close();
    const fromEdited = await coarseTiles(dir);
    expect(Buffer.compare(fromEdited.get('0/0_0')!, fromLevel.get('0/0_0')!)).not.toBe(0);

    // A damaged copy is ignored: the tiles are made from the level again.
    fs.writeFileSync(file, kept.subarray(0, kept.length >> 1));
    const reopened = await openProject(dir);
    expect(await loadReducedCopy(reopened, 1, fingerprint)).toBeUndefined();
    reopened.close();
    const fromDamaged = await coarseTiles(dir);
    for (const [key, bytes] of fromLevel) expect(Buffer.compare(fromDamaged.get(key)!, bytes), key).toBe(0);
  });

  it('are not kept for pyramids, whose coarse levels come from a small level', async () => {
    const dir = path.join(tempDir(), 'p');
    const project = await createProject(dir);
    const slide = makePyramidalTiff(path.join(tempDir(), 'pyramid.tif'), 2300, 2000);
    await importSlides(project, path.dirname(slide), slideToolkit());
    expect(fs.existsSync(reducedCopyPath(project, 1))).toBe(false);
    project.close();
  });
});
