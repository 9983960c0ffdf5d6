import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src-main/db/connection.js';
import { latestVersion } from '../../../src-main/db/migrate.js';
import { migrations } from '../../../src-main/db/migrations/index.js';
import { tempDir } from '../../helpers/temp.js';

const upTo = (version: number) => migrations.filter((m) => m.version <= version);

describe('label migrations (0040-0044)', () => {
  it('0040 turns the values labels already use into task values; 0041 keeps the history triggers, with a reason', async () => {
    const file = path.join(tempDir(), 'project.sqlite');
    const old = await openDatabase(file, { create: true, migrations: upTo(30) });
    old.db.exec(`
      INSERT INTO slides (path, name) VALUES ('/s/1.svs', '1.svs'), ('/s/2.svs', '2.svs');
      INSERT INTO tasks (name, kind) VALUES ('subtype', 'categorical'), ('purity', 'continuous');
      INSERT INTO labels (slide_id, task_id, value) VALUES (1, 1, 'LUSC'), (2, 1, 'LUAD'), (1, 2, '0.5');
    `);
    old.db.close();

    const { db, migration } = await openDatabase(file, { create: false });
    expect(migration).toMatchObject({ from: 30, to: latestVersion() });
    expect(
      db.prepare('SELECT task_id, name, position FROM task_values ORDER BY task_id, position').all(),
    ).toEqual([
      { task_id: 1, name: 'LUAD', position: 0 },
      { task_id: 1, name: 'LUSC', position: 1 },
    ]);
    db.exec(`UPDATE label_write_context SET reason = 'undo' WHERE id = 1;
             UPDATE labels SET value = 'LUAD' WHERE slide_id = 1 AND task_id = 1;
             UPDATE label_write_context SET reason = NULL WHERE id = 1;
             DELETE FROM labels WHERE slide_id = 2;`);
    expect(
      db
        .prepare('SELECT slide_id, old_value, new_value, reason FROM label_history WHERE id > 3 ORDER BY id')
        .all(),
    ).toEqual([
      { slide_id: 1, old_value: 'LUSC', new_value: 'LUAD', reason: 'undo' },
      { slide_id: 2, old_value: 'LUAD', new_value: null, reason: null },
    ]);
    // 0042: QC flags default to none; 0043: splits keep members without a foreign key to slides.
    expect(db.prepare('SELECT qc_flags FROM slides WHERE id = 1').get()).toEqual({ qc_flags: 0 });
    db.exec(`INSERT INTO splits (name, task_id, task_name, seed, scheme, summary) VALUES ('s', 1, 'subtype', 1, '{}', '{}');
             INSERT INTO split_members (split_id, part, slide_id, slide_name, patient, value) VALUES (1, 'train', 1, '1.svs', NULL, 'LUAD');
             DELETE FROM slides WHERE id = 1;`);
    expect(db.prepare('SELECT count(*) AS n FROM split_members').get()).toEqual({ n: 1 });
    db.close();
  });
});
