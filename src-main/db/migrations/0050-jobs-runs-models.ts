import type { Migration } from './types.js';

/**
 * Background jobs (training now, inference next) with their states, the models imported into the project,
 * and training runs: each run's whole config and split members as they were, its per-epoch history, its
 * test metrics and the test part's per-slide predictions. Runs keep slide names and patients beside the
 * ids (no foreign key to slides) so a finished run reads the same after slides are removed.
 */
export const migration0050: Migration = {
  version: 50,
  name: 'jobs, models, runs',
  up: `
    CREATE TABLE jobs (
      id           INTEGER PRIMARY KEY,
      kind         TEXT NOT NULL,
      state        TEXT NOT NULL
                   CHECK (state IN ('queued', 'running', 'paused', 'cancelled', 'failed', 'completed')),
      params       TEXT NOT NULL DEFAULT '{}',
      work_dir     TEXT NOT NULL,
      request      TEXT CHECK (request IN ('pause', 'cancel')),
      error        TEXT,
      progress     TEXT,
      attempts     INTEGER NOT NULL DEFAULT 0,
      runner_pid   INTEGER,
      process_pid  INTEGER,
      heartbeat_at INTEGER,
      queued_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
      started_at   TEXT,
      finished_at  TEXT
    );
    CREATE INDEX jobs_state ON jobs(state, id);

    CREATE TABLE models (
      id             INTEGER PRIMARY KEY,
      name           TEXT NOT NULL UNIQUE,
      folder         TEXT NOT NULL UNIQUE,
      architecture   TEXT NOT NULL,
      num_params     INTEGER NOT NULL,
      output_dim     INTEGER NOT NULL,
      input_size     INTEGER NOT NULL,
      weights_sha256 TEXT NOT NULL,
      source         TEXT,
      imported_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );

    CREATE TABLE runs (
      id           INTEGER PRIMARY KEY,
      job_id       INTEGER NOT NULL UNIQUE REFERENCES jobs(id) ON DELETE CASCADE,
      name         TEXT NOT NULL,
      config       TEXT NOT NULL,
      code_version TEXT NOT NULL,
      split_name   TEXT NOT NULL,
      members      TEXT NOT NULL,
      best_epoch   INTEGER,
      test_metrics TEXT,
      warnings     TEXT NOT NULL DEFAULT '[]',
      created_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );

    CREATE TABLE run_epochs (
      run_id     INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      epoch      INTEGER NOT NULL,
      record     TEXT NOT NULL,
      PRIMARY KEY (run_id, epoch)
    ) WITHOUT ROWID;

    CREATE TABLE run_predictions (
      run_id        INTEGER NOT NULL REFERENCES runs(id) ON DELETE CASCADE,
      part          TEXT NOT NULL,
      slide_id      INTEGER NOT NULL,
      slide_name    TEXT NOT NULL,
      patient       TEXT,
      task          TEXT NOT NULL,
      label         TEXT,
      probabilities TEXT NOT NULL,
      PRIMARY KEY (run_id, part, slide_id, task)
    ) WITHOUT ROWID;
  `,
};
