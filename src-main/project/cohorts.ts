/**
 * Cohorts: a saved filter, re-evaluated whenever it is used, or an explicit set of slides. A saved filter
 * may name an explicit cohort but not another saved filter (so evaluation never loops).
 */
import type { Cohort, SlideFilter } from '../contract/contract.js';
import { ApiError } from '../contract/errors.js';
import type { Db } from '../db/connection.js';
import {
  deleteCohortRow,
  deleteMembers,
  insertCohort,
  insertMembers,
  renameCohortRow,
  selectCohortByName,
  selectCohortRow,
  selectCohortRows,
  setCohortFilter,
  type CohortRow,
} from './cohorts-repo.js';
import { countSlides, parseStoredFilter, selectSlideIds } from './slide-query-repo.js';

function toCohort(db: Db, row: CohortRow): Cohort {
  return {
    id: row.id,
    name: row.name,
    kind: row.kind,
    filter: row.kind === 'filter' ? parseStoredFilter(row.filter) : null,
    slideCount: countSlides(db, { cohortId: row.id }),
    createdAt: row.createdAt,
  };
}

export function listCohorts(db: Db): Cohort[] {
  return selectCohortRows(db).map((r) => toCohort(db, r));
}

export function getCohort(db: Db, id: number): Cohort {
  const row = selectCohortRow(db, id);
  if (!row) throw new ApiError('not-found', `There is no cohort with id ${id} in this project.`);
  return toCohort(db, row);
}

export function getCohortByName(db: Db, name: string): Cohort {
  const row = selectCohortByName(db, name.trim());
  if (!row) throw new ApiError('not-found', `There is no cohort named "${name}" in this project.`);
  return toCohort(db, row);
}

function checkName(db: Db, raw: string, selfId: number | null): string {
  const name = raw.trim();
  const clash = selectCohortByName(db, name);
  if (clash && clash.id !== selfId)
    throw new ApiError('conflict', `A cohort named "${clash.name}" already exists.`);
  return name;
}

/** Refuses a filter that names a saved-filter cohort, and one that names a task or cohort that is not there. */
function checkFilter(db: Db, filter: SlideFilter): string {
  if (filter.cohortId !== undefined) {
    const inner = selectCohortRow(db, filter.cohortId);
    if (inner?.kind === 'filter')
      throw new ApiError(
        'bad-input',
        `A saved filter cannot build on cohort ${inner.name}, which is itself a saved filter.`,
      );
  }
  countSlides(db, filter);
  return JSON.stringify(filter);
}

export function createFilterCohort(db: Db, name: string, filter: SlideFilter): Cohort {
  const id = db.transaction(() =>
    insertCohort(db, checkName(db, name, null), 'filter', checkFilter(db, filter)),
  )();
  return getCohort(db, id);
}

export function createExplicitCohort(db: Db, name: string, slideIds: number[]): Cohort {
  const id = db.transaction(() => {
    const cohortId = insertCohort(db, checkName(db, name, null), 'explicit', null);
    insertMembers(db, cohortId, slideIds);
    return cohortId;
  })();
  return getCohort(db, id);
}

export function renameCohort(db: Db, id: number, name: string): Cohort {
  db.transaction(() => {
    getCohort(db, id);
    renameCohortRow(db, id, checkName(db, name, id));
  })();
  return getCohort(db, id);
}

export function replaceCohortFilter(db: Db, id: number, filter: SlideFilter): Cohort {
  db.transaction(() => {
    const cohort = getCohort(db, id);
    if (cohort.kind !== 'filter')
      throw new ApiError('bad-input', `Cohort ${cohort.name} is a fixed set of slides, not a saved filter.`);
    if (filter.cohortId === id)
      throw new ApiError('bad-input', `Cohort ${cohort.name} cannot be filtered by itself.`);
    setCohortFilter(db, id, checkFilter(db, filter));
  })();
  return getCohort(db, id);
}

export function changeCohortMembers(
  db: Db,
  id: number,
  slideIds: number[],
  change: 'add' | 'remove',
): Cohort {
  db.transaction(() => {
    const cohort = getCohort(db, id);
    if (cohort.kind !== 'explicit')
      throw new ApiError('bad-input', `Cohort ${cohort.name} is a saved filter; change its filter instead.`);
    if (change === 'add') insertMembers(db, id, slideIds);
    else deleteMembers(db, id, slideIds);
  })();
  return getCohort(db, id);
}

export function deleteCohort(db: Db, id: number): void {
  db.transaction(() => {
    getCohort(db, id);
    deleteCohortRow(db, id);
  })();
}

export function evaluateCohort(db: Db, id: number): number[] {
  getCohort(db, id);
  return [...selectSlideIds(db, { filter: { cohortId: id }, sort: { column: 'id' } })];
}
