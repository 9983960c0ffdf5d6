import type { Migration } from './types.js';

/**
 * Per-slide QC flags as a bit set (blur 1, pen marks 2, folds 4, tissue missing 8, exclude 16; the order
 * is project/qc.ts's QC_BITS) with a free-text reason.
 */
export const migration0042: Migration = {
  version: 42,
  name: 'slide QC flags',
  up: `
    ALTER TABLE slides ADD COLUMN qc_flags INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE slides ADD COLUMN qc_reason TEXT;
  `,
};
