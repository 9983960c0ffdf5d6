/** QC flags as the bits stored in slides.qc_flags (migration 0042). Pure. */
import { QC_FLAGS, type QcFlag } from '../contract/contract.js';

export const QC_BITS: Record<QcFlag, number> = {
  blur: 1,
  'pen-marks': 2,
  folds: 4,
  'tissue-missing': 8,
  exclude: 16,
};

export function qcFlagList(bits: number): QcFlag[] {
  return QC_FLAGS.filter((f) => (bits & QC_BITS[f]) !== 0);
}

/** `bits` with the flags in `change` set (true) or cleared (false); flags left out keep their state. */
export function applyQcFlags(bits: number, change: Partial<Record<QcFlag, boolean>>): number {
  let out = bits;
  for (const f of QC_FLAGS) {
    const on = change[f];
    if (on === true) out |= QC_BITS[f];
    else if (on === false) out &= ~QC_BITS[f];
  }
  return out;
}
