/**
 * The address of a place in an open project, written into the page's hash so that a reload (or a
 * colleague with access, in browser mode) lands where the user was:
 *
 *   #/library?q=tumour&sort=-task:3&where={"qcClean":true}
 *   #/viewer/42?x=1834&y=920&zoom=0.25&sort=name
 *   #/cohorts?cohort=3&split=7
 *
 * `x`, `y` are the view's centre in level-0 pixels, `zoom` screen pixels per level-0 pixel. The list
 * parameters (`q`, `sort`, `where`) travel with the viewer too: they are the list J/K walk. Pure:
 * parsing never throws, and anything it cannot read falls back to the default.
 */
import type { SlideFilter, SlideSortColumn } from '../../src-main/contract/contract.js';
import { defaultQuery, DEFAULT_SORT, normalizeFilter, type ListQuery, type ListSort } from './list-query.js';
import { SECTION_IDS, type SectionId } from './section-ids.js';

export interface Viewport {
  x: number;
  y: number;
  zoom: number;
}

export interface Route {
  section: SectionId;
  /** The Viewer's slide. */
  slideId: number | null;
  /** The Viewer's view of it; null: fitted. */
  viewport: Viewport | null;
  list: ListQuery;
  /** The Cohorts view's selected cohort and split. */
  cohortId: number | null;
  splitId: number | null;
}

const SORT_COLUMNS = ['name', 'path', 'patient', 'added', 'size', 'mpp', 'vendor', 'qc', 'id'];

export function defaultRoute(): Route {
  return {
    section: 'library',
    slideId: null,
    viewport: null,
    list: defaultQuery(),
    cohortId: null,
    splitId: null,
  };
}

function positiveId(text: string | null | undefined): number | null {
  if (!text || !/^[1-9]\d{0,15}$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

function finite(text: string | null): number | null {
  if (text === null || text.trim() === '') return null;
  const n = Number(text);
  return Number.isFinite(n) ? n : null;
}

export function parseSort(text: string | null): ListSort {
  if (!text) return { ...DEFAULT_SORT };
  const direction = text.startsWith('-') ? 'desc' : 'asc';
  const column = text.replace(/^-/, '');
  if (
    SORT_COLUMNS.includes(column) ||
    /^task:[1-9]\d{0,15}$/.test(column) ||
    /^prediction:[1-9]\d{0,15}:model:[A-Za-z0-9._-]{1,100}$/.test(column)
  )
    return { column: column as SlideSortColumn, direction };
  return { ...DEFAULT_SORT };
}

export function formatSort(sort: ListSort): string {
  return `${sort.direction === 'desc' ? '-' : ''}${sort.column}`;
}

const isIdList = (v: unknown): v is number[] =>
  Array.isArray(v) && v.every((n) => typeof n === 'number' && Number.isSafeInteger(n) && n > 0);

/** The `where` parameter: a filter as JSON. Only the fields and shapes a filter has are kept. */
function parseWhere(text: string | null): SlideFilter {
  if (!text) return {};
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return {};
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) return {};
  const r = raw as Record<string, unknown>;
  const filter: SlideFilter = {};
  if (typeof r.cohortId === 'number' && isIdList([r.cohortId])) filter.cohortId = r.cohortId;
  if (Array.isArray(r.taskValues)) {
    filter.taskValues = r.taskValues
      .filter((t): t is Record<string, unknown> => !!t && typeof t === 'object' && isIdList([t.taskId]))
      .map((t) => {
        const entry: NonNullable<SlideFilter['taskValues']>[number] = { taskId: t.taskId as number };
        if (Array.isArray(t.values)) entry.values = t.values.filter((v) => typeof v === 'string');
        if (typeof t.min === 'number' && Number.isFinite(t.min)) entry.min = t.min;
        if (typeof t.max === 'number' && Number.isFinite(t.max)) entry.max = t.max;
        return entry;
      });
  }
  if (isIdList(r.missingTaskIds)) filter.missingTaskIds = r.missingTaskIds;
  if (Array.isArray(r.qc)) {
    filter.qc = r.qc
      .filter(
        (q): q is { flag: string; set: boolean } =>
          !!q && typeof q === 'object' && typeof q.flag === 'string' && typeof q.set === 'boolean',
      )
      .filter((q) => ['blur', 'pen-marks', 'folds', 'tissue-missing', 'exclude'].includes(q.flag))
      .map((q) => ({ flag: q.flag as NonNullable<SlideFilter['qc']>[number]['flag'], set: q.set }));
  }
  if (typeof r.qcClean === 'boolean') filter.qcClean = r.qcClean;
  if (typeof r.patient === 'string' || r.patient === null) filter.patient = r.patient;
  return filter;
}

export function parseRoute(hash: string): Route {
  const route = defaultRoute();
  const body = hash.replace(/^#/, '');
  const [pathPart = '', queryPart = ''] = body.split(/\?(.*)/s, 2);
  const segments = pathPart.split('/').filter(Boolean);
  const params = new URLSearchParams(queryPart);
  const section = segments[0] as SectionId | undefined;
  if (section && (SECTION_IDS as readonly string[]).includes(section)) route.section = section;

  const filter = parseWhere(params.get('where'));
  const text = params.get('q');
  if (text?.trim()) filter.text = text.slice(0, 500);
  route.list = { sort: parseSort(params.get('sort')), filter: normalizeFilter(filter) };

  if (route.section === 'viewer') {
    route.slideId = positiveId(segments[1]);
    const x = finite(params.get('x'));
    const y = finite(params.get('y'));
    const zoom = finite(params.get('zoom'));
    if (route.slideId !== null && x !== null && y !== null && zoom !== null && zoom > 0)
      route.viewport = { x, y, zoom };
  }
  if (route.section === 'cohorts') {
    route.cohortId = positiveId(params.get('cohort'));
    route.splitId = positiveId(params.get('split'));
  }
  return route;
}

/** Rounds a viewport so the address stays short: whole pixels, four significant digits of zoom. */
function viewportParams(v: Viewport): [string, string][] {
  return [
    ['x', String(Math.round(v.x))],
    ['y', String(Math.round(v.y))],
    ['zoom', String(Number(v.zoom.toPrecision(4)))],
  ];
}

export function formatRoute(route: Route): string {
  let path = `/${route.section}`;
  const params: [string, string][] = [];
  if (route.section === 'viewer' && route.slideId !== null) {
    path += `/${route.slideId}`;
    if (route.viewport) params.push(...viewportParams(route.viewport));
  }
  if (route.section === 'cohorts') {
    if (route.cohortId !== null) params.push(['cohort', String(route.cohortId)]);
    if (route.splitId !== null) params.push(['split', String(route.splitId)]);
  }
  if (route.section === 'library' || route.section === 'viewer') {
    const { text, ...rest } = normalizeFilter(route.list.filter);
    if (text) params.push(['q', text]);
    const sort = route.list.sort;
    if (sort.column !== DEFAULT_SORT.column || sort.direction !== DEFAULT_SORT.direction)
      params.push(['sort', formatSort(sort)]);
    if (Object.keys(rest).length) params.push(['where', JSON.stringify(rest)]);
  }
  const query = new URLSearchParams(params).toString();
  return `#${path}${query ? `?${query}` : ''}`;
}
