/** The slides a bulk action names: explicit ids (those that exist) or every slide a filter matches. */
import type { SlideSelection } from '../contract/contract.js';
import type { Db } from '../db/connection.js';
import { selectExistingSlideIds, selectSlideIds } from './slide-query-repo.js';

export function resolveSelection(db: Db, selection: SlideSelection): number[] {
  if ('ids' in selection) return selectExistingSlideIds(db, selection.ids);
  const except = new Set(selection.except ?? []);
  return selectSlideIds(db, { filter: selection.filter, sort: { column: 'id' } }).filter(
    (id) => !except.has(id),
  );
}
