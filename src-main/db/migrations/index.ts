import { migration0010 } from './0010-project-and-slides.js';
import { migration0020 } from './0020-tasks-labels-cohorts.js';
import { migration0030 } from './0030-slide-import-details.js';
import { migration0040 } from './0040-task-values.js';
import { migration0041 } from './0041-label-history-reason.js';
import { migration0042 } from './0042-slide-qc.js';
import { migration0043 } from './0043-splits.js';
import { migration0044 } from './0044-library-indexes.js';
import { migration0050 } from './0050-jobs-runs-models.js';
import { migration0070 } from './0070-annotations.js';
import { migration0080 } from './0080-predictions.js';
import type { Migration } from './types.js';

/**
 * Every migration, in order. Versions go up in tens so a fix can slot in between; a test checks that
 * they strictly increase. Never edit a migration that has shipped: add a new one.
 */
export const migrations: readonly Migration[] = [
  migration0010,
  migration0020,
  migration0030,
  migration0040,
  migration0041,
  migration0042,
  migration0043,
  migration0044,
  migration0050,
  migration0070,
  migration0080,
];

export type { Migration };
