/**
 * onLibraryChanged, coalesced: a burst of changes (a labeler pressing keys, an import) reaches a store as
 * one call with the union of what changed, at most every `delayMs`.
 */
import type { LibraryChange, LibraryChangeKind } from '../../src-main/contract/contract.js';
import { on } from './api.js';

export interface MergedChange {
  kinds: Set<LibraryChangeKind>;
  /** Null when any change named no slides (many or all may have changed). */
  slideIds: Set<number> | null;
}

export function followLibraryChanges(listener: (change: MergedChange) => void, delayMs = 40): () => void {
  let pending: MergedChange | null = null;
  let timer: ReturnType<typeof setTimeout> | null = null;
  const off = on('onLibraryChanged', (change: LibraryChange) => {
    if (!pending) pending = { kinds: new Set(), slideIds: new Set() };
    for (const kind of change.kinds) pending.kinds.add(kind);
    if (change.slideIds === null) pending.slideIds = null;
    else if (pending.slideIds) for (const id of change.slideIds) pending.slideIds.add(id);
    timer ??= setTimeout(() => {
      const merged = pending!;
      pending = null;
      timer = null;
      listener(merged);
    }, delayMs);
  });
  return () => {
    off();
    if (timer) clearTimeout(timer);
  };
}
