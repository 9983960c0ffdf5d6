import type Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { migrations as allMigrations, type Migration } from './migrations/index.js';

export class DatabaseTooNewError extends Error {
  constructor(
    readonly file: string,
    readonly fileVersion: number,
    readonly supportedVersion: number,
  ) {
    super(
      `${file} was written by a newer version of Tessera (schema ${fileVersion}; this version knows up to ${supportedVersion}). Update Tessera to open it.`,
    );
    this.name = 'DatabaseTooNewError';
  }
}

export function latestVersion(list: readonly Migration[] = allMigrations): number {
  return list.length ? list[list.length - 1]!.version : 0;
}

export function assertMonotonic(list: readonly Migration[]): void {
  for (let i = 1; i < list.length; i++) {
    if (list[i]!.version <= list[i - 1]!.version) {
      throw new Error(
        `migration ${list[i]!.name} (version ${list[i]!.version}) is not after its predecessor`,
      );
    }
  }
}

export interface MigrationOutcome {
  from: number;
  to: number;
  /** The copy written before migrating a database that already held data; null for new or current files. */
  backupPath: string | null;
}

/**
 * Brings `db` (file `file`) up to the newest schema. A file that already has a schema is copied to
 * `project.sqlite.v<old>.bak` first (SQLite's online backup, so WAL content is included); each
 * migration runs in its own transaction with its `user_version`, so a crash leaves a consistent file.
 */
export async function migrate(
  db: Database.Database,
  file: string,
  list: readonly Migration[] = allMigrations,
): Promise<MigrationOutcome> {
  assertMonotonic(list);
  const from = db.pragma('user_version', { simple: true }) as number;
  const to = latestVersion(list);
  if (from > to) throw new DatabaseTooNewError(file, from, to);
  const pending = list.filter((m) => m.version > from);
  if (!pending.length) return { from, to: from, backupPath: null };
  let backupPath: string | null = null;
  if (from > 0 && file !== ':memory:') {
    backupPath = uniqueBackupPath(file, from);
    await db.backup(backupPath);
  }
  for (const m of pending) {
    db.transaction(() => {
      db.exec(m.up);
      db.pragma(`user_version = ${m.version}`);
    })();
  }
  return { from, to, backupPath };
}

function uniqueBackupPath(file: string, version: number): string {
  const base = `${file}.v${version}.bak`;
  if (!fs.existsSync(base)) return base;
  for (let i = 2; ; i++) {
    const candidate = path.join(path.dirname(base), `${path.basename(file)}.v${version}.${i}.bak`);
    if (!fs.existsSync(candidate)) return candidate;
  }
}
