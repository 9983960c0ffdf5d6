/**
 * Opening a project for a command that only reads (tasks list, labels export): the database is opened
 * read-only, so nothing in the folder changes. A project written by an older Tessera is opened normally
 * (migrated, after its backup) since the older schema lacks what these commands read.
 */
import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { ApiError } from '../contract/errors.js';
import { latestVersion } from '../db/migrate.js';
import { databasePath, openProject, type Project } from '../project/project.js';

export async function openProjectForReading(dirInput: string): Promise<Project> {
  const dir = path.resolve(dirInput);
  const file = databasePath(dir);
  if (!fs.existsSync(file)) return openProject(dir); // its error says what is missing
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 5000');
  } catch (err) {
    throw new ApiError('unreadable', `Cannot open ${file}: ${(err as Error).message}`);
  }
  let version: number;
  try {
    version = db.pragma('user_version', { simple: true }) as number;
  } catch (err) {
    db.close();
    throw new ApiError('unreadable', `Cannot open ${file}: ${(err as Error).message}`);
  }
  if (version !== latestVersion()) {
    db.close();
    return openProject(dir); // migrates an older file; refuses a newer one with its sentence
  }
  return { dir, db, migratedFromBackup: null, close: () => db.close() };
}
