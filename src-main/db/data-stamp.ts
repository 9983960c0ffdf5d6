import type Database from 'better-sqlite3';
import { prepared } from './statements.js';

/**
 * A value that changes whenever the database does: a commit on this connection moves total_changes(),
 * one on another connection (the CLI beside the app) moves data_version. Equal stamps mean nothing was
 * written in between, so a result computed from the data then still holds.
 */
export function dataStamp(db: Database.Database): string {
  const version = prepared(db, 'PRAGMA data_version').pluck().get() as number;
  const changes = prepared(db, 'SELECT total_changes()').pluck().get() as number;
  return `${version}:${changes}`;
}
