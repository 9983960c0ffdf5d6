/**
 * An edit: the cells one user action changed (labels, QC, patients, annotation shapes), each with its state
 * before and after, so the session's undo stack (app-state/undo-stack.ts) can put either side back in one
 * transaction. A cell whose slide or task has since been removed is skipped.
 */
import type { LibraryChangeKind } from '../contract/contract.js';
import type { Db } from '../db/connection.js';
import { geometryBounds } from '../contract/annotation-shapes.js';
import { deleteAnnotation, writeAnnotation, type AnnotationRecord } from './annotations-repo.js';
import { decodeGeometry } from './wkb.js';
import { deleteLabel, withWriteReason, writeLabel, type LabelCell } from './labels-repo.js';
import { deleteOrphanPatients, writeSlidePatient } from './patients-repo.js';
import { writeQc, type QcState } from './qc-repo.js';
import { selectTask } from './tasks-repo.js';

export type CellChange =
  | { kind: 'label'; slideId: number; taskId: number; before: LabelCell | null; after: LabelCell | null }
  | { kind: 'qc'; slideId: number; before: QcState; after: QcState }
  | { kind: 'patient'; slideId: number; before: string | null; after: string | null }
  /** A shape: null before (drawn) or after (removed); its id stays the same across undo and redo. */
  | {
      kind: 'annotation';
      slideId: number;
      annotationId: number;
      before: AnnotationRecord | null;
      after: AnnotationRecord | null;
    };

export interface Edit {
  /** Shown as "Undo <description>", e.g. "set tumor = yes on 12 slides". */
  description: string;
  changes: CellChange[];
}

export interface EditOutcome {
  slideIds: number[];
  kinds: LibraryChangeKind[];
  /** The shapes the edit put back or took away. */
  annotationIds: number[];
}

/** Positions of a shape that count as one cell of the undo stack's memory bound. */
const POSITIONS_PER_CELL = 16;

/** How much of the undo stack's memory bound an edit takes: a cell each, a shape by its size. */
export function editWeight(edit: Edit): number {
  let cells = 0;
  for (const c of edit.changes)
    cells +=
      c.kind === 'annotation'
        ? 1 + Math.floor(Math.max(c.before?.vertexCount ?? 0, c.after?.vertexCount ?? 0) / POSITIONS_PER_CELL)
        : 1;
  return cells;
}

/** Puts every cell of `edit` in its before (undo) or after (redo) state, in one transaction. */
export function applyEdit(db: Db, edit: Edit, direction: 'undo' | 'redo'): EditOutcome {
  const slideIds = new Set<number>();
  const kinds = new Set<LibraryChangeKind>();
  const annotationIds: number[] = [];
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
        } else if (c.kind === 'annotation') {
          const record = direction === 'undo' ? c.before : c.after;
          done = record
            ? writeAnnotation(db, record, geometryBounds(decodeGeometry(record.geometry)))
            : (deleteAnnotation(db, c.annotationId), true);
          if (done) annotationIds.push(c.annotationId);
          kinds.add('annotations');
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
  return { slideIds: [...slideIds], kinds: [...kinds], annotationIds };
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
