/**
 * Slide inference for real, on a small demo project with a short real training run: `tessera predict` in a
 * job process with the native engine, its per-slide probabilities (equal to what the run's own test
 * evaluation computed for the same slides), the predictions stored with their source and the rasters kept
 * in the cache; a second job reusing the rasters; predictions shown in the library and accepted into labels
 * (one undoable edit) through the API; and bad input (a checkpoint folder missing tensors, a slide with no
 * tissue) refused with one sentence and nothing stored.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAppServices } from '../../../src-main/api/services.js';
import { dispatch } from '../../../src-main/api/dispatch.js';
import { readSafetensors, writeSafetensors } from '../../../src-main/engine/index.js';
import { heatmapPath, readHeatmap } from '../../../src-main/inference/heatmap-raster.js';
import { openProject } from '../../../src-main/project/project.js';
import { createDemoCohort } from '../../../src-main/training/demo/cohort.js';
import { InferenceJobs } from '../../../src-main/jobs/inference-jobs.js';
import type { JobEvent } from '../../../src-main/jobs/job-runner.js';
import { TrainingRuns } from '../../../src-main/jobs/training-runs.js';
import { cli } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/temp.js';
import { saveJpegPyramid } from '../../helpers/vips.js';

let template: string;

/** A fresh copy of the trained demo project (slides shared). */
function project(): string {
  const dir = path.join(tempDir(), 'p');
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(template, 'project.sqlite'), path.join(dir, 'project.sqlite'));
  for (const sub of ['cache', 'models'])
    fs.cpSync(path.join(template, sub), path.join(dir, sub), { recursive: true });
  return dir;
}

describe('slide inference', () => {
  beforeAll(async () => {
    template = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-predict-template-')), 'demo');
    await createDemoCohort(template, { slides: 20, seed: 5, scale: 0.4, workers: 2 });
    const trained = await cli(
      'train',
      template,
      '--split',
      'demo',
      '--epochs',
      '1',
      '--patches-per-slide',
      '8',
      '--seed',
      '3',
    );
    if (trained.code !== 0) throw new Error(trained.err);
  }, 300_000);
  afterAll(() => fs.rmSync(path.dirname(template), { recursive: true, force: true }));

  it("tessera predict --run --json: one object per slide, the run's own test probabilities; predictions and rasters kept", async () => {
    const dir = project();
    const p = await openProject(dir);
    const tested = p.db
      .prepare(
        'SELECT slide_id AS slideId, probabilities FROM run_predictions WHERE run_id = 1 ORDER BY slide_id',
      )
      .all() as { slideId: number; probabilities: string }[];
    p.close();
    const ids = tested.slice(0, 3).map((t) => t.slideId);
    const res = await cli('predict', dir, '--run', '1', '--slides', ids.join(','), '--json');
    expect(res.err).not.toMatch(/left out/);
    expect(res.code).toBe(0);
    const lines = res.out
      .trim()
      .split('\n')
      .map(
        (l) =>
          JSON.parse(l) as {
            slideId: number;
            slide: string;
            model: string;
            probabilities: { atypia: Record<string, number> };
          },
      );
    expect(lines.map((l) => l.slideId)).toEqual(ids);
    for (const line of lines) {
      expect(line.model).toBe('model:1');
      const own = JSON.parse(tested.find((t) => t.slideId === line.slideId)!.probabilities) as Record<
        string,
        number
      >;
      for (const [value, prob] of Object.entries(own))
        expect(line.probabilities.atypia[value]).toBeCloseTo(prob, 4);
    }

    const q = await openProject(dir);
    const stored = q.db
      .prepare(
        'SELECT slide_id AS slideId, source, run_id AS runId, value, probabilities FROM predictions ORDER BY slide_id',
      )
      .all() as { slideId: number; source: string; runId: number; value: string; probabilities: string }[];
    expect(stored.map((s) => [s.slideId, s.source, s.runId])).toEqual(ids.map((id) => [id, 'model:1', 1]));
    for (const s of stored) {
      const probs = JSON.parse(s.probabilities) as number[];
      expect(s.value).toBe(probs[1]! > probs[0]! ? 'positive' : 'negative');
    }
    const slide = q.db.prepare('SELECT fingerprint FROM slides WHERE id = ?').get(ids[0]) as {
      fingerprint: string;
    };
    q.close();
    const raster = readHeatmap(heatmapPath(dir, 'run-1', slide.fingerprint))!;
    expect(raster.x.length).toBeGreaterThan(10);
    expect(raster.attention.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 4);
    expect(raster.scores[0]!.length).toBe(2 * raster.x.length);
    expect(raster.probabilities[0]![1]).toBeCloseTo(lines[0]!.probabilities.atypia.positive!, 5);

    // A second job on the same slides reuses the kept rasters: same answers, nothing recomputed.
    const before = fs.statSync(heatmapPath(dir, 'run-1', slide.fingerprint)).mtimeMs;
    const again = await cli('predict', dir, '--run', '1', '--slides', ids.join(','), '--json');
    expect(again.code).toBe(0);
    expect(again.out).toBe(res.out);
    expect(fs.statSync(heatmapPath(dir, 'run-1', slide.fingerprint)).mtimeMs).toBe(before);
  }, 300_000);

  it('predictions show in the library and are accepted into labels as one undoable edit', async () => {
    const dir = project();
    expect((await cli('predict', dir, '--run', '1', '--slides', '1,2')).code).toBe(0);
    const services = createAppServices(tempDir(), 'browser');
    try {
      const call = (name: string, input: unknown) => dispatch(services.handlers, name, input);
      expect(await call('project.open', { dir })).toMatchObject({ ok: true });
      const sources = (await call('predictions.sources', {})) as {
        ok: true;
        value: { sources: { source: string; taskId: number; slides: number; values: string[] }[] };
      };
      expect(sources.value.sources).toEqual([
        expect.objectContaining({ source: 'model:1', slides: 2, values: ['negative', 'positive'] }),
      ]);
      const taskId = sources.value.sources[0]!.taskId;
      const page = (await call('slides.list', { offset: 0, limit: 5, sort: { column: 'id' } })) as {
        ok: true;
        value: {
          slides: {
            id: number;
            labels: Record<number, string>;
            predictions: Record<string, { value: string }>;
          }[];
        };
      };
      const first = page.value.slides[0]!;
      const predicted = first.predictions[`model:1|${taskId}`]!;
      expect(predicted.value).toMatch(/^(positive|negative)$/);
      expect(page.value.slides[2]!.predictions).toEqual({});
      // Sorted by the prediction: predicted slides first, by p(positive), in either direction.
      for (const direction of ['asc', 'desc'] as const) {
        const sorted = (await call('slides.list', {
          offset: 0,
          limit: 20,
          sort: { column: `prediction:${taskId}:model:1`, direction },
        })) as {
          ok: true;
          value: { slides: { id: number; predictions: Record<string, { probabilities: number[] }> }[] };
        };
        const p = sorted.value.slides.map((s) => s.predictions[`model:1|${taskId}`]?.probabilities[1]);
        expect({ direction, p }).toEqual({ direction, p: [p[0], p[1], ...p.slice(2).map(() => undefined)] });
        expect(direction === 'asc' ? p[0]! <= p[1]! : p[0]! >= p[1]!).toBe(true);
      }

      // Slide 1's label is the other value, so accepting changes it whatever the model predicts.
      const opposite = predicted.value === 'positive' ? 'negative' : 'positive';
      expect(await call('labels.set', { slideId: 1, taskId, value: opposite })).toMatchObject({ ok: true });
      const before = [opposite, page.value.slides.find((s) => s.id === 2)!.labels[taskId]];
      const accepted = (await call('predictions.accept', {
        source: 'model:1',
        taskId,
        selection: { ids: [1, 2] },
      })) as {
        ok: true;
        value: { changed: number; undo: { undoDescription: string } };
      };
      expect(accepted).toMatchObject({ ok: true });
      expect(accepted.value.undo.undoDescription).toMatch(
        /^Accept model 1 predictions of atypia on \d slides?$/,
      );
      const p = await openProject(dir);
      const label = p.db
        .prepare('SELECT value, source FROM labels WHERE slide_id = 1 AND task_id = ?')
        .get(taskId);
      expect(label).toEqual({ value: predicted.value, source: 'model:1' });
      p.close();
      expect(await call('edit.undo', {})).toMatchObject({ ok: true });
      const q = await openProject(dir);
      const after = [1, 2].map(
        (id) =>
          (
            q.db.prepare('SELECT value FROM labels WHERE slide_id = ? AND task_id = ?').get(id, taskId) as
              { value: string } | undefined
          )?.value,
      );
      q.close();
      expect(after).toEqual(before);
    } finally {
      await services.close();
    }
  }, 300_000);

  it('a checkpoint folder missing tensors, and a slide with no tissue: one sentence each, nothing stored', async () => {
    const dir = project();
    const model = path.join(tempDir(), 'broken');
    fs.cpSync(path.join(dir, 'models', 'runs', 'run-1', 'best'), model, { recursive: true });
    fs.writeFileSync(
      path.join(model, 'tasks.json'),
      JSON.stringify([{ name: 'atypia', kind: 'binary', values: ['negative', 'positive'] }]),
    );
    const weights = readSafetensors(path.join(model, 'model.safetensors'), true);
    writeSafetensors(
      path.join(model, 'model.safetensors'),
      weights.tensors
        .filter((t) => !t.name.startsWith('heads.'))
        .map((t) => ({ name: t.name, shape: t.shape, data: t.data! })),
    );
    const neither = await cli('predict', dir);
    expect(neither.code).toBe(2);
    expect(neither.err).toMatch(/^tessera: Name the model with either --run R or --model FOLDER\./);
    const notRun = await cli('predict', dir, '--run', '9');
    expect(notRun).toMatchObject({ code: 1, err: 'tessera: There is no run 9 in this project.\n' });
    const broken = await cli('predict', dir, '--model', model, '--slides', '1');
    expect(broken.code).toBe(1);
    expect(broken.err).toMatch(
      /^tessera: Model folder .*broken cannot be loaded: .*heads\.task0\.weight.*\n$/,
    );
    expect(broken.err.trim().split('\n')).toHaveLength(1);

    // A white slide: no tissue anywhere.
    const blank = path.join(tempDir(), 'blank');
    fs.mkdirSync(blank);
    const v = path.join(blank, 'white.v');
    execFileSync('vips', ['black', v, '1024', '1024', '--bands', '3']);
    execFileSync('vips', ['linear', v, path.join(blank, 'white2.v'), '1', '250', '--uchar']);
    saveJpegPyramid(path.join(blank, 'white2.v'), path.join(blank, 'white.tif'), { quality: 90 });
    fs.rmSync(v);
    fs.rmSync(path.join(blank, 'white2.v'));
    expect((await cli('import', dir, blank)).code).toBe(0);
    const p = await openProject(dir);
    const id = (p.db.prepare("SELECT id FROM slides WHERE name = 'white.tif'").get() as { id: number }).id;
    p.close();
    const none = await cli('predict', dir, '--run', '1', '--slides', String(id));
    expect(none.code).toBe(1);
    expect(none.err.split('\n').filter((l) => l && !/^(preparing|predicting) /.test(l))).toEqual([
      'tessera: Slide white.tif is left out: none of its patches has tissue over 0.5 of its area.',
    ]);

    const q = await openProject(dir);
    expect(q.db.prepare('SELECT count(*) AS n FROM predictions').get()).toEqual({ n: 0 });
    q.close();
    expect(fs.existsSync(path.join(dir, 'cache', 'heatmaps'))).toBe(false);
  }, 300_000);

  it('an inference job reports progress, pauses between slides, resumes where it stopped, and can be cancelled', async () => {
    const dir = project();
    const events: JobEvent[] = [];
    const runs = await TrainingRuns.open(
      dir,
      { onOtherJob: (e) => events.push(e) },
      { supervise: true, pollMs: 50 },
    );
    try {
      const jobs = new InferenceJobs(runs.project, runs.runner);
      const started = await jobs.start({ model: { kind: 'run', runId: 1 } });
      expect(started).toMatchObject({
        state: expect.stringMatching(/^(queued|running)$/),
        slides: 20,
        model: expect.stringMatching(/^run 1 /),
      });
      await until(() => events.some((e) => e.type === 'record'));
      jobs.pause(started.jobId);
      const paused = await until(() => {
        const s = jobs.summary(started.jobId);
        return s.state === 'paused' ? s : null;
      });
      expect(paused.predicted).toBeGreaterThan(0);
      expect(paused.predicted).toBeLessThan(20);
      const progress = events
        .filter((e) => e.type === 'progress')
        .map((e) => e.progress as { done: number; total: number });
      expect(progress.at(-1)).toMatchObject({ total: 20 });

      jobs.resume(started.jobId);
      const done = await until(() => {
        const s = jobs.summary(started.jobId);
        return s.state === 'completed' ? s : null;
      }, 240_000);
      expect(done).toMatchObject({ predicted: 20, skipped: [], error: null });
      expect(selectJobAttempts(runs, started.jobId)).toBe(2);

      // Cancelled: final, and what was stored is whole (each prediction has its raster).
      const other = await jobs.start({ model: { kind: 'run', runId: 1 }, slideIds: [1, 2, 3] });
      jobs.cancel(other.jobId);
      await until(() => jobs.summary(other.jobId).state === 'cancelled');
      expect(() => jobs.resume(other.jobId)).toThrow(/cancelled; only a paused or failed job can be resumed/);
      expect(jobs.list().map((j) => [j.jobId, j.state])).toEqual([
        [other.jobId, 'cancelled'],
        [started.jobId, 'completed'],
      ]);
    } finally {
      await runs.close();
    }
    const p = await openProject(dir);
    const rows = p.db
      .prepare(
        'SELECT s.fingerprint AS f, p.model_key AS k FROM predictions p JOIN slides s ON s.id = p.slide_id',
      )
      .all() as { f: string; k: string }[];
    p.close();
    expect(rows).toHaveLength(20);
    for (const r of rows) expect(readHeatmap(heatmapPath(dir, r.k, r.f))).not.toBeNull();
  }, 300_000);
});

async function until<T>(what: () => T | null | undefined | false, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = what();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

function selectJobAttempts(runs: TrainingRuns, jobId: number): number {
  return (
    runs.project.db.prepare('SELECT attempts FROM jobs WHERE id = ?').get(jobId) as { attempts: number }
  ).attempts;
}
