/** When a library change must refetch the list's order, and what a stale query loses. */
import { describe, expect, it } from 'vitest';
import type { LibraryChangeKind } from '../../../src-main/contract/contract.js';
import {
  changeReordersList,
  defaultQuery,
  normalizeFilter,
  pruneQuery,
  sameQuery,
  type ListQuery,
} from '../../../src-renderer/lib/list-query.js';

const change = (...kinds: LibraryChangeKind[]) => ({ kinds });

describe('changeReordersList', () => {
  it('ignores label changes for a plain list, so labeling does not refetch every id', () => {
    expect(changeReordersList(defaultQuery(), change('labels'))).toBe(false);
    expect(changeReordersList(defaultQuery(), change('qc', 'patients', 'splits'))).toBe(false);
  });

  it('refetches when the change touches what the list filters or sorts by', () => {
    const missing: ListQuery = { ...defaultQuery(), filter: { missingTaskIds: [1] } };
    expect(changeReordersList(missing, change('labels'))).toBe(true);
    const byTask: ListQuery = { sort: { column: 'task:2', direction: 'asc' }, filter: {} };
    expect(changeReordersList(byTask, change('labels'))).toBe(true);
    const clean: ListQuery = { ...defaultQuery(), filter: { qcClean: true } };
    expect(changeReordersList(clean, change('qc'))).toBe(true);
    expect(changeReordersList(clean, change('labels'))).toBe(false);
    const text: ListQuery = { ...defaultQuery(), filter: { text: 'TCGA' } };
    expect(changeReordersList(text, change('patients'))).toBe(true);
    const cohort: ListQuery = { ...defaultQuery(), filter: { cohortId: 3 } };
    expect(changeReordersList(cohort, change('cohorts'))).toBe(true);
  });

  it('always refetches when slides were added or removed', () => {
    expect(changeReordersList(defaultQuery(), change('slides'))).toBe(true);
  });
});

describe('queries', () => {
  it('compares filters without their empty parts', () => {
    expect(normalizeFilter({ text: '  ', taskValues: [], qc: [], missingTaskIds: [] })).toEqual({});
    expect(sameQuery(defaultQuery(), { ...defaultQuery(), filter: { text: ' ' } })).toBe(true);
    expect(sameQuery(defaultQuery(), { ...defaultQuery(), filter: { qcClean: false } })).toBe(false);
  });

  it('drops the tasks and cohorts that are gone from the filter and the sort', () => {
    const query: ListQuery = {
      sort: { column: 'task:9', direction: 'desc' },
      filter: {
        taskValues: [{ taskId: 9 }, { taskId: 1, values: ['yes'] }],
        missingTaskIds: [9],
        cohortId: 4,
      },
    };
    expect(pruneQuery(query, new Set([1]), new Set([5]))).toEqual({
      sort: { column: 'name', direction: 'asc' },
      filter: { taskValues: [{ taskId: 1, values: ['yes'] }] },
    });
    expect(sameQuery(pruneQuery(query, new Set([1, 9]), new Set([4])), query)).toBe(true);
    // A sort by a deleted task's predictions goes too; label changes reorder a list sorted by predictions.
    const byPrediction: ListQuery = {
      ...defaultQuery(),
      sort: { column: 'prediction:9:model:1', direction: 'asc' },
    };
    expect(pruneQuery(byPrediction, new Set([1])).sort).toEqual({ column: 'name', direction: 'asc' });
    expect(pruneQuery(byPrediction, new Set([9])).sort).toEqual(byPrediction.sort);
    expect(changeReordersList(byPrediction, change('labels'))).toBe(true);
  });
});
