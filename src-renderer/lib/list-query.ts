/**
 * The Library's current list: which slides (a filter) in which order (a sort). The Library shows it, the
 * Viewer's J/K, N and strip walk it, the address keeps it. Pure: no store, no API.
 */
import type {
  LibraryChange,
  QcFlag,
  SlideFilter,
  SlideSortColumn,
} from '../../src-main/contract/contract.js';

export interface ListSort {
  column: SlideSortColumn;
  direction: 'asc' | 'desc';
}

export interface ListQuery {
  sort: ListSort;
  filter: SlideFilter;
}

export const DEFAULT_SORT: ListSort = { column: 'name', direction: 'asc' };

export function defaultQuery(): ListQuery {
  return { sort: { ...DEFAULT_SORT }, filter: {} };
}

/** The flags in the order the UI lists them, with the words it shows. */
export const QC_FLAG_LABELS: Record<QcFlag, string> = {
  blur: 'Blur',
  'pen-marks': 'Pen marks',
  folds: 'Folds',
  'tissue-missing': 'Tissue missing',
  exclude: 'Exclude',
};
export const QC_FLAG_LIST = Object.keys(QC_FLAG_LABELS) as QcFlag[];

/** The filter with empty parts dropped, so `{}` means "every slide" and equal filters compare equal. */
export function normalizeFilter(filter: SlideFilter): SlideFilter {
  const out: SlideFilter = {};
  const text = filter.text?.trim();
  if (text) out.text = text;
  if (filter.cohortId !== undefined) out.cohortId = filter.cohortId;
  if (filter.taskValues?.length) out.taskValues = filter.taskValues;
  if (filter.missingTaskIds?.length) out.missingTaskIds = filter.missingTaskIds;
  if (filter.qc?.length) out.qc = filter.qc;
  if (filter.qcClean !== undefined) out.qcClean = filter.qcClean;
  if (filter.patient !== undefined) out.patient = filter.patient;
  return out;
}

export function isEmptyFilter(filter: SlideFilter): boolean {
  return Object.keys(normalizeFilter(filter)).length === 0;
}

export function sameQuery(a: ListQuery, b: ListQuery): boolean {
  return (
    a.sort.column === b.sort.column &&
    a.sort.direction === b.sort.direction &&
    JSON.stringify(normalizeFilter(a.filter)) === JSON.stringify(normalizeFilter(b.filter))
  );
}

/**
 * Whether a change can alter which slides the list holds or their order (then the id list is fetched
 * again); any change may still alter what a row shows. A label change matters only to a list that
 * filters or sorts by a task, so labeling through a plain list does not refetch 20,000 ids per key.
 */
export function changeReordersList(query: ListQuery, change: Pick<LibraryChange, 'kinds'>): boolean {
  const { filter, sort } = query;
  // Predictions arrive as label changes (and go with their task).
  const byTask = sort.column.startsWith('task:') || sort.column.startsWith('prediction:');
  for (const kind of change.kinds) {
    switch (kind) {
      case 'slides':
        return true;
      case 'tasks':
        // A deleted task's filter entries and sort fail; the Library drops them and refetches.
        if (byTask || filter.taskValues?.length || filter.missingTaskIds?.length) return true;
        break;
      case 'labels':
        if (byTask || filter.taskValues?.length || filter.missingTaskIds?.length) return true;
        break;
      case 'qc':
        if (sort.column === 'qc' || filter.qc?.length || filter.qcClean !== undefined) return true;
        break;
      case 'patients':
        if (sort.column === 'patient' || filter.patient !== undefined || filter.text) return true;
        break;
      case 'cohorts':
        if (filter.cohortId !== undefined) return true;
        break;
      case 'splits':
        break;
    }
  }
  return false;
}

/** Drops the parts of a query that name tasks or a cohort that no longer exist. */
export function pruneQuery(
  query: ListQuery,
  taskIds: ReadonlySet<number>,
  cohortIds?: ReadonlySet<number>,
): ListQuery {
  const { filter } = query;
  const taskMatch = /^(?:task|prediction):(\d+)(?::|$)/.exec(query.sort.column);
  const sort = taskMatch && !taskIds.has(Number(taskMatch[1])) ? { ...DEFAULT_SORT } : query.sort;
  const next: SlideFilter = { ...filter };
  if (filter.taskValues) next.taskValues = filter.taskValues.filter((t) => taskIds.has(t.taskId));
  if (filter.missingTaskIds) next.missingTaskIds = filter.missingTaskIds.filter((t) => taskIds.has(t));
  if (cohortIds && filter.cohortId !== undefined && !cohortIds.has(filter.cohortId)) delete next.cohortId;
  return { sort, filter: normalizeFilter(next) };
}
