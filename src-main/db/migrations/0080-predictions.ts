import type { Migration } from './types.js';

/**
 * Slide predictions of models: one row per slide, task and model source (`model:<run id>`, or
 * `model:<folder name>` for a checkpoint folder), the last inference job's probabilities for each of the
 * task's values (in the task's order) and the most probable value. `model_key` names the folder of the
 * per-patch rasters (attention, scores) in the project's cache. A prediction is not a label: turning it
 * into one is a user action (and an ordinary, undoable label write).
 */
export const migration0080: Migration = {
  version: 80,
  name: 'predictions',
  up: `
    CREATE TABLE predictions (
      slide_id      INTEGER NOT NULL REFERENCES slides(id) ON DELETE CASCADE,
      task_id       INTEGER NOT NULL REFERENCES tasks(id) ON DELETE CASCADE,
      source        TEXT NOT NULL,
      run_id        INTEGER,
      job_id        INTEGER NOT NULL,
      model_key     TEXT NOT NULL,
      probabilities TEXT NOT NULL,
      value         TEXT NOT NULL,
      created_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
      PRIMARY KEY (slide_id, task_id, source)
    );
    CREATE INDEX predictions_source ON predictions(source, task_id);
  `,
};
