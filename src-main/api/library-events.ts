/** Tells open views what changed in the project (onLibraryChanged), with the undo state after it. */
import type { LibraryChangeKind } from '../contract/contract.js';
import type { AppSession } from '../app-state/session.js';

/** Beyond this many slides the event says "many" (null) and views refetch their page. */
const MAX_IDS_IN_EVENT = 2000;

export function notifyLibrary(
  session: AppSession,
  kinds: LibraryChangeKind[],
  slideIds: number[] | null,
  annotationIds?: number[],
): void {
  session.emit('onLibraryChanged', {
    kinds,
    slideIds: slideIds && slideIds.length <= MAX_IDS_IN_EVENT ? slideIds : null,
    ...(annotationIds && annotationIds.length <= MAX_IDS_IN_EVENT ? { annotationIds } : {}),
    undo: session.edits.state(),
  });
}
