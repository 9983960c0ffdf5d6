/**
 * Tasks, the label schemas: binary (two values), categorical (a list of values, each with a colour and a
 * key) or continuous (an optional min and max). Every change is one transaction; renaming a value relabels
 * its slides in the same transaction, and the history records why.
 */
import type { Task, TaskKind, TaskValue } from '../contract/contract.js';
import { ApiError } from '../contract/errors.js';
import type { Db } from '../db/connection.js';
import { withWriteReason } from './labels-repo.js';
import { assertDistinct, completeValues, defaultColor, defaultKey } from './task-values.js';
import {
  countLabels,
  deleteLabelsWithValue,
  deleteTaskRow,
  insertTask,
  relabelValue,
  replaceTaskValues,
  selectTask,
  selectTaskByName,
  selectTaskValues,
  selectTasks,
  selectValueCounts,
  selectValueCountsOfTask,
  selectValuesOfTask,
  selectValuesOutside,
  updateTaskFields,
  type TaskRow,
} from './tasks-repo.js';

/** CSV column names a task may not take: export writes them as the patient and slide columns. */
const RESERVED_NAMES = ['patient', 'slide', 'case_id', 'slide_id', 'patient_id'];

export function listTasks(db: Db): Task[] {
  const values = selectTaskValues(db);
  const counts = selectValueCounts(db);
  return selectTasks(db).map((row) => assemble(row, values, counts));
}

export function getTask(db: Db, id: number): Task {
  const row = selectTask(db, id);
  if (!row) throw new ApiError('not-found', `There is no task with id ${id} in this project.`);
  return assemble(
    row,
    selectValuesOfTask(db, id).map((v) => ({ ...v, taskId: id })),
    selectValueCountsOfTask(db, id).map((c) => ({ ...c, taskId: id })),
  );
}

/** The task named `name` (ignoring case), or a not-found error naming the tasks there are. */
export function getTaskByName(db: Db, name: string): Task {
  const row = selectTaskByName(db, name.trim());
  if (!row) {
    const names = selectTasks(db).map((t) => t.name);
    throw new ApiError(
      'not-found',
      `There is no task named "${name}" in this project${names.length ? ` (tasks: ${names.join(', ')})` : ''}.`,
    );
  }
  return getTask(db, row.id);
}

function assemble(
  row: TaskRow,
  values: (TaskValue & { taskId: number })[],
  counts: { taskId: number; value: string; n: number }[],
): Task {
  const valueCounts: Record<string, number> = {};
  let labelCount = 0;
  for (const c of counts) {
    if (c.taskId !== row.id) continue;
    valueCounts[c.value] = c.n;
    labelCount += c.n;
  }
  return {
    ...row,
    values: values.filter((v) => v.taskId === row.id).map(({ name, color, key }) => ({ name, color, key })),
    labelCount,
    valueCounts: row.kind === 'continuous' ? {} : valueCounts,
  };
}

export interface NewTask {
  name: string;
  kind: TaskKind;
  values?: { name: string; color?: string; key?: string | null }[];
  min?: number | null;
  max?: number | null;
  description?: string | null;
}

/** Creates a task; call inside a transaction to combine with other writes (the CSV import does). */
export function insertNewTask(db: Db, t: NewTask): number {
  const name = checkName(db, t.name, null);
  const values = userError(() => completeValues(t.kind, t.values));
  const min = t.kind === 'continuous' ? (t.min ?? null) : null;
  const max = t.kind === 'continuous' ? (t.max ?? null) : null;
  if (t.kind !== 'continuous' && (t.min != null || t.max != null))
    throw new ApiError(
      'bad-input',
      `Only a continuous task has a minimum and maximum; ${name} is ${t.kind}.`,
    );
  checkBounds(min, max);
  const id = insertTask(db, { name, kind: t.kind, description: t.description ?? null, min, max });
  replaceTaskValues(db, id, values);
  return id;
}

export function createTask(db: Db, t: NewTask): Task {
  const id = db.transaction(() => insertNewTask(db, t))();
  return getTask(db, id);
}

export function updateTask(
  db: Db,
  id: number,
  change: { name?: string; description?: string | null; min?: number | null; max?: number | null },
): Task {
  db.transaction(() => {
    const task = getTask(db, id);
    const name = change.name !== undefined ? checkName(db, change.name, id) : task.name;
    if (task.kind !== 'continuous' && (change.min != null || change.max != null))
      throw new ApiError(
        'bad-input',
        `Only a continuous task has a minimum and maximum; ${task.name} is ${task.kind}.`,
      );
    const min = change.min !== undefined ? change.min : task.min;
    const max = change.max !== undefined ? change.max : task.max;
    checkBounds(min, max);
    if (task.kind === 'continuous') {
      const outside = selectValuesOutside(db, id, min, max);
      if (outside.length)
        throw new ApiError(
          'conflict',
          `Slides are labelled ${outside.slice(0, 3).join(', ')} for ${task.name}, outside the new bounds; change those labels first.`,
        );
    }
    updateTaskFields(db, id, {
      name,
      description: change.description !== undefined ? change.description : task.description,
      min,
      max,
    });
  })();
  return getTask(db, id);
}

export function addValue(
  db: Db,
  taskId: number,
  v: { name: string; color?: string; key?: string | null },
): Task {
  db.transaction(() => {
    const task = getTask(db, taskId);
    if (task.kind !== 'categorical')
      throw new ApiError(
        'bad-input',
        `Only a categorical task takes new values; ${task.name} is ${task.kind}.`,
      );
    const position = task.values.length;
    const values = [
      ...task.values,
      {
        name: v.name.trim(),
        color: v.color ?? defaultColor('categorical', position),
        key: v.key === undefined ? freeKey(task.values, position) : v.key,
      },
    ];
    userError(() => assertDistinct(values), 'conflict');
    replaceTaskValues(db, taskId, values);
  })();
  return getTask(db, taskId);
}

/** Edits a value; a new name relabels every slide that had the old one (one transaction). */
export function editValue(
  db: Db,
  taskId: number,
  valueName: string,
  change: { name?: string; color?: string; key?: string | null },
): { task: Task; relabeled: number } {
  let relabeled = 0;
  db.transaction(() => {
    const task = getTask(db, taskId);
    const index = task.values.findIndex((v) => v.name === valueName);
    if (index < 0) throw new ApiError('not-found', `Task ${task.name} has no value "${valueName}".`);
    const old = task.values[index]!;
    const next = {
      name: change.name?.trim() ?? old.name,
      color: change.color ?? old.color,
      key: change.key !== undefined ? change.key : old.key,
    };
    const values = task.values.map((v, i) => (i === index ? next : v));
    userError(() => assertDistinct(values), 'conflict');
    replaceTaskValues(db, taskId, values);
    if (next.name !== old.name)
      relabeled = withWriteReason(db, 'value-renamed', () => relabelValue(db, taskId, old.name, next.name));
  })();
  return { task: getTask(db, taskId), relabeled };
}

export function removeValue(
  db: Db,
  taskId: number,
  valueName: string,
  clearLabels: boolean,
): { task: Task; cleared: number } {
  let cleared = 0;
  db.transaction(() => {
    const task = getTask(db, taskId);
    if (task.kind !== 'categorical')
      throw new ApiError(
        'bad-input',
        `A ${task.kind} task's values cannot be removed; ${task.name} keeps its own.`,
      );
    if (!task.values.some((v) => v.name === valueName))
      throw new ApiError('not-found', `Task ${task.name} has no value "${valueName}".`);
    const used = task.valueCounts[valueName] ?? 0;
    if (used && !clearLabels)
      throw new ApiError(
        'conflict',
        `${used} slide(s) are labelled ${valueName} for ${task.name}; relabel them first or confirm clearing those labels.`,
      );
    if (used)
      cleared = withWriteReason(db, 'value-removed', () => deleteLabelsWithValue(db, taskId, valueName));
    replaceTaskValues(
      db,
      taskId,
      task.values.filter((v) => v.name !== valueName),
    );
  })();
  return { task: getTask(db, taskId), cleared };
}

export function reorderValues(db: Db, taskId: number, order: string[]): Task {
  db.transaction(() => {
    const task = getTask(db, taskId);
    const byName = new Map(task.values.map((v) => [v.name, v]));
    if (
      order.length !== task.values.length ||
      new Set(order).size !== order.length ||
      !order.every((n) => byName.has(n))
    )
      throw new ApiError(
        'bad-input',
        `Give every value of ${task.name} exactly once (${task.values.map((v) => v.name).join(', ')}).`,
      );
    replaceTaskValues(
      db,
      taskId,
      order.map((n) => byName.get(n)!),
    );
  })();
  return getTask(db, taskId);
}

/** Deletes a task with its labels (their history rows stay, marked task-deleted). */
export function deleteTask(db: Db, taskId: number): { deletedLabels: number } {
  return db.transaction(() => {
    getTask(db, taskId);
    const deletedLabels = withWriteReason(db, 'task-deleted', () => deleteTaskRow(db, taskId));
    return { deletedLabels };
  })();
}

export function labelCount(db: Db, taskId: number): number {
  return countLabels(db, taskId);
}

function checkName(db: Db, raw: string, selfId: number | null): string {
  const name = raw.trim();
  if (!name) throw new ApiError('bad-input', 'A task needs a name.');
  if (RESERVED_NAMES.includes(name.toLowerCase()))
    throw new ApiError(
      'bad-input',
      `"${name}" names the patient or slide column of a label CSV; choose another task name.`,
    );
  const clash = selectTaskByName(db, name);
  if (clash && clash.id !== selfId)
    throw new ApiError('conflict', `A task named "${clash.name}" already exists.`);
  return name;
}

function checkBounds(min: number | null, max: number | null): void {
  if (min !== null && max !== null && min > max)
    throw new ApiError('bad-input', `The minimum (${min}) is above the maximum (${max}).`);
}

/** The default key for a new value at `position`, or none when another value already has it. */
function freeKey(values: TaskValue[], position: number): string | null {
  const key = defaultKey('categorical', position);
  return key !== null && values.some((v) => v.key?.toLowerCase() === key.toLowerCase()) ? null : key;
}

function userError<T>(run: () => T, code: 'bad-input' | 'conflict' = 'bad-input'): T {
  try {
    return run();
  } catch (err) {
    if (err instanceof ApiError) throw err;
    const message = (err as Error).message;
    throw new ApiError(code, message.charAt(0).toUpperCase() + message.slice(1) + '.');
  }
}
