/**
 * Background jobs in the project database: their states and what a supervisor needs to own one safely.
 * A job is claimed (queued -> running) by one compare-and-set update, so two processes supervising the
 * same project never start the same job; a supervisor that died is recognised by its pid and heartbeat.
 */
import type { Db } from '../db/connection.js';

export type JobState = 'queued' | 'running' | 'paused' | 'cancelled' | 'failed' | 'completed';
export type JobRequest = 'pause' | 'cancel';

export interface JobRow {
  id: number;
  kind: string;
  state: JobState;
  params: string;
  workDir: string;
  request: JobRequest | null;
  error: string | null;
  progress: string | null;
  attempts: number;
  runnerPid: number | null;
  processPid: number | null;
  heartbeatAt: number | null;
  queuedAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

const COLUMNS = `id, kind, state, params, work_dir AS workDir, request, error, progress, attempts,
  runner_pid AS runnerPid, process_pid AS processPid, heartbeat_at AS heartbeatAt, queued_at AS queuedAt,
  started_at AS startedAt, finished_at AS finishedAt`;

const NOW = `strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`;

export function insertJob(db: Db, kind: string, params: unknown, workDir: string): number {
  const info = db
    .prepare(`INSERT INTO jobs (kind, state, params, work_dir) VALUES (?, 'queued', ?, ?)`)
    .run(kind, JSON.stringify(params), workDir);
  return Number(info.lastInsertRowid);
}

export function selectJob(db: Db, id: number): JobRow | undefined {
  return db.prepare(`SELECT ${COLUMNS} FROM jobs WHERE id = ?`).get(id) as JobRow | undefined;
}

export function selectJobs(db: Db, states?: JobState[]): JobRow[] {
  if (!states) return db.prepare(`SELECT ${COLUMNS} FROM jobs ORDER BY id`).all() as JobRow[];
  const marks = states.map(() => '?').join(', ');
  return db
    .prepare(`SELECT ${COLUMNS} FROM jobs WHERE state IN (${marks}) ORDER BY id`)
    .all(...states) as JobRow[];
}

/** The oldest queued job (of `kinds` when given), or undefined. */
export function selectNextQueued(db: Db, kinds?: string[], only?: number): JobRow | undefined {
  const where = ["state = 'queued'"];
  const args: unknown[] = [];
  if (kinds) {
    where.push(`kind IN (${kinds.map(() => '?').join(', ')})`);
    args.push(...kinds);
  }
  if (only !== undefined) {
    where.push('id = ?');
    args.push(only);
  }
  return db
    .prepare(`SELECT ${COLUMNS} FROM jobs WHERE ${where.join(' AND ')} ORDER BY id LIMIT 1`)
    .get(...args) as JobRow | undefined;
}

/** queued -> running for this supervisor; false when another process took it first. */
export function claimJob(db: Db, id: number, runnerPid: number, now: number): boolean {
  const info = db
    .prepare(
      `UPDATE jobs SET state = 'running', runner_pid = ?, heartbeat_at = ?, process_pid = NULL,
         attempts = attempts + 1, started_at = ${NOW}, finished_at = NULL, error = NULL, request = NULL
       WHERE id = ? AND state = 'queued'`,
    )
    .run(runnerPid, now, id);
  return info.changes === 1;
}

export function setProcessPid(db: Db, id: number, pid: number | null): void {
  db.prepare('UPDATE jobs SET process_pid = ? WHERE id = ?').run(pid, id);
}

export function touchHeartbeat(db: Db, id: number, now: number): void {
  db.prepare('UPDATE jobs SET heartbeat_at = ? WHERE id = ?').run(now, id);
}

export function setProgress(db: Db, id: number, progress: unknown): void {
  db.prepare('UPDATE jobs SET progress = ? WHERE id = ?').run(JSON.stringify(progress), id);
}

/** A running job reaches an end (or a pause): it no longer has a supervisor or a process. */
export function finishJob(db: Db, id: number, state: JobState, error: string | null = null): void {
  const finished = state === 'completed' || state === 'failed' || state === 'cancelled';
  db.prepare(
    `UPDATE jobs SET state = ?, error = ?, request = NULL, runner_pid = NULL, process_pid = NULL,
       finished_at = CASE WHEN ? THEN ${NOW} ELSE finished_at END
     WHERE id = ?`,
  ).run(state, error, finished ? 1 : 0, id);
}

/** Moves a job between states only from one of `from`; false when it was in none of them. */
export function transitionJob(db: Db, id: number, from: JobState[], to: JobState): boolean {
  const marks = from.map(() => '?').join(', ');
  const finished = to === 'completed' || to === 'failed' || to === 'cancelled';
  const info = db
    .prepare(
      `UPDATE jobs SET state = ?, request = NULL, runner_pid = NULL, process_pid = NULL,
         error = CASE WHEN ? = 'queued' THEN NULL ELSE error END,
         queued_at = CASE WHEN ? = 'queued' THEN ${NOW} ELSE queued_at END,
         finished_at = CASE WHEN ? THEN ${NOW} ELSE finished_at END
       WHERE id = ? AND state IN (${marks})`,
    )
    .run(to, to, to, finished ? 1 : 0, id, ...from);
  return info.changes === 1;
}

/** Asks the supervisor of a running job to pause or cancel it (it polls for this). */
export function requestJob(db: Db, id: number, request: JobRequest): boolean {
  const info = db.prepare(`UPDATE jobs SET request = ? WHERE id = ? AND state = 'running'`).run(request, id);
  return info.changes === 1;
}

export function selectRequest(db: Db, id: number): JobRequest | null {
  const row = db.prepare('SELECT request FROM jobs WHERE id = ?').get(id) as
    { request: JobRequest | null } | undefined;
  return row?.request ?? null;
}
