/** SQL over tasks and task_values. Callers wrap multi-row changes in one transaction. */
import type { TaskKind, TaskValue } from '../contract/contract.js';
import type { Db } from '../db/connection.js';
import { prepared } from '../db/statements.js';
import { nextId, raiseHighWater } from './row-ids-repo.js';

export interface TaskRow {
  id: number;
  name: string;
  kind: TaskKind;
  description: string | null;
  min: number | null;
  max: number | null;
  createdAt: string;
}

const taskColumns = `id, name, kind, description, min_value AS min, max_value AS max, created_at AS createdAt`;

export function selectTasks(db: Db): TaskRow[] {
  return prepared(db, `SELECT ${taskColumns} FROM tasks ORDER BY id`).all() as TaskRow[];
}

export function selectTask(db: Db, id: number): TaskRow | undefined {
  return prepared(db, `SELECT ${taskColumns} FROM tasks WHERE id = ?`).get(id) as TaskRow | undefined;
}

/** The task with this name ignoring case, if any. */
export function selectTaskByName(db: Db, name: string): TaskRow | undefined {
  return prepared(db, `SELECT ${taskColumns} FROM tasks WHERE lower(name) = lower(?)`).get(name) as
    TaskRow | undefined;
}

export function selectTaskValues(db: Db): (TaskValue & { taskId: number })[] {
  return prepared(
    db,
    'SELECT task_id AS taskId, name, color, key FROM task_values ORDER BY task_id, position',
  ).all() as (TaskValue & { taskId: number })[];
}

export function selectValuesOfTask(db: Db, taskId: number): TaskValue[] {
  return prepared(db, 'SELECT name, color, key FROM task_values WHERE task_id = ? ORDER BY position').all(
    taskId,
  ) as TaskValue[];
}

export function selectValueCountsOfTask(db: Db, taskId: number): { value: string; n: number }[] {
  return prepared(db, 'SELECT value, count(*) AS n FROM labels WHERE task_id = ? GROUP BY value').all(
    taskId,
  ) as {
    value: string;
    n: number;
  }[];
}

export function selectValueCounts(db: Db): { taskId: number; value: string; n: number }[] {
  return prepared(
    db,
    'SELECT task_id AS taskId, value, count(*) AS n FROM labels GROUP BY task_id, value',
  ).all() as { taskId: number; value: string; n: number }[];
}

export function insertTask(
  db: Db,
  t: { name: string; kind: TaskKind; description: string | null; min: number | null; max: number | null },
): number {
  const info = prepared(
    db,
    'INSERT INTO tasks (id, name, kind, description, min_value, max_value) VALUES (?, ?, ?, ?, ?, ?)',
  ).run(nextId(db, 'tasks'), t.name, t.kind, t.description, t.min, t.max);
  return Number(info.lastInsertRowid);
}

export function replaceTaskValues(db: Db, taskId: number, values: TaskValue[]): void {
  prepared(db, 'DELETE FROM task_values WHERE task_id = ?').run(taskId);
  const insert = prepared(
    db,
    'INSERT INTO task_values (task_id, name, position, color, key) VALUES (?, ?, ?, ?, ?)',
  );
  values.forEach((v, i) => insert.run(taskId, v.name, i, v.color, v.key));
}

export function updateTaskFields(
  db: Db,
  id: number,
  f: { name: string; description: string | null; min: number | null; max: number | null },
): void {
  prepared(db, 'UPDATE tasks SET name = ?, description = ?, min_value = ?, max_value = ? WHERE id = ?').run(
    f.name,
    f.description,
    f.min,
    f.max,
    id,
  );
}

/** Relabels every slide that has `from` for the task; returns how many. */
export function relabelValue(db: Db, taskId: number, from: string, to: string): number {
  return prepared(db, 'UPDATE labels SET value = ? WHERE task_id = ? AND value = ?').run(to, taskId, from)
    .changes;
}

export function deleteLabelsWithValue(db: Db, taskId: number, value: string): number {
  return prepared(db, 'DELETE FROM labels WHERE task_id = ? AND value = ?').run(taskId, value).changes;
}

export function countLabels(db: Db, taskId: number): number {
  return (prepared(db, 'SELECT count(*) AS n FROM labels WHERE task_id = ?').get(taskId) as { n: number }).n;
}

/** Deletes the task; its labels go with it (each leaves a history row) and its id is never reused. */
export function deleteTaskRow(db: Db, id: number): number {
  const labels = prepared(db, 'DELETE FROM labels WHERE task_id = ?').run(id).changes;
  prepared(db, 'DELETE FROM tasks WHERE id = ?').run(id);
  raiseHighWater(db, 'tasks', id);
  return labels;
}

/** Distinct values of a continuous task outside [min, max] (null: unbounded), a few of them. */
export function selectValuesOutside(
  db: Db,
  taskId: number,
  min: number | null,
  max: number | null,
): string[] {
  return (
    prepared(
      db,
      `SELECT DISTINCT value FROM labels WHERE task_id = ?
         AND (CAST(value AS REAL) < coalesce(?, -9e999) OR CAST(value AS REAL) > coalesce(?, 9e999)) LIMIT 5`,
    ).all(taskId, min, max) as { value: string }[]
  ).map((r) => r.value);
}
