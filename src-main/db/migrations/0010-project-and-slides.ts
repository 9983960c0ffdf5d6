import type { Migration } from './types.js';

/** Project metadata, patients and slides: what exists before any labelling. */
export const migration0010: Migration = {
  version: 10,
  name: 'project and slides',
  up: `
    CREATE TABLE project_meta (
      key   TEXT PRIMARY KEY,
      value TEXT NOT NULL
    );
    CREATE TABLE patients (
      id          INTEGER PRIMARY KEY,
      external_id TEXT NOT NULL UNIQUE,
      created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE TABLE slides (
      id          INTEGER PRIMARY KEY,
      patient_id  INTEGER REFERENCES patients(id) ON DELETE SET NULL,
      path        TEXT NOT NULL UNIQUE,
      name        TEXT NOT NULL,
      vendor      TEXT,
      width       INTEGER,
      height      INTEGER,
      mpp_x       REAL,
      mpp_y       REAL,
      fingerprint TEXT,
      added_at    TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
    );
    CREATE INDEX slides_patient ON slides(patient_id);
  `,
};
