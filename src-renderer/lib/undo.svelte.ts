/**
 * The session's undo stack, kept by the main process: labels, QC, patient and annotation changes made anywhere in
 * this session (the Library, the Viewer, a CSV import) undo in order with Ctrl+Z and redo with
 * Ctrl+Shift+Z (or Ctrl+Y). Every change, undo and redo reports the stack's new state in its
 * onLibraryChanged, so this store only mirrors it.
 */
import type { UndoState } from '../../src-main/contract/contract.js';
import { call, on, onResync } from './api.js';
import { reporting } from './errors.svelte.js';
import { notice } from './notices.svelte.js';

const NOTHING: UndoState = { canUndo: false, canRedo: false, undoDescription: null, redoDescription: null };

class UndoStore {
  state = $state.raw<UndoState>(NOTHING);
  private busy = false;
  /** Work that must land before an undo (the Viewer's label and annotation writes still on their way). */
  private before = new Set<() => Promise<void>>();

  start(): () => void {
    const offChanged = on('onLibraryChanged', (change) => {
      this.state = change.undo;
    });
    const offResync = onResync(() => void this.refresh());
    return () => {
      offChanged();
      offResync();
    };
  }

  /**
   * Lets a writer make undo wait for its pending writes (so Ctrl+Z right after a key undoes that key).
   * Returns what stops the waiting.
   */
  waitFor(pending: () => Promise<void>): () => void {
    this.before.add(pending);
    return () => this.before.delete(pending);
  }

  async refresh(): Promise<void> {
    const state = await reporting(() => call('edit.state'));
    if (state) this.state = state;
  }

  clear(): void {
    this.state = NOTHING;
  }

  async undo(): Promise<void> {
    await this.run('undo');
  }

  async redo(): Promise<void> {
    await this.run('redo');
  }

  private async run(which: 'undo' | 'redo'): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      await Promise.all([...this.before].map((wait) => wait()));
      if (which === 'undo') {
        const result = await reporting(() => call('edit.undo'));
        if (result) this.show(result.undo, result.undone ? `Undone: ${result.undone}` : 'Nothing to undo');
      } else {
        const result = await reporting(() => call('edit.redo'));
        if (result) this.show(result.undo, result.redone ? `Redone: ${result.redone}` : 'Nothing to redo');
      }
    } finally {
      this.busy = false;
    }
  }

  private show(state: UndoState, text: string): void {
    this.state = state;
    notice.show(text);
  }
}

export const undo = new UndoStore();
