/**
 * Setting and clearing slide labels, one or many, each write with its source and author; the triggers keep
 * the history. Every call is one transaction and returns the edit it made, for the session's undo stack.
 */
import type { LabelSource, SlideLabel, Task } from '../contract/contract.js';
import { ApiError } from '../contract/errors.js';
import type { Db } from '../db/connection.js';
import { plural, type CellChange, type Edit } from './edits.js';
import { deleteLabel, selectLabel, writeLabel, type LabelCell } from './labels-repo.js';
import { slideExists } from './slides-repo.js';
import { readTaskValue } from './task-values.js';
import { selectTask, selectValuesOfTask } from './tasks-repo.js';

export interface LabelWrite {
  taskId: number;
  value: string | number | boolean | null;
  source: LabelSource;
  author: string | null;
}

/** The task's kind, values and bounds, without the label counts (the write path's lookup). */
export function taskForWriting(
  db: Db,
  taskId: number,
): Pick<Task, 'id' | 'name' | 'kind' | 'values' | 'min' | 'max'> {
  const row = selectTask(db, taskId);
  if (!row) throw new ApiError('not-found', `There is no task with id ${taskId} in this project.`);
  const values = selectValuesOfTask(db, taskId);
  return { id: row.id, name: row.name, kind: row.kind, values, min: row.min, max: row.max };
}

function readValue(
  task: ReturnType<typeof taskForWriting>,
  raw: string | number | boolean | null,
): string | null {
  const reading = readTaskValue(task, raw);
  if (!reading.ok)
    throw new ApiError('bad-input', `${reading.reason[0]!.toUpperCase()}${reading.reason.slice(1)}.`);
  return reading.value;
}

/** Applies one cell change; returns the change made, or null when the label already was that. */
function setCell(db: Db, slideId: number, taskId: number, next: LabelCell | null): CellChange | null {
  const current = selectLabel(db, slideId, taskId);
  const before: LabelCell | null = current
    ? { value: current.value, source: current.source, author: current.author }
    : null;
  if ((before?.value ?? null) === (next?.value ?? null)) return null;
  if (next) writeLabel(db, slideId, taskId, next);
  else deleteLabel(db, slideId, taskId);
  return { kind: 'label', slideId, taskId, before, after: next };
}

/** Sets (value) or clears (null) one slide's label for one task. */
export function setLabel(
  db: Db,
  slideId: number,
  write: LabelWrite,
): { label: SlideLabel | null; edit: Edit | null } {
  return db.transaction(() => {
    const task = taskForWriting(db, write.taskId);
    if (!slideExists(db, slideId))
      throw new ApiError('not-found', `There is no slide with id ${slideId} in this project.`);
    const value = readValue(task, write.value);
    const change = setCell(
      db,
      slideId,
      task.id,
      value === null ? null : { value, source: write.source, author: write.author },
    );
    const label = selectLabel(db, slideId, task.id) ?? null;
    const edit = change
      ? {
          description: value === null ? `clear ${task.name}` : `set ${task.name} = ${value}`,
          changes: [change],
        }
      : null;
    return { label, edit };
  })();
}

/** Sets or clears one task's value on many slides, in one transaction. */
export function setLabels(
  db: Db,
  slideIds: number[],
  write: LabelWrite,
): { changed: number; unchanged: number; edit: Edit | null } {
  return db.transaction(() => {
    const task = taskForWriting(db, write.taskId);
    const value = readValue(task, write.value);
    const next = value === null ? null : { value, source: write.source, author: write.author };
    const changes: CellChange[] = [];
    for (const id of slideIds) {
      const change = setCell(db, id, task.id, next);
      if (change) changes.push(change);
    }
    const what = value === null ? `clear ${task.name}` : `set ${task.name} = ${value}`;
    return {
      changed: changes.length,
      unchanged: slideIds.length - changes.length,
      edit: changes.length ? { description: `${what} on ${plural(changes.length, 'slide')}`, changes } : null,
    };
  })();
}
