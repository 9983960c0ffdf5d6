import { migration0010 } from './0010-project-and-slides.js';
import { migration0020 } from './0020-tasks-labels-cohorts.js';
import { migration0030 } from './0030-slide-import-details.js';
import { migration0050 } from './0050-jobs-runs-models.js';
import type { Migration } from './types.js';

/**
 * Every migration, in order. Versions go up in tens so a fix can slot in between; a test checks that
 * they strictly increase. Never edit a migration that has shipped: add a new one.
 */
export const migrations: readonly Migration[] = [migration0010, migration0020, migration0030, migration0050];

export type { Migration };
