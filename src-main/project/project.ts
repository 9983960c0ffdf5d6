/**
 * A project is a folder: project.sqlite plus cache/ and models/. This module creates and opens them and
 * answers questions about one; it knows nothing of windows or transports.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { NotAProjectDatabaseError, openDatabase, type Db } from '../db/connection.js';
import { DatabaseTooNewError } from '../db/migrate.js';
import { ApiError } from '../contract/errors.js';
import type { ProjectInfo } from '../contract/contract.js';

export const DATABASE_FILE = 'project.sqlite';
export const PROJECT_SUBFOLDERS = ['cache', 'models'] as const;

export interface Project {
  dir: string;
  db: Db;
  /** Backup written when this open migrated an older file. */
  migratedFromBackup: string | null;
  close(): void;
}

export function databasePath(dir: string): string {
  return path.join(dir, DATABASE_FILE);
}

/**
 * Creates `dir` and any missing parents, one level at a time from the nearest folder that exists.
 * Node's recursive mkdir retries forever where the file system refuses new entries without saying
 * EACCES (e.g. /proc/x), so the walk is done here and the first refusal is the answer.
 */
function makeFolder(dir: string): void {
  const missing: string[] = [];
  let existing = dir;
  while (!fs.existsSync(existing)) {
    missing.unshift(existing);
    const parent = path.dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  if (!fs.statSync(existing).isDirectory()) {
    throw new ApiError(
      'conflict',
      `Cannot create the project folder ${dir}: ${existing} is a file, not a folder.`,
    );
  }
  for (const folder of missing) {
    try {
      fs.mkdirSync(folder);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST' && fs.statSync(folder).isDirectory()) continue;
      const reason =
        code === 'EACCES' || code === 'EPERM' || code === 'EROFS'
          ? `you may not create folders in ${path.dirname(folder)}`
          : `${path.dirname(folder)} does not accept new folders (${code ?? (err as Error).message})`;
      throw new ApiError('unreadable', `Cannot create the project folder ${dir}: ${reason}.`);
    }
  }
}

export async function createProject(dirInput: string, name?: string): Promise<Project> {
  const dir = path.resolve(dirInput);
  if (fs.existsSync(databasePath(dir))) {
    throw new ApiError('conflict', `${dir} already holds a Tessera project; open it instead.`);
  }
  if (fs.existsSync(dir) && !fs.statSync(dir).isDirectory()) {
    throw new ApiError('conflict', `${dir} is a file, not a folder.`);
  }
  makeFolder(dir);
  try {
    for (const sub of PROJECT_SUBFOLDERS) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  } catch (err) {
    throw new ApiError('unreadable', `Cannot create the project folder ${dir}: ${(err as Error).message}`);
  }
  const { db } = await openDatabase(databasePath(dir), { create: true });
  const setMeta = db.prepare('INSERT INTO project_meta (key, value) VALUES (?, ?)');
  db.transaction(() => {
    setMeta.run('id', randomUUID());
    setMeta.run('name', name?.trim() || path.basename(dir));
    setMeta.run('created_at', new Date().toISOString());
  })();
  return wrap(dir, db, null);
}

/**
 * Opens an existing project. `readOnly` (what reading commands use) changes nothing on disk: no
 * migration, no journal-mode switch, no missing subfolder made; an older schema is read as it is.
 */
export async function openProject(dirInput: string, options: { readOnly?: boolean } = {}): Promise<Project> {
  const dir = path.resolve(dirInput);
  const file = databasePath(dir);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new ApiError('not-found', `${dir} is not a Tessera project (it has no ${DATABASE_FILE}).`);
  }
  if (!stat.isFile()) {
    throw new ApiError('unreadable', `${dir} is not a Tessera project: its ${DATABASE_FILE} is not a file.`);
  }
  try {
    const { db, migration, close } = await openDatabase(file, { create: false, readOnly: options.readOnly });
    if (options.readOnly) return { dir, db, migratedFromBackup: null, close };
    return wrap(dir, db, migration.backupPath);
  } catch (err) {
    if (err instanceof DatabaseTooNewError) throw new ApiError('too-new', err.message);
    if (err instanceof NotAProjectDatabaseError) {
      throw new ApiError(
        'unreadable',
        `${dir} is not a Tessera project: its ${DATABASE_FILE} ${err.reason}.`,
      );
    }
    if (err instanceof ApiError) throw err;
    throw new ApiError(
      'unreadable',
      `Cannot open ${file}: it is not a Tessera project database, or it is damaged (SQLite: ${(err as Error).message}).`,
    );
  }
}

function wrap(dir: string, db: Db, migratedFromBackup: string | null): Project {
  for (const sub of PROJECT_SUBFOLDERS) fs.mkdirSync(path.join(dir, sub), { recursive: true });
  return { dir, db, migratedFromBackup, close: () => db.close() };
}

export function projectInfo(project: Project): ProjectInfo {
  const { db } = project;
  const meta = new Map(
    (db.prepare('SELECT key, value FROM project_meta').all() as { key: string; value: string }[]).map((r) => [
      r.key,
      r.value,
    ]),
  );
  // A project opened read-only may have an older schema, without the newer tables: they hold nothing.
  const tables = new Set(
    (db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all() as { name: string }[]).map(
      (r) => r.name,
    ),
  );
  const count = (table: string) =>
    tables.has(table) ? (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n : 0;
  return {
    dir: project.dir,
    name: meta.get('name') ?? path.basename(project.dir),
    id: meta.get('id') ?? '',
    createdAt: meta.get('created_at') ?? '',
    schemaVersion: db.pragma('user_version', { simple: true }) as number,
    slideCount: count('slides'),
    patientCount: count('patients'),
    taskCount: count('tasks'),
    cohortCount: count('cohorts'),
    migratedFromBackup: project.migratedFromBackup,
  };
}
