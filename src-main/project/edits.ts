/**
 * An edit: the cells one user action changed (labels, QC, patients), each with its state before and after,
 * so the session's undo stack (app-state/undo-stack.ts) can put either side back in one transaction. A
 * cell whose slide or task has since been removed is skipped.
 */
import type { LibraryChangeKind } from '../contract/contract.js';
import type { Db } from '../db/connection.js';
import { deleteLabel, withWriteReason, writeLabel, type LabelCell } from './labels-repo.js';
import { deleteOrphanPatients, writeSlidePatient } from './patients-repo.js';
import { writeQc, type QcState } from './qc-repo.js';
import { selectTask } from './tasks-repo.js';

export type CellChange =
  | { kind: 'label'; slideId: number; taskId: number; before: LabelCell | null; after: LabelCell | null }
  | { kind: 'qc'; slideId: number; before: QcState; after: QcState }
  | { kind: 'patient'; slideId: number; before: string | null; after: string | null };

export interface Edit {
  /** Shown as "Undo <description>", e.g. "set tumor = yes on 12 slides". */
  description: string;
  changes: CellChange[];
}

export interface EditOutcome {
  slideIds: number[];
  kinds: LibraryChangeKind[];
}

/** Puts every cell of `edit` in its before (undo) or after (redo) state, in one transaction. */
export function applyEdit(db: Db, edit: Edit, direction: 'undo' | 'redo'): EditOutcome {
  const slideIds = new Set<number>();
  const kinds = new Set<LibraryChangeKind>();
  const taskExists = new Map<number, boolean>();
  db.transaction(() => {
    withWriteReason(db, direction, () => {
      // Undo walks the cells backwards so a cell changed twice in one edit ends in its first state.
      const cells = direction === 'undo' ? [...edit.changes].reverse() : edit.changes;
      for (const c of cells) {
        const target = direction === 'undo' ? c.before : c.after;
        let done: boolean;
        if (c.kind === 'label') {
          if (!taskExists.has(c.taskId)) taskExists.set(c.taskId, selectTask(db, c.taskId) !== undefined);
          if (!taskExists.get(c.taskId)) continue;
          done = writeLabelCell(db, c.slideId, c.taskId, target as LabelCell | null);
          kinds.add('labels');
        } else if (c.kind === 'qc') {
          done = writeQc(db, c.slideId, target as QcState);
          kinds.add('qc');
        } else {
          done = writeSlidePatient(db, c.slideId, target as string | null);
          kinds.add('patients');
        }
        if (done) slideIds.add(c.slideId);
      }
      if (kinds.has('patients')) deleteOrphanPatients(db);
    });
  })();
  return { slideIds: [...slideIds], kinds: [...kinds] };
}

/** Writes or clears one label; false when its slide is gone (the foreign key refuses the insert). */
function writeLabelCell(db: Db, slideId: number, taskId: number, cell: LabelCell | null): boolean {
  if (cell === null) {
    deleteLabel(db, slideId, taskId);
    return true;
  }
  try {
    writeLabel(db, slideId, taskId, cell);
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return false;
    throw err;
  }
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}
