/**
 * Inference for the app: the open project's inference jobs on the queue training supervises (so a model
 * never trains and predicts at once on the same machine), with their events sent through the session.
 */
import type { InferenceJobSummary, InferenceProgress, ModelChoiceInput } from '../contract/contract.js';
import type { AppSession } from '../app-state/session.js';
import type { SlideChoice } from '../inference/inference-setup.js';
import { log } from '../log.js';
import { InferenceJobs } from './inference-jobs.js';
import type { TrainingService } from './training-service.js';

export class InferenceService {
  private readonly unsubscribe: () => void;
  private jobs: InferenceJobs | null = null;

  constructor(
    private readonly session: AppSession,
    private readonly training: TrainingService,
  ) {
    this.unsubscribe = training.onOtherJob((e) => {
      if (e.job.kind !== 'inference' || !this.jobs) return;
      try {
        if (e.type === 'progress') {
          this.session.emit('onInferenceProgress', {
            ...(e.progress as Omit<InferenceProgress, 'jobId'>),
            jobId: e.job.id,
          });
        } else this.session.emit('onInferenceChanged', this.jobs.summary(e.job.id));
        if (e.type === 'record')
          this.session.emit('onLibraryChanged', {
            kinds: ['labels'],
            slideIds: [(e.record as { slideId: number }).slideId],
            undo: this.session.edits.state(),
          });
      } catch (err) {
        log.error('an inference event could not be sent', err);
      }
    });
  }

  private async current(): Promise<InferenceJobs> {
    const runs = await this.training.current();
    if (this.jobs?.project !== runs.project) this.jobs = new InferenceJobs(runs.project, runs.runner);
    return this.jobs;
  }

  async start(input: { model: ModelChoiceInput } & SlideChoice): Promise<InferenceJobSummary> {
    return (await this.current()).start(input);
  }
  async list(): Promise<{ jobs: InferenceJobSummary[] }> {
    return { jobs: (await this.current()).list() };
  }
  async pause(jobId: number): Promise<InferenceJobSummary> {
    return (await this.current()).pause(jobId);
  }
  async resume(jobId: number): Promise<InferenceJobSummary> {
    return (await this.current()).resume(jobId);
  }
  async cancel(jobId: number): Promise<InferenceJobSummary> {
    return (await this.current()).cancel(jobId);
  }

  close(): void {
    this.unsubscribe();
  }
}
