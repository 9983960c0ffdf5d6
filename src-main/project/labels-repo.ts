/** SQL over labels and label_history. Callers wrap multi-row changes in one transaction. */
import type { LabelHistoryEntry, LabelSource, SlideLabel } from '../contract/contract.js';
import type { Db } from '../db/connection.js';
import { prepared } from '../db/statements.js';

export interface LabelCell {
  value: string;
  source: LabelSource;
  author: string | null;
}

/** Why the label changes in the current transaction go into the history (null: an ordinary edit). */
export type WriteReason =
  | 'undo'
  | 'redo'
  | 'csv-import'
  | 'value-renamed'
  | 'value-removed'
  | 'task-deleted'
  | 'slide-removed'
  | null;

/**
 * Runs `write` with the history triggers recording `reason`, inside the caller's transaction (the
 * reason is reset before it commits, and a rollback undoes both).
 */
export function withWriteReason<T>(db: Db, reason: WriteReason, write: () => T): T {
  if (!db.inTransaction) throw new Error('withWriteReason must run inside a transaction');
  const set = prepared(db, 'UPDATE label_write_context SET reason = ? WHERE id = 1');
  set.run(reason);
  try {
    return write();
  } finally {
    set.run(null);
  }
}

const labelColumns = `slide_id AS slideId, task_id AS taskId, value, source, author, updated_at AS updatedAt`;

export function selectLabel(db: Db, slideId: number, taskId: number): SlideLabel | undefined {
  return prepared(db, `SELECT ${labelColumns} FROM labels WHERE slide_id = ? AND task_id = ?`).get(
    slideId,
    taskId,
  ) as SlideLabel | undefined;
}

export function selectSlideLabels(db: Db, slideId: number): SlideLabel[] {
  return prepared(db, `SELECT ${labelColumns} FROM labels WHERE slide_id = ? ORDER BY task_id`).all(
    slideId,
  ) as SlideLabel[];
}

/** Every label of one task, as slide id → value. */
export function selectTaskLabelValues(db: Db, taskId: number): Map<number, string> {
  const rows = prepared(db, 'SELECT slide_id AS s, value AS v FROM labels WHERE task_id = ?').all(taskId) as {
    s: number;
    v: string;
  }[];
  return new Map(rows.map((r) => [r.s, r.v]));
}

/** Every label of one task with its source and author, as slide id → cell. */
export function selectTaskLabelCells(db: Db, taskId: number): Map<number, LabelCell> {
  const rows = prepared(db, 'SELECT slide_id AS s, value, source, author FROM labels WHERE task_id = ?').all(
    taskId,
  ) as (LabelCell & { s: number })[];
  return new Map(rows.map(({ s, ...cell }) => [s, cell]));
}

/** Labels of the given slides, as (slide, task, value) rows. */
export function selectLabelsOfSlides(
  db: Db,
  slideIds: readonly number[],
): { s: number; t: number; v: string }[] {
  if (!slideIds.length) return [];
  return prepared(
    db,
    'SELECT slide_id AS s, task_id AS t, value AS v FROM labels WHERE slide_id IN (SELECT value FROM json_each(?))',
  ).all(JSON.stringify(slideIds)) as { s: number; t: number; v: string }[];
}

/** Writes one label (insert or replace); the triggers add the history row. */
export function writeLabel(db: Db, slideId: number, taskId: number, cell: LabelCell): void {
  prepared(
    db,
    `INSERT INTO labels (slide_id, task_id, value, source, author) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT (slide_id, task_id) DO UPDATE SET value = excluded.value, source = excluded.source,
       author = excluded.author, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`,
  ).run(slideId, taskId, cell.value, cell.source, cell.author);
}

export function insertLabel(db: Db, slideId: number, taskId: number, cell: LabelCell): void {
  prepared(db, 'INSERT INTO labels (slide_id, task_id, value, source, author) VALUES (?, ?, ?, ?, ?)').run(
    slideId,
    taskId,
    cell.value,
    cell.source,
    cell.author,
  );
}

export function updateLabel(db: Db, slideId: number, taskId: number, cell: LabelCell): void {
  prepared(
    db,
    `UPDATE labels SET value = ?, source = ?, author = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
     WHERE slide_id = ? AND task_id = ?`,
  ).run(cell.value, cell.source, cell.author, slideId, taskId);
}

export function deleteLabel(db: Db, slideId: number, taskId: number): boolean {
  return (
    prepared(db, 'DELETE FROM labels WHERE slide_id = ? AND task_id = ?').run(slideId, taskId).changes > 0
  );
}

export function selectHistory(
  db: Db,
  where: { slideId?: number; taskId?: number },
  offset: number,
  limit: number,
): { total: number; entries: LabelHistoryEntry[] } {
  const conditions: string[] = [];
  const params: number[] = [];
  if (where.slideId !== undefined) {
    conditions.push('h.slide_id = ?');
    params.push(where.slideId);
  }
  if (where.taskId !== undefined) {
    conditions.push('h.task_id = ?');
    params.push(where.taskId);
  }
  const clause = conditions.length ? `WHERE ${conditions.join(' AND ')}` : '';
  const total = (
    db.prepare(`SELECT count(*) AS n FROM label_history h ${clause}`).get(...params) as { n: number }
  ).n;
  const entries = db
    .prepare(
      `SELECT h.id, h.slide_id AS slideId, s.name AS slideName, h.task_id AS taskId, t.name AS taskName,
         h.old_value AS oldValue, h.new_value AS newValue, h.source, h.author, h.reason, h.changed_at AS changedAt
       FROM label_history h LEFT JOIN slides s ON s.id = h.slide_id LEFT JOIN tasks t ON t.id = h.task_id
       ${clause} ORDER BY h.id DESC LIMIT ? OFFSET ?`,
    )
    .all(...params, limit, offset) as LabelHistoryEntry[];
  return { total, entries };
}
