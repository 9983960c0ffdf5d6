/**
 * Training runs over one project: start (queue), list, read, pause, resume, cancel and re-run, on top of
 * the job runner. It holds its own connection to the project database, so a run's supervisor outlives
 * the request that started it and closes in its own time (letting the running job checkpoint first).
 */
import type {
  EpochRecord,
  RunConfig,
  RunConfigInput,
  RunDetail,
  RunProgress,
  RunSummary,
} from '../contract/contract.js';
import { ApiError } from '../contract/errors.js';
import { openProject, type Project } from '../project/project.js';
import { selectRun, selectRunByJob, selectRuns, type RunRow } from '../project/runs-repo.js';
import { runDetail, runSummary, trainingJobKind } from '../training/runs/run-records.js';
import { setUpRun } from '../training/runs/run-setup.js';
import { JobRunner, type JobEvent, type JobRunnerOptions } from './job-runner.js';

export interface TrainingRunsEvents {
  onRunChanged(run: RunSummary): void;
  onRunProgress(progress: RunProgress): void;
  onEpoch(runId: number, epoch: EpochRecord): void;
  onWarning(runId: number, message: string): void;
}

export interface TrainingRunsOptions {
  /** Start supervising the queue at once (the app); the CLI runs one job in the foreground instead. */
  supervise: boolean;
  launch?: JobRunnerOptions['launch'];
  env?: NodeJS.ProcessEnv;
  pollMs?: number;
}

export class TrainingRuns {
  readonly runner: JobRunner;

  private constructor(
    readonly project: Project,
    private readonly events: Partial<TrainingRunsEvents>,
    options: TrainingRunsOptions,
  ) {
    this.runner = new JobRunner({
      db: project.db,
      projectDir: project.dir,
      kinds: { training: trainingJobKind },
      launch: options.launch,
      env: options.env,
      pollMs: options.pollMs,
      onEvent: (e) => this.onJobEvent(e),
    });
    if (options.supervise) this.runner.start();
  }

  static async open(
    dir: string,
    events: Partial<TrainingRunsEvents>,
    options: TrainingRunsOptions,
  ): Promise<TrainingRuns> {
    return new TrainingRuns(await openProject(dir), events, options);
  }

  /** Queues a run; refused (nothing written) when its config, split or tasks cannot make a run. */
  start(input: RunConfigInput): RunSummary {
    let runId = 0;
    this.runner.enqueue('training', (jobId) => {
      const set = setUpRun(this.project, jobId, input);
      runId = set.runId;
      return { params: set.params, workDir: set.workDir };
    });
    return this.summary(runId);
  }

  /** The same config (seed, split and fold included) as a new run. */
  rerun(id: number): RunSummary {
    const config = JSON.parse(this.row(id).config) as RunConfig;
    return this.start(configToInput({ ...config, name: `${config.name} (re-run)` }));
  }

  list(): RunSummary[] {
    return selectRuns(this.project.db).map(runSummary);
  }

  get(id: number): RunDetail {
    return runDetail(this.project.db, this.project.dir, this.row(id));
  }

  summary(id: number): RunSummary {
    return runSummary(this.row(id));
  }

  pause(id: number): RunSummary {
    return this.act(id, (job) => this.runner.pause(job));
  }

  resume(id: number): RunSummary {
    return this.act(id, (job) => this.runner.resume(job));
  }

  cancel(id: number): RunSummary {
    return this.act(id, (job) => this.runner.cancel(job));
  }

  /** A job action on the run's job; its refusals speak of the run ("Run 3 is completed; ..."). */
  private act(id: number, action: (jobId: number) => unknown): RunSummary {
    try {
      action(this.row(id).jobId);
    } catch (err) {
      if (err instanceof ApiError && err.code === 'conflict')
        throw new ApiError(
          'conflict',
          err.message.replace(/^Job \d+/, `Run ${id}`).replace(/\bjob\b/g, 'run'),
        );
      throw err;
    }
    return this.summary(id);
  }

  jobOf(id: number): number {
    return this.row(id).jobId;
  }

  /** Stops supervising: a running job checkpoints and is queued again for next time. */
  async close(): Promise<void> {
    await this.runner.close({ pauseRunning: true });
    this.project.close();
  }

  private row(id: number): RunRow {
    const row = selectRun(this.project.db, id);
    if (!row) throw new ApiError('not-found', `There is no run ${id} in this project.`);
    return row;
  }

  private onJobEvent(e: JobEvent): void {
    if (e.job.kind !== 'training') return;
    if (e.type === 'progress') {
      this.events.onRunProgress?.(e.progress as RunProgress);
      return;
    }
    const row = selectRunByJob(this.project.db, e.job.id);
    if (!row) return;
    if (e.type === 'record') {
      const r = e.record as { type: string; epoch?: EpochRecord; message?: string };
      if (r.type === 'warning') return this.events.onWarning?.(row.id, r.message!);
      if (r.type === 'epoch') this.events.onEpoch?.(row.id, r.epoch!);
    }
    this.events.onRunChanged?.(runSummary(row));
  }
}

/** A stored config as input again (nulls are "not set" in the input schema). */
export function configToInput(config: RunConfig): RunConfigInput {
  const { fold, ...rest } = config;
  return fold === null ? rest : { ...rest, fold };
}
