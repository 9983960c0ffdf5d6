import type { Migration } from './types.js';

/**
 * Stored splits: seed, scheme and the exact member list with each slide's name, patient and value as they
 * were, so a training run that names a split gets the same slides after slides are added, relabeled or
 * removed. Members keep no foreign key to slides for that reason.
 */
export const migration0043: Migration = {
  version: 43,
  name: 'splits',
  up: `
    CREATE TABLE splits (
      id         INTEGER PRIMARY KEY,
      name       TEXT NOT NULL UNIQUE,
      task_id    INTEGER NOT NULL,
      task_name  TEXT NOT NULL,
      cohort_id  INTEGER REFERENCES cohorts(id) ON DELETE SET NULL,
      cohort_name TEXT,
      seed       INTEGER NOT NULL,
      scheme     TEXT NOT NULL,
      summary    TEXT NOT NULL,
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE TABLE split_members (
      split_id   INTEGER NOT NULL REFERENCES splits(id) ON DELETE CASCADE,
      part       TEXT NOT NULL,
      slide_id   INTEGER NOT NULL,
      slide_name TEXT NOT NULL,
      patient    TEXT,
      value      TEXT NOT NULL,
      PRIMARY KEY (split_id, slide_id)
    ) WITHOUT ROWID;
  `,
};
