import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src-main/db/connection.js';
import { repoRoot, tempDir } from '../../helpers/temp.js';

/**
 * A child process commits one transaction, reports it, then starts a second, large one; we SIGKILL it
 * mid-way. Reopening must show the first transaction whole and nothing of the second.
 */
const childScript = `
  const Database = require('better-sqlite3');
  const db = new Database(process.argv[1]);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.exec("CREATE TABLE IF NOT EXISTS items (id INTEGER PRIMARY KEY, batch TEXT NOT NULL)");
  const insert = db.prepare('INSERT INTO items (batch) VALUES (?)');
  db.transaction(() => { for (let i = 0; i < 1000; i++) insert.run('first'); })();
  process.stdout.write('committed\\n');
  db.exec('BEGIN');
  for (let i = 0; ; i++) {
    insert.run('second');
    if (i === 5000) process.stdout.write('in-second\\n');
  }
`;

describe('durability', () => {
  it('a process killed between two transactions loses nothing committed', async () => {
    const file = path.join(tempDir(), 'project.sqlite');
    const child = spawn(process.execPath, ['-e', childScript, file], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('in-second')) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', (code) =>
        code !== null ? reject(new Error(`child exited early (${code})`)) : undefined,
      );
    });
    await new Promise((r) => child.on('close', r));
    expect(child.signalCode).toBe('SIGKILL');

    const { db } = await openDatabase(file, { create: false, migrations: [] });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    const rows = db.prepare('SELECT batch, count(*) AS n FROM items GROUP BY batch').all();
    expect(rows).toEqual([{ batch: 'first', n: 1000 }]);
    db.close();
  });
});
