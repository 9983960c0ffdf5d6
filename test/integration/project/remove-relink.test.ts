import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importSlides, thumbnailPath } from '../../../src-main/project/import.js';
import { selectHistory } from '../../../src-main/project/labels-repo.js';
import { setLabel } from '../../../src-main/project/labels.js';
import { createProject } from '../../../src-main/project/project.js';
import { missingSlides, relinkSlides } from '../../../src-main/project/relink.js';
import { removeSlides } from '../../../src-main/project/slide-removal.js';
import { slideToolkit } from '../../../src-main/project/slide-toolkit.js';
import { getSlide } from '../../../src-main/project/slides-repo.js';
import { createTask } from '../../../src-main/project/tasks.js';
import { hasVips, makePyramidalTiff } from '../../helpers/slides.js';
import { tempDir } from '../../helpers/temp.js';

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

    expect(removeSlides(project, [2, 99])).toEqual({ removed: 1, cacheFilesRemoved: 1 });
    expect(fs.existsSync(thumbnailPath(project, 2))).toBe(false);
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
