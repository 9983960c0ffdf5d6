/**
 * Runs slide imports in the background of the open project, one at a time, reporting progress as
 * onImportProgress events. Closing or switching the project cancels a running import.
 */
import { randomUUID } from 'node:crypto';
import type { ImportProgress } from '../contract/contract.js';
import { ApiError } from '../contract/errors.js';
import { log } from '../log.js';
import { importSlides, type SlideToolkit } from './import.js';
import type { Project } from './project.js';

/**
 * What the runner needs of the app's session (app-state/session.ts, a layer above): the open project and
 * its events. Named here so the project domain does not import the layer that holds it.
 */
export interface ImportHost {
  requireProject(): Project;
  on(event: 'onProjectChanged', listener: () => void): () => void;
  emit(event: 'onImportProgress', payload: ImportProgress): void;
}

export class ImportJobs {
  private running: { id: string; controller: AbortController; done: Promise<ImportProgress> } | null = null;

  constructor(
    private readonly session: ImportHost,
    private readonly toolkit: SlideToolkit,
  ) {
    session.on('onProjectChanged', () => this.running?.controller.abort());
  }

  start(folder: string): { importId: string } {
    const project = this.session.requireProject();
    if (this.running)
      throw new ApiError('conflict', 'An import is already running; wait for it or cancel it.');
    const id = randomUUID();
    const controller = new AbortController();
    const emit = (p: ImportProgress) => this.session.emit('onImportProgress', p);
    const done = importSlides(project, folder, this.toolkit, {
      importId: id,
      signal: controller.signal,
      onProgress: emit,
    })
      .catch((err: unknown) => {
        log.error(`import of ${folder} failed`, err);
        const failed: ImportProgress = {
          importId: id,
          folder,
          total: 0,
          done: 0,
          current: null,
          imported: 0,
          updated: 0,
          errors: [{ file: folder, reason: err instanceof Error ? err.message : String(err) }],
          warnings: [],
          state: 'failed',
        };
        emit(failed);
        return failed;
      })
      .finally(() => {
        if (this.running?.id === id) this.running = null;
      });
    this.running = { id, controller, done };
    return { importId: id };
  }

  cancel(importId: string): void {
    if (this.running?.id === importId) this.running.controller.abort();
  }

  /** Resolves when the import with this id has ended (for the CLI and tests). */
  async wait(importId: string): Promise<ImportProgress | null> {
    return this.running?.id === importId ? this.running.done : null;
  }
}
