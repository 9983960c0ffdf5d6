import fs from 'node:fs';
import { latestVersion } from '../../../src-main/db/migrate.js';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProject, openProject, projectInfo } from '../../../src-main/project/project.js';
import { AppSession } from '../../../src-main/app-state/session.js';
import { ensureDemoProject } from '../../../src-main/training/demo/first-use.js';
import { tempDir } from '../../helpers/temp.js';

describe('projects', () => {
  it('creates a project folder with its database and subfolders, and reopens it', async () => {
    const dir = path.join(tempDir(), 'colon-msi');
    const p = await createProject(dir);
    const info = projectInfo(p);
    p.close();
    expect(info).toMatchObject({ name: 'colon-msi', dir, slideCount: 0, schemaVersion: latestVersion() });
    expect(info.id).toMatch(/^[0-9a-f-]{36}$/);
    for (const f of ['project.sqlite', 'cache', 'models'])
      expect(fs.existsSync(path.join(dir, f))).toBe(true);
    const again = await openProject(dir);
    expect(projectInfo(again)).toMatchObject({ id: info.id, name: 'colon-msi' });
    again.close();
  });

  it('reading a project read-only leaves the folder as it was, and an open writer keeps its files', async () => {
    const dir = tempDir();
    (await createProject(dir)).close();
    const before = fs.readdirSync(dir).sort();
    expect(before).toEqual(['cache', 'models', 'project.sqlite']);
    const reader = await openProject(dir, { readOnly: true });
    expect(projectInfo(reader).slideCount).toBe(0);
    expect(fs.existsSync(path.join(dir, 'project.sqlite-wal'))).toBe(true);
    reader.close();
    expect(fs.readdirSync(dir).sort()).toEqual(before);

    // With the project open for writing (the app), a reader closing must not take the writer's WAL away.
    const writer = await openProject(dir);
    const again = await openProject(dir, { readOnly: true });
    again.close();
    expect(fs.existsSync(path.join(dir, 'project.sqlite-wal'))).toBe(true);
    writer.db.prepare("UPDATE project_meta SET value = 'renamed' WHERE key = 'name'").run();
    const third = await openProject(dir, { readOnly: true });
    expect(projectInfo(third).name).toBe('renamed');
    third.close();
    writer.close();
    expect(fs.readdirSync(dir).sort()).toEqual(before);
  });

  it('refuses to create over an existing project and to open a folder that is not one', async () => {
    const dir = tempDir();
    (await createProject(dir)).close();
    await expect(createProject(dir)).rejects.toThrow(
      `${dir} already holds a Tessera project; open it instead.`,
    );
    const empty = tempDir();
    await expect(openProject(empty)).rejects.toThrow(
      `${empty} is not a Tessera project (it has no project.sqlite).`,
    );
  });

  it('refuses at once a folder that cannot be created, naming the reason', async () => {
    // Node's recursive mkdir loops forever on /proc (it answers ENOENT, not EACCES, to a new entry).
    await expect(createProject('/proc/tessera-x/y')).rejects.toThrow(
      'Cannot create the project folder /proc/tessera-x/y: /proc does not accept new folders (ENOENT).',
    );
    const file = path.join(tempDir(), 'notes.txt');
    fs.writeFileSync(file, 'x');
    await expect(createProject(path.join(file, 'project'))).rejects.toThrow(
      `Cannot create the project folder ${path.join(file, 'project')}: ${file} is a file, not a folder.`,
    );
    const nested = path.join(tempDir(), 'a', 'b', 'c');
    (await createProject(nested)).close();
    expect(fs.existsSync(path.join(nested, 'project.sqlite'))).toBe(true);
  });

  it('a damaged database is reported with the file and the reason', async () => {
    const dir = tempDir();
    fs.writeFileSync(path.join(dir, 'project.sqlite'), Buffer.alloc(8192, 7));
    await expect(openProject(dir)).rejects.toThrow(
      /^Cannot open .*project\.sqlite: it is not a Tessera project database, or it is damaged \(SQLite: file is not a database\)\.$/,
    );
  });

  it('remembers recent projects newest first, and marks missing ones', async () => {
    const session = new AppSession(tempDir());
    const a = tempDir();
    const b = tempDir();
    await session.create(a, 'A');
    await session.create(b, 'B');
    await session.open(a);
    expect(session.recent.list().map((r) => r.name)).toEqual(['A', 'B']);
    session.close();
    fs.rmSync(path.join(b, 'project.sqlite'));
    expect(session.recent.list().find((r) => r.dir === b)?.exists).toBe(false);
    session.recent.forget(b);
    expect(session.recent.list().map((r) => r.dir)).toEqual([a]);
  });

  it('makes the demo cohort on first use only, and again where a first use was cut short', async () => {
    const userData = tempDir();
    const small = { slides: 4, scale: 0.3 };
    const dir = await ensureDemoProject(userData, small);
    const p = await openProject(dir);
    const info = projectInfo(p);
    p.close();
    expect(info).toMatchObject({ name: 'Demo cohort', slideCount: 4 });
    expect(fs.readFileSync(path.join(dir, 'labels.csv'), 'utf8')).toMatch(/^patient,slide,atypia\n/);
    const first = fs.statSync(path.join(dir, 'project.sqlite')).ino;
    expect(await ensureDemoProject(userData, small)).toBe(dir);
    expect(fs.statSync(path.join(dir, 'project.sqlite')).ino).toBe(first);
    // A start killed while painting leaves the project without its completion mark: made again, whole.
    fs.rmSync(path.join(dir, '.demo-complete'));
    fs.rmSync(path.join(dir, 'slides', 'DEMO-P001-A.svs'));
    expect(await ensureDemoProject(userData, small)).toBe(dir);
    expect(fs.existsSync(path.join(dir, 'slides', 'DEMO-P001-A.svs'))).toBe(true);
  }, 60_000);
});
