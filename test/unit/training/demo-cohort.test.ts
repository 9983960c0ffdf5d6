/**
 * The demo cohort: slides OpenSlide reads as pyramidal Aperio files at 0.5 µm/px, two per patient, a
 * Slideflow-style labels CSV, the project with the slides imported, the same cohort from the same seed,
 * and `tessera demo create` on the command line.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openProject } from '../../../src-main/project/project.js';
import { selectSlideIdentities } from '../../../src-main/project/patients-repo.js';
import { getSplitByName } from '../../../src-main/project/splits.js';
import { getTaskByName } from '../../../src-main/project/tasks.js';
import { openSlide } from '../../../src-main/slides/index.js';
import {
  createDemoCohort,
  DEMO_SPLIT,
  DEMO_TASK,
  type DemoCohort,
} from '../../../src-main/training/demo/cohort.js';
import { paintSlide } from '../../../src-main/training/demo/paint-slide.js';
import { buildPatchGrid } from '../../../src-main/training/patch-grid.js';
import { detectTissue } from '../../../src-main/training/tissue/detect.js';
import { cli } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/temp.js';
import { hasOpenSlidePython, PYTHON } from './helpers.js';

describe('demo cohort', () => {
  let dir: string;
  let cohort: DemoCohort;
  const progress: number[] = [];
  // Shared by the tests below (tempDir's folders are removed after each test).
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-demo-'));
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));
  beforeAll(async () => {
    dir = path.join(root, 'demo');
    cohort = await createDemoCohort(dir, {
      slides: 4,
      seed: 3,
      scale: 0.6,
      workers: 2,
      onProgress: (p) => progress.push(p.done),
    });
  });

  it('writes slides, labels and a project with the slides imported', async () => {
    expect(cohort.slides.map((s) => s.file)).toEqual([
      'DEMO-P001-A.svs',
      'DEMO-P001-B.svs',
      'DEMO-P002-A.svs',
      'DEMO-P002-B.svs',
    ]);
    expect(progress.sort()).toEqual([1, 2, 3, 4]);
    // One positive and one negative patient; both slides of a patient share its label.
    expect(cohort.slides.filter((s) => s.positive)).toHaveLength(2);
    expect(cohort.slides[0]!.positive).toBe(cohort.slides[1]!.positive);
    expect(cohort.labelled).toBe(true);
    const csv = fs.readFileSync(path.join(dir, 'labels.csv'), 'utf8').trim().split('\n');
    expect(csv[0]).toBe(`patient,slide,${DEMO_TASK}`);
    expect(csv.slice(1)).toEqual(
      cohort.slides.map((s) => `${s.patient},${s.file},${s.positive ? 'positive' : 'negative'}`),
    );
    const truth = JSON.parse(fs.readFileSync(path.join(dir, 'slides', 'demo-truth.json'), 'utf8')) as {
      slides: { tissueShare: number; sheetShare: number }[];
    };
    for (const s of truth.slides) {
      expect(s.tissueShare).toBeGreaterThan(0.1);
      expect(s.sheetShare).toBeGreaterThan(0.02);
    }
    const project = await openProject(dir);
    try {
      const slides = selectSlideIdentities(project.db);
      expect(slides.length).toBe(4);
      // Patients, labels and the stored "demo" split come with it.
      expect(new Set(slides.map((s) => s.patient))).toEqual(new Set(['P001', 'P002']));
      const task = getTaskByName(project.db, DEMO_TASK);
      expect(task.values.map((v) => v.name)).toEqual(['negative', 'positive']);
      expect(task.labelCount).toBe(4);
      const split = getSplitByName(project.db, DEMO_SPLIT);
      expect(Object.values(split.members).flat()).toHaveLength(4);
      expect(slides.map((s) => s.name).sort()).toEqual(cohort.slides.map((s) => s.file));
    } finally {
      project.close();
    }
    // Our reader: Aperio layout, 0.5 µm/px, 20x, exact 4x levels; tissue enough for a grid of patches.
    const reader = await openSlide(path.join(cohort.slidesDir, cohort.slides[0]!.file));
    try {
      expect(reader.metadata).toMatchObject({ vendor: 'aperio', mppX: 0.5, objectivePower: 20 });
      expect(reader.metadata.levels.length).toBeGreaterThanOrEqual(2);
      expect(reader.metadata.levels[1]!.downsample).toBe(4);
      const { mask } = await detectTissue(reader);
      const grid = buildPatchGrid(reader.metadata, 'demo', mask);
      expect(grid.x.length).toBeGreaterThan(8);
    } finally {
      await reader.close();
    }
    // A folder that already holds a project is refused before anything is painted.
    await expect(createDemoCohort(dir, { slides: 4 })).rejects.toThrow(/already holds a Tessera project/);
  });

  it.skipIf(!hasOpenSlidePython())(
    'OpenSlide reads the slides as Aperio files at 0.5 µm/px with exact 4x levels',
    () => {
      const file = path.join(cohort.slidesDir, cohort.slides[2]!.file);
      const out = execFileSync(
        PYTHON,
        [
          '-c',
          [
            'import sys, openslide',
            's = openslide.OpenSlide(sys.argv[1])',
            "print(s.properties['openslide.vendor'], s.properties['openslide.mpp-x'], s.properties['openslide.objective-power'], s.level_count, s.level_downsamples[1], s.dimensions[0], s.dimensions[1])",
          ].join('\n'),
          file,
        ],
        { encoding: 'utf8' },
      ).trim();
      const t = cohort.slides[2]!;
      expect(out).toBe(`aperio 0.5 20 ${t.width > 1024 * 4 ? 3 : 2} 4.0 ${t.width} ${t.height}`);
    },
  );

  it('label noise flips whole patients in the CSV, not the slides', async () => {
    const noisy = await createDemoCohort(path.join(tempDir(), 'noisy'), {
      slides: 8,
      seed: 5,
      scale: 0.35,
      labelNoise: 0.25,
    });
    const flipped = noisy.slides.filter((s) => (s.csvLabel === 'positive') !== s.positive);
    expect(flipped).toHaveLength(2);
    expect(flipped[0]!.patient).toBe(flipped[1]!.patient);
    expect(noisy.slides.filter((s) => s.positive)).toHaveLength(4);
  });

  it('the same seed paints the same slide', () => {
    const plan = {
      seed: 77,
      width: 700,
      height: 600,
      positive: true,
      sheetArea: 0.07,
      pen: true,
      fold: true,
    };
    const a = paintSlide(plan);
    const b = paintSlide(plan);
    expect(Buffer.from(a.rgba).equals(Buffer.from(b.rgba))).toBe(true);
    const c = paintSlide({ ...plan, seed: 78 });
    expect(Buffer.from(a.rgba).equals(Buffer.from(c.rgba))).toBe(false);
  });

  it('positive sheets carry pleomorphic nuclei at the same haematoxylin per area as negative sheets', () => {
    // Mean optical density of the sheets: the classes are not told apart by colour alone.
    const od = (positive: boolean) => {
      let sum = 0;
      let n = 0;
      for (const seed of [1, 2, 3]) {
        const s = paintSlide({
          seed,
          width: 1500,
          height: 1500,
          positive,
          sheetArea: 0.15,
          pen: false,
          fold: false,
        });
        for (let p = 0; p < s.sheets.length; p++) {
          if (!s.sheets[p]) continue;
          for (let c = 0; c < 3; c++) sum += -Math.log(Math.max(1, s.rgba[p * 4 + c]!) / 255);
          n += 3;
        }
      }
      return sum / n;
    };
    const pos = od(true);
    const neg = od(false);
    expect(Math.abs(pos - neg) / neg).toBeLessThan(0.1);
  });

  it('tessera demo create makes the project and says where the labels are', async () => {
    const dir = path.join(tempDir(), 'cli-demo');
    const res = await cli('demo', 'create', dir, '--slides', '4', '--seed', '9');
    expect(res.code).toBe(0);
    expect(res.out).toMatch(
      /^Created the demo project .*cli-demo: 4 slides of 2 patients \(2 slides positive for "atypia"\)/,
    );
    expect(res.out).toMatch(/Labels: .*labels\.csv \(imported, with a split\)/);
    expect(res.err).toMatch(/\[4\/4\] painted/);
    const bad = await cli('demo', 'create', path.join(dir, 'x'), '--slides', '5');
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/--slides must be even/);
    const noise = await cli('demo', 'create', path.join(dir, 'y'), '--label-noise', '0.9');
    expect(noise.code).toBe(2);
    const again = await cli('demo', 'create', dir, '--slides', '4', '--json');
    expect(again.code).toBe(1);
    expect(again.err).toMatch(/already holds a Tessera project/);
  });
});
