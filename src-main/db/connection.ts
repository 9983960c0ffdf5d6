import Database from 'better-sqlite3';
import fs from 'node:fs';
import { DatabaseTooNewError, latestVersion, migrate, type MigrationOutcome } from './migrate.js';
import { migrations as allMigrations, type Migration } from './migrations/index.js';

export type Db = Database.Database;

export interface OpenedDatabase {
  db: Db;
  migration: MigrationOutcome;
  /** Closes `db`; read-only, it also removes the -wal and -shm files that only this reading made. */
  close(): void;
}

/** An existing file that Tessera did not write: empty, or another program's SQLite database. */
export class NotAProjectDatabaseError extends Error {
  constructor(
    readonly file: string,
    /** What the file is instead, e.g. "is empty (0 bytes)". */
    readonly reason: string,
  ) {
    super(`${file} is not a Tessera project database: it ${reason}.`);
    this.name = 'NotAProjectDatabaseError';
  }
}

export interface OpenDatabaseOptions {
  /** Create the file (and the schema) when missing; otherwise the file must exist and be Tessera's. */
  create: boolean;
  /** Open for reading only: nothing, not even the journal mode or a migration, is written. */
  readOnly?: boolean;
  migrations?: readonly Migration[];
}

/**
 * Opens (creating if asked) a project database: WAL journal, foreign keys on, synchronous NORMAL, then
 * migrates it to the newest schema. In WAL mode NORMAL keeps every committed change through a crash or a
 * kill -9 of the process (the commit is in the WAL file before the call returns) and never corrupts the
 * file; only a power cut or an OS crash can roll back the last commits. FULL would add an fsync to every
 * label write (42 ms at p99 on a cloud disk), which keyboard labeling cannot wait for.
 * Read-only, it is read as it is: an older schema stays older.
 */
export async function openDatabase(
  file: string,
  options: OpenDatabaseOptions = { create: false },
): Promise<OpenedDatabase> {
  const readOnly = options.readOnly === true;
  // Only a read-only close needs it (closeReadOnly): whether this reading made the -wal file.
  const walBefore = readOnly && fs.existsSync(`${file}-wal`);
  const db = new Database(file, { fileMustExist: readOnly || !options.create, readonly: readOnly });
  try {
    // Reading the schema first makes a file that is not a database fail here, with SQLite's reason, and
    // a file from a newer Tessera or from no Tessera at all is refused before anything (even the journal
    // mode) is written to it.
    const tables = (
      db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table'").get() as { n: number }
    ).n;
    const list = options.migrations ?? allMigrations;
    const fileVersion = db.pragma('user_version', { simple: true }) as number;
    if (fileVersion > latestVersion(list))
      throw new DatabaseTooNewError(file, fileVersion, latestVersion(list));
    if (fileVersion === 0 && !options.create) {
      const reason =
        fs.statSync(file).size === 0
          ? 'is empty (0 bytes)'
          : tables === 0
            ? 'is an SQLite database without any tables'
            : `is another program's SQLite database (${tables} ${tables === 1 ? 'table' : 'tables'}, none of them Tessera's)`;
      throw new NotAProjectDatabaseError(file, reason);
    }
    db.pragma('busy_timeout = 5000');
    if (readOnly)
      return {
        db,
        migration: { from: fileVersion, to: fileVersion, backupPath: null },
        close: () => closeReadOnly(db, file, walBefore),
      };
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('synchronous = NORMAL');
    const migration = await migrate(db, file, list);
    return { db, migration, close: () => db.close() };
  } catch (err) {
    db.close();
    throw err;
  }
}

/**
 * SQLite gives every reader of a WAL database a -wal and a -shm file, and a read-only connection cannot remove
 * them when it is the last to close, so a reading command (`project info`, a training job) would leave two
 * empty files beside a project nobody has open. Where they were not there before, a read-write connection
 * that reads one value and closes removes them: SQLite does that only when it is the last connection, so an
 * app that opened the project meanwhile keeps its files. Where the folder cannot be written, they stay.
 */
function closeReadOnly(db: Db, file: string, walBefore: boolean): void {
  db.close();
  if (walBefore || !fs.existsSync(`${file}-wal`)) return;
  try {
    const writer = new Database(file, { fileMustExist: true });
    try {
      writer.pragma('user_version', { simple: true });
    } finally {
      writer.close();
    }
  } catch {
    // A read-only folder or medium: the two files stay, as SQLite left them.
  }
}
