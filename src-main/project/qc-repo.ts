/** SQL over the slides' QC columns. Callers wrap multi-row changes in one transaction. */
import type { Db } from '../db/connection.js';
import { prepared } from '../db/statements.js';

export interface QcState {
  flags: number;
  reason: string | null;
}

export function selectQcStates(db: Db, slideIds: number[]): Map<number, QcState> {
  const select = prepared(db, 'SELECT qc_flags AS flags, qc_reason AS reason FROM slides WHERE id = ?');
  const out = new Map<number, QcState>();
  for (const id of slideIds) {
    const row = select.get(id) as QcState | undefined;
    if (row) out.set(id, row);
  }
  return out;
}

/** Returns false when the slide no longer exists. */
export function writeQc(db: Db, slideId: number, state: QcState): boolean {
  return (
    prepared(db, 'UPDATE slides SET qc_flags = ?, qc_reason = ? WHERE id = ?').run(
      state.flags,
      state.reason,
      slideId,
    ).changes > 0
  );
}
