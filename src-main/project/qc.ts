/** Per-slide QC flags with a free-text reason; set on many slides in one transaction, as one edit. */
import type { QcFlag } from '../contract/contract.js';
import type { Db } from '../db/connection.js';
import { plural, type CellChange, type Edit } from './edits.js';
import { applyQcFlags } from './qc-flags.js';
import { selectQcStates, writeQc } from './qc-repo.js';

export function setQc(
  db: Db,
  slideIds: number[],
  change: { flags: Partial<Record<QcFlag, boolean>>; reason?: string | null },
): { changed: number; edit: Edit | null } {
  return db.transaction(() => {
    const changes: CellChange[] = [];
    for (const [slideId, before] of selectQcStates(db, slideIds)) {
      const reason = change.reason === undefined ? before.reason : change.reason?.trim() || null;
      const after = { flags: applyQcFlags(before.flags, change.flags), reason };
      if (after.flags === before.flags && after.reason === before.reason) continue;
      writeQc(db, slideId, after);
      changes.push({ kind: 'qc', slideId, before, after });
    }
    const on = Object.entries(change.flags)
      .filter(([, v]) => v)
      .map(([f]) => f);
    const off = Object.entries(change.flags)
      .filter(([, v]) => v === false)
      .map(([f]) => f);
    const what = [on.length ? `flag ${on.join(', ')}` : '', off.length ? `unflag ${off.join(', ')}` : '']
      .filter(Boolean)
      .join(' and ');
    return {
      changed: changes.length,
      edit: changes.length
        ? { description: `${what || 'QC reason'} on ${plural(changes.length, 'slide')}`, changes }
        : null,
    };
  })();
}
