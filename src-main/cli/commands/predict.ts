/**
 * `tessera predict`: a model (a completed run's, or a checkpoint folder) applied to slides (chosen ids, a
 * cohort, or the whole project) in a job process, in the foreground, on the same queue and job as the app.
 * Each slide's probabilities are stored as predictions and its heatmap raster kept in the project's cache;
 * `--json` prints one JSON object per slide. Ctrl-C pauses at the next slide (resumable).
 */
import type { Command } from 'commander';
import path from 'node:path';
import { ApiError } from '../../contract/errors.js';
import type { ModelChoiceInput } from '../../contract/contract.js';
import { InferenceJobs } from '../../jobs/inference-jobs.js';
import type { JobEvent } from '../../jobs/job-runner.js';
import { TrainingRuns } from '../../jobs/training-runs.js';
import type { InferenceParams, InferenceProgress } from '../../inference/job/inference-job.js';
import { selectPredictionsOfJob } from '../../project/predictions-repo.js';
import { parseIntegerOption, UsageError } from '../errors.js';
import type { CliIo } from '../index.js';

interface PredictOptions {
  run?: string;
  model?: string;
  cohort?: string;
  slides?: string;
  json?: boolean;
}

export function register(program: Command, io: CliIo): void {
  program
    .command('predict')
    .description(
      "apply a model to slides: every tissue patch at the model's resolution; each slide's probabilities are " +
        "stored as predictions and its attention and per-patch scores kept as a heatmap in the project's cache",
    )
    .argument('<dir>', 'project folder')
    .option('--run <id>', "a completed run's kept model")
    .option('--model <folder>', 'a checkpoint folder (config.json, model.safetensors, tasks.json)')
    .option('--cohort <name>', 'the slides of a cohort (default: every slide)')
    .option('--slides <ids>', 'slide ids, comma-separated')
    .option('--json', 'print one JSON object per slide with its probabilities')
    .action(async (dir: string, opts: PredictOptions) => {
      const model = modelOption(opts);
      const slideIds = opts.slides
        ?.split(',')
        .filter((s) => s.trim())
        .map((s) => parseIntegerOption('--slides', s, 1));
      if (opts.slides !== undefined && !slideIds?.length) throw new UsageError('--slides names no slide.');
      let onJob: ((e: JobEvent) => void) | null = null;
      const runs = await TrainingRuns.open(
        path.resolve(dir),
        { onOtherJob: (e) => onJob?.(e) },
        { supervise: false },
      );
      try {
        const jobs = new InferenceJobs(runs.project, runs.runner);
        const started = await jobs.start({ model, slideIds, cohort: opts.cohort });
        onJob = (e) => {
          if (e.type === 'progress' && !opts.json) {
            const p = e.progress as InferenceProgress;
            io.err(`${p.phase} ${p.done}/${p.total}${p.slide ? ` ${p.slide}` : ''}\n`);
          }
        };
        const onSigint = () => runs.runner.pause(started.jobId);
        process.on('SIGINT', onSigint);
        let final;
        try {
          final = await runs.runner.runOne(started.jobId);
        } finally {
          process.off('SIGINT', onSigint);
        }
        if (final.state === 'paused') {
          io.out(
            `Inference job ${final.id} paused; it resumes where it stopped when the app opens the project.\n`,
          );
          return;
        }
        if (final.state !== 'completed')
          throw new ApiError(
            'conflict',
            final.state === 'cancelled'
              ? `Inference job ${final.id} was cancelled.`
              : (final.error ?? 'failed'),
          );
        for (const s of jobs.describe(final).skipped) io.err(`${s.message}\n`);
        printSlides(io, JSON.parse(final.params) as InferenceParams, final.id, runs, !!opts.json);
      } finally {
        await runs.close();
      }
    });
}

function modelOption(opts: PredictOptions): ModelChoiceInput {
  if (!!opts.run === !!opts.model)
    throw new UsageError('Name the model with either --run R or --model FOLDER.');
  if (opts.cohort && opts.slides) throw new UsageError('Choose slides with --cohort or --slides, not both.');
  if (opts.run) return { kind: 'run', runId: parseIntegerOption('--run', opts.run, 1) };
  return { kind: 'folder', dir: path.resolve(opts.model!) };
}

function printSlides(
  io: CliIo,
  params: InferenceParams,
  jobId: number,
  runs: TrainingRuns,
  json: boolean,
): void {
  const rows = selectPredictionsOfJob(runs.project.db, jobId);
  const tasks = params.model.tasks;
  for (const slide of params.slides) {
    const mine = rows.filter((r) => r.slideId === slide.id);
    if (!mine.length) continue;
    const probabilities: Record<string, Record<string, number>> = {};
    for (const t of tasks) {
      const p = mine.find((r) => r.taskId === t.taskId);
      if (p)
        probabilities[t.name] = Object.fromEntries(t.values.map((v, i) => [v, round(p.probabilities[i]!)]));
    }
    if (json)
      io.out(
        JSON.stringify({ slideId: slide.id, slide: slide.name, model: params.model.source, probabilities }) +
          '\n',
      );
    else
      io.out(
        `${slide.name}\t${mine
          .map((p) => `${tasks.find((t) => t.taskId === p.taskId)?.name ?? p.taskId} = ${p.value}`)
          .join(', ')}\t${Object.entries(probabilities)
          .map(
            ([t, v]) =>
              `${t}: ${Object.entries(v)
                .map(([k, x]) => `${k} ${x.toFixed(3)}`)
                .join(' ')}`,
          )
          .join('; ')}\n`,
      );
  }
}

function round(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
