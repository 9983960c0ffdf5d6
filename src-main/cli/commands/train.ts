/**
 * `tessera train` and `tessera runs`: training runs from the command line. `train` queues a run and runs
 * it in the foreground in a job process (the same runner and job as the app), with a progress bar on a
 * terminal and plain lines otherwise; Ctrl-C pauses it at its next step (a checkpoint), a second Ctrl-C
 * stops at once (it resumes from its last checkpoint).
 */
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import {
  MODEL_SIZES,
  RUN_MODES,
  type EpochRecord,
  type RunConfigInput,
  type RunDetail,
  type RunProgress,
  type RunSummary,
} from '../../contract/contract.js';
import { ApiError } from '../../contract/errors.js';
import { TrainingRuns, type TrainingRunsEvents } from '../../jobs/training-runs.js';
import type { JobRow } from '../../project/jobs-repo.js';
import { selectModelByName } from '../../project/models-repo.js';
import { selectRun, selectRuns } from '../../project/runs-repo.js';
import { runDetail, runSummary } from '../../training/runs/run-records.js';
import type { Project } from '../../project/project.js';
import { importModel } from '../../training/models/model-import.js';
import { parseIntegerOption, UsageError } from '../errors.js';
import type { CliIo } from '../index.js';
import { openProjectForReading } from '../read-only-project.js';
import { runsTable, showRun } from './runs-output.js';

interface TrainOptions {
  config?: string;
  task?: string[];
  split?: string;
  fold?: string;
  mode?: string;
  model?: string;
  epochs?: string;
  probeEpochs?: string;
  patchesPerSlide?: string;
  seed?: string;
  inside?: string[];
  outside?: string[];
  json?: boolean;
}

const collect = (v: string, list: string[] = []) => [...list, v];

export function register(program: Command, io: CliIo): void {
  program
    .command('train')
    .description(
      "train a model on the project's labelled slides (end to end or frozen) in a job process, validating every epoch, " +
        'keeping the best epoch and testing it once; without --split a seeded patient-level 0.6/0.2/0.2 split is made and stored',
    )
    .argument('<dir>', 'project folder')
    .option('--config <run.json>', 'run config file (JSON; flags override it)')
    .option('--task <name>', "task to train (repeatable; default: the project's only labelled task)", collect)
    .option('--split <name>', 'stored split to use')
    .option('--fold <k>', 'fold of a k-fold split that is tested (the next one validates)')
    .option('--mode <mode>', `end-to-end or frozen (default end-to-end)`)
    .option(
      '--model <size|folder>',
      `built-in size (${MODEL_SIZES.join(', ')}) or a model folder / imported model name`,
    )
    .option('--epochs <n>', 'epochs (end to end: after the probe epochs)')
    .option(
      '--probe-epochs <n>',
      'end to end: epochs that first train the aggregator alone on the frozen encoder (a linear probe; 0 = none)',
    )
    .option('--patches-per-slide <k>', 'patches drawn from each slide per epoch')
    .option('--seed <s>', 'random seed (sampling, order, init, augmentation, the default split)')
    .option('--inside <class>', 'sample only patches inside annotations of this class (repeatable)', collect)
    .option('--outside <class>', 'leave out patches inside annotations of this class (repeatable)', collect)
    .option(
      '--json',
      'print the run id, the split, the test metrics and predictions as one JSON object at the end',
    )
    .action(async (dir: string, opts: TrainOptions) => {
      const input = readConfig(opts);
      const listeners = new Listeners();
      const runs = await TrainingRuns.open(path.resolve(dir), listeners, { supervise: false });
      try {
        await resolveModelOption(runs.project, opts.model, input);
        const run = runs.start(input);
        await foreground(runs, listeners, run.id, io, !!opts.json);
      } finally {
        await runs.close();
      }
    });

  // Options after `show`, `pause`... are that subcommand's (both `runs DIR --json` and `runs show DIR RUN --json`).
  const runsCmd = program.command('runs').description('training runs of a project').enablePositionalOptions();
  runsCmd
    .argument('<dir>', 'project folder')
    .option('--json', 'print JSON')
    .action(async (dir: string, opts: { json?: boolean }) => {
      const list = await reading(dir, (p) => selectRuns(p.db).map(runSummary));
      io.out(opts.json ? JSON.stringify({ runs: list }, null, 2) + '\n' : runsTable(list));
    });
  // `runs DIR` lists; `runs show|pause|resume|cancel DIR RUN` act on one (commander tries subcommands first).
  runsCmd
    .command('show')
    .description("a run's config, epochs, test metrics, warnings and log")
    .argument('<dir>', 'project folder')
    .argument('<run>', 'run id')
    .option('--json', 'print JSON')
    .action(async (dir: string, run: string, opts: { json?: boolean }) => {
      const detail = await reading(dir, (p) => {
        const row = selectRun(p.db, runId(run));
        if (!row) throw new ApiError('not-found', `There is no run ${run} in ${p.dir}.`);
        return runDetail(p.db, p.dir, row);
      });
      io.out(opts.json ? JSON.stringify(detail, null, 2) + '\n' : showRun(detail));
    });
  runsCmd
    .command('pause')
    .description('pause a run: a running one checkpoints at its next step and stops')
    .argument('<dir>', 'project folder')
    .argument('<run>', 'run id')
    .action(async (dir: string, run: string) => {
      const s = await withRuns(dir, (r) => r.pause(runId(run)));
      io.out(
        s.state === 'running'
          ? `Run ${s.id} will pause at its next step (it is running in another Tessera process).\n`
          : `Run ${s.id} is ${s.state}.\n`,
      );
    });
  runsCmd
    .command('cancel')
    .description('cancel a run (final; what it wrote is kept)')
    .argument('<dir>', 'project folder')
    .argument('<run>', 'run id')
    .action(async (dir: string, run: string) => {
      const s = await withRuns(dir, (r) => r.cancel(runId(run)));
      io.out(
        s.state === 'running'
          ? `Run ${s.id} will stop (it is running in another Tessera process).\n`
          : `Run ${s.id} is ${s.state}.\n`,
      );
    });
  runsCmd
    .command('resume')
    .description('resume a paused or failed run from its last checkpoint, in the foreground')
    .argument('<dir>', 'project folder')
    .argument('<run>', 'run id')
    .option('--json', 'print the result as JSON at the end (as train does)')
    .action(async (dir: string, run: string, opts: { json?: boolean }) => {
      const listeners = new Listeners();
      const runs = await TrainingRuns.open(path.resolve(dir), listeners, { supervise: false });
      try {
        const id = runId(run);
        runs.resume(id);
        await foreground(runs, listeners, id, io, !!opts.json);
      } finally {
        await runs.close();
      }
    });
}

function runId(value: string): number {
  return parseIntegerOption('RUN', value, 1);
}

/** Reading runs needs no supervisor: the project is opened read-only and nothing in it changes. */
async function reading<T>(dir: string, use: (project: Project) => T): Promise<T> {
  const project = await openProjectForReading(dir);
  try {
    return use(project);
  } finally {
    project.close();
  }
}

async function withRuns<T>(dir: string, use: (runs: TrainingRuns) => T): Promise<T> {
  const runs = await TrainingRuns.open(path.resolve(dir), {}, { supervise: false });
  try {
    return use(runs);
  } finally {
    await runs.close();
  }
}

function readConfig(opts: TrainOptions): RunConfigInput {
  let input: RunConfigInput = {};
  if (opts.config) {
    let text: string;
    try {
      text = fs.readFileSync(opts.config, 'utf8');
    } catch (err) {
      throw new UsageError(
        `--config ${opts.config} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}.`,
      );
    }
    try {
      input = JSON.parse(text) as RunConfigInput;
    } catch (err) {
      throw new UsageError(`--config ${opts.config} is not valid JSON: ${(err as Error).message}.`);
    }
    if (!input || typeof input !== 'object' || Array.isArray(input))
      throw new UsageError(`--config ${opts.config} must hold a JSON object.`);
  }
  if (opts.task?.length) input.tasks = opts.task;
  if (opts.split) input.split = opts.split;
  if (opts.fold) input.fold = parseIntegerOption('--fold', opts.fold, 1, 100);
  if (opts.mode) {
    if (!(RUN_MODES as readonly string[]).includes(opts.mode))
      throw new UsageError(`--mode must be ${RUN_MODES.join(' or ')}, got "${opts.mode}".`);
    input.mode = opts.mode as RunConfigInput['mode'];
  }
  if (opts.epochs) input.epochs = parseIntegerOption('--epochs', opts.epochs, 1, 10_000);
  if (opts.probeEpochs !== undefined)
    input.probeEpochs = parseIntegerOption('--probe-epochs', opts.probeEpochs, 0, 10_000);
  if (opts.patchesPerSlide)
    input.patchesPerSlide = parseIntegerOption('--patches-per-slide', opts.patchesPerSlide, 1, 1 << 20);
  if (opts.seed) input.seed = parseIntegerOption('--seed', opts.seed, 0, 2 ** 32 - 1);
  if (opts.inside?.length || opts.outside?.length)
    input.regions = {
      include: opts.inside ?? input.regions?.include ?? [],
      exclude: opts.outside ?? input.regions?.exclude ?? [],
    };
  return input;
}

/** --model: a built-in size, a model already in the project, or a folder (imported first). */
async function resolveModelOption(
  project: Project,
  model: string | undefined,
  input: RunConfigInput,
): Promise<void> {
  if (!model) return;
  if ((MODEL_SIZES as readonly string[]).includes(model)) {
    input.model = { kind: 'builtin', size: model as (typeof MODEL_SIZES)[number] };
    return;
  }
  if (selectModelByName(project.db, model)) {
    input.model = { kind: 'imported', name: model };
    return;
  }
  if (fs.existsSync(model) && fs.statSync(model).isDirectory()) {
    const existing = selectModelByName(project.db, path.basename(path.resolve(model)));
    const info = existing ? { name: existing.name } : await importModel(project, model);
    input.model = { kind: 'imported', name: info.name };
    return;
  }
  throw new UsageError(
    `--model must be a built-in size (${MODEL_SIZES.join(', ')}), a model in the project or a model folder; "${model}" is none of these.`,
  );
}

/** Runs the run's job here and now with progress, then prints its outcome. */
async function foreground(
  runs: TrainingRuns,
  listeners: Listeners,
  id: number,
  io: CliIo,
  json: boolean,
): Promise<void> {
  const jobId = runs.jobOf(id);
  const summary = runs.summary(id);
  const progress = progressView(io, summary);
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts === 1) {
      progress.note('Pausing at the next step (Ctrl-C again to stop at once)…');
      runs.runner.pause(jobId);
    } else runs.runner.close({ pauseRunning: false }).catch(() => undefined);
  };
  process.on('SIGINT', onSigint);
  let final: JobRow;
  try {
    listeners.view = progress;
    final = await runs.runner.runOne(jobId);
  } finally {
    process.off('SIGINT', onSigint);
    listeners.view = null;
    progress.stop();
  }
  const detail = runs.get(id);
  if (final.state === 'completed') {
    io.out(
      json ? JSON.stringify(trainJson(detail), null, 2) + '\n' : completedText(detail, runs.project.dir),
    );
    return;
  }
  if (final.state === 'paused') {
    const text = `Run ${id} paused at epoch ${detail.epochsDone + 1} of ${detail.epochs}; resume it with \`tessera runs resume ${runs.project.dir} ${id}\`.`;
    if (json) io.out(JSON.stringify({ runId: id, state: 'paused', split: detail.splitName }, null, 2) + '\n');
    else io.out(text + '\n');
    return;
  }
  throw new ApiError(
    'conflict',
    final.state === 'cancelled'
      ? `Run ${id} was cancelled.`
      : `Run ${id} failed: ${final.error ?? 'no reason given'}`,
  );
}

function trainJson(d: RunDetail) {
  return {
    runId: d.id,
    state: d.state,
    split: d.splitName,
    fold: d.config.fold,
    seed: d.config.seed,
    mode: d.mode,
    model: d.model,
    bestEpoch: d.bestEpoch,
    metrics: d.testMetrics,
    predictions: d.predictions.map((p) => ({
      slide: p.slideName,
      patient: p.patient,
      task: p.task,
      label: p.label,
      probabilities: p.probabilities,
    })),
    warnings: d.warnings,
  };
}

function completedText(d: RunDetail, dir: string): string {
  const lines = [
    `Run ${d.id} completed (${d.mode}, ${d.model}, split ${d.splitName}, best epoch ${d.bestEpoch ?? '-'}).`,
  ];
  for (const [task, m] of Object.entries(d.testMetrics ?? {})) {
    const ci = m.aurocCi.map((v) => (v === null ? '-' : v.toFixed(3))).join('–');
    lines.push(
      `  ${task}: test AUROC ${m.auroc?.toFixed(3) ?? '-'} (95% CI ${ci}), balanced accuracy ${m.balancedAccuracy?.toFixed(3) ?? '-'}, ${m.slides} slides`,
    );
  }
  for (const w of d.warnings) lines.push(`  warning: ${w}`);
  lines.push(`  details: tessera runs show ${JSON.stringify(dir)} ${d.id}`);
  return lines.join('\n') + '\n';
}

/** The run's events, passed on to the progress view while one is shown. */
class Listeners implements Partial<TrainingRunsEvents> {
  view: ProgressView | null = null;
  onRunProgress(p: RunProgress): void {
    this.view?.update(p);
  }
  onEpoch(_runId: number, e: EpochRecord): void {
    this.view?.epoch(e);
  }
  onWarning(_runId: number, message: string): void {
    this.view?.note(`warning: ${message}`);
  }
}

interface ProgressView {
  update(p: RunProgress): void;
  epoch(e: EpochRecord): void;
  note(text: string): void;
  stop(): void;
}

function fmtLoss(losses: Record<string, number>): string {
  return Object.values(losses)
    .map((l) => (Number.isFinite(l) ? l.toFixed(3) : '-'))
    .join('/');
}

function epochLine(e: EpochRecord, epochs: number): string {
  const val = Object.entries(e.validation)
    .map(([t, v]) => `${t} val loss ${v.loss.toFixed(3)} AUROC ${v.auroc?.toFixed(3) ?? '-'}`)
    .join(', ');
  return (
    `epoch ${e.epoch}/${epochs}${e.probe ? ' (probe)' : ''}: train loss ${fmtLoss(e.trainLoss)}${val ? `; ${val}` : ''}; ` +
    `${e.seconds.toFixed(1)} s, ${e.patchesPerSecond.toFixed(0)} patches/s, ` +
    (e.probe ? `lr ${e.lrAggregator.toExponential(1)} (aggregator)` : `lr ${e.lrEncoder.toExponential(1)}`)
  );
}

/** A cli-progress bar on a terminal; plain lines (phase changes and epochs) otherwise. */
function progressView(io: CliIo, run: RunSummary): ProgressView {
  const tty = io.errIsTTY === true;
  io.err(`Run ${run.id}: ${run.name} (split ${run.splitName})\n`);
  if (!tty) {
    let phase = '';
    return {
      update: (p) => {
        if (p.phase !== phase && p.phase !== 'training') io.err(`${p.phase}…\n`);
        phase = p.phase;
      },
      epoch: (e) => io.err(epochLine(e, run.epochs) + '\n'),
      note: (t) => io.err(t + '\n'),
      stop: () => {},
    };
  }
  const multi = new cliProgress.MultiBar(
    {
      format:
        '{phase} {epoch}/{epochs} [{bar}] {value}/{total} | loss {loss} | {pps} patches/s | {rss} MB | ETA {eta_text} | {slide}',
      hideCursor: true,
      clearOnComplete: true,
      stopOnComplete: false,
      etaBuffer: 20,
    },
    cliProgress.Presets.shades_classic,
  );
  const bar = multi.create(1, 0, {
    phase: 'starting'.padEnd(10),
    epoch: 0,
    epochs: run.epochs,
    loss: '-',
    pps: '0',
    rss: '0',
    eta_text: '-',
    slide: '',
  });
  return {
    update: (p) => {
      bar.setTotal(Math.max(1, p.total));
      bar.update(p.done, {
        phase: p.phase.padEnd(10),
        epoch: p.epoch,
        epochs: p.epochs,
        loss: fmtLoss(p.trainLoss),
        pps: p.patchesPerSecond.toFixed(0),
        rss: (p.rssBytes / 1e6).toFixed(0),
        eta_text: p.etaSeconds === null ? '-' : `${Math.round(p.etaSeconds)}s`,
        slide: p.slide ?? '',
      });
    },
    epoch: (e) => multi.log(epochLine(e, run.epochs) + '\n'),
    note: (t) => multi.log(t + '\n'),
    stop: () => multi.stop(),
  };
}
