/**
 * The Viewer's patch overlay (`runs.patchGrid`), through the API on a real project: a generated slide
 * imported by the CLI, an included and an excluded annotation class drawn on it, and runs stored with
 * their configs. The overlay's cells are exactly the patches a training job prepares for that slide and
 * config (the job's prepareSlide with the job's options), and exactly the tissue patches whose centres lie
 * inside the included shape and outside the excluded one (checked against the unrestricted grid by hand);
 * with no run the default training settings apply; bad input is refused with a sentence.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppServices, type AppServices } from '../../../src-main/api/services.js';
import { dispatch } from '../../../src-main/api/dispatch.js';
import type { AnnotationGeometry, PatchGridPreview } from '../../../src-main/contract/contract.js';
import { editAnnotations, listClasses } from '../../../src-main/project/annotations.js';
import { finishJob, insertJob } from '../../../src-main/project/jobs-repo.js';
import { openProject } from '../../../src-main/project/project.js';
import { insertRun } from '../../../src-main/project/runs-repo.js';
import { SlideService } from '../../../src-main/slides/index.js';
import { builtinSpec } from '../../../src-main/training/models/builtin.js';
import { resolveRunConfig } from '../../../src-main/training/runs/run-config.js';
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

describe('the patch overlay: the patches a run trains on', () => {
  let work: string;
  let dir: string;
  let plan: PlanSlide;
  let runWithRegions: number;
  let runWithout: number;

  beforeAll(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-patch-preview-'));
    dir = path.join(work, 'project');
    const slideDir = path.join(work, 'slides');
    writeSyntheticSlide(slideDir);
    expect((await cli('project', 'init', dir)).code).toBe(0);
    expect((await cli('import', dir, slideDir)).code).toBe(0);
    const project = await openProject(dir);
    try {
      const row = project.db
        .prepare('SELECT id, name, path, fingerprint FROM slides ORDER BY id LIMIT 1')
        .get() as Omit<PlanSlide, 'patient' | 'labels'>;
      plan = { ...row, patient: null, labels: [] };
      const classes = new Map(listClasses(project.db).map((c) => [c.name, c.id]));
      const draw = (geometry: AnnotationGeometry, cls: string) =>
        editAnnotations(
          project.db,
          plan.id,
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
      // Two runs stored as a run stores its config (defaults filled in); their jobs are over, so opening
      // the project starts nothing.
      const store = (name: string, input: Parameters<typeof resolveRunConfig>[0]) => {
        const jobId = insertJob(project.db, 'training', {}, 'models/runs/x');
        finishJob(project.db, jobId, 'cancelled');
        const config = resolveRunConfig(input, { split: 'demo', splitTask: 'tumor', name });
        return insertRun(project.db, {
          jobId,
          name,
          config,
          codeVersion: 'test',
          splitName: 'demo',
          members: {},
        });
      };
      runWithRegions = store('regions', {
        mpp: 1,
        tissueThreshold: 0.3,
        model: { kind: 'builtin', size: 'tiny' },
        regions: { include: ['Tumor'], exclude: ['Ignore*'] },
      });
      runWithout = store('plain', { mpp: 1, tissueThreshold: 0.3, model: { kind: 'builtin', size: 'tiny' } });
    } finally {
      project.close();
    }
  }, 120_000);
  afterAll(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** What a training job prepares for the slide, with the options it builds from a stored config. */
  async function trainingGrid(config: ReturnType<typeof resolveRunConfig>) {
    const project = await openProject(dir);
    const slides = new SlideService({ maxOpen: 1 });
    try {
      const prepared = await prepareSlide(project, slides, plan, {
        mpp: config.mpp,
        patchSize: builtinSpec(config.model.kind === 'builtin' ? config.model.size : 'micro').inputSize,
        tissueThreshold: config.tissueThreshold,
        regions: config.regions,
      });
      if (!('slide' in prepared)) throw new Error(prepared.warning);
      return prepared.slide.grid;
    } finally {
      await slides.closeAll();
      project.close();
    }
  }

  async function withServices<T>(f: (services: AppServices) => Promise<T>): Promise<T> {
    const services = createAppServices(tempDir(), 'browser');
    try {
      const opened = await dispatch(services.handlers, 'project.open', { dir });
      expect(opened, JSON.stringify(opened)).toMatchObject({ ok: true });
      return await f(services);
    } finally {
      await services.close();
    }
  }

  const centres = (g: { x: ArrayLike<number>; y: ArrayLike<number>; extent: number }) =>
    Array.from(g.x, (x, i) => [x + g.extent / 2, g.y[i]! + g.extent / 2] as const);

  it('shows exactly the patches training takes with the run’s include and exclude regions', async () => {
    const { latest, chosen, plain } = await withServices(async (services) => {
      const call = async (runId: number | null) => {
        const r = await dispatch(services.handlers, 'runs.patchGrid', { slideId: plan.id, runId });
        if (!r.ok) throw new Error(r.error.message);
        return r.value as PatchGridPreview;
      };
      return { latest: await call(null), chosen: await call(runWithRegions), plain: await call(runWithout) };
    });
    // null: the latest run, here the one without regions.
    expect(latest).toEqual(plain);
    expect(plain.source).toEqual({ kind: 'run', runId: runWithout, name: 'plain' });
    expect(chosen.source).toEqual({ kind: 'run', runId: runWithRegions, name: 'regions' });
    expect(chosen).toMatchObject({
      patchSize: builtinSpec('tiny').inputSize,
      mpp: 1,
      tissueThreshold: 0.3,
      regions: { include: ['Tumor'], exclude: ['Ignore*'] },
    });

    const config = resolveRunConfig(
      {
        mpp: 1,
        tissueThreshold: 0.3,
        model: { kind: 'builtin', size: 'tiny' },
        regions: { include: ['Tumor'], exclude: ['Ignore*'] },
      },
      { split: 'demo', splitTask: 'tumor', name: 'regions' },
    );
    const trained = await trainingGrid(config);
    expect(chosen.x).toEqual(Array.from(trained.x));
    expect(chosen.y).toEqual(Array.from(trained.y));
    expect(chosen.extent).toBe(trained.extent);
    expect(chosen.summary).toBe(trained.summary);

    // And by hand: the unrestricted grid's tissue patches, centre inside Tumor and outside Ignore*.
    const inTumor = ([x, y]: readonly [number, number]) => x >= 200 && x <= 1800 && y >= 100 && y <= 1500;
    const inIgnore = ([x, y]: readonly [number, number]) =>
      x >= 1000 && x <= 3000 && y <= 2200 && !(x > 1300 && x < 1700 && y > 300 && y < 900);
    const want = centres(plain).filter((c) => inTumor(c) && !inIgnore(c));
    expect(centres(chosen)).toEqual(want);
    expect(want.length).toBeGreaterThan(3);
    expect(want.length).toBeLessThan(plain.x.length);
    // Some kept patches lie in the excluded shape's hole.
    expect(want.some(([x, y]) => x > 1300 && x < 1700 && y > 300 && y < 900)).toBe(true);
  }, 120_000);

  it('uses the default training settings in a project with no run, and refuses bad input', async () => {
    const empty = path.join(work, 'empty');
    expect((await cli('project', 'init', empty)).code).toBe(0);
    expect((await cli('import', empty, path.join(work, 'slides'))).code).toBe(0);
    const services = createAppServices(tempDir(), 'browser');
    try {
      expect(await dispatch(services.handlers, 'project.open', { dir: empty })).toMatchObject({ ok: true });
      const r = await dispatch(services.handlers, 'runs.patchGrid', { slideId: 1, runId: null });
      if (!r.ok) throw new Error(r.error.message);
      const value = r.value as PatchGridPreview;
      const defaults = resolveRunConfig({}, { split: '-', splitTask: '-', name: '-' });
      const size = builtinSpec(defaults.model.kind === 'builtin' ? defaults.model.size : 'micro').inputSize;
      expect(value).toMatchObject({
        source: { kind: 'defaults' },
        patchSize: size,
        mpp: defaults.mpp,
        tissueThreshold: defaults.tissueThreshold,
        regions: { include: [], exclude: [] },
      });
      expect(value.x.length).toBeGreaterThan(0);
      expect(value.summary).toMatch(new RegExp(`^\\S+: ${value.x.length} of \\d+ patches of ${size} px`));

      const missing = await dispatch(services.handlers, 'runs.patchGrid', { slideId: 1, runId: 7 });
      expect(missing).toMatchObject({
        ok: false,
        error: { code: 'not-found', message: 'There is no run 7 in this project.' },
      });
      const noSlide = await dispatch(services.handlers, 'runs.patchGrid', { slideId: 99, runId: null });
      expect(noSlide).toMatchObject({ ok: false, error: { code: 'not-found' } });
      for (const bad of [{ slideId: -1, runId: null }, { slideId: 1 }, { slideId: 1, runId: 'latest' }]) {
        const refused = await dispatch(services.handlers, 'runs.patchGrid', bad as never);
        expect(refused, JSON.stringify(bad)).toMatchObject({ ok: false, error: { code: 'bad-input' } });
      }
    } finally {
      await services.close();
    }
  }, 120_000);
});
