/**
 * The library query: a slide filter and sort turned into one SQL statement, for a page of the table (with
 * the total), the ordered id list the viewer walks, or the ids a bulk action or a cohort covers. Every
 * value goes in as a bound parameter; column names come only from the fixed tables below.
 */
import {
  predictionKey,
  PREDICTION_SORT,
  type LibrarySlide,
  type QcFlag,
  type SlideFilter,
  type SlideSort,
} from '../contract/contract.js';
import { ApiError } from '../contract/errors.js';
import type { Db } from '../db/connection.js';
import { dataStamp } from '../db/data-stamp.js';
import { prepared } from '../db/statements.js';
import { selectCohortRow } from './cohorts-repo.js';
import { selectLabelsOfSlides } from './labels-repo.js';
import { selectPredictionsOfSlides } from './predictions-repo.js';
import { QC_BITS, qcFlagList } from './qc-flags.js';
import { selectTask, selectValuesOfTask } from './tasks-repo.js';

interface Sql {
  where: string[];
  params: unknown[];
}

/** Columns that sort directly; `nullable` ones keep slides with no value last in both directions. */
const SORT_EXPRESSIONS: Record<string, { expr: string; nullable: boolean }> = {
  name: { expr: 's.name COLLATE NOCASE', nullable: false },
  path: { expr: 's.path', nullable: false },
  patient: { expr: 'p.external_id COLLATE NOCASE', nullable: true },
  added: { expr: 's.added_at', nullable: false },
  size: { expr: 's.width * s.height', nullable: true },
  mpp: { expr: 's.mpp_x', nullable: true },
  vendor: { expr: 's.vendor COLLATE NOCASE', nullable: true },
  qc: {
    expr: Object.values(QC_BITS)
      .map((bit) => `((s.qc_flags & ${bit}) != 0)`)
      .join(' + '),
    nullable: false,
  },
  id: { expr: 's.id', nullable: false },
};

function likePattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** Adds the filter's conditions to `sql`. A cohort's saved filter is expanded in place (one level). */
function addFilter(db: Db, filter: SlideFilter, sql: Sql, depth = 0): void {
  const text = filter.text?.trim();
  if (text) {
    sql.where.push(
      `(s.name LIKE ? ESCAPE '\\' OR s.path LIKE ? ESCAPE '\\' OR p.external_id LIKE ? ESCAPE '\\')`,
    );
    const like = likePattern(text);
    sql.params.push(like, like, like);
  }
  if (filter.cohortId !== undefined) {
    const cohort = selectCohortRow(db, filter.cohortId);
    if (!cohort)
      throw new ApiError('not-found', `There is no cohort with id ${filter.cohortId} in this project.`);
    if (cohort.kind === 'explicit') {
      sql.where.push('s.id IN (SELECT slide_id FROM cohort_members WHERE cohort_id = ?)');
      sql.params.push(cohort.id);
    } else if (depth > 0) {
      throw new ApiError(
        'bad-input',
        `Cohort ${cohort.name}'s filter names another saved filter; that is not allowed.`,
      );
    } else {
      addFilter(db, parseStoredFilter(cohort.filter), sql, depth + 1);
    }
  }
  for (const tv of filter.taskValues ?? []) {
    // No slide has a value for a task that is not there (a saved filter may outlive a deleted task).
    if (!selectTask(db, tv.taskId)) {
      sql.where.push('0');
      continue;
    }
    // `IN (subquery)` reads the task's labels once through labels(task_id, value) into a temporary index;
    // a correlated EXISTS would look up every slide's label one by one (twice as slow at 20,000 slides).
    const parts = ['l.task_id = ?'];
    const params: unknown[] = [tv.taskId];
    if (tv.values) {
      if (!tv.values.length) {
        sql.where.push('0');
        continue;
      }
      parts.push(`l.value IN (${tv.values.map(() => '?').join(',')})`);
      params.push(...tv.values);
    }
    if (tv.min !== undefined) {
      parts.push('CAST(l.value AS REAL) >= ?');
      params.push(tv.min);
    }
    if (tv.max !== undefined) {
      parts.push('CAST(l.value AS REAL) <= ?');
      params.push(tv.max);
    }
    sql.where.push(`s.id IN (SELECT l.slide_id FROM labels l WHERE ${parts.join(' AND ')})`);
    sql.params.push(...params);
  }
  for (const taskId of filter.missingTaskIds ?? []) {
    sql.where.push('s.id NOT IN (SELECT l.slide_id FROM labels l WHERE l.task_id = ?)');
    sql.params.push(taskId);
  }
  for (const q of filter.qc ?? []) {
    sql.where.push(q.set ? '(s.qc_flags & ?) != 0' : '(s.qc_flags & ?) = 0');
    sql.params.push(QC_BITS[q.flag as QcFlag]);
  }
  if (filter.qcClean !== undefined) sql.where.push(filter.qcClean ? 's.qc_flags = 0' : 's.qc_flags != 0');
  if (filter.patient !== undefined) {
    if (filter.patient === null) sql.where.push('s.patient_id IS NULL');
    else {
      sql.where.push('p.external_id = ?');
      sql.params.push(filter.patient);
    }
  }
}

/** A cohort's stored filter (JSON written by cohorts.ts). */
export function parseStoredFilter(json: string | null): SlideFilter {
  try {
    const value: unknown = JSON.parse(json ?? '{}');
    return value && typeof value === 'object' ? (value as SlideFilter) : {};
  } catch {
    return {};
  }
}

interface Order {
  join: string;
  order: string;
  /** Bound in the join. */
  params: unknown[];
  /** Bound in ORDER BY (after the WHERE clause's). */
  orderParams: unknown[];
}

function orderBy(db: Db, sort: SlideSort | undefined): Order {
  const column = sort?.column ?? 'name';
  const dir = sort?.direction === 'desc' ? 'DESC' : 'ASC';
  const predicted = PREDICTION_SORT.exec(column);
  if (predicted) return predictionOrder(db, Number(predicted[1]), predicted[2]!, dir);
  const task = /^task:(\d+)$/.exec(column);
  if (task) {
    const taskId = Number(task[1]);
    const row = selectTask(db, taskId);
    if (!row) throw new ApiError('not-found', `There is no task with id ${taskId} to sort by.`);
    const join = 'LEFT JOIN labels ls ON ls.slide_id = s.id AND ls.task_id = ?';
    // A categorical value's place in the task's order, inline (a join per slide would cost more).
    const values = selectValuesOfTask(db, taskId);
    const key =
      row.kind === 'continuous' || !values.length
        ? 'CAST(ls.value AS REAL)'
        : `CASE ls.value ${values.map((_, i) => `WHEN ? THEN ${i}`).join(' ')} ELSE ${values.length} END`;
    const keyParams = row.kind === 'continuous' ? [] : values.map((v) => v.name);
    // Ties (many, for a categorical task) keep the slides' import order: a string tie-break would cost
    // more than the rest of the sort at 20,000 slides.
    return {
      join,
      order: `ls.value IS NULL, ${key} ${dir}, s.id ${dir}`,
      params: [taskId],
      orderParams: keyParams,
    };
  }
  const s = SORT_EXPRESSIONS[column];
  if (!s) throw new ApiError('bad-input', `The slide list cannot sort by "${column}".`);
  const nulls = s.nullable ? `(${s.expr}) IS NULL, ` : '';
  return { join: '', order: `${nulls}${s.expr} ${dir}, s.id ${dir}`, params: [], orderParams: [] };
}

/** Binary: by p(second value); categorical: by the predicted value's place, then its probability. */
function predictionOrder(db: Db, taskId: number, source: string, dir: string): Order {
  const row = selectTask(db, taskId);
  if (!row) throw new ApiError('not-found', `There is no task with id ${taskId} to sort by.`);
  const values = selectValuesOfTask(db, taskId);
  const join = 'LEFT JOIN predictions pr ON pr.slide_id = s.id AND pr.task_id = ? AND pr.source = ?';
  if (values.length === 2)
    return {
      join,
      order: `pr.value IS NULL, json_extract(pr.probabilities, '$[1]') ${dir}, s.id ${dir}`,
      params: [taskId, source],
      orderParams: [],
    };
  const place = `CASE pr.value ${values.map((_, i) => `WHEN ? THEN ${i}`).join(' ')} ELSE ${values.length} END`;
  const probability = `(SELECT max(value) FROM json_each(pr.probabilities))`;
  return {
    join,
    order: `pr.value IS NULL, ${place} ${dir}, ${probability} ${dir}, s.id ${dir}`,
    params: [taskId, source],
    orderParams: values.map((v) => v.name),
  };
}

function whereClause(db: Db, filter: SlideFilter | undefined): Sql {
  const sql: Sql = { where: [], params: [] };
  if (filter) addFilter(db, filter, sql);
  return sql;
}

/** The patients join, only where the filter or the sort reads the patient. */
function fromClause(sql: Sql, order: Order): string {
  const needsPatient = [...sql.where, order.order].some((part) => part.includes('p.external_id'));
  return needsPatient ? 'FROM slides s LEFT JOIN patients p ON p.id = s.patient_id' : 'FROM slides s';
}

/**
 * The ordered ids of recent queries, per connection, each kept until the database changes (dataStamp).
 * Scrolling a
 * virtualised table asks for page after page of one query: only the first pays for the sort.
 */
const kept = new WeakMap<Db, Map<string, { stamp: string; ids: number[] }>>();
const KEPT_QUERIES = 8;

/** Every matching slide id, in list order (by name when no sort is given). Do not modify the array. */
export function selectSlideIds(db: Db, q: { sort?: SlideSort; filter?: SlideFilter }): readonly number[] {
  let cache = kept.get(db);
  if (!cache) kept.set(db, (cache = new Map()));
  const key = JSON.stringify([q.filter ?? {}, q.sort ?? {}]);
  const stamp = dataStamp(db);
  const hit = cache.get(key);
  cache.delete(key);
  if (hit?.stamp === stamp) {
    cache.set(key, hit);
    return hit.ids;
  }
  const sql = whereClause(db, q.filter);
  const where = sql.where.length ? `WHERE ${sql.where.join(' AND ')}` : '';
  const order = orderBy(db, q.sort);
  const ids = prepared(
    db,
    `SELECT s.id ${fromClause(sql, order)} ${order.join} ${where} ORDER BY ${order.order}`,
  )
    .pluck()
    .all(...order.params, ...sql.params, ...order.orderParams) as number[];
  if (cache.size >= KEPT_QUERIES) cache.delete(cache.keys().next().value!);
  cache.set(key, { stamp, ids });
  return ids;
}

type PageRow = Omit<LibrarySlide, 'labels' | 'qcFlags' | 'predictions'> & { qcBits: number };

/** One page of the library with the number of slides the filter matches. */
export function selectLibraryPage(
  db: Db,
  q: { offset: number; limit: number; sort?: SlideSort; filter?: SlideFilter },
): { total: number; slides: LibrarySlide[] } {
  const ids = selectSlideIds(db, q);
  const pageIds = ids.slice(q.offset, q.offset + q.limit);
  const byId = new Map<number, PageRow>();
  if (pageIds.length) {
    const rows = prepared(
      db,
      `SELECT s.id, s.name, s.path, p.external_id AS patient, s.width, s.height, s.mpp_x AS mppX, s.vendor,
         s.added_at AS addedAt, s.qc_flags AS qcBits, s.qc_reason AS qcReason
       FROM slides s LEFT JOIN patients p ON p.id = s.patient_id
       WHERE s.id IN (SELECT value FROM json_each(?))`,
    ).all(JSON.stringify(pageIds)) as PageRow[];
    for (const r of rows) byId.set(r.id, r);
  }
  const labels = new Map<number, Record<number, string>>();
  for (const l of selectLabelsOfSlides(db, pageIds)) {
    let m = labels.get(l.s);
    if (!m) labels.set(l.s, (m = {}));
    m[l.t] = l.v;
  }
  const predictions = new Map<number, LibrarySlide['predictions']>();
  for (const p of selectPredictionsOfSlides(db, pageIds)) {
    let m = predictions.get(p.slideId);
    if (!m) predictions.set(p.slideId, (m = {}));
    m[predictionKey(p.source, p.taskId)] = { value: p.value, probabilities: p.probabilities };
  }
  const slides: LibrarySlide[] = [];
  for (const id of pageIds) {
    const row = byId.get(id);
    if (!row) continue;
    const { qcBits, ...r } = row;
    slides.push({
      ...r,
      labels: labels.get(id) ?? {},
      qcFlags: qcFlagList(qcBits),
      predictions: predictions.get(id) ?? {},
    });
  }
  return { total: ids.length, slides };
}

/** The ids of these slides that exist, in id order. */
export function selectExistingSlideIds(db: Db, ids: number[]): number[] {
  if (!ids.length) return [];
  return prepared(db, 'SELECT id FROM slides WHERE id IN (SELECT value FROM json_each(?)) ORDER BY id')
    .pluck()
    .all(JSON.stringify([...new Set(ids)])) as number[];
}

/** How many slides the filter matches. */
export function countSlides(db: Db, filter: SlideFilter | undefined): number {
  return selectSlideIds(db, { filter, sort: { column: 'id' } }).length;
}
