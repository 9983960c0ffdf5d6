/** SQL over model predictions: one row per slide, task and model source (see migration 0080). */
import type { Db } from '../db/connection.js';

export interface PredictionWrite {
  slideId: number;
  taskId: number;
  source: string;
  runId: number | null;
  jobId: number;
  modelKey: string;
  /** One per task value, in the task's order. */
  probabilities: number[];
  value: string;
}

export interface PredictionRow extends Omit<PredictionWrite, 'probabilities'> {
  probabilities: number[];
  createdAt: string;
}

interface RawRow extends Omit<PredictionRow, 'probabilities'> {
  probabilities: string;
}

const COLUMNS = `slide_id AS slideId, task_id AS taskId, source, run_id AS runId, job_id AS jobId,
  model_key AS modelKey, probabilities, value, created_at AS createdAt`;

const parse = (r: RawRow): PredictionRow => ({
  ...r,
  probabilities: JSON.parse(r.probabilities) as number[],
});

/** Writes (or replaces: the latest job's answer wins) one prediction. */
export function upsertPrediction(db: Db, p: PredictionWrite): void {
  db.prepare(
    `INSERT INTO predictions (slide_id, task_id, source, run_id, job_id, model_key, probabilities, value)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (slide_id, task_id, source) DO UPDATE SET run_id = excluded.run_id, job_id = excluded.job_id,
       model_key = excluded.model_key, probabilities = excluded.probabilities, value = excluded.value,
       created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
  ).run(
    p.slideId,
    p.taskId,
    p.source,
    p.runId,
    p.jobId,
    p.modelKey,
    JSON.stringify(p.probabilities),
    p.value,
  );
}

export function selectPredictionsOfSlides(db: Db, slideIds: readonly number[]): PredictionRow[] {
  if (!slideIds.length) return [];
  const rows: PredictionRow[] = [];
  for (let i = 0; i < slideIds.length; i += 500) {
    const part = slideIds.slice(i, i + 500);
    const sql = `SELECT ${COLUMNS} FROM predictions WHERE slide_id IN (${part.map(() => '?').join(',')})`;
    rows.push(...(db.prepare(sql).all(...part) as RawRow[]).map(parse));
  }
  return rows;
}

export function selectPredictionsOfSource(db: Db, source: string, taskId?: number): PredictionRow[] {
  const rows =
    taskId === undefined
      ? db.prepare(`SELECT ${COLUMNS} FROM predictions WHERE source = ? ORDER BY slide_id`).all(source)
      : db
          .prepare(`SELECT ${COLUMNS} FROM predictions WHERE source = ? AND task_id = ? ORDER BY slide_id`)
          .all(source, taskId);
  return (rows as RawRow[]).map(parse);
}

export function selectPredictionsOfJob(db: Db, jobId: number): PredictionRow[] {
  return (
    db
      .prepare(`SELECT ${COLUMNS} FROM predictions WHERE job_id = ? ORDER BY slide_id, task_id`)
      .all(jobId) as RawRow[]
  ).map(parse);
}

/** The (source, task) pairs that have predictions: the library's prediction columns. */
export function selectPredictionSources(
  db: Db,
): { source: string; runId: number | null; taskId: number; modelKey: string; slides: number }[] {
  return db
    .prepare(
      `SELECT source, max(run_id) AS runId, task_id AS taskId, max(model_key) AS modelKey, count(*) AS slides
       FROM predictions GROUP BY source, task_id ORDER BY source, task_id`,
    )
    .all() as { source: string; runId: number | null; taskId: number; modelKey: string; slides: number }[];
}
