/**
 * Label CSV import: the plan (label-csv-plan.ts) against the project as it is, and applying it in one
 * transaction (new tasks, labels with source csv, patients) as one edit for the undo stack. The plan is
 * made again inside the transaction, so what is written matches the database at that moment.
 */
import type { CsvColumnMapping } from '../contract/contract.js';
import type { Db } from '../db/connection.js';
import { dataStamp } from '../db/data-stamp.js';
import { plural, type CellChange, type Edit } from './edits.js';
import type { CsvTable } from './label-csv-read.js';
import { planCsvImport, type CsvPlan, type ProjectState } from './label-csv-plan.js';
import {
  insertLabel,
  selectTaskLabelCells,
  selectTaskLabelValues,
  updateLabel,
  withWriteReason,
  type LabelCell,
} from './labels-repo.js';
import { deleteOrphanPatients, selectSlideIdentities, writeSlidePatient } from './patients-repo.js';
import { insertNewTask, listTasks } from './tasks.js';

export interface CsvImportOptions {
  mapping?: Record<string, CsvColumnMapping>;
  createTasks: boolean;
}

function projectState(db: Db): ProjectState {
  return {
    tasks: listTasks(db),
    slides: selectSlideIdentities(db),
    labels: (taskId) => selectTaskLabelValues(db, taskId),
  };
}

export function previewCsvImport(db: Db, table: CsvTable, options: CsvImportOptions): CsvPlan {
  return planCsvImport(table, projectState(db), options);
}

/** A plan with the database stamp it was made at (label-csv-import applies it as is while that holds). */
export interface StampedPlan {
  plan: CsvPlan;
  stamp: string;
}

export function previewCsvImportStamped(db: Db, table: CsvTable, options: CsvImportOptions): StampedPlan {
  const stamp = dataStamp(db);
  return { plan: planCsvImport(table, projectState(db), options), stamp };
}

/**
 * Applies the CSV in one transaction. A plan made earlier is used as it is when nothing was written since
 * (its stamp still holds); otherwise the plan is made again inside the transaction.
 */
export function applyCsvImport(
  db: Db,
  table: CsvTable,
  options: CsvImportOptions,
  author: string | null,
  planned?: StampedPlan,
): { plan: CsvPlan; edit: Edit | null; createdTasks: number[] } {
  return db.transaction(() => {
    const plan =
      planned && planned.stamp === dataStamp(db)
        ? planned.plan
        : planCsvImport(table, projectState(db), options);
    const createdTasks: number[] = [];
    const taskIds = new Map<string, number>();
    for (const t of plan.newTasks) {
      const id = insertNewTask(db, {
        name: t.name,
        kind: t.kind,
        values: t.values.map((name) => ({ name })),
      });
      createdTasks.push(id);
      taskIds.set(t.name, id);
    }
    const changes: CellChange[] = [];
    const current = new Map<number, Map<number, LabelCell>>();
    withWriteReason(db, 'csv-import', () => {
      for (const c of plan.changes) {
        if (c.status === 'unchanged') continue;
        const taskId = c.taskId ?? taskIds.get(c.taskName)!;
        let cells = current.get(taskId);
        if (!cells) current.set(taskId, (cells = selectTaskLabelCells(db, taskId)));
        const before = cells.get(c.slideId) ?? null;
        const after = { value: c.newValue, source: 'csv' as const, author };
        if (before) updateLabel(db, c.slideId, taskId, after);
        else insertLabel(db, c.slideId, taskId, after);
        changes.push({ kind: 'label', slideId: c.slideId, taskId, before, after });
      }
    });
    for (const p of plan.patients) {
      writeSlidePatient(db, p.slideId, p.patient);
      changes.push({ kind: 'patient', slideId: p.slideId, before: null, after: p.patient });
    }
    deleteOrphanPatients(db);
    const labelCount = changes.filter((c) => c.kind === 'label').length;
    const edit = changes.length
      ? {
          description: `import ${table.fileName} (${plural(labelCount, 'label')}${plan.patients.length ? `, ${plural(plan.patients.length, 'patient')}` : ''})`,
          changes,
        }
      : null;
    return { plan, edit, createdTasks };
  })();
}
