/**
 * Training for the app: one TrainingRuns per open project, following the session (a project opened starts
 * supervising its queue, so runs queued or interrupted earlier go on; a project closed lets its running
 * job checkpoint and stop). Events go out through the session.
 */
import type { ModelInfo, RunConfigInput, RunDetail, RunSummary } from '../contract/contract.js';
import { ApiError } from '../contract/errors.js';
import type { AppSession } from '../app-state/session.js';
import { log } from '../log.js';
import { importModel, listModels } from '../training/models/model-import.js';
import type { JobProcessLauncher } from './job-process-launcher.js';
import { TrainingRuns } from './training-runs.js';

export class TrainingService {
  private runs: TrainingRuns | null = null;
  private opening: Promise<TrainingRuns | null> = Promise.resolve(null);
  private readonly unsubscribe: () => void;

  constructor(
    private readonly session: AppSession,
    private readonly launch?: JobProcessLauncher,
  ) {
    this.unsubscribe = session.on('onProjectChanged', (info) => void this.follow(info?.dir ?? null));
    const current = session.current;
    if (current) void this.follow(current.dir);
  }

  private follow(dir: string | null): Promise<TrainingRuns | null> {
    this.opening = this.opening.then(async (previous) => {
      if (previous && previous.project.dir === dir) return previous;
      if (previous)
        await previous.close().catch((err: unknown) => log.error('closing the training runs failed', err));
      this.runs = null;
      if (!dir) return null;
      try {
        this.runs = await TrainingRuns.open(
          dir,
          {
            onRunChanged: (run) => this.session.emit('onRunChanged', run),
            onRunProgress: (p) => this.session.emit('onRunProgress', p),
          },
          { supervise: true, launch: this.launch },
        );
      } catch (err) {
        log.error(`training runs for ${dir} could not start`, err);
      }
      return this.runs;
    });
    return this.opening;
  }

  private async current(): Promise<TrainingRuns> {
    const project = this.session.requireProject();
    const runs = await this.follow(project.dir);
    if (!runs) throw new ApiError('unreadable', `Training is not available for ${project.dir}; see the log.`);
    return runs;
  }

  async start(config: RunConfigInput): Promise<RunSummary> {
    return (await this.current()).start(config);
  }
  async list(): Promise<{ runs: RunSummary[] }> {
    return { runs: (await this.current()).list() };
  }
  async get(id: number): Promise<RunDetail> {
    return (await this.current()).get(id);
  }
  async pause(id: number): Promise<RunSummary> {
    return (await this.current()).pause(id);
  }
  async resume(id: number): Promise<RunSummary> {
    return (await this.current()).resume(id);
  }
  async cancel(id: number): Promise<RunSummary> {
    return (await this.current()).cancel(id);
  }
  async rerun(id: number): Promise<RunSummary> {
    return (await this.current()).rerun(id);
  }
  models(): { models: ModelInfo[] } {
    return { models: listModels(this.session.requireProject()) };
  }
  importModel(folder: string, name?: string): Promise<ModelInfo> {
    return importModel(this.session.requireProject(), folder, name);
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await this.follow(null);
  }
}
