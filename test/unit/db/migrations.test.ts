import Database from 'better-sqlite3';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src-main/db/connection.js';
import { assertMonotonic, DatabaseTooNewError, latestVersion } from '../../../src-main/db/migrate.js';
import { migrations } from '../../../src-main/db/migrations/index.js';
import { tempDir } from '../../helpers/temp.js';

describe('migrations', () => {
  it('are strictly increasing and the newest is the current schema', () => {
    expect(() => assertMonotonic(migrations)).not.toThrow();
    expect(() => assertMonotonic([migrations[1]!, migrations[0]!])).toThrow(/not after/);
    expect(latestVersion()).toBe(migrations[migrations.length - 1]!.version);
  });

  it('every migration applies on top of the previous ones and sets user_version', async () => {
    const dir = tempDir();
    for (let i = 1; i <= migrations.length; i++) {
      const file = path.join(dir, `step-${i}.sqlite`);
      const { db, migration } = await openDatabase(file, {
        create: true,
        migrations: migrations.slice(0, i),
      });
      expect(migration.to).toBe(migrations[i - 1]!.version);
      expect(db.pragma('user_version', { simple: true })).toBe(migrations[i - 1]!.version);
      db.close();
    }
  });

  it('migrates an older file after writing a backup, keeping its data', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'project.sqlite');
    const old = await openDatabase(file, { create: true, migrations: migrations.slice(0, 1) });
    old.db.prepare("INSERT INTO patients (external_id) VALUES ('P-001')").run();
    old.db.prepare("INSERT INTO slides (patient_id, path, name) VALUES (1, '/slides/a.svs', 'a.svs')").run();
    old.db.close();

    const { db, migration } = await openDatabase(file, { create: false });
    expect(migration).toMatchObject({ from: 10, to: latestVersion() });
    expect(migration.backupPath).toBe(`${file}.v10.bak`);
    expect(db.prepare('SELECT name FROM slides').all()).toEqual([{ name: 'a.svs' }]);
    // New tables exist and work on the migrated data.
    db.prepare("INSERT INTO tasks (name, kind) VALUES ('MSI', 'binary')").run();
    db.prepare("INSERT INTO labels (slide_id, task_id, value) VALUES (1, 1, 'MSI-H')").run();
    db.close();

    const backup = new Database(migration.backupPath!, { readonly: true });
    expect(backup.pragma('user_version', { simple: true })).toBe(10);
    expect(backup.prepare('SELECT count(*) AS n FROM slides').get()).toEqual({ n: 1 });
    backup.close();
  });

  it('refuses a file from a newer Tessera with its own error and leaves it untouched', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'project.sqlite');
    const raw = new Database(file);
    raw.pragma('user_version = 9990');
    raw.close();
    const before = fs.readFileSync(file);
    await expect(openDatabase(file, { create: false })).rejects.toBeInstanceOf(DatabaseTooNewError);
    await expect(openDatabase(file, { create: false })).rejects.toThrow(/newer version of Tessera/);
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });

  it('opens in WAL mode with foreign keys enforced', async () => {
    const file = path.join(tempDir(), 'project.sqlite');
    const { db } = await openDatabase(file, { create: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(() =>
      db.prepare("INSERT INTO labels (slide_id, task_id, value) VALUES (99, 99, 'x')").run(),
    ).toThrow(/FOREIGN KEY/);
    db.close();
  });

  it('records every label change in the label history', async () => {
    const file = path.join(tempDir(), 'project.sqlite');
    const { db } = await openDatabase(file, { create: true });
    db.exec(`INSERT INTO slides (path, name) VALUES ('/s/1.svs', '1.svs');
             INSERT INTO tasks (name, kind, allowed_values) VALUES ('KRAS', 'binary', '["mut","wt"]');`);
    db.prepare("INSERT INTO labels (slide_id, task_id, value, author) VALUES (1, 1, 'wt', 'ana')").run();
    db.prepare("UPDATE labels SET value = 'mut', author = 'ben' WHERE slide_id = 1").run();
    db.prepare('DELETE FROM labels').run();
    const history = db.prepare('SELECT old_value, new_value, author FROM label_history ORDER BY id').all();
    expect(history).toEqual([
      { old_value: null, new_value: 'wt', author: 'ana' },
      { old_value: 'wt', new_value: 'mut', author: 'ben' },
      { old_value: 'mut', new_value: null, author: 'ben' },
    ]);
    db.close();
  });

  it('a file that is not a database fails with SQLite’s reason', async () => {
    const file = path.join(tempDir(), 'project.sqlite');
    fs.writeFileSync(file, 'this is not a database, just text '.repeat(200));
    await expect(openDatabase(file, { create: false })).rejects.toThrow(/not a database/);
  });
});
