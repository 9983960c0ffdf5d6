/**
 * The messages between a supervisor (the main process, or the CLI) and the job process it forked. The
 * job process gets one `start`, then at most `pause` or `cancel`; it answers with progress and records
 * while it works and exactly one of done / paused / cancelled / failed at its end.
 */

/** What a job process is asked to run. */
export interface JobStart {
  jobId: number;
  kind: string;
  /** Absolute path of the module that runs this kind of job (it exports `runJob`). */
  module: string;
  params: unknown;
  projectDir: string;
  /** Absolute folder of this job's files (checkpoints, log): kept across attempts, so a job can resume. */
  workDir: string;
  /** 1 for the first start, then one more for every resume. */
  attempt: number;
}

export type ToJob = { type: 'start'; job: JobStart } | { type: 'pause' } | { type: 'cancel' };

export type FromJob =
  | { type: 'progress'; progress: unknown }
  /** Something the supervisor persists for this job (e.g. an epoch's metrics), in the order sent. */
  | { type: 'record'; record: unknown }
  | { type: 'done'; result: unknown }
  | { type: 'paused' }
  | { type: 'cancelled' }
  | { type: 'failed'; message: string };

/** What a job module gets: its input, where to write, how to report, and whether to stop. */
export interface JobContext<P = unknown> {
  jobId: number;
  params: P;
  projectDir: string;
  workDir: string;
  attempt: number;
  /** Aborted when the job is cancelled: stop at once; what was written stays. */
  signal: AbortSignal;
  /** True once a pause was asked for (or the supervisor went away): checkpoint at the next safe point and return 'paused'. */
  pauseRequested(): boolean;
  progress(progress: unknown): void;
  record(record: unknown): void;
  /** A line for the job's log file. */
  log(line: string): void;
}

/** A job module's entry: returns the result (completed) or 'paused' (checkpoint written, resumable). */
export type RunJob = (context: JobContext) => Promise<{ result: unknown } | 'paused'>;

export function isFromJob(value: unknown): value is FromJob {
  if (!value || typeof value !== 'object') return false;
  const type = (value as { type?: unknown }).type;
  return (
    type === 'progress' ||
    type === 'record' ||
    type === 'done' ||
    type === 'paused' ||
    type === 'cancelled' ||
    (type === 'failed' && typeof (value as { message?: unknown }).message === 'string')
  );
}
