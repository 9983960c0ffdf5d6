/**
 * The demo cohort: a project of synthetic slides ready to train on. Patients have two slides each (two
 * blocks of one case, sharing the case's label); half the patients are positive, and their slides' dense
 * cellular sheets carry pleomorphic nuclei (see paint-slide.ts): with the default sheet area, about 8% (2-14%)
 * of a positive slide's tissue patches (224 px at 0.5 µm/px) are mostly sheet, at random places. Optionally a share of patients get the wrong label in the CSV (label noise; their slides are
 * painted from the true label).
 *
 * Output, in DIR: slides/*.svs (pyramidal tiled-JPEG, Aperio layout, 0.5 µm/px), labels.csv in Slideflow's
 * form (patient,slide,<task>), slides/demo-truth.json (how each slide was made), and the project itself
 * with the slides imported.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ImportProgress } from '../../contract/contract.js';
import { importSlides } from '../../project/import.js';
import { applyCsvImport } from '../../project/label-csv-import.js';
import { readCsvText } from '../../project/label-csv-read.js';
import { createSplit } from '../../project/splits.js';
import { getTaskByName } from '../../project/tasks.js';
import { createProject, type Project } from '../../project/project.js';
import { slideToolkit } from '../../project/slide-toolkit.js';
import { Random } from '../random.js';
import { startModuleWorker } from '../worker-threads.js';
import type { DemoSlidePlan } from './paint-slide.js';
import type { PaintJob, PaintResult } from './paint-worker.js';

export const DEMO_TASK = 'atypia';
export const DEMO_SPLIT = 'demo';
export const DEMO_VALUES = { positive: 'positive', negative: 'negative' } as const;
export const DEMO_MPP = 0.5;

export interface DemoCohortOptions {
  /** Number of slides (even, at least 4; default 96: with 48, 28 training slides let a model fit each
   * slide's own look before the 8% of patches that carry the label, and 10 test slides measure little). */
  slides?: number;
  seed?: number;
  /** Share of patients whose CSV label is flipped (default 0). */
  labelNoise?: number;
  /** Share of a slide's tissue in cellular sheets (default 0.08: the signal's area on positive slides). */
  sheetArea?: number;
  /** Scale of the slides' sides (default 1: 2,400-3,400 px; tests use less). */
  scale?: number;
  /** Painting threads (default: one per core, at most 4). */
  workers?: number;
  onProgress?: (p: { done: number; total: number; file: string }) => void;
}

export interface DemoSlideTruth {
  file: string;
  patient: string;
  /** The label the slide was painted with. */
  positive: boolean;
  /** The label in labels.csv (differs where label noise flipped it). */
  csvLabel: string;
  width: number;
  height: number;
  pen: boolean;
  fold: boolean;
  tissueShare: number;
  sheetShare: number;
}

export interface DemoCohort {
  dir: string;
  slidesDir: string;
  labelsCsv: string;
  task: string;
  slides: DemoSlideTruth[];
  import: ImportProgress;
  /** Whether labels and a split were set in the project (see labelDemoProject). */
  labelled: boolean;
}

/** Plans, paints and writes the slides, writes the CSV, creates the project and imports them. */
export async function createDemoCohort(
  dirInput: string,
  options: DemoCohortOptions = {},
): Promise<DemoCohort> {
  const dir = path.resolve(dirInput);
  const count = options.slides ?? 96;
  if (!Number.isInteger(count) || count < 4 || count % 2 !== 0) {
    throw new RangeError(`the demo cohort needs an even number of slides, at least 4 (not ${count})`);
  }
  const seed = options.seed ?? 1;
  const labelNoise = options.labelNoise ?? 0;
  if (!((options.scale ?? 1) > 0.1 && (options.scale ?? 1) <= 4))
    throw new RangeError(`invalid scale ${options.scale}`);
  if (!(labelNoise >= 0 && labelNoise <= 0.5))
    throw new RangeError(`label noise must be in [0, 0.5], not ${labelNoise}`);
  const slidesDir = path.join(dir, 'slides');
  // The project first: a folder that already holds one is refused before anything is written.
  const project = await createProject(dir, 'Demo cohort');
  try {
    fs.mkdirSync(slidesDir, { recursive: true });
    const truths = planCohort(count, seed, labelNoise, options.scale ?? 1);
    const plans = truths.map((t, i) => ({
      truth: t,
      plan: slidePlan(t, seed, i, options.sheetArea ?? 0.08),
    }));
    await paintAll(
      plans.map(({ truth, plan }, id) => ({
        id,
        plan,
        file: path.join(slidesDir, truth.file),
        mpp: DEMO_MPP,
      })),
      options.workers ?? Math.max(1, Math.min(4, os.availableParallelism())),
      (result, job) => {
        const t = truths[result.id]!;
        t.tissueShare = round(result.tissueShare ?? 0);
        t.sheetShare = round(result.sheetShare ?? 0);
        options.onProgress?.({
          done: truths.filter((x) => x.tissueShare > 0).length,
          total: count,
          file: job.file,
        });
      },
    );
    const labelsCsv = path.join(dir, 'labels.csv');
    fs.writeFileSync(
      labelsCsv,
      [`patient,slide,${DEMO_TASK}`, ...truths.map((t) => `${t.patient},${t.file},${t.csvLabel}`)].join(
        '\n',
      ) + '\n',
    );
    fs.writeFileSync(
      path.join(slidesDir, 'demo-truth.json'),
      JSON.stringify({ seed, labelNoise, task: DEMO_TASK, mpp: DEMO_MPP, slides: truths }, null, 2) + '\n',
    );
    const imported = await importSlides(project, slidesDir, slideToolkit());
    if (imported.errors.length > 0) {
      throw new Error(`The demo slides could not all be imported: ${imported.errors[0]!.reason}`);
    }
    const labelled = labelDemoProject(project, labelsCsv, seed);
    return { dir, slidesDir, labelsCsv, task: DEMO_TASK, slides: truths, import: imported, labelled };
  } finally {
    project.close();
  }
}

/**
 * The demo project's patients, labels and split: `labelsCsv` (patient,slide,atypia) imported through the
 * labels CSV path (the task made from the column), then a seeded patient-level split (0.6 / 0.2 / 0.2)
 * named "demo", stored like any other.
 */
export function labelDemoProject(project: Project, labelsCsv: string, seed: number): boolean {
  const table = readCsvText(fs.readFileSync(labelsCsv, 'utf8'), path.basename(labelsCsv));
  const { plan } = applyCsvImport(project.db, table, { createTasks: true }, 'demo');
  if (plan.rejected.length > 0)
    throw new Error(`The demo labels could not all be imported: ${plan.rejected[0]!.reason}`);
  const task = getTaskByName(project.db, DEMO_TASK);
  createSplit(project.db, {
    taskId: task.id,
    scheme: { kind: 'fractions', fractions: [0.6, 0.2, 0.2] },
    seed,
    name: DEMO_SPLIT,
  });
  return true;
}

/** Patients P001..; half positive (shuffled), two slides each; label noise flips whole patients in the CSV. */
function planCohort(count: number, seed: number, labelNoise: number, scale: number): DemoSlideTruth[] {
  const rng = new Random(seed, 0x636f686f);
  const patients = count / 2;
  const positive = rng.shuffle(Array.from({ length: patients }, (_, i) => i < patients / 2));
  const flipped = new Set(
    rng.shuffle(Array.from({ length: patients }, (_, i) => i)).slice(0, Math.round(labelNoise * patients)),
  );
  const out: DemoSlideTruth[] = [];
  for (let p = 0; p < patients; p++) {
    const patient = `P${String(p + 1).padStart(3, '0')}`;
    const csvPositive = positive[p] !== flipped.has(p);
    for (const block of ['A', 'B']) {
      out.push({
        file: `DEMO-${patient}-${block}.svs`,
        patient,
        positive: positive[p]!,
        csvLabel: csvPositive ? DEMO_VALUES.positive : DEMO_VALUES.negative,
        // Multiples of 16, so that the 4x and 16x levels are exact.
        width: 16 * Math.round((scale * rng.uniform(2400, 3400)) / 16),
        height: 16 * Math.round((scale * rng.uniform(2200, 3200)) / 16),
        pen: rng.next() < 0.25,
        fold: rng.next() < 0.3,
        tissueShare: 0,
        sheetShare: 0,
      });
    }
  }
  return out;
}

function slidePlan(t: DemoSlideTruth, seed: number, index: number, sheetArea: number): DemoSlidePlan {
  return {
    seed: new Random(seed, index, 0x736c6964).nextUint32(),
    width: t.width,
    height: t.height,
    positive: t.positive,
    sheetArea,
    pen: t.pen,
    fold: t.fold,
  };
}

/** Runs the paint jobs on `workers` threads, largest first; rejects with the first failure. */
async function paintAll(
  jobs: PaintJob[],
  workers: number,
  onDone: (result: PaintResult, job: PaintJob) => void,
): Promise<void> {
  const queue = [...jobs].sort((a, b) => b.plan.width * b.plan.height - a.plan.width * a.plan.height);
  const threads = Array.from({ length: Math.min(workers, queue.length) }, () =>
    startModuleWorker(new URL('./paint-worker.ts', import.meta.url)),
  );
  try {
    await Promise.all(
      threads.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            const next = () => {
              const job = queue.shift();
              if (!job) return resolve();
              worker.postMessage(job);
              worker.once('message', (result: PaintResult) => {
                if (!result.ok)
                  return reject(new Error(`Cannot write demo slide ${job.file}: ${result.message}`));
                onDone(result, job);
                next();
              });
            };
            worker.once('error', reject);
            next();
          }),
      ),
    );
  } finally {
    await Promise.all(threads.map((w) => w.terminate()));
  }
}

function round(v: number): number {
  return Math.round(v * 1e4) / 1e4;
}
