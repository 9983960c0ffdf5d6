/**
 * Patch sampling limited by annotations, in a real project: a generated slide imported by the CLI, shapes
 * drawn through the project's annotation edits, and each slide's patch grid made as a training run makes
 * it (its tissue mask detected and cached, the slide read by the real reader). Kept patches are exactly the
 * tissue patches whose centres lie inside the included classes and outside the excluded ones (a hole in
 * an excluded shape is outside it); a slide with no included area is left out with a sentence; a run
 * naming a class the project lacks is refused before anything is written.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppServices } from '../../../src-main/api/services.js';
import { dispatch } from '../../../src-main/api/dispatch.js';
import type { AnnotationGeometry } from '../../../src-main/contract/contract.js';
import { editAnnotations, listClasses } from '../../../src-main/project/annotations.js';
import { openProject, type Project } from '../../../src-main/project/project.js';
import { createTask } from '../../../src-main/project/tasks.js';
import { setLabel } from '../../../src-main/project/labels.js';
import { SlideService } from '../../../src-main/slides/index.js';
import { prepareSlide } from '../../../src-main/training/runs/job/slide-data.js';
import type { PlanSlide } from '../../../src-main/training/runs/run-plan.js';
import { writeSyntheticSlide } from '../../e2e/support/fixtures.js';
import { cli } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/temp.js';

const rect = (x0: number, y0: number, x1: number, y1: number): number[][] => [
  [x0, y0],
  [x1, y0],
  [x1, y1],
  [x0, y1],
  [x0, y0],
];

describe('patch sampling by annotation class', () => {
  let dir: string;
  let project: Project;
  let slides: SlideService;
  let plans: PlanSlide[];
  let closed = false;
  let work: string;

  beforeAll(async () => {
    // Not tempDir(): that one is removed after each test, and both tests use the project.
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-patch-regions-'));
    dir = path.join(work, 'project');
    const slideDir = path.join(work, 'slides');
    writeSyntheticSlide(slideDir);
    expect((await cli('project', 'init', dir)).code).toBe(0);
    expect((await cli('import', dir, slideDir)).code).toBe(0);
    project = await openProject(dir);
    plans = (
      project.db.prepare('SELECT id, name, path, fingerprint FROM slides ORDER BY id').all() as Omit<
        PlanSlide,
        'patient' | 'labels'
      >[]
    ).map((s) => ({ ...s, patient: null, labels: [] }));
    slides = new SlideService({ maxOpen: 2 });
  }, 120_000);
  afterAll(async () => {
    if (!closed) project?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
    await slides?.closeAll();
  });

  const grid = async (regions?: { include: string[]; exclude: string[] }) => {
    const prepared = await prepareSlide(project, slides, plans[0]!, {
      mpp: 0.5,
      patchSize: 224,
      tissueThreshold: 0.5,
      ...(regions ? { regions } : {}),
    });
    return prepared;
  };
  const centres = (g: { x: Int32Array; y: Int32Array; extent: number }) =>
    Array.from(g.x, (x, i) => [x + g.extent / 2, g.y[i]! + g.extent / 2] as const);

  it('keeps tissue patches inside the included class and outside the excluded one, holes counting as outside', async () => {
    const classes = new Map(listClasses(project.db).map((c) => [c.name, c.id]));
    const slideId = plans[0]!.id;
    const draw = (geometry: AnnotationGeometry, cls: string) =>
      editAnnotations(
        project.db,
        slideId,
        {
          create: [{ geometry, classId: classes.get(cls)!, shape: 'polygon', name: null }],
          update: [],
          remove: [],
        },
        'test',
      );
    // Tumor: x 200–1800, y 100–1500. Ignore*: x 1000–3000, y 0–2200 with a hole at x 1300–1700, y 300–900.
    draw({ type: 'Polygon', coordinates: [rect(200, 100, 1800, 1500)] }, 'Tumor');
    draw(
      { type: 'Polygon', coordinates: [rect(1000, 0, 3000, 2200), rect(1300, 300, 1700, 900)] },
      'Ignore*',
    );
    // A point and a line of Tumor mark no area.
    draw({ type: 'MultiPoint', coordinates: [[2500, 2000]] }, 'Tumor');

    const all = await grid();
    if (!('slide' in all)) throw new Error(all.warning);
    const g = all.slide.grid;
    expect(g.x.length).toBeGreaterThan(20);
    const inTumor = ([x, y]: readonly [number, number]) => x >= 200 && x <= 1800 && y >= 100 && y <= 1500;
    const inIgnore = ([x, y]: readonly [number, number]) =>
      x >= 1000 && x <= 3000 && !(x > 1300 && x < 1700 && y > 300 && y < 900);

    const inside = await grid({ include: ['Tumor'], exclude: [] });
    if (!('slide' in inside)) throw new Error(inside.warning);
    const wantInside = centres(g).filter(inTumor);
    expect(centres(inside.slide.grid)).toEqual(wantInside);
    expect(wantInside.length).toBeGreaterThan(5);
    expect(wantInside.length).toBeLessThan(g.x.length);
    expect(inside.slide.grid.summary).toMatch(/inside Tumor/);

    const outside = await grid({ include: [], exclude: ['Ignore*'] });
    if (!('slide' in outside)) throw new Error(outside.warning);
    const wantOutside = centres(g).filter((c) => !inIgnore(c));
    expect(centres(outside.slide.grid)).toEqual(wantOutside);
    // Patches in the hole are kept.
    expect(wantOutside.some(([x]) => x > 1300 && x < 1700)).toBe(true);

    const both = await grid({ include: ['Tumor'], exclude: ['Ignore*'] });
    if (!('slide' in both)) throw new Error(both.warning);
    expect(centres(both.slide.grid)).toEqual(centres(g).filter((c) => inTumor(c) && !inIgnore(c)));
    expect(both.slide.grid.summary).toMatch(/inside Tumor; outside Ignore\*/);

    const none = await grid({ include: ['Necrosis'], exclude: [] });
    expect(none).toEqual({
      warning: `Slide ${plans[0]!.name} is left out: none of its patches with tissue over 0.5 of its area lies inside Necrosis.`,
    });
  }, 120_000);

  it('refuses a run naming a class the project lacks, and one that includes and excludes a class', async () => {
    const task = createTask(project.db, { name: 'tumor', kind: 'binary' });
    setLabel(project.db, plans[0]!.id, { taskId: task.id, value: 'yes', source: 'manual', author: null });
    project.close();
    closed = true;
    const services = createAppServices(tempDir(), 'browser');
    try {
      const opened = await dispatch(services.handlers, 'project.open', { dir });
      expect(opened, JSON.stringify(opened)).toMatchObject({ ok: true });
      const unknown = await dispatch(services.handlers, 'runs.start', {
        config: { regions: { include: ['Tumour'] } },
      });
      expect(unknown).toMatchObject({
        ok: false,
        error: {
          code: 'bad-input',
          message: expect.stringMatching(
            /^The run's regions name the class "Tumour", which this project does not have \(it has "Tumor", /,
          ),
        },
      });
      const both = await dispatch(services.handlers, 'runs.start', {
        config: { regions: { include: ['Tumor'], exclude: ['Tumor'] } },
      });
      expect(both).toMatchObject({
        ok: false,
        error: {
          code: 'bad-input',
          message: expect.stringContaining('a class cannot be both included and excluded'),
        },
      });
    } finally {
      await services.close();
    }
    const flagged = await cli('train', dir, '--inside', 'Tumor', '--outside', 'Pen marks');
    expect(flagged.code).not.toBe(0);
    expect(flagged.err).toMatch(
      /The run's regions name the class "Pen marks", which this project does not have/,
    );
    const reopened = await openProject(dir);
    expect(reopened.db.prepare('SELECT count(*) AS n FROM runs').get()).toEqual({ n: 0 });
    reopened.close();
  });
});
