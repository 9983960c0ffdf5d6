/**
 * Ids that are never reused. SQLite gives a new row max(id) + 1, so deleting the newest slide or task would
 * hand its id to the next one, and the label history and stored splits (which keep ids without foreign
 * keys) would then point at a different slide or task. The largest id ever removed is kept in
 * project_meta and new rows start above it.
 */
import type { Db } from '../db/connection.js';
import { prepared } from '../db/statements.js';

type Table = 'tasks' | 'slides';
const highWaterKey = (table: Table) => `removed_${table}_id_max`;

export function nextId(db: Db, table: Table): number {
  const row = prepared(
    db,
    `SELECT max(coalesce((SELECT max(id) FROM ${table}), 0),
                coalesce((SELECT CAST(value AS INTEGER) FROM project_meta WHERE key = ?), 0)) + 1 AS id`,
  ).get(highWaterKey(table)) as { id: number };
  return row.id;
}

/** Records that `id` was removed from `table` (call in the removing transaction). */
export function raiseHighWater(db: Db, table: Table, id: number): void {
  prepared(
    db,
    `INSERT INTO project_meta (key, value) VALUES (?, ?)
     ON CONFLICT(key) DO UPDATE SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))`,
  ).run(highWaterKey(table), String(id));
}
