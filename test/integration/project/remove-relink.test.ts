import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { slideFileCaches } from '../../../src-main/api/slide-file-caches.js';
import { heatmapPath, writeHeatmap, type HeatmapRaster } from '../../../src-main/inference/heatmap-raster.js';
import { importSlides, thumbnailPath } from '../../../src-main/project/import.js';
import { selectHistory } from '../../../src-main/project/labels-repo.js';
import { setLabel } from '../../../src-main/project/labels.js';
import { createProject } from '../../../src-main/project/project.js';
import { missingSlides, relinkSlides } from '../../../src-main/project/relink.js';
import { removeSlides } from '../../../src-main/project/slide-removal.js';
import { slideToolkit } from '../../../src-main/project/slide-toolkit.js';
import { getSlide } from '../../../src-main/project/slides-repo.js';
import { createTask } from '../../../src-main/project/tasks.js';
import { openSlide } from '../../../src-main/slides/index.js';
import { projectTissueMask, tissueMaskPath } from '../../../src-main/training/tissue/cache.js';
import { hasVips, makePyramidalTiff } from '../../helpers/slides.js';
import { tempDir } from '../../helpers/temp.js';

const raster: HeatmapRaster = {
  extent: 256,
  width: 900,
  height: 700,
  tasks: [{ name: 'tumor', values: ['no', 'yes'] }],
  probabilities: [[0.4, 0.6]],
  x: Int32Array.from([0]),
  y: Int32Array.from([0]),
  attention: Float32Array.from([1]),
  scores: [Float32Array.from([0.4, 0.6])],
};

describe.skipIf(!hasVips())('removing and relinking slides', () => {
  it('relinks moved slides by fingerprint, keeps their ids and labels, and lists the rest', async () => {
    const root = tempDir();
    const before = path.join(root, 'scans');
    fs.mkdirSync(before);
    makePyramidalTiff(path.join(before, 'a.tif'), 900, 700);
    makePyramidalTiff(path.join(before, 'b.tif'), 1000, 700);
    makePyramidalTiff(path.join(before, 'c.tif'), 1100, 700);
    const project = await createProject(path.join(root, 'project'));
    await importSlides(project, before, slideToolkit());
    const [a, b, c] = [1, 2, 3].map((id) => getSlide(project.db, id)!);
    const task = createTask(project.db, { name: 'tumor', kind: 'binary' });
    setLabel(project.db, a!.id, { taskId: task.id, value: 'yes', source: 'manual', author: null });

    const after = path.join(root, 'moved', 'nested');
    fs.mkdirSync(path.dirname(after));
    fs.renameSync(before, after);
    fs.renameSync(path.join(after, 'b.tif'), path.join(after, 'b-renamed.tif'));
    fs.rmSync(path.join(after, 'c.tif'));
    makePyramidalTiff(path.join(after, 'unrelated.tif'), 800, 600);
    expect(missingSlides(project).map((s) => s.name)).toEqual(['a.tif', 'b.tif', 'c.tif']);

    const dry = await relinkSlides(project, path.join(root, 'moved'), slideToolkit(), true);
    expect(dry.matched.map((m) => [m.name, path.relative(root, m.newPath)])).toEqual([
      ['a.tif', 'moved/nested/a.tif'],
      ['b.tif', 'moved/nested/b-renamed.tif'],
    ]);
    expect(getSlide(project.db, a!.id)!.path).toBe(a!.path);

    const done = await relinkSlides(project, path.join(root, 'moved'), slideToolkit(), false);
    expect(done.unmatched).toEqual([{ slideId: c!.id, name: 'c.tif', path: c!.path }]);
    expect(done.unusedFiles).toEqual([path.join(after, 'unrelated.tif')]);
    expect(getSlide(project.db, b!.id)).toMatchObject({
      path: path.join(after, 'b-renamed.tif'),
      name: 'b-renamed.tif',
    });
    expect(getSlide(project.db, a!.id)!.path).toBe(path.join(after, 'a.tif'));
    expect(missingSlides(project).map((s) => s.name)).toEqual(['c.tif']);
    project.close();
  });

  it('removes slides with their labels and cache files, never the slide files, and never reuses their ids', async () => {
    const root = tempDir();
    const folder = path.join(root, 'scans');
    fs.mkdirSync(folder);
    makePyramidalTiff(path.join(folder, 'a.tif'), 900, 700);
    makePyramidalTiff(path.join(folder, 'b.tif'), 1000, 700);
    const project = await createProject(path.join(root, 'project'));
    await importSlides(project, folder, slideToolkit());
    const task = createTask(project.db, { name: 'tumor', kind: 'binary' });
    setLabel(project.db, 2, { taskId: task.id, value: 'no', source: 'manual', author: null });
    expect(fs.existsSync(thumbnailPath(project, 2))).toBe(true);

    // Caches kept per slide file: tissue masks (two settings) and heatmap rasters of two models.
    const [a, b] = [getSlide(project.db, 1)!, getSlide(project.db, 2)!];
    const cached = async (s: typeof a): Promise<string[]> => {
      const opener = () => openSlide(s.path);
      await projectTissueMask(project, s.fingerprint, opener);
      await projectTissueMask(project, s.fingerprint, opener, { minTissueArea: 20_000 });
      const rasters = ['model-1', 'model-2'].map((m) => heatmapPath(project.dir, m, s.fingerprint));
      for (const file of rasters) {
        fs.mkdirSync(path.dirname(file), { recursive: true });
        writeHeatmap(file, raster);
      }
      return [
        tissueMaskPath(project, s.fingerprint),
        tissueMaskPath(project, s.fingerprint, { minTissueArea: 20_000 }),
        ...rasters,
      ];
    };
    const aFiles = await cached(a);
    const bFiles = await cached(b);
    for (const f of [...aFiles, ...bFiles]) expect(fs.existsSync(f)).toBe(true);

    const remove = (ids: number[]) =>
      removeSlides(project, ids, (fingerprint) => slideFileCaches(project, fingerprint));
    expect(remove([2, 99])).toEqual({ removed: 1, cacheFilesRemoved: 5 });
    expect(fs.existsSync(thumbnailPath(project, 2))).toBe(false);
    for (const f of bFiles) expect(fs.existsSync(f)).toBe(false);
    for (const f of aFiles) expect(fs.existsSync(f)).toBe(true);
    expect(fs.existsSync(path.join(folder, 'b.tif'))).toBe(true);
    expect(selectHistory(project.db, { slideId: 2 }, 0, 5).entries[0]).toMatchObject({
      oldValue: 'no',
      newValue: null,
      reason: 'slide-removed',
      slideName: null,
    });
    // Import again: b.tif comes back as a new slide with a new id, so the old history stays apart.
    await importSlides(project, folder, slideToolkit());
    expect(getSlide(project.db, 3)).toMatchObject({ name: 'b.tif' });
    expect(project.db.prepare('SELECT count(*) AS n FROM labels').get()).toEqual({ n: 0 });
    project.close();
  });
});
