/** SQL over cohorts and cohort_members. Callers wrap multi-row changes in one transaction. */
import type { Db } from '../db/connection.js';
import { prepared } from '../db/statements.js';

export interface CohortRow {
  id: number;
  name: string;
  kind: 'filter' | 'explicit';
  /** JSON of the saved filter (kind 'filter'). */
  filter: string | null;
  createdAt: string;
}

const columns = 'id, name, kind, filter, created_at AS createdAt';

export function selectCohortRow(db: Db, id: number): CohortRow | undefined {
  return prepared(db, `SELECT ${columns} FROM cohorts WHERE id = ?`).get(id) as CohortRow | undefined;
}

export function selectCohortByName(db: Db, name: string): CohortRow | undefined {
  return prepared(db, `SELECT ${columns} FROM cohorts WHERE lower(name) = lower(?)`).get(name) as
    CohortRow | undefined;
}

export function selectCohortRows(db: Db): CohortRow[] {
  return prepared(db, `SELECT ${columns} FROM cohorts ORDER BY name COLLATE NOCASE, id`).all() as CohortRow[];
}

export function insertCohort(db: Db, name: string, kind: CohortRow['kind'], filter: string | null): number {
  return Number(
    prepared(db, 'INSERT INTO cohorts (name, kind, filter) VALUES (?, ?, ?)').run(name, kind, filter)
      .lastInsertRowid,
  );
}

export function renameCohortRow(db: Db, id: number, name: string): void {
  prepared(db, 'UPDATE cohorts SET name = ? WHERE id = ?').run(name, id);
}

export function setCohortFilter(db: Db, id: number, filter: string): void {
  prepared(db, 'UPDATE cohorts SET filter = ? WHERE id = ?').run(filter, id);
}

export function deleteCohortRow(db: Db, id: number): void {
  prepared(db, 'DELETE FROM cohorts WHERE id = ?').run(id);
}

export function insertMembers(db: Db, cohortId: number, slideIds: number[]): void {
  const insert = prepared(db, 'INSERT OR IGNORE INTO cohort_members (cohort_id, slide_id) VALUES (?, ?)');
  for (const id of slideIds) insert.run(cohortId, id);
}

export function deleteMembers(db: Db, cohortId: number, slideIds: number[]): void {
  const remove = prepared(db, 'DELETE FROM cohort_members WHERE cohort_id = ? AND slide_id = ?');
  for (const id of slideIds) remove.run(cohortId, id);
}
