import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ImportProgress } from '../../../src-main/contract/contract.js';
import { importSlides, thumbnailPath } from '../../../src-main/project/import.js';
import { createProject } from '../../../src-main/project/project.js';
import { slideToolkit } from '../../../src-main/project/slide-toolkit.js';
import { hasVips, makePyramidalTiff, sharedWsiDir } from '../../helpers/slides.js';
import { tempDir } from '../../helpers/temp.js';

const wsi = sharedWsiDir();

describe('slide import', () => {
  it.skipIf(!hasVips())(
    'imports readable slides, lists unreadable ones with their reason, and never aborts',
    async () => {
      const folder = tempDir();
      fs.mkdirSync(path.join(folder, 'nested'));
      makePyramidalTiff(path.join(folder, 'nested', 'generated.tif'));
      fs.writeFileSync(path.join(folder, 'broken.svs'), Buffer.from('II*\0garbage that is no TIFF at all'));
      const good = fs.readFileSync(path.join(folder, 'nested', 'generated.tif'));
      fs.writeFileSync(path.join(folder, 'truncated.tif'), good.subarray(0, 600));
      fs.writeFileSync(path.join(folder, 'notes.txt'), 'not a slide');

      const project = await createProject(path.join(tempDir(), 'p'));
      const seen: ImportProgress[] = [];
      const summary = await importSlides(project, folder, slideToolkit(), {
        onProgress: (p) => seen.push(p),
      });

      expect(summary).toMatchObject({ total: 3, done: 3, imported: 1, updated: 0, state: 'finished' });
      expect(summary.errors.map((e) => path.basename(e.file)).sort()).toEqual([
        'broken.svs',
        'truncated.tif',
      ]);
      for (const e of summary.errors)
        expect(e.reason).toMatch(new RegExp(`^Cannot read slide ${path.basename(e.file)}: .+`));
      expect(seen.map((p) => p.current).filter(Boolean)).toContain(
        path.join(folder, 'nested', 'generated.tif'),
      );
      expect(seen[0]).toMatchObject({ done: 0, total: 3 });

      const rows = project.db
        .prepare('SELECT id, name, width, height, level_count, fingerprint FROM slides')
        .all();
      expect(rows).toMatchObject([{ name: 'generated.tif', width: 1200, height: 900 }]);
      const id = (rows[0] as { id: number }).id;
      const thumb = fs.readFileSync(thumbnailPath(project, id));
      expect([thumb[0], thumb[1]]).toEqual([0xff, 0xd8]);

      // Importing again refreshes instead of duplicating.
      const again = await importSlides(project, folder, slideToolkit());
      expect(again).toMatchObject({ imported: 0, updated: 1 });
      expect(project.db.prepare('SELECT count(*) AS n FROM slides').get()).toEqual({ n: 1 });
      project.close();
    },
  );

  it.skipIf(!wsi)('imports the real Aperio slides with their metadata', async () => {
    const project = await createProject(path.join(tempDir(), 'p'));
    const summary = await importSlides(project, wsi!, slideToolkit());
    expect(summary).toMatchObject({ total: 2, imported: 2, errors: [] });
    const cmu = project.db.prepare("SELECT * FROM slides WHERE name = 'CMU-1-Small-Region.svs'").get();
    expect(cmu).toMatchObject({ vendor: 'aperio', width: 2220, height: 2967, objective_power: 20 });
    expect((cmu as { mpp_x: number }).mpp_x).toBeCloseTo(0.499, 3);
    project.close();
  });

  it('a missing folder is one clear error', async () => {
    const project = await createProject(path.join(tempDir(), 'p'));
    const missing = path.join(tempDir(), 'nope');
    await expect(importSlides(project, missing, slideToolkit())).rejects.toThrow(
      `The folder ${missing} does not exist.`,
    );
    project.close();
  });

  it.skipIf(!hasVips())('cancelling keeps the slides imported before it', async () => {
    const folder = tempDir();
    for (const n of ['a', 'b', 'c']) makePyramidalTiff(path.join(folder, `${n}.tif`), 300, 200);
    const project = await createProject(path.join(tempDir(), 'p'));
    const controller = new AbortController();
    const summary = await importSlides(project, folder, slideToolkit(), {
      signal: controller.signal,
      onProgress: (p) => {
        if (p.done === 1) controller.abort();
      },
    });
    expect(summary).toMatchObject({ state: 'cancelled', done: 1, imported: 1 });
    expect(project.db.prepare('SELECT name FROM slides').all()).toEqual([{ name: 'a.tif' }]);
    project.close();
  });
});
