/**
 * Training runs as the window sees them: the project's runs (following onRunChanged), the live progress
 * of the running one (onRunProgress), the details of the run in focus, and what a new run can be made of
 * (tasks, splits, models).
 */
import type {
  ModelInfo,
  RunConfigInput,
  RunDefaults,
  RunDetail,
  RunProgress,
  RunSummary,
  SplitSummary,
  Task,
} from '../../src-main/contract/contract.js';
import { call, on, onResync } from './api.js';
import { reporting } from './errors.svelte.js';

class TrainingStore {
  runs = $state<RunSummary[]>([]);
  progress = $state<Record<number, RunProgress>>({});
  /** The run whose details are shown (Training: the live one; Results: the one in focus). */
  focusId = $state<number | null>(null);
  detail = $state<RunDetail | null>(null);
  tasks = $state<Task[]>([]);
  splits = $state<SplitSummary[]>([]);
  models = $state<ModelInfo[]>([]);
  defaults = $state<RunDefaults | null>(null);
  loaded = $state(false);
  private detailTimer: ReturnType<typeof setTimeout> | null = null;

  start(): () => void {
    const offChanged = on('onRunChanged', (run) => {
      const i = this.runs.findIndex((r) => r.id === run.id);
      this.runs = i < 0 ? [...this.runs, run] : this.runs.map((r) => (r.id === run.id ? run : r));
      if (run.state !== 'running') {
        const { [run.id]: _gone, ...rest } = this.progress;
        this.progress = rest;
      }
      if (this.focusId === null && run.state === 'running') this.focusId = run.id;
      if (run.id === this.focusId) this.refreshDetailSoon();
    });
    const offProgress = on('onRunProgress', (p) => {
      this.progress = { ...this.progress, [p.runId]: p };
    });
    const offResync = onResync(() => void this.load());
    void this.load();
    return () => {
      offChanged();
      offProgress();
      offResync();
    };
  }

  async load(): Promise<void> {
    const [runs, tasks, splits, models, defaults] = await Promise.all([
      reporting(() => call('runs.list')),
      reporting(() => call('tasks.list')),
      reporting(() => call('splits.list')),
      reporting(() => call('models.list')),
      reporting(() => call('runs.defaults')),
    ]);
    if (defaults) this.defaults = defaults;
    if (runs) this.runs = runs.runs;
    if (tasks) this.tasks = tasks.tasks;
    if (splits) this.splits = splits.splits;
    if (models) this.models = models.models;
    this.loaded = true;
    if (this.focusId === null) {
      const running = this.runs.find((r) => r.state === 'running') ?? this.runs.at(-1);
      if (running) this.focusId = running.id;
    }
    if (this.focusId !== null) await this.refreshDetail();
  }

  async focus(id: number): Promise<void> {
    this.focusId = id;
    await this.refreshDetail();
  }

  private refreshDetailSoon(): void {
    if (this.detailTimer) return;
    this.detailTimer = setTimeout(() => {
      this.detailTimer = null;
      void this.refreshDetail();
    }, 150);
  }

  async refreshDetail(): Promise<void> {
    const id = this.focusId;
    if (id === null) return;
    const detail = await reporting(() => call('runs.get', { id }));
    if (detail && detail.id === this.focusId) this.detail = detail;
  }

  /** Queues a run; errors propagate so the form can show them beside its fields. */
  async startRun(config: RunConfigInput): Promise<RunSummary> {
    const run = await call('runs.start', { config });
    if (!this.runs.some((r) => r.id === run.id)) this.runs = [...this.runs, run];
    this.focusId = run.id;
    await this.refreshDetail();
    // A default split may have been made.
    const splits = await reporting(() => call('splits.list'));
    if (splits) this.splits = splits.splits;
    return run;
  }

  async act(action: 'pause' | 'resume' | 'cancel' | 'rerun', id: number): Promise<void> {
    const run = await reporting(() => call(`runs.${action}`, { id }));
    if (!run) return;
    this.runs = this.runs.some((r) => r.id === run.id)
      ? this.runs.map((r) => (r.id === run.id ? run : r))
      : [...this.runs, run];
    if (action === 'rerun') this.focusId = run.id;
    await this.refreshDetail();
  }

  async getRun(id: number): Promise<RunDetail | undefined> {
    return reporting(() => call('runs.get', { id }));
  }
}

export const training = new TrainingStore();
