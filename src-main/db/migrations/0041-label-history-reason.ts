import type { Migration } from './types.js';

/**
 * Why a label changed, beyond an ordinary edit (undo, redo, a CSV import, a renamed value, a deleted task
 * or slide). The code that makes such a change sets label_write_context.reason inside its transaction;
 * the history triggers copy it, so the history stays complete without every writer inserting rows.
 */
export const migration0041: Migration = {
  version: 41,
  name: 'label history reason',
  up: `
    ALTER TABLE label_history ADD COLUMN reason TEXT;
    CREATE TABLE label_write_context (
      id     INTEGER PRIMARY KEY CHECK (id = 1),
      reason TEXT
    );
    INSERT INTO label_write_context (id, reason) VALUES (1, NULL);
    DROP TRIGGER labels_history_insert;
    DROP TRIGGER labels_history_update;
    DROP TRIGGER labels_history_delete;
    CREATE TRIGGER labels_history_insert AFTER INSERT ON labels BEGIN
      INSERT INTO label_history (slide_id, task_id, old_value, new_value, source, author, reason)
      VALUES (NEW.slide_id, NEW.task_id, NULL, NEW.value, NEW.source, NEW.author,
              (SELECT reason FROM label_write_context WHERE id = 1));
    END;
    CREATE TRIGGER labels_history_update AFTER UPDATE OF value ON labels BEGIN
      INSERT INTO label_history (slide_id, task_id, old_value, new_value, source, author, reason)
      VALUES (NEW.slide_id, NEW.task_id, OLD.value, NEW.value, NEW.source, NEW.author,
              (SELECT reason FROM label_write_context WHERE id = 1));
    END;
    CREATE TRIGGER labels_history_delete AFTER DELETE ON labels BEGIN
      INSERT INTO label_history (slide_id, task_id, old_value, new_value, source, author, reason)
      VALUES (OLD.slide_id, OLD.task_id, OLD.value, NULL, OLD.source, OLD.author,
              (SELECT reason FROM label_write_context WHERE id = 1));
    END;
  `,
};
