import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src-main/db/connection.js';
import { migrations } from '../../../src-main/db/migrations/index.js';
import { tempDir } from '../../helpers/temp.js';

describe('jobs, models and runs migration (0050)', () => {
  it('adds the tables to a project with labels and splits, keeping its data; states are checked; a run goes with its job', async () => {
    const file = path.join(tempDir(), 'project.sqlite');
    const old = await openDatabase(file, {
      create: true,
      migrations: migrations.filter((m) => m.version < 50),
    });
    old.db.exec(`INSERT INTO slides (path, name) VALUES ('/s/1.svs', '1.svs');
                 INSERT INTO tasks (name, kind) VALUES ('msi', 'binary');`);
    old.db.close();

    const { db, migration } = await openDatabase(file, {
      create: false,
      migrations: migrations.filter((m) => m.version <= 50),
    });
    expect(migration).toMatchObject({ from: 44, to: 50 });
    expect(db.prepare('SELECT count(*) AS n FROM slides').get()).toEqual({ n: 1 });
    db.prepare(
      `INSERT INTO jobs (kind, state, work_dir) VALUES ('training', 'queued', 'models/runs/run-1')`,
    ).run();
    expect(() => db.prepare(`UPDATE jobs SET state = 'exploded' WHERE id = 1`).run()).toThrow(
      /CHECK constraint/,
    );
    db.prepare(
      `INSERT INTO runs (job_id, name, config, code_version, split_name, members) VALUES (1, 'r', '{}', '0.1.0', 's', '{}')`,
    ).run();
    db.prepare(`INSERT INTO run_epochs (run_id, epoch, record) VALUES (1, 1, '{}')`).run();
    expect(db.prepare('SELECT warnings FROM runs').get()).toEqual({ warnings: '[]' });
    db.prepare('DELETE FROM jobs WHERE id = 1').run();
    expect(db.prepare('SELECT count(*) AS n FROM runs').get()).toEqual({ n: 0 });
    expect(db.prepare('SELECT count(*) AS n FROM run_epochs').get()).toEqual({ n: 0 });
    db.close();
  });
});
