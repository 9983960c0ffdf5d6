/**
 * Label CSV import: the plan (label-csv-plan.ts) against the project as it is, and applying it in one
 * transaction (new tasks, labels with source csv, patients) as one edit for the undo stack. The plan is
 * made again inside the transaction, so what is written matches the database at that moment.
 */
import type { CsvColumnMapping } from '../contract/contract.js';
import type { Db } from '../db/connection.js';
import { plural, type CellChange, type Edit } from './edits.js';
import type { CsvTable } from './label-csv-read.js';
import { planCsvImport, type CsvPlan, type ProjectState } from './label-csv-plan.js';
import { selectLabel, selectTaskLabelValues, withWriteReason, writeLabel } from './labels-repo.js';
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

export function applyCsvImport(
  db: Db,
  table: CsvTable,
  options: CsvImportOptions,
  author: string | null,
): { plan: CsvPlan; edit: Edit | null; createdTasks: number[] } {
  return db.transaction(() => {
    const plan = planCsvImport(table, projectState(db), options);
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
    withWriteReason(db, 'csv-import', () => {
      for (const c of plan.changes) {
        if (c.status === 'unchanged') continue;
        const taskId = c.taskId ?? taskIds.get(c.taskName)!;
        const existing = selectLabel(db, c.slideId, taskId);
        const after = { value: c.newValue, source: 'csv' as const, author };
        writeLabel(db, c.slideId, taskId, after);
        changes.push({
          kind: 'label',
          slideId: c.slideId,
          taskId,
          before: existing
            ? { value: existing.value, source: existing.source, author: existing.author }
            : null,
          after,
        });
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
