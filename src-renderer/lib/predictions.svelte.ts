/**
 * Model predictions as the window sees them: the (model, task) pairs that have predictions (the Library's
 * prediction columns) and the project's inference jobs with the running one's progress. Follows
 * onInferenceChanged / onInferenceProgress, and library changes (a slide removed drops its predictions).
 */
import type {
  InferenceJobSummary,
  InferenceProgress,
  PredictionSource,
} from '../../src-main/contract/contract.js';
import { call, on, onResync } from './api.js';
import { errors, reporting } from './errors.svelte.js';
import { notice } from './notices.svelte.js';
import { followLibraryChanges } from './library-changes.js';

class PredictionsStore {
  sources = $state.raw<PredictionSource[]>([]);
  jobs = $state.raw<InferenceJobSummary[]>([]);
  progress = $state.raw<InferenceProgress | null>(null);
  private loadedFor: string | null = null;
  private generation = 0;

  start(): () => void {
    const offChanged = on('onInferenceChanged', (job) => {
      const i = this.jobs.findIndex((j) => j.jobId === job.jobId);
      const before = i < 0 ? null : this.jobs[i]!.state;
      this.jobs = i < 0 ? [job, ...this.jobs] : this.jobs.with(i, job);
      if (before !== job.state) this.announce(job);
      if (job.state !== 'running' && this.progress?.jobId === job.jobId) this.progress = null;
      void this.reloadSources();
    });
    const offProgress = on('onInferenceProgress', (p) => (this.progress = p));
    const offLibrary = followLibraryChanges((change) => {
      if (change.kinds.has('slides') || change.kinds.has('tasks')) void this.reloadSources();
    }, 500);
    const offResync = onResync(() => void this.reload());
    return () => {
      offChanged();
      offProgress();
      offLibrary();
      offResync();
    };
  }

  /** A job's end, said once: its failure as an error, its completion (and slides left out) as a notice. */
  private announce(job: InferenceJobSummary): void {
    if (job.state === 'failed') errors.report(new Error(job.error ?? `Inference job ${job.jobId} failed.`));
    else if (job.state === 'completed') {
      const left = job.skipped.length ? `; ${job.skipped.map((s) => s.message).join(' ')}` : '';
      notice.show(
        `Predicted ${job.predicted} of ${job.slides} slides with ${job.model}${left}`,
        left ? 10_000 : 5000,
      );
    }
  }

  /** The running or queued job, if any (the Library shows its progress). */
  get active(): InferenceJobSummary | null {
    return this.jobs.find((j) => j.state === 'running' || j.state === 'queued') ?? null;
  }

  async ensure(projectDir: string): Promise<void> {
    if (this.loadedFor === projectDir) return;
    this.loadedFor = projectDir;
    await this.reload();
  }

  async reload(): Promise<void> {
    if (this.loadedFor === null) return;
    const jobs = await reporting(() => call('inference.list', {}));
    if (jobs) this.jobs = jobs.jobs;
    await this.reloadSources();
  }

  private async reloadSources(): Promise<void> {
    if (this.loadedFor === null) return;
    const generation = ++this.generation;
    const result = await reporting(() => call('predictions.sources', {}));
    if (result && generation === this.generation) this.sources = result.sources;
  }

  clear(): void {
    this.generation++;
    this.loadedFor = null;
    this.sources = [];
    this.jobs = [];
    this.progress = null;
  }
}

export const predictions = new PredictionsStore();
