/** SQL over training runs: the run rows beside their jobs, per-epoch records, test results, predictions. */
import type { Db } from '../db/connection.js';
import type { JobState } from './jobs-repo.js';

export interface RunRow {
  id: number;
  jobId: number;
  name: string;
  config: string;
  codeVersion: string;
  splitName: string;
  members: string;
  bestEpoch: number | null;
  testMetrics: string | null;
  warnings: string;
  createdAt: string;
  /** From the run's job. */
  state: JobState;
  error: string | null;
  progress: string | null;
  attempts: number;
  workDir: string;
  processPid: number | null;
  startedAt: string | null;
  finishedAt: string | null;
  epochsDone: number;
}

const COLUMNS = `r.id, r.job_id AS jobId, r.name, r.config, r.code_version AS codeVersion, r.split_name AS splitName,
  r.members, r.best_epoch AS bestEpoch, r.test_metrics AS testMetrics, r.warnings, r.created_at AS createdAt,
  j.state, j.error, j.progress, j.attempts, j.work_dir AS workDir, j.process_pid AS processPid,
  j.started_at AS startedAt, j.finished_at AS finishedAt,
  (SELECT count(*) FROM run_epochs e WHERE e.run_id = r.id) AS epochsDone`;

export function insertRun(
  db: Db,
  r: {
    jobId: number;
    name: string;
    config: unknown;
    codeVersion: string;
    splitName: string;
    members: unknown;
  },
): number {
  const info = db
    .prepare(
      `INSERT INTO runs (job_id, name, config, code_version, split_name, members) VALUES (?, ?, ?, ?, ?, ?)`,
    )
    .run(r.jobId, r.name, JSON.stringify(r.config), r.codeVersion, r.splitName, JSON.stringify(r.members));
  return Number(info.lastInsertRowid);
}

export function selectRuns(db: Db): RunRow[] {
  return db
    .prepare(`SELECT ${COLUMNS} FROM runs r JOIN jobs j ON j.id = r.job_id ORDER BY r.id`)
    .all() as RunRow[];
}

export function selectRun(db: Db, id: number): RunRow | undefined {
  return db.prepare(`SELECT ${COLUMNS} FROM runs r JOIN jobs j ON j.id = r.job_id WHERE r.id = ?`).get(id) as
    RunRow | undefined;
}

export function selectRunByJob(db: Db, jobId: number): RunRow | undefined {
  return db
    .prepare(`SELECT ${COLUMNS} FROM runs r JOIN jobs j ON j.id = r.job_id WHERE r.job_id = ?`)
    .get(jobId) as RunRow | undefined;
}

/** An epoch's record; a resumed run that repeats an epoch replaces it. */
export function upsertEpoch(
  db: Db,
  runId: number,
  epoch: number,
  record: unknown,
  bestEpoch: number | null,
): void {
  db.transaction(() => {
    db.prepare('INSERT OR REPLACE INTO run_epochs (run_id, epoch, record) VALUES (?, ?, ?)').run(
      runId,
      epoch,
      JSON.stringify(record),
    );
    db.prepare('UPDATE runs SET best_epoch = ? WHERE id = ?').run(bestEpoch, runId);
  })();
}

export function selectEpochs(db: Db, runId: number): string[] {
  return (
    db.prepare('SELECT record FROM run_epochs WHERE run_id = ? ORDER BY epoch').all(runId) as {
      record: string;
    }[]
  ).map((r) => r.record);
}

/** Adds a warning unless the run has it already (a resumed run says the same things again). */
export function addWarning(db: Db, runId: number, message: string): void {
  const row = db.prepare('SELECT warnings FROM runs WHERE id = ?').get(runId) as
    { warnings: string } | undefined;
  if (!row) return;
  const list = JSON.parse(row.warnings) as string[];
  if (list.includes(message)) return;
  list.push(message);
  db.prepare('UPDATE runs SET warnings = ? WHERE id = ?').run(JSON.stringify(list), runId);
}

export interface PredictionInsert {
  part: string;
  slideId: number;
  slideName: string;
  patient: string | null;
  task: string;
  label: string | null;
  probabilities: Record<string, number>;
}

/** The test metrics and predictions, replacing any earlier ones (the caller's transaction). */
export function setTestResult(
  db: Db,
  runId: number,
  bestEpoch: number | null,
  metrics: unknown,
  predictions: PredictionInsert[],
): void {
  db.prepare('UPDATE runs SET test_metrics = ?, best_epoch = ? WHERE id = ?').run(
    JSON.stringify(metrics),
    bestEpoch,
    runId,
  );
  db.prepare('DELETE FROM run_predictions WHERE run_id = ?').run(runId);
  const insert = db.prepare(
    `INSERT INTO run_predictions (run_id, part, slide_id, slide_name, patient, task, label, probabilities)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  for (const p of predictions)
    insert.run(
      runId,
      p.part,
      p.slideId,
      p.slideName,
      p.patient,
      p.task,
      p.label,
      JSON.stringify(p.probabilities),
    );
}

export function selectPredictions(db: Db, runId: number): PredictionInsert[] {
  return (
    db
      .prepare(
        `SELECT part, slide_id AS slideId, slide_name AS slideName, patient, task, label, probabilities
         FROM run_predictions WHERE run_id = ? ORDER BY part, slide_name, task`,
      )
      .all(runId) as (Omit<PredictionInsert, 'probabilities'> & { probabilities: string })[]
  ).map((r) => ({ ...r, probabilities: JSON.parse(r.probabilities) as Record<string, number> }));
}
