/** Queries over the slides table; every multi-row change in one transaction by its caller. */
import type { Db } from '../db/connection.js';
import { prepared } from '../db/statements.js';
import { nextId } from './row-ids-repo.js';

export interface SlideRecord {
  path: string;
  name: string;
  vendor: string;
  backend: string;
  width: number;
  height: number;
  levelCount: number;
  mppX: number | null;
  mppY: number | null;
  objectivePower: number | null;
  fileSize: number;
  fingerprint: string;
}

export interface SlideRow extends SlideRecord {
  id: number;
  patient: string | null;
  addedAt: string;
}

const selectColumns = `
  s.id, s.path, s.name, s.vendor, s.backend, s.width, s.height, s.level_count AS levelCount,
  s.mpp_x AS mppX, s.mpp_y AS mppY, s.objective_power AS objectivePower, s.file_size AS fileSize,
  s.fingerprint, s.added_at AS addedAt, p.external_id AS patient`;

/** Inserts a slide, or refreshes the stored metadata of the one already at that path. */
export function upsertSlide(db: Db, r: SlideRecord): { id: number; created: boolean } {
  const existing = db.prepare('SELECT id FROM slides WHERE path = ?').get(r.path) as
    { id: number } | undefined;
  const values = [r.name, r.vendor, r.backend, r.width, r.height, r.levelCount, r.mppX, r.mppY];
  const more = [r.objectivePower, r.fileSize, r.fingerprint];
  if (existing) {
    db.prepare(
      `UPDATE slides SET name = ?, vendor = ?, backend = ?, width = ?, height = ?, level_count = ?, mpp_x = ?,
         mpp_y = ?, objective_power = ?, file_size = ?, fingerprint = ? WHERE id = ?`,
    ).run(...values, ...more, existing.id);
    return { id: existing.id, created: false };
  }
  const info = db
    .prepare(
      `INSERT INTO slides (id, path, name, vendor, backend, width, height, level_count, mpp_x, mpp_y,
         objective_power, file_size, fingerprint) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .run(nextId(db, 'slides'), r.path, ...values, ...more);
  return { id: Number(info.lastInsertRowid), created: true };
}

export function getSlide(db: Db, id: number): SlideRow | undefined {
  return db
    .prepare(
      `SELECT ${selectColumns} FROM slides s LEFT JOIN patients p ON p.id = s.patient_id WHERE s.id = ?`,
    )
    .get(id) as SlideRow | undefined;
}

export function slidePaths(db: Db): Set<string> {
  return new Set((db.prepare('SELECT path FROM slides').all() as { path: string }[]).map((r) => r.path));
}

/** Deletes the slide row; labels and cohort memberships go with it by foreign key. */
export function deleteSlideRow(db: Db, id: number): boolean {
  return db.prepare('DELETE FROM slides WHERE id = ?').run(id).changes > 0;
}

/** Every slide's id, name, path and stored fingerprint (relink). */
export function selectSlideFiles(
  db: Db,
): { id: number; name: string; path: string; fingerprint: string | null }[] {
  return db.prepare('SELECT id, name, path, fingerprint FROM slides ORDER BY id').all() as {
    id: number;
    name: string;
    path: string;
    fingerprint: string | null;
  }[];
}

export function updateSlidePath(db: Db, id: number, newPath: string, name: string): void {
  db.prepare('UPDATE slides SET path = ?, name = ? WHERE id = ?').run(newPath, name, id);
}

export function slideExists(db: Db, id: number): boolean {
  return prepared(db, 'SELECT 1 FROM slides WHERE id = ?').get(id) !== undefined;
}
