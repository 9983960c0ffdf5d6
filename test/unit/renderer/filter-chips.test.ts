/** The Library's filter chips and the filter the API takes, both ways. */
import { describe, expect, it } from 'vitest';
import type { SlideFilter } from '../../../src-main/contract/contract.js';
import {
  chipsToFilter,
  describeFilter,
  filterToChips,
  parseQcChoiceKey,
  parseTaskChoiceKey,
  qcChoiceKey,
  taskChoiceKey,
} from '../../../src-renderer/lib/filter-chips.js';

describe('filter chips', () => {
  it('turn into the filter and back', () => {
    const filter: SlideFilter = {
      text: 'TCGA',
      cohortId: 2,
      taskValues: [{ taskId: 1, values: ['yes'] }, { taskId: 3 }, { taskId: 4, min: 2 }],
      missingTaskIds: [5],
      qcClean: false,
      qc: [{ flag: 'exclude', set: false }],
      patient: null,
    };
    expect(chipsToFilter(filterToChips(filter), 'TCGA')).toEqual(filter);
  });

  it('read "no value for T" as the missing-task filter', () => {
    expect(chipsToFilter([{ kind: 'task', taskId: 7, choice: { kind: 'none' } }], '')).toEqual({
      missingTaskIds: [7],
    });
  });

  it('give every select value a way back', () => {
    for (const c of [
      { kind: 'any' as const },
      { kind: 'none' as const },
      { kind: 'values' as const, values: ['a b'] },
      { kind: 'values' as const, values: ['x', 'y'] },
    ])
      expect(parseTaskChoiceKey(taskChoiceKey(c))).toEqual(c);
    for (const c of [
      { kind: 'clean' as const },
      { kind: 'flagged' as const },
      { kind: 'flag' as const, flag: 'pen-marks' as const, set: false },
    ])
      expect(parseQcChoiceKey(qcChoiceKey(c))).toEqual(c);
  });

  it('describe a saved filter in words', () => {
    const words = describeFilter(
      { text: 'lung', taskValues: [{ taskId: 1, values: ['yes'] }], missingTaskIds: [2], qcClean: true },
      (id) => ['', 'tumor', 'subtype'][id]!,
      () => '',
    );
    expect(words).toBe('“lung” · tumor is yes · no value for subtype · QC: no flag');
    expect(describeFilter({}, String, String)).toBe('every slide');
  });
});
