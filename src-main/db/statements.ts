import type Database from 'better-sqlite3';

const caches = new WeakMap<Database.Database, Map<string, Database.Statement>>();
/** Queries built from filters vary; the least recently used beyond this many are dropped. */
const MAX_PER_CONNECTION = 256;

/**
 * A prepared statement kept per connection: hot paths (a label write, a page of the library) prepare
 * their SQL once instead of on every call. Statements go with the connection when it is collected.
 */
export function prepared(db: Database.Database, sql: string): Database.Statement {
  let cache = caches.get(db);
  if (!cache) caches.set(db, (cache = new Map()));
  let statement = cache.get(sql);
  if (statement) {
    cache.delete(sql);
  } else {
    statement = db.prepare(sql);
    if (cache.size >= MAX_PER_CONNECTION) cache.delete(cache.keys().next().value!);
  }
  cache.set(sql, statement);
  return statement;
}
