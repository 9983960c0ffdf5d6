/**
 * The slide import the user started from this window, followed through onImportProgress. It lives
 * outside the Library view so leaving the view does not lose the progress, and its final summary
 * stays until the user dismisses it.
 */
import type { ImportProgress } from '../../src-main/contract/contract.js';
import { call, on } from './api.js';
import { errors } from './errors.svelte.js';

class SlideImportStore {
  /** The newest progress of the followed import; null when there is nothing to show. */
  progress = $state<ImportProgress | null>(null);
  /** True between asking for an import and the server's answer. */
  starting = $state(false);
  private importId: string | null = null;
  private finishedListeners = new Set<(progress: ImportProgress) => void>();

  get running(): boolean {
    return this.starting || this.progress?.state === 'running';
  }

  /** Follows progress events; returns the function that stops following. */
  start(): () => void {
    return on('onImportProgress', (progress) => this.receive(progress));
  }

  /** Runs `listener` each time a followed import ends (finished, cancelled or failed). */
  onEnded(listener: (progress: ImportProgress) => void): () => void {
    this.finishedListeners.add(listener);
    return () => this.finishedListeners.delete(listener);
  }

  async begin(folder: string): Promise<void> {
    if (this.running) return;
    this.starting = true;
    this.progress = null;
    this.importId = null;
    try {
      const { importId } = await call('slides.import', { folder });
      this.importId = importId;
      // Events that arrived before the answer belong to this import only if their id matches.
      const early = this.progress as ImportProgress | null;
      if (early && early.importId !== importId) this.progress = null;
    } catch (err) {
      errors.report(err);
    } finally {
      this.starting = false;
    }
  }

  async cancel(): Promise<void> {
    const id = this.progress?.importId ?? this.importId;
    if (!id) return;
    try {
      await call('slides.cancelImport', { importId: id });
    } catch (err) {
      errors.report(err);
    }
  }

  dismiss(): void {
    if (this.progress?.state === 'running') return;
    this.progress = null;
    this.importId = null;
  }

  private receive(progress: ImportProgress): void {
    // An import started in another window of this project is shown too, unless one of ours is on screen.
    const ours = this.importId === null || progress.importId === this.importId;
    if (!ours && this.progress?.state === 'running') return;
    this.importId = progress.importId;
    this.progress = progress;
    if (progress.state !== 'running') for (const listener of this.finishedListeners) listener(progress);
  }
}

export const slideImport = new SlideImportStore();
