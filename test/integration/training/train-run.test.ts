/**
 * Training runs for real, on a small demo cohort (20 synthetic slides, a stored patient-level split), in
 * job processes with the native engine: `tessera train --json`, the runs commands, the frozen baseline and
 * its embedding cache, a run killed with SIGKILL mid-epoch and resumed (and one paused and resumed) ending
 * with exactly the metrics of an uninterrupted run, and bad input refused with one sentence and nothing
 * written (one class in a part, no labelled slide, a model folder missing tensors) or skipped with a
 * warning (a slide whose pixels become unreadable).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunDetail, RunProgress } from '../../../src-main/contract/contract.js';
import { TrainingRuns } from '../../../src-main/jobs/training-runs.js';
import { createAppServices } from '../../../src-main/api/services.js';
import { dispatch } from '../../../src-main/api/dispatch.js';
import type { RunSummary } from '../../../src-main/contract/contract.js';
import { selectJob } from '../../../src-main/project/jobs-repo.js';
import { setLabel } from '../../../src-main/project/labels.js';
import { openProject } from '../../../src-main/project/project.js';
import { getSplitByName } from '../../../src-main/project/splits.js';
import { createTask } from '../../../src-main/project/tasks.js';
import { createDemoCohort } from '../../../src-main/training/demo/cohort.js';
import { builtCli, cli } from '../../helpers/cli.js';
import { tool } from '../../helpers/prerequisites.js';
import { tempDir } from '../../helpers/temp.js';

// One linear-probe epoch (encoder frozen), then three end to end.
const SMALL = [
  '--split',
  'demo',
  '--probe-epochs',
  '1',
  '--epochs',
  '3',
  '--patches-per-slide',
  '16',
  '--seed',
  '3',
];

let template: string;

/** A fresh copy of the demo project (slides shared: the copy's slide paths point at the template's). */
function project(): string {
  const dir = path.join(tempDir(), 'p');
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(template, 'project.sqlite'), path.join(dir, 'project.sqlite'));
  fs.cpSync(path.join(template, 'cache'), path.join(dir, 'cache'), { recursive: true });
  fs.mkdirSync(path.join(dir, 'models'));
  return dir;
}

async function until<T>(what: () => T | null | undefined | false, timeoutMs = 120_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = what();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** What must not differ between two runs of the same config: metrics, predictions, validation history. */
function outcome(d: RunDetail) {
  return {
    metrics: d.testMetrics,
    predictions: d.predictions,
    best: d.bestEpoch,
    history: d.history.map((e) => ({ epoch: e.epoch, trainLoss: e.trainLoss, validation: e.validation })),
  };
}

describe('training runs', () => {
  beforeAll(async () => {
    template = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-train-template-')), 'demo');
    await createDemoCohort(template, { slides: 20, seed: 5, scale: 0.4, workers: 2 });
  }, 120_000);
  afterAll(() => fs.rmSync(path.dirname(template), { recursive: true, force: true }));

  it("tessera train --json: run id, split, test metrics and every test slide's probabilities; runs lists and shows it", async () => {
    const dir = project();
    const res = await cli('train', dir, ...SMALL, '--json');
    expect(res.err).toMatch(/epoch 1\/4 \(probe\): train loss/);
    expect(res.err).toMatch(/epoch 4\/4: train loss/);
    expect(res.code).toBe(0);
    const out = JSON.parse(res.out) as {
      runId: number;
      split: string;
      metrics: Record<string, { auroc: number | null; slides: number; roc: unknown[] }>;
      predictions: { slide: string; patient: string; task: string; probabilities: Record<string, number> }[];
    };
    expect(out.runId).toBe(1);
    expect(out.split).toBe('demo');
    expect(out.metrics.atypia!.slides).toBe(4);
    expect(out.metrics.atypia!.roc).toHaveLength(1);
    const p = await openProject(dir);
    const test = getSplitByName(p.db, 'demo').members.test!;
    p.close();
    expect(out.predictions.map((x) => x.slide).sort()).toEqual(test.map((m) => m.slideName).sort());
    for (const x of out.predictions) {
      expect(x.patient).toMatch(/^P\d{3}$/);
      expect(Object.keys(x.probabilities)).toEqual(['negative', 'positive']);
      expect(x.probabilities.negative! + x.probabilities.positive!).toBeCloseTo(1, 6);
    }
    const list = await cli('runs', dir);
    expect(list.out).toMatch(/^id\s+state/);
    expect(list.out).toMatch(/\n1\s+completed\s+end-to-end\s+builtin:micro\s+atypia\s+demo\s+4\/4/);
    const show = await cli('runs', 'show', dir, '1', '--json');
    const detail = JSON.parse(show.out) as RunDetail;
    expect(detail.config).toMatchObject({
      seed: 3,
      epochs: 3,
      probeEpochs: 1,
      patchesPerSlide: 16,
      split: 'demo',
      mode: 'end-to-end',
    });
    expect(detail.codeVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(detail.history).toHaveLength(4);
    // The probe trains the aggregator alone; the encoder joins after it, warming up from its first step.
    expect(detail.history[0]!.lrEncoder).toBe(0);
    expect(detail.history[1]!.lrEncoder).toBeGreaterThan(0);
    expect(fs.existsSync(detail.logFile)).toBe(true);
    expect((await cli('runs', 'show', dir, '1')).out).toMatch(/test atypia: AUROC/);
  });

  it.skipIf(!tool('script'))(
    'on a terminal `tessera train` draws a cli-progress bar; piped, it prints plain lines',
    () => {
      const args = (dir: string) => [builtCli, 'train', dir, ...SMALL, '--epochs', '1'];
      const piped = spawnSync(process.execPath, args(project()), { encoding: 'utf8' });
      expect(piped.status).toBe(0);
      expect(piped.stderr).toMatch(/^preparing…$/m);
      expect(piped.stderr).toMatch(/^epoch 1\/2 \(probe\): train loss [\d.]+; atypia val loss/m);
      expect(piped.stderr).toMatch(/^epoch 2\/2: train loss [\d.]+; atypia val loss/m);
      expect(piped.stderr).not.toContain('\x1b[');
      expect(piped.stderr).not.toContain('\r');
      // script(1) gives the command a pseudo-terminal; what it drew comes back on script's stdout.
      const quoted = args(project()).map((a) => `'${a.replace(/'/g, "'\\''")}'`);
      const tty = spawnSync('script', ['-qefc', [process.execPath, ...quoted].join(' '), '/dev/null'], {
        encoding: 'utf8',
      });
      expect(tty.status).toBe(0);
      expect(tty.stdout).toContain('\x1b[?25l'); // cli-progress hides the cursor while it draws
      // A bar that has moved, in whichever phase a redraw caught: cli-progress redraws at most 10 times a
      // second, so a fast epoch can pass between two frames.
      expect(tty.stdout).toMatch(
        /[a-z]+\s+[12]\/2 \[(?=[\u2588\u2591]{40}\])\u2588+\u2591*\] \d+\/\d+ \| loss /,
      );
      expect(tty.stdout).toMatch(/epoch 2\/2: train loss/);
    },
    120_000,
  );

  it('the API: runs.start validated, onRunChanged and onRunProgress events, runs.get, models.list', async () => {
    const dir = project();
    const services = createAppServices(tempDir(), 'browser');
    const changes: RunSummary[] = [];
    const phases = new Set<string>();
    services.session.on('onRunChanged', (r) => changes.push(r));
    services.session.on('onRunProgress', (p) => phases.add(p.phase));
    try {
      expect(await dispatch(services.handlers, 'project.open', { dir })).toMatchObject({ ok: true });
      const bad = await dispatch(services.handlers, 'runs.start', { config: { epochs: 0 } });
      expect(bad).toEqual({
        ok: false,
        error: {
          code: 'bad-input',
          message: 'Invalid input for runs.start: config.epochs: the number of epochs must be at least 1',
        },
      });
      const missing = await dispatch(services.handlers, 'runs.start', { config: { split: 'nope' } });
      expect(missing).toEqual({
        ok: false,
        error: { code: 'not-found', message: 'There is no split named "nope" in this project.' },
      });
      const started = await dispatch(services.handlers, 'runs.start', {
        config: { split: 'demo', probeEpochs: 1, epochs: 2, patchesPerSlide: 8, seed: 2 },
      });
      expect(started).toMatchObject({ ok: true, value: { id: 1, splitName: 'demo' } });
      expect(['queued', 'running']).toContain((started as { value: RunSummary }).value.state);
      await until(() => changes.some((c) => c.id === 1 && c.state === 'completed'));
      expect(changes.map((c) => c.state)).toEqual(expect.arrayContaining(['running', 'completed']));
      expect([...phases]).toEqual(expect.arrayContaining(['preparing', 'training', 'validating', 'testing']));
      const got = (await dispatch(services.handlers, 'runs.get', { id: 1 })) as { value: RunDetail };
      expect(got.value.history).toHaveLength(3);
      expect(got.value.predictions).toHaveLength(4);
      expect(await dispatch(services.handlers, 'runs.pause', { id: 9 })).toEqual({
        ok: false,
        error: { code: 'not-found', message: 'There is no run 9 in this project.' },
      });
      expect(await dispatch(services.handlers, 'runs.resume', { id: 1 })).toEqual({
        ok: false,
        error: {
          code: 'conflict',
          message: 'Run 1 is completed; only a paused or failed run can be resumed.',
        },
      });
      const models = (await dispatch(services.handlers, 'models.list', {})) as {
        value: { models: { name: string }[] };
      };
      expect(models.value.models.map((m) => m.name)).toContain('builtin:micro');
    } finally {
      await services.close();
    }
  });

  it('without --split makes a seeded patient-level 0.6/0.2/0.2 split and stores it', async () => {
    const dir = project();
    const res = await cli('train', dir, '--epochs', '1', '--patches-per-slide', '8', '--seed', '5', '--json');
    expect(res.code).toBe(0);
    const split = (JSON.parse(res.out) as { split: string }).split;
    expect(split).toBe('atypia 60/20/20 seed 5');
    const p = await openProject(dir);
    const stored = getSplitByName(p.db, split);
    p.close();
    expect(stored.seed).toBe(5);
    const patients = (part: string) => new Set(stored.members[part]!.map((m) => m.patient));
    for (const a of ['train', 'val', 'test'])
      for (const b of ['train', 'val', 'test'])
        if (a !== b) for (const x of patients(a)) expect(patients(b).has(x)).toBe(false);
  });

  it('a run killed with SIGKILL mid-epoch, then resumed, ends with the metrics of an uninterrupted run; so does a paused one', async () => {
    // Two probe epochs, then three end to end: killed and paused in the second end-to-end epoch, so the
    // resumed stage's learning rates come from the model's step count in the checkpoint.
    const config = { split: 'demo', probeEpochs: 2, epochs: 3, patchesPerSlide: 48, seed: 11 };
    const dir = project();
    const progress: RunProgress[] = [];
    const runs = await TrainingRuns.open(
      dir,
      { onRunProgress: (p) => progress.push(p) },
      { supervise: true, pollMs: 100 },
    );
    try {
      const wait = (id: number, state: string) =>
        until(() => runs.summary(id).state === state && runs.runner.running === null);
      const reference = runs.start(config);
      await wait(reference.id, 'completed');

      const killed = runs.start(config);
      await until(() =>
        progress.some((p) => p.runId === killed.id && p.phase === 'training' && p.epoch === 4 && p.done >= 2),
      );
      const job = selectJob(runs.project.db, runs.jobOf(killed.id))!;
      process.kill(job.processPid!, 'SIGKILL');
      await wait(killed.id, 'failed');
      expect(runs.summary(killed.id).error).toMatch(/killed \(SIGKILL/);
      runs.resume(killed.id);
      await wait(killed.id, 'completed');

      const paused = runs.start(config);
      await until(() =>
        progress.some((p) => p.runId === paused.id && p.phase === 'training' && p.epoch === 4 && p.done >= 2),
      );
      runs.pause(paused.id);
      await wait(paused.id, 'paused');
      runs.resume(paused.id);
      await wait(paused.id, 'completed');

      const ref = runs.get(reference.id);
      const k = runs.get(killed.id);
      const pa = runs.get(paused.id);
      expect(k.attempts).toBe(2);
      expect(k.logTail).toMatch(/resuming at epoch 4, slide 0/);
      expect(pa.logTail).toMatch(/resuming at epoch 4, slide [1-9]/);
      expect(outcome(k)).toEqual(outcome(ref));
      expect(outcome(pa)).toEqual(outcome(ref));
      expect(ref.testMetrics!.atypia!.auroc).not.toBeNull();
    } finally {
      await runs.close();
    }
  });

  it('matmulPrecision bf16 (run config) trains with bf16 encoder products: the same run, other numbers', async () => {
    const dir = project();
    const config = path.join(tempDir(), 'bf16.json');
    fs.writeFileSync(config, JSON.stringify({ matmulPrecision: 'bf16' }));
    const fp32 = await cli('train', dir, ...SMALL, '--epochs', '1', '--json');
    const bf16 = await cli('train', dir, ...SMALL, '--epochs', '1', '--config', config, '--json');
    expect(fp32.code).toBe(0);
    expect(bf16.code).toBe(0);
    const log = (run: number) =>
      fs.readFileSync(path.join(dir, 'models', 'runs', `run-${run}`, 'job.log'), 'utf8');
    expect(log(1)).not.toMatch(/bf16/);
    expect(log(2)).toMatch(/encoder matrix products in bf16/);
    // The probe's embeddings are the bf16 encoder's own, not the fp32 run's from the cache.
    expect(log(2)).toMatch(/frozen embeddings: 0 from the cache, 20 computed/);
    const history = async (run: number) =>
      (JSON.parse((await cli('runs', 'show', dir, String(run), '--json')).out) as RunDetail).history;
    const [a, b] = [await history(1), await history(2)];
    // The probe trains on embeddings the bf16 encoder made, so every loss differs a little, not a lot.
    const loss = (h: RunDetail['history']) => h.map((e) => e.trainLoss.atypia!);
    expect(loss(b)).not.toEqual(loss(a));
    loss(b).forEach((l, i) => expect(Math.abs(l - loss(a)[i]!)).toBeLessThan(0.05));
  });

  it('frozen: embeddings computed once per slide and kept by fingerprint, encoder and geometry, then only the aggregator trains', async () => {
    const dir = project();
    const first = await cli('train', dir, ...SMALL, '--mode', 'frozen', '--json');
    expect(first.code).toBe(0);
    const cached = fs.readdirSync(path.join(dir, 'cache', 'embeddings'));
    expect(cached).toHaveLength(20);
    const again = await cli('train', dir, ...SMALL, '--mode', 'frozen', '--json');
    expect(again.code).toBe(0);
    const log = fs.readFileSync(path.join(dir, 'models', 'runs', 'run-2', 'job.log'), 'utf8');
    expect(log).toMatch(/frozen embeddings: 20 from the cache, 0 computed/);
    // Same encoder (same seed), same embeddings, same training: the same result.
    expect(JSON.parse(again.out).metrics).toEqual(JSON.parse(first.out).metrics);
    // Another seed is another random encoder: its own embeddings.
    expect((await cli('train', dir, ...SMALL.slice(0, -1), '4', '--mode', 'frozen')).code).toBe(0);
    expect(fs.readdirSync(path.join(dir, 'cache', 'embeddings'))).toHaveLength(40);
  });

  it('refuses with one sentence, writing nothing: one class in a part, no labelled slide, a model missing tensors', async () => {
    const dir = project();
    const p = await openProject(dir);
    const split = getSplitByName(p.db, 'demo');
    const mono = createTask(p.db, {
      name: 'grade',
      kind: 'binary',
      values: [{ name: 'low' }, { name: 'high' }],
    });
    for (const [part, list] of Object.entries(split.members))
      list.forEach((m, i) =>
        setLabel(p.db, m.slideId, {
          taskId: mono.id,
          value: part === 'test' ? 'high' : i % 2 ? 'low' : 'high',
          source: 'manual',
          author: null,
        }),
      );
    createTask(p.db, { name: 'unused', kind: 'binary', values: [{ name: 'no' }, { name: 'yes' }] });
    p.close();

    const oneClass = await cli('train', dir, '--split', 'demo', '--task', 'grade');
    expect(oneClass.code).toBe(1);
    expect(oneClass.err).toBe(
      'tessera: Task grade has only "high" slides in the test part of split demo, so it cannot be measured there; make a split with both classes in every part.\n',
    );
    const none = await cli('train', dir, '--split', 'demo', '--task', 'unused');
    expect(none.err).toBe(
      'tessera: Split demo has no slide labelled for unused: label slides, or choose another split.\n',
    );
    const model = path.join(tempDir(), 'broken-model');
    fs.mkdirSync(model);
    fs.writeFileSync(
      path.join(model, 'config.json'),
      JSON.stringify({ architecture: 'vit_tiny_patch16_224', model_args: { img_size: 32, depth: 1 } }),
    );
    const { writeSafetensors } = await import('../../../src-main/engine/index.js');
    writeSafetensors(path.join(model, 'model.safetensors'), [
      { name: 'cls_token', shape: [1, 1, 192], data: new Float32Array(192) },
    ]);
    const badModel = await cli('train', dir, '--split', 'demo', '--model', model);
    expect(badModel.code).toBe(1);
    expect(badModel.err).toMatch(
      /^tessera: .*model\.safetensors lacks \d+ of the \d+ tensors vit_tiny_patch16_224 .* needs: .*\.\n$/,
    );

    const p2 = await openProject(dir);
    expect(p2.db.prepare('SELECT count(*) AS n FROM jobs').get()).toEqual({ n: 0 });
    expect(p2.db.prepare('SELECT count(*) AS n FROM runs').get()).toEqual({ n: 0 });
    expect(p2.db.prepare('SELECT count(*) AS n FROM models').get()).toEqual({ n: 0 });
    expect(p2.db.prepare('SELECT count(*) AS n FROM splits').get()).toEqual({ n: 1 });
    p2.close();
    expect(fs.readdirSync(path.join(dir, 'models'))).toEqual([]);
  });

  it.skipIf(!tool('tiffinfo'))(
    'a slide whose pixels become unreadable is skipped with a warning naming it; the run completes',
    async () => {
      const dir = project();
      const p = await openProject(dir);
      const victim = getSplitByName(p.db, 'demo').members.train![0]!;
      const file = (
        p.db.prepare('SELECT path FROM slides WHERE id = ?').get(victim.slideId) as { path: string }
      ).path;
      p.close();
      // Its level-0 tiles are zeroed in a copy the project points at: the header and the reduced level still
      // read, so the slide opens and its tissue grid is made, and the reads of its patches fail in training.
      const copy = path.join(path.dirname(dir), 'broken', path.basename(file));
      fs.mkdirSync(path.dirname(copy));
      fs.copyFileSync(file, copy);
      // tiffinfo -s lists directory 0's tiles as "  i: [offset, size]".
      const level0 = execFileSync('tiffinfo', ['-s', copy], { encoding: 'utf8' }).split(
        'TIFF directory 1',
      )[0]!;
      const tiles = [...level0.matchAll(/^\s+\d+: \[\s*(\d+),\s*(\d+)\]/gm)].map((m) => [
        Number(m[1]),
        Number(m[2]),
      ]);
      expect(tiles.length).toBeGreaterThan(4);
      const fd = fs.openSync(copy, 'r+');
      for (const [offset, size] of tiles) fs.writeSync(fd, Buffer.alloc(size!), 0, size!, offset!);
      fs.closeSync(fd);
      const p2 = await openProject(dir);
      p2.db.prepare('UPDATE slides SET path = ? WHERE id = ?').run(copy, victim.slideId);
      p2.close();

      const res = await cli('train', dir, ...SMALL, '--json');
      expect(res.code).toBe(0);
      const out = JSON.parse(res.out) as { warnings: string[]; metrics: Record<string, unknown> };
      expect(out.warnings).toHaveLength(1);
      expect(out.warnings[0]).toMatch(
        new RegExp(`^Skipping slide ${victim.slideName.replace('.', '\\.')} for the rest of the run: `),
      );
      expect(res.err).toMatch(/warning: Skipping slide DEMO-/);
      expect(out.metrics.atypia).toBeDefined();
      const p3 = await openProject(dir);
      expect(p3.db.prepare('SELECT count(*) AS n FROM slides').get()).toEqual({ n: 20 });
      p3.close();
    },
  );
});
