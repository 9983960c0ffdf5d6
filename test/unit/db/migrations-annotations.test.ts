import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src-main/db/connection.js';
import { migrations } from '../../../src-main/db/migrations/index.js';
import { tempDir } from '../../helpers/temp.js';

const upTo = (version: number) => migrations.filter((m) => m.version <= version);

describe('annotation migration (0070)', () => {
  it("adds QuPath's default classes, shapes and their R*Tree; a slide's removal takes its shapes and boxes", async () => {
    const file = path.join(tempDir(), 'project.sqlite');
    const old = await openDatabase(file, { create: true, migrations: upTo(44) });
    old.db.exec(`INSERT INTO slides (path, name) VALUES ('/s/1.svs', '1.svs'), ('/s/2.svs', '2.svs');`);
    old.db.close();

    const { db, migration } = await openDatabase(file, { create: false, migrations: upTo(70) });
    expect(migration).toMatchObject({ from: 44, to: 70 });
    expect(db.prepare('SELECT name, color FROM annotation_classes ORDER BY position').all()).toEqual([
      { name: 'Tumor', color: '#c80000' },
      { name: 'Stroma', color: '#96c896' },
      { name: 'Immune cells', color: '#a05aa0' },
      { name: 'Necrosis', color: '#323232' },
      { name: 'Other', color: '#ffc800' },
      { name: 'Region*', color: '#0000b4' },
      { name: 'Ignore*', color: '#b4b4b4' },
    ]);
    db.exec(`
      INSERT INTO annotations (slide_id, class_id, geometry, vertex_count) VALUES (1, 1, x'00', 1), (1, NULL, x'00', 1), (2, 2, x'00', 1);
      INSERT INTO annotation_bounds VALUES (1, 1, 1, 0, 100, 0, 100), (2, 1, 1, 500, 600, 500, 600), (3, 2, 2, 0, 100, 0, 100);
    `);
    const inView = (slide: number, x0: number, x1: number) =>
      (
        db
          .prepare(
            `SELECT id FROM annotation_bounds WHERE min_slide <= @s AND max_slide >= @s AND max_x >= @a AND min_x <= @b
             AND max_y >= @a AND min_y <= @b ORDER BY id`,
          )
          .all({ s: slide, a: x0, b: x1 }) as { id: number }[]
      ).map((r) => r.id);
    expect(inView(1, 50, 60)).toEqual([1]);
    expect(inView(1, 0, 1000)).toEqual([1, 2]);
    expect(inView(2, 0, 1000)).toEqual([3]);
    // A class removed leaves its shapes unclassified; a slide removed takes its shapes and their boxes.
    db.exec('DELETE FROM annotation_classes WHERE id = 2');
    expect(db.prepare('SELECT class_id FROM annotations WHERE id = 3').get()).toEqual({ class_id: null });
    db.exec('DELETE FROM slides WHERE id = 1');
    expect(db.prepare('SELECT id FROM annotations').all()).toEqual([{ id: 3 }]);
    expect(db.prepare('SELECT id FROM annotation_bounds').all()).toEqual([{ id: 3 }]);
    db.close();
  });
});
