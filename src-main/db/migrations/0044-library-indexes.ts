import type { Migration } from './types.js';

/**
 * Indexes for the library at 20,000 slides: labels by task and value (filter by value, count per value),
 * cohort membership by slide, and the slide columns the table sorts by most.
 */
export const migration0044: Migration = {
  version: 44,
  name: 'library indexes',
  up: `
    CREATE INDEX labels_task_value ON labels(task_id, value);
    CREATE INDEX cohort_members_slide ON cohort_members(slide_id);
    CREATE INDEX slides_name ON slides(name COLLATE NOCASE, id);
    CREATE INDEX slides_added ON slides(added_at, id);
  `,
};
