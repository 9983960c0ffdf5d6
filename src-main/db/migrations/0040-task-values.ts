import type { Migration } from './types.js';

/**
 * A task's allowed values as rows (name, colour, keyboard key, order), so that renaming a value can
 * relabel its slides in one statement and a key is unique within its task; bounds for continuous tasks.
 * Values already used by labels of binary or categorical tasks become the tasks' values.
 */
export const migration0040: Migration = {
  version: 40,
  name: 'task values and bounds',
  up: `
    CREATE TABLE task_values (
      task_id  INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
      name     TEXT NOT NULL,
      position INTEGER NOT NULL,
      color    TEXT NOT NULL,
      key      TEXT,
      PRIMARY KEY (task_id, name),
      UNIQUE (task_id, key)
    );
    ALTER TABLE tasks ADD COLUMN min_value REAL;
    ALTER TABLE tasks ADD COLUMN max_value REAL;
    INSERT INTO task_values (task_id, name, position, color)
      SELECT l.task_id, l.value, row_number() OVER (PARTITION BY l.task_id ORDER BY l.value) - 1, '#808080'
      FROM (SELECT DISTINCT task_id, value FROM labels) l JOIN tasks t ON t.id = l.task_id
      WHERE t.kind IN ('binary', 'categorical');
  `,
};
