/**
 * The session's undo and redo: one stack for every label, QC, patient and annotation change made through the app,
 * whichever view made it, so Ctrl+Z in the viewer undoes a bulk change made in the library. Each step is
 * undone or redone in one transaction (project/edits.ts), and the label history records it. Cleared when
 * the project closes or changes; bounded in steps and in cells.
 */
import type { UndoState } from '../contract/contract.js';
import type { Db } from '../db/connection.js';
import { applyEdit, editWeight, type Edit, type EditOutcome } from '../project/edits.js';

const MAX_STEPS = 200;
/**
 * A 20,000-row CSV import of 5 tasks is 100,000 cells; keep a few of those, not unbounded memory. A shape
 * weighs a cell per 16 positions (edits.ts).
 */
const MAX_CELLS = 1_000_000;

export class UndoStack {
  private done: Edit[] = [];
  private undone: Edit[] = [];

  push(edit: Edit | null): void {
    if (!edit || !edit.changes.length) return;
    this.done.push(edit);
    this.undone = [];
    let cells = this.done.reduce((n, e) => n + editWeight(e), 0);
    while (this.done.length > 1 && (this.done.length > MAX_STEPS || cells > MAX_CELLS))
      cells -= editWeight(this.done.shift()!);
  }

  /** Undoes the newest step; null when there is none. The stack moves only if the transaction commits. */
  undo(db: Db): { edit: Edit; outcome: EditOutcome } | null {
    const edit = this.done.at(-1);
    if (!edit) return null;
    const outcome = applyEdit(db, edit, 'undo');
    this.undone.push(this.done.pop()!);
    return { edit, outcome };
  }

  redo(db: Db): { edit: Edit; outcome: EditOutcome } | null {
    const edit = this.undone.at(-1);
    if (!edit) return null;
    const outcome = applyEdit(db, edit, 'redo');
    this.done.push(this.undone.pop()!);
    return { edit, outcome };
  }

  state(): UndoState {
    const undo = this.done.at(-1);
    const redo = this.undone.at(-1);
    return {
      canUndo: undo !== undefined,
      canRedo: redo !== undefined,
      undoDescription: undo ? capitalise(undo.description) : null,
      redoDescription: redo ? capitalise(redo.description) : null,
    };
  }

  clear(): void {
    this.done = [];
    this.undone = [];
  }
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
