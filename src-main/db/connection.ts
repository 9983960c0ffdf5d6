import Database from 'better-sqlite3';
import { DatabaseTooNewError, latestVersion, migrate, type MigrationOutcome } from './migrate.js';
import { migrations as allMigrations, type Migration } from './migrations/index.js';

export type Db = Database.Database;

export interface OpenedDatabase {
  db: Db;
  migration: MigrationOutcome;
}

/**
 * Opens (creating if asked) a project database: WAL journal, foreign keys on, synchronous FULL
 * (a committed label survives a power cut, not only a crash), then migrates it to the newest schema.
 */
export async function openDatabase(
  file: string,
  options: { create: boolean; migrations?: readonly Migration[] } = { create: false },
): Promise<OpenedDatabase> {
  const db = new Database(file, { fileMustExist: !options.create });
  try {
    // Reading the schema first makes a file that is not a database fail here, with SQLite's reason, and
    // a file from a newer Tessera is refused before anything (even the journal mode) is written to it.
    db.prepare('SELECT count(*) FROM sqlite_master').get();
    const list = options.migrations ?? allMigrations;
    const fileVersion = db.pragma('user_version', { simple: true }) as number;
    if (fileVersion > latestVersion(list))
      throw new DatabaseTooNewError(file, fileVersion, latestVersion(list));
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = FULL');
    db.pragma('busy_timeout = 5000');
    const migration = await migrate(db, file, list);
    return { db, migration };
  } catch (err) {
    db.close();
    throw err;
  }
}
