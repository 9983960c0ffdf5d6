/**
 * Inference jobs over one project, on the project's job runner (shared with training: one job at a time):
 * start (the model and slides resolved and checked first, then queued), list, pause, resume, cancel, and
 * each job as the contract's summary.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { InferenceJobSummary, InferenceProgress, ModelChoiceInput } from '../contract/contract.js';
import { ApiError } from '../contract/errors.js';
import {
  chooseSlides,
  inferenceParams,
  inferenceWorkDir,
  type SlideChoice,
} from '../inference/inference-setup.js';
import { SKIPPED_FILE, type InferenceParams } from '../inference/job/inference-job.js';
import { resolveModel } from '../inference/model-source.js';
import { selectJob, selectJobs, type JobRow } from '../project/jobs-repo.js';
import { selectPredictionsOfJob } from '../project/predictions-repo.js';
import type { Project } from '../project/project.js';
import type { JobRunner } from './job-runner.js';

export class InferenceJobs {
  constructor(
    readonly project: Project,
    readonly runner: JobRunner,
  ) {}

  /** Queues a job; refused (nothing written) when the model or the slides cannot make one. */
  async start(input: { model: ModelChoiceInput } & SlideChoice): Promise<InferenceJobSummary> {
    const model = await resolveModel(this.project, input.model);
    const slides = chooseSlides(this.project, input);
    const job = this.runner.enqueue('inference', (jobId) => ({
      params: inferenceParams(model, slides),
      workDir: inferenceWorkDir(jobId),
    }));
    return this.summary(job.id);
  }

  list(): InferenceJobSummary[] {
    return selectJobs(this.project.db)
      .filter((j) => j.kind === 'inference')
      .map((j) => this.describe(j))
      .reverse();
  }

  summary(jobId: number): InferenceJobSummary {
    return this.describe(this.row(jobId));
  }

  pause(jobId: number): InferenceJobSummary {
    this.runner.pause(this.row(jobId).id);
    return this.summary(jobId);
  }

  resume(jobId: number): InferenceJobSummary {
    this.runner.resume(this.row(jobId).id);
    return this.summary(jobId);
  }

  cancel(jobId: number): InferenceJobSummary {
    this.runner.cancel(this.row(jobId).id);
    return this.summary(jobId);
  }

  describe(job: JobRow, progress?: unknown): InferenceJobSummary {
    const params = JSON.parse(job.params) as InferenceParams;
    const tasks = Math.max(1, params.model.tasks.length);
    const live = (progress ?? (job.progress ? JSON.parse(job.progress) : null)) as Omit<
      InferenceProgress,
      'jobId'
    > | null;
    let skipped: InferenceJobSummary['skipped'] = [];
    try {
      skipped = JSON.parse(
        fs.readFileSync(path.join(this.project.dir, job.workDir, SKIPPED_FILE), 'utf8'),
      ) as InferenceJobSummary['skipped'];
    } catch {
      // none yet
    }
    return {
      jobId: job.id,
      state: job.state,
      model: params.model.label,
      source: params.model.source,
      slides: params.slides.length,
      predicted: Math.round(selectPredictionsOfJob(this.project.db, job.id).length / tasks),
      progress: live ? { ...live, jobId: job.id } : null,
      error: job.error,
      skipped,
    };
  }

  private row(jobId: number): JobRow {
    const job = selectJob(this.project.db, jobId);
    if (!job || job.kind !== 'inference')
      throw new ApiError('not-found', `There is no inference job ${jobId} in this project.`);
    return job;
  }
}
