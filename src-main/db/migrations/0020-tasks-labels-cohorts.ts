import type { Migration } from './types.js';

/**
 * Label schemas (tasks), slide labels with an append-only history kept by triggers (so no code path
 * can change a label without leaving a trace), and cohorts.
 */
export const migration0020: Migration = {
  version: 20,
  name: 'tasks, labels, label history, cohorts',
  up: `
    CREATE TABLE tasks (
      id             INTEGER PRIMARY KEY,
      name           TEXT NOT NULL UNIQUE,
      kind           TEXT NOT NULL CHECK (kind IN ('binary', 'categorical', 'continuous')),
      allowed_values TEXT,
      description    TEXT,
      created_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE TABLE labels (
      slide_id   INTEGER NOT NULL REFERENCES slides(id) ON DELETE CASCADE,
      task_id    INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
      value      TEXT NOT NULL,
      source     TEXT NOT NULL DEFAULT 'manual',
      author     TEXT,
      updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
      PRIMARY KEY (slide_id, task_id)
    );
    CREATE TABLE label_history (
      id         INTEGER PRIMARY KEY,
      slide_id   INTEGER NOT NULL,
      task_id    INTEGER NOT NULL,
      old_value  TEXT,
      new_value  TEXT,
      source     TEXT,
      author     TEXT,
      changed_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE INDEX label_history_slide ON label_history(slide_id, task_id);
    CREATE TRIGGER labels_history_insert AFTER INSERT ON labels BEGIN
      INSERT INTO label_history (slide_id, task_id, old_value, new_value, source, author)
      VALUES (NEW.slide_id, NEW.task_id, NULL, NEW.value, NEW.source, NEW.author);
    END;
    CREATE TRIGGER labels_history_update AFTER UPDATE OF value ON labels BEGIN
      INSERT INTO label_history (slide_id, task_id, old_value, new_value, source, author)
      VALUES (NEW.slide_id, NEW.task_id, OLD.value, NEW.value, NEW.source, NEW.author);
    END;
    CREATE TRIGGER labels_history_delete AFTER DELETE ON labels BEGIN
      INSERT INTO label_history (slide_id, task_id, old_value, new_value, source, author)
      VALUES (OLD.slide_id, OLD.task_id, OLD.value, NULL, OLD.source, OLD.author);
    END;
    CREATE TABLE cohorts (
      id         INTEGER PRIMARY KEY,
      name       TEXT NOT NULL UNIQUE,
      kind       TEXT NOT NULL CHECK (kind IN ('filter', 'explicit')),
      filter     TEXT,
      created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE TABLE cohort_members (
      cohort_id INTEGER NOT NULL REFERENCES cohorts(id) ON DELETE CASCADE,
      slide_id  INTEGER NOT NULL REFERENCES slides(id) ON DELETE CASCADE,
      PRIMARY KEY (cohort_id, slide_id)
    );
  `,
};
