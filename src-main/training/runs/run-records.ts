/**
 * The supervisor's side of a training job: the job module it runs, how it persists what the job sends
 * (warnings, each epoch's record, the test result), and how a run reads back as the contract's RunSummary
 * and RunDetail.
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type {
  EpochRecord,
  RunConfig,
  RunDetail,
  RunProgress,
  RunSummary,
  TaskMetrics,
} from '../../contract/contract.js';
import type { Db } from '../../db/connection.js';
import {
  addWarning,
  selectEpochs,
  selectPredictions,
  selectRunByJob,
  setTestResult,
  upsertEpoch,
  type RunRow,
} from '../../project/runs-repo.js';
import type { TrainingRecord, TrainingResult } from './job/training-job.js';
import { totalEpochs } from './run-config.js';

/** The module the job process loads for a training job (the compiled .js, or .ts from source). */
export function trainingJobModule(): string {
  const ext = import.meta.url.endsWith('.ts') ? '.ts' : '.js';
  return fileURLToPath(new URL(`./job/training-job${ext}`, import.meta.url));
}

/** The job kind "training" as the job runner takes it (structurally its JobKind). */
export const trainingJobKind = {
  module: trainingJobModule(),
  onRecord(db: Db, job: { id: number }, record: unknown): void {
    const run = selectRunByJob(db, job.id);
    if (!run) return;
    const r = record as TrainingRecord;
    if (r.type === 'warning') addWarning(db, run.id, r.message);
    else if (r.type === 'epoch') upsertEpoch(db, run.id, r.epoch.epoch, r.epoch, r.best);
  },
  onResult(db: Db, job: { id: number }, result: unknown): void {
    const run = selectRunByJob(db, job.id);
    if (!run) return;
    const r = result as TrainingResult;
    setTestResult(db, run.id, r.bestEpoch, r.testMetrics, r.predictions);
  },
};

function modelLabel(config: RunConfig): string {
  return config.model.kind === 'builtin' ? `builtin:${config.model.size}` : config.model.name;
}

export function runSummary(row: RunRow): RunSummary {
  const config = JSON.parse(row.config) as RunConfig;
  const metrics = row.testMetrics ? (JSON.parse(row.testMetrics) as Record<string, TaskMetrics>) : null;
  const warnings = JSON.parse(row.warnings) as string[];
  return {
    id: row.id,
    name: row.name,
    state: row.state,
    error: row.error ?? (warnings.length ? warnings.at(-1)! : null),
    mode: config.mode,
    model: modelLabel(config),
    tasks: config.tasks,
    splitName: row.splitName,
    epochs: totalEpochs(config),
    epochsDone: row.epochsDone,
    bestEpoch: row.bestEpoch,
    testAuroc: metrics ? Object.fromEntries(Object.entries(metrics).map(([t, m]) => [t, m.auroc])) : {},
    attempts: row.attempts,
    createdAt: row.createdAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    progress: row.state === 'running' && row.progress ? (JSON.parse(row.progress) as RunProgress) : null,
  };
}

function tail(file: string, lines: number): string {
  try {
    const stat = fs.statSync(file);
    const size = Math.min(stat.size, 64 * 1024);
    const fd = fs.openSync(file, 'r');
    const buf = Buffer.alloc(size);
    fs.readSync(fd, buf, 0, size, stat.size - size);
    fs.closeSync(fd);
    return buf
      .toString('utf8')
      .split('\n')
      .slice(-lines - 1)
      .join('\n');
  } catch {
    return '';
  }
}

export function runDetail(db: Db, projectDir: string, row: RunRow): RunDetail {
  const members = JSON.parse(row.members) as Record<string, number[]>;
  const logFile = path.join(projectDir, row.workDir, 'job.log');
  return {
    ...runSummary(row),
    config: JSON.parse(row.config) as RunConfig,
    codeVersion: row.codeVersion,
    partSizes: Object.fromEntries(Object.entries(members).map(([p, ids]) => [p, ids.length])),
    history: selectEpochs(db, row.id).map((r) => JSON.parse(r) as EpochRecord),
    testMetrics: row.testMetrics ? (JSON.parse(row.testMetrics) as Record<string, TaskMetrics>) : null,
    predictions: selectPredictions(db, row.id),
    warnings: JSON.parse(row.warnings) as string[],
    logFile,
    logTail: tail(logFile, 40),
  };
}
