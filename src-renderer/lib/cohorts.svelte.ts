/**
 * The project's cohorts with their current slide counts, for the Library's cohort filter and bulk
 * "add to cohort", and the Cohorts view. A saved filter's count moves with labels and QC, so any library
 * change refetches (at most once a second).
 */
import type { Cohort } from '../../src-main/contract/contract.js';
import { call, onResync } from './api.js';
import { reporting } from './errors.svelte.js';
import { followLibraryChanges } from './library-changes.js';

class CohortsStore {
  list = $state.raw<Cohort[]>([]);
  loaded = $state(false);
  private generation = 0;
  private loadedFor: string | null = null;

  start(): () => void {
    const offNow = followLibraryChanges((change) => {
      if (change.kinds.has('cohorts')) void this.reload();
    });
    const offLater = followLibraryChanges((change) => {
      const onlyAnnotations = [...change.kinds].every(
        (k) => k === 'annotations' || k === 'annotation-classes',
      );
      if (!change.kinds.has('cohorts') && !onlyAnnotations && this.list.length > 0) void this.reload();
    }, 1000);
    const offResync = onResync(() => void this.reload());
    return () => {
      offNow();
      offLater();
      offResync();
    };
  }

  byId(id: number): Cohort | undefined {
    return this.list.find((c) => c.id === id);
  }

  async ensure(projectDir: string): Promise<void> {
    if (this.loadedFor === projectDir) return;
    this.loadedFor = projectDir;
    await this.reload();
  }

  async reload(): Promise<void> {
    if (this.loadedFor === null) return;
    const generation = ++this.generation;
    const result = await reporting(() => call('cohorts.list'));
    if (generation !== this.generation || !result) return;
    this.list = result.cohorts;
    this.loaded = true;
  }

  clear(): void {
    this.generation++;
    this.loadedFor = null;
    this.list = [];
    this.loaded = false;
  }
}

export const cohorts = new CohortsStore();
