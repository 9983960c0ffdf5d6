/**
 * The job runner: one queue per project, one job process at a time. Jobs and their states live in the
 * project database (jobs-repo), so the queue survives restarts and several processes (the app, a CLI
 * `tessera train`, `tessera runs pause`) can share a project:
 *
 *   queued --claim--> running --done--> completed
 *                        |  \--error / crash / kill--> failed  --resume--> queued
 *                        |---pause--> paused --resume--> queued
 *                        \---cancel--> cancelled          (queued and paused jobs can be cancelled too)
 *
 * A job whose supervisor died (app killed, machine rebooted) is found by its dead pid or stale heartbeat
 * and queued again: its job process resumes from its last checkpoint. A job process that crashes, runs
 * out of memory or is killed fails its job with the cause, and its log is kept.
 */
import fs from 'node:fs';
import path from 'node:path';
import { ApiError } from '../contract/errors.js';
import type { Db } from '../db/connection.js';
import { log } from '../log.js';
import {
  claimJob,
  finishJob,
  insertJob,
  requestJob,
  selectJob,
  selectJobs,
  selectNextQueued,
  selectRequest,
  setProcessPid,
  setProgress,
  touchHeartbeat,
  transitionJob,
  type JobRow,
  type JobState,
} from '../project/jobs-repo.js';
import {
  forkJobProcess,
  jobProcessEntry,
  type JobProcessHandle,
  type JobProcessLauncher,
} from './job-process-launcher.js';
import { isFromJob, type FromJob } from './protocol.js';

export interface JobKind {
  /** Absolute path of the module the job process runs (it exports `runJob`). */
  module: string;
  /** Persists one record the job sent (in the supervising process, in order). Throwing fails the job. */
  onRecord?(db: Db, job: JobRow, record: unknown): void;
  /** Persists the result of a completed job, in the same transaction that marks it completed. */
  onResult?(db: Db, job: JobRow, result: unknown): void;
}

export type JobEvent =
  | { type: 'changed'; job: JobRow }
  | { type: 'progress'; job: JobRow; progress: unknown }
  | { type: 'record'; job: JobRow; record: unknown };

export interface JobRunnerOptions {
  db: Db;
  projectDir: string;
  kinds: Record<string, JobKind>;
  launch?: JobProcessLauncher;
  entry?: string;
  onEvent?: (event: JobEvent) => void;
  /** How often the database is read for requests from other processes and for new queued jobs (ms). */
  pollMs?: number;
  /** Seconds a cancelled job process gets to stop before it is killed. */
  cancelGraceSeconds?: number;
  env?: NodeJS.ProcessEnv;
}

const HEARTBEAT_MS = 5_000;
/** A supervisor whose heartbeat is older than this is presumed gone even if its pid is in use again. */
const STALE_MS = 60_000;

interface Active {
  job: JobRow;
  child: JobProcessHandle;
  outcome: FromJob | null;
  cancelling: boolean;
  lastProgressWrite: number;
  done: Promise<JobRow>;
}

export class JobRunner {
  private readonly db: Db;
  private readonly launch: JobProcessLauncher;
  private active: Active | null = null;
  private timer: NodeJS.Timeout | null = null;
  private looping = false;
  private closed = false;
  private lastHeartbeat = 0;

  constructor(private readonly options: JobRunnerOptions) {
    this.db = options.db;
    this.launch = options.launch ?? forkJobProcess;
  }

  /**
   * Adds a job to the queue. `build` runs in the transaction that inserts the job, with its id, and gives
   * its params and work folder (relative to the project); what it writes (e.g. a run row) commits with it.
   */
  enqueue(kind: string, build: (jobId: number) => { params: unknown; workDir: string }): JobRow {
    if (!this.options.kinds[kind]) throw new Error(`unknown job kind ${kind}`);
    const id = this.db.transaction(() => {
      const id = insertJob(this.db, kind, {}, '');
      const { params, workDir } = build(id);
      this.db
        .prepare('UPDATE jobs SET params = ?, work_dir = ? WHERE id = ?')
        .run(JSON.stringify(params), workDir, id);
      return id;
    })();
    const job = selectJob(this.db, id)!;
    this.emit({ type: 'changed', job });
    this.kick();
    return job;
  }

  /** Starts supervising the queue: jobs left running by a supervisor that died are queued again. */
  start(): void {
    if (this.timer || this.closed) return;
    reconcileOrphans(this.db, (job) => this.emit({ type: 'changed', job }));
    this.timer = setInterval(() => this.tick(), this.options.pollMs ?? 1000);
    this.timer.unref?.();
    this.kick();
  }

  /**
   * Runs one queued job in the foreground (the CLI's `tessera train`), resolving with its final row.
   * Throws when it is not queued (e.g. another process took it first).
   */
  async runOne(id: number): Promise<JobRow> {
    reconcileOrphans(this.db, (job) => this.emit({ type: 'changed', job }));
    const job = selectJob(this.db, id);
    if (!job) throw new Error(`There is no job ${id}.`);
    if (job.state !== 'queued')
      throw new Error(
        `Job ${id} is ${job.state}${job.state === 'running' ? ' in another Tessera process' : ''}.`,
      );
    if (this.active) throw new Error('This runner is already running a job.');
    const polling = setInterval(() => this.tick(), this.options.pollMs ?? 1000);
    try {
      const started = this.startJob(job);
      if (!started) throw new Error(`Job ${id} was started by another Tessera process.`);
      return await started;
    } finally {
      clearInterval(polling);
    }
  }

  get running(): JobRow | null {
    return this.active ? (selectJob(this.db, this.active.job.id) ?? null) : null;
  }

  /** Pause: a queued job waits as paused; a running one checkpoints at its next step and stops. */
  pause(id: number): JobRow {
    const job = this.require(id);
    if (job.state === 'queued') transitionJob(this.db, id, ['queued'], 'paused');
    else if (job.state === 'running') {
      requestJob(this.db, id, 'pause');
      if (this.active?.job.id === id) this.active.child.send({ type: 'pause' });
    } else
      throw new ApiError(
        'conflict',
        `Job ${id} is ${job.state}; only a queued or running job can be paused.`,
      );
    return this.changed(id);
  }

  /** Resume: a paused or failed job is queued again and continues from its last checkpoint. */
  resume(id: number): JobRow {
    const job = this.require(id);
    if (!transitionJob(this.db, id, ['paused', 'failed'], 'queued'))
      throw new ApiError(
        'conflict',
        `Job ${id} is ${job.state}; only a paused or failed job can be resumed.`,
      );
    const row = this.changed(id);
    this.kick();
    return row;
  }

  /** Cancel: final. A running job process is asked to stop, and killed if it does not in time. */
  cancel(id: number): JobRow {
    const job = this.require(id);
    if (job.state === 'running') {
      requestJob(this.db, id, 'cancel');
      if (this.active?.job.id === id) this.cancelActive();
    } else if (!transitionJob(this.db, id, ['queued', 'paused', 'failed'], 'cancelled')) {
      throw new ApiError('conflict', `Job ${id} is already ${job.state}.`);
    }
    return this.changed(id);
  }

  /**
   * Stops supervising. With `pauseRunning`, a running job is asked to checkpoint and stop, and is queued
   * again so the next supervisor resumes it; without, its process is killed and the job is queued again
   * (it resumes from its last checkpoint).
   */
  async close({ pauseRunning = true, timeoutMs = 30_000 } = {}): Promise<void> {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    const active = this.active;
    if (!active) return;
    if (pauseRunning) {
      active.child.send({ type: 'pause' });
      const timeout = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), timeoutMs).unref());
      if ((await Promise.race([active.done.then(() => 'done' as const), timeout])) === 'timeout') {
        active.child.kill('SIGKILL');
      }
    } else active.child.kill('SIGKILL');
    await active.done.catch(() => undefined);
    // Paused only because the app closed: the queue picks it up again next time.
    if (transitionJob(this.db, active.job.id, ['paused'], 'queued')) this.changed(active.job.id);
  }

  private require(id: number): JobRow {
    const job = selectJob(this.db, id);
    if (!job) throw new ApiError('not-found', `There is no job ${id}.`);
    return job;
  }

  private changed(id: number): JobRow {
    const job = selectJob(this.db, id)!;
    this.emit({ type: 'changed', job });
    return job;
  }

  private emit(event: JobEvent): void {
    try {
      this.options.onEvent?.(event);
    } catch (err) {
      log.error('a job event listener failed', err);
    }
  }

  private kick(): void {
    if (!this.timer || this.closed || this.active || this.looping) return;
    this.looping = true;
    try {
      const next = selectNextQueued(this.db, Object.keys(this.options.kinds));
      if (next) void this.startJob(next);
    } finally {
      this.looping = false;
    }
  }

  private tick(): void {
    const active = this.active;
    if (active) {
      const now = Date.now();
      if (now - this.lastHeartbeat >= HEARTBEAT_MS) {
        touchHeartbeat(this.db, active.job.id, now);
        this.lastHeartbeat = now;
      }
      const request = selectRequest(this.db, active.job.id);
      if (request === 'cancel' && !active.cancelling) this.cancelActive();
      else if (request === 'pause') active.child.send({ type: 'pause' });
    } else if (this.timer) {
      reconcileOrphans(this.db, (job) => this.emit({ type: 'changed', job }));
      this.kick();
    }
  }

  private cancelActive(): void {
    const active = this.active;
    if (!active || active.cancelling) return;
    active.cancelling = true;
    active.child.send({ type: 'cancel' });
    const grace = (this.options.cancelGraceSeconds ?? 15) * 1000;
    setTimeout(() => active.child.kill('SIGKILL'), grace).unref();
  }

  /** Claims and starts `job`; resolves with its final row when its process has ended. Null if not claimed. */
  private startJob(job: JobRow): Promise<JobRow> | null {
    const now = Date.now();
    if (!claimJob(this.db, job.id, process.pid, now)) return null;
    this.lastHeartbeat = now;
    const claimed = selectJob(this.db, job.id)!;
    const kind = this.options.kinds[claimed.kind]!;
    const workDir = path.join(this.options.projectDir, claimed.workDir);
    fs.mkdirSync(workDir, { recursive: true });
    const logFile = path.join(workDir, 'job.log');
    fs.appendFileSync(
      logFile,
      `[${new Date().toISOString()}] attempt ${claimed.attempts} of job ${claimed.id} (${claimed.kind}) started by pid ${process.pid}\n`,
    );
    let child: JobProcessHandle;
    try {
      child = this.launch({ entry: this.options.entry ?? jobProcessEntry(), logFile, env: this.options.env });
    } catch (err) {
      finishJob(
        this.db,
        claimed.id,
        'failed',
        `The job process could not be started: ${(err as Error).message}`,
      );
      this.changed(claimed.id);
      return Promise.resolve(selectJob(this.db, claimed.id)!);
    }
    if (child.pid) setProcessPid(this.db, claimed.id, child.pid);
    let resolveDone!: (row: JobRow) => void;
    const done = new Promise<JobRow>((r) => (resolveDone = r));
    const active: Active = {
      job: claimed,
      child,
      outcome: null,
      cancelling: false,
      lastProgressWrite: 0,
      done,
    };
    this.active = active;
    this.emit({ type: 'changed', job: selectJob(this.db, claimed.id)! });

    child.onMessage((message) => this.onMessage(active, kind, message));
    child.onExit((code, signal) => {
      const row = this.onExit(active, kind, logFile, code, signal);
      this.active = null;
      resolveDone(row);
      this.kick();
    });
    child.send({
      type: 'start',
      job: {
        jobId: claimed.id,
        kind: claimed.kind,
        module: kind.module,
        params: JSON.parse(claimed.params) as unknown,
        projectDir: this.options.projectDir,
        workDir,
        attempt: claimed.attempts,
      },
    });
    return done;
  }

  private onMessage(active: Active, kind: JobKind, message: unknown): void {
    if (!isFromJob(message) || active.outcome) return;
    const job = active.job;
    switch (message.type) {
      case 'progress': {
        const now = Date.now();
        if (now - active.lastProgressWrite > 2000) {
          setProgress(this.db, job.id, message.progress);
          active.lastProgressWrite = now;
        }
        this.emit({ type: 'progress', job, progress: message.progress });
        break;
      }
      case 'record':
        try {
          kind.onRecord?.(this.db, job, message.record);
          this.emit({ type: 'record', job, record: message.record });
        } catch (err) {
          log.error(`job ${job.id}: a record could not be saved`, err);
          active.outcome = {
            type: 'failed',
            message: `Its results could not be saved: ${(err as Error).message}`,
          };
          active.child.kill('SIGKILL');
        }
        break;
      case 'done':
        try {
          this.db.transaction(() => {
            kind.onResult?.(this.db, job, message.result);
            finishJob(this.db, job.id, 'completed');
          })();
          active.outcome = message;
        } catch (err) {
          log.error(`job ${job.id}: its result could not be saved`, err);
          active.outcome = {
            type: 'failed',
            message: `Its result could not be saved: ${(err as Error).message}`,
          };
        }
        break;
      default:
        active.outcome = message;
    }
  }

  private onExit(
    active: Active,
    _kind: JobKind,
    logFile: string,
    code: number | null,
    signal: string | null,
  ): JobRow {
    const id = active.job.id;
    const outcome = active.outcome;
    const current = selectJob(this.db, id);
    let state: JobState;
    let error: string | null = null;
    if (outcome?.type === 'done') state = 'completed';
    else if (outcome?.type === 'paused') state = 'paused';
    else if (outcome?.type === 'cancelled' || active.cancelling || current?.request === 'cancel')
      state = 'cancelled';
    else if (outcome?.type === 'failed') {
      state = 'failed';
      error = outcome.message;
    } else {
      state = 'failed';
      const how = signal
        ? `was killed (${signal}${signal === 'SIGKILL' ? ', perhaps by the system for lack of memory' : ''})`
        : `exited with code ${code}`;
      error = `The job process ${how} before the job finished; its log is ${logFile}.`;
    }
    if (state !== 'completed') finishJob(this.db, id, state, error);
    else setProcessPid(this.db, id, null);
    fs.appendFileSync(
      logFile,
      `[${new Date().toISOString()}] job ${id} ${state}${error ? `: ${error}` : ''} (exit ${signal ?? code})\n`,
    );
    return this.changed(id);
  }
}

function pidAlive(pid: number | null): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Jobs marked running whose supervisor is gone (its pid dead, or its heartbeat stale) and whose job process
 * has ended go back to the queue: they resume from their last checkpoint.
 */
export function reconcileOrphans(db: Db, changed: (job: JobRow) => void = () => {}): number {
  let n = 0;
  const now = Date.now();
  for (const job of selectJobs(db, ['running'])) {
    if (job.runnerPid === process.pid) continue;
    const supervisorAlive = pidAlive(job.runnerPid) && now - (job.heartbeatAt ?? 0) < STALE_MS;
    if (supervisorAlive || pidAlive(job.processPid)) continue;
    if (transitionJob(db, job.id, ['running'], 'queued')) {
      n++;
      changed(selectJob(db, job.id)!);
    }
  }
  return n;
}
