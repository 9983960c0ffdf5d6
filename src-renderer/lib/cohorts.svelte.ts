/**
 * The project's cohorts with their current slide counts, for the Library's cohort filter and bulk
 * "add to cohort", and the Cohorts view. A saved filter's count moves with labels and QC, so any library
 * change refetches (at most once a second).
 */
import type { Cohort } from '../../src-main/contract/contract.js';
import { call } from './api.js';
import { followLibraryChanges } from './library-changes.js';
import { ProjectList } from './project-list.svelte.js';

class CohortsStore extends ProjectList<Cohort> {
  protected async fetch(): Promise<Cohort[]> {
    return (await call('cohorts.list')).cohorts;
  }

  protected follow(): (() => void)[] {
    return [
      followLibraryChanges((change) => {
        if (change.kinds.has('cohorts')) void this.reload();
      }),
      followLibraryChanges((change) => {
        const onlyAnnotations = [...change.kinds].every(
          (k) => k === 'annotations' || k === 'annotation-classes',
        );
        if (!change.kinds.has('cohorts') && !onlyAnnotations && this.list.length > 0) void this.reload();
      }, 1000),
    ];
  }
}

export const cohorts = new CohortsStore();
