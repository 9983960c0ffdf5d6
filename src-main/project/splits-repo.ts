/** SQL over splits and split_members. Callers wrap multi-row changes in one transaction. */
import type { Db } from '../db/connection.js';
import { prepared } from '../db/statements.js';

export interface SplitRow {
  id: number;
  name: string;
  taskId: number;
  taskName: string;
  cohortId: number | null;
  cohortName: string | null;
  seed: number;
  /** JSON of the SplitScheme. */
  scheme: string;
  /** JSON of the classes, part counts, left-out counts and warnings. */
  summary: string;
  createdAt: string;
}

export interface SplitMemberRow {
  part: string;
  slideId: number;
  slideName: string;
  patient: string | null;
  value: string;
}

const columns = `id, name, task_id AS taskId, task_name AS taskName, cohort_id AS cohortId,
  cohort_name AS cohortName, seed, scheme, summary, created_at AS createdAt`;

export function selectSplitRows(db: Db): SplitRow[] {
  return prepared(db, `SELECT ${columns} FROM splits ORDER BY id DESC`).all() as SplitRow[];
}

export function selectSplitRow(db: Db, id: number): SplitRow | undefined {
  return prepared(db, `SELECT ${columns} FROM splits WHERE id = ?`).get(id) as SplitRow | undefined;
}

export function selectSplitByName(db: Db, name: string): SplitRow | undefined {
  return prepared(db, `SELECT ${columns} FROM splits WHERE lower(name) = lower(?)`).get(name) as
    SplitRow | undefined;
}

export function selectSplitMembers(db: Db, splitId: number): SplitMemberRow[] {
  return prepared(
    db,
    `SELECT part, slide_id AS slideId, slide_name AS slideName, patient, value FROM split_members
     WHERE split_id = ? ORDER BY part, slide_id`,
  ).all(splitId) as SplitMemberRow[];
}

export function insertSplit(
  db: Db,
  row: Omit<SplitRow, 'id' | 'createdAt'>,
  members: SplitMemberRow[],
): number {
  const id = Number(
    prepared(
      db,
      `INSERT INTO splits (name, task_id, task_name, cohort_id, cohort_name, seed, scheme, summary)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(row.name, row.taskId, row.taskName, row.cohortId, row.cohortName, row.seed, row.scheme, row.summary)
      .lastInsertRowid,
  );
  const insert = prepared(
    db,
    'INSERT INTO split_members (split_id, part, slide_id, slide_name, patient, value) VALUES (?, ?, ?, ?, ?, ?)',
  );
  for (const m of members) insert.run(id, m.part, m.slideId, m.slideName, m.patient, m.value);
  return id;
}

export function renameSplitRow(db: Db, id: number, name: string): void {
  prepared(db, 'UPDATE splits SET name = ? WHERE id = ?').run(name, id);
}

export function deleteSplitRow(db: Db, id: number): void {
  prepared(db, 'DELETE FROM splits WHERE id = ?').run(id);
}

/** Slides flagged exclude (QC), as a set of ids. */
export function selectExcludedSlideIds(db: Db, excludeBit: number): Set<number> {
  return new Set(
    prepared(db, 'SELECT id FROM slides WHERE (qc_flags & ?) != 0').pluck().all(excludeBit) as number[],
  );
}
