/**
 * Files handed to the CLI that are not what the command expects: a read command must change nothing and
 * refuse what is not a Tessera project; -o, --config and images get one sentence naming the path and
 * what to do, before any work starts.
 */
import Database from 'better-sqlite3';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Transformer } from '@napi-rs/image';
import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../../src-main/db/connection.js';
import { migrations } from '../../../src-main/db/migrations/index.js';
import { AppSession } from '../../../src-main/app-state/session.js';
import { cli } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/temp.js';
import { tinyVit } from '../engine/helpers.js';

const config = path.join(tinyVit, 'config.json');
const patch = path.join(tinyVit, 'patch0.png');

/** Every file of a folder with its content hash and modification time: any write shows. */
function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const entry of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    const file = path.join(entry.parentPath, entry.name);
    const key = path.relative(dir, file);
    if (!entry.isFile()) out[key] = 'folder';
    else if (/-(wal|shm)$/.test(entry.name))
      continue; // SQLite's own side files of a reader, not the project
    else {
      const stat = fs.statSync(file);
      out[key] = `${createHash('sha256').update(fs.readFileSync(file)).digest('hex')} ${stat.mtimeMs}`;
    }
  }
  return out;
}

describe('reading commands change nothing', () => {
  it('project info on a 0-byte project.sqlite refuses it and leaves it empty', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'project.sqlite');
    fs.writeFileSync(file, '');
    const res = await cli('project', 'info', dir);
    expect(res.code).toBe(1);
    expect(res.err).toBe(
      `tessera: ${dir} is not a Tessera project: its project.sqlite is empty (0 bytes).\n`,
    );
    expect(fs.statSync(file).size).toBe(0);
    expect(fs.readdirSync(dir)).toEqual(['project.sqlite']);
  });

  it("project info refuses another program's SQLite file without touching it", async () => {
    const dir = tempDir();
    const file = path.join(dir, 'project.sqlite');
    const other = new Database(file);
    other.exec(
      "CREATE TABLE photos (id INTEGER PRIMARY KEY, caption TEXT); INSERT INTO photos VALUES (1, 'x');",
    );
    other.close();
    const before = snapshot(dir);
    const res = await cli('project', 'info', dir);
    expect(res.code).toBe(1);
    expect(res.err).toBe(
      `tessera: ${dir} is not a Tessera project: its project.sqlite is another program's SQLite database (1 table, none of them Tessera's).\n`,
    );
    expect(snapshot(dir)).toEqual(before);
  });

  it('project info reads a current project without writing to it', async () => {
    const dir = path.join(tempDir(), 'study');
    expect((await cli('project', 'init', dir)).code).toBe(0);
    const before = snapshot(dir);
    const res = await cli('project', 'info', dir, '--json');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.out)).toMatchObject({ name: 'study', slideCount: 0 });
    expect(snapshot(dir)).toEqual(before);
  });

  it('project info reads an older project as it is: no migration, no backup, no new folders', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'project.sqlite');
    const old = await openDatabase(file, { create: true, migrations: migrations.slice(0, 1) });
    old.db.exec(`INSERT INTO project_meta (key, value) VALUES ('name', 'Pilot'), ('id', 'x');
                 INSERT INTO slides (path, name) VALUES ('/s/a.svs', 'a.svs');`);
    old.db.close();
    const before = snapshot(dir);
    const res = await cli('project', 'info', dir, '--json');
    expect(res.code).toBe(0);
    expect(JSON.parse(res.out)).toMatchObject({
      name: 'Pilot',
      schemaVersion: 10,
      slideCount: 1,
      taskCount: 0,
    });
    expect(snapshot(dir)).toEqual(before);
  });

  it('opening a 0-byte project.sqlite in the app refuses it too, instead of writing a schema into it', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'project.sqlite');
    fs.writeFileSync(file, '');
    const session = new AppSession(tempDir());
    await expect(session.open(dir)).rejects.toMatchObject({
      code: 'unreadable',
      message: `${dir} is not a Tessera project: its project.sqlite is empty (0 bytes).`,
    });
    expect(fs.statSync(file).size).toBe(0);
  });
});

describe('paths the CLI is given', () => {
  it('-o naming a folder or a file in a missing folder: one sentence, before any work', async () => {
    const dir = tempDir();
    const missing = path.join(dir, 'no-such-folder', 'out.npy');
    const cases: [string[], string][] = [
      [
        ['embed', '--config', config, '-o', dir, patch],
        `-o ${dir} is a folder; give the path of the file to write.`,
      ],
      [
        ['embed', '--config', config, '-o', missing, patch],
        `-o ${missing}: the folder ${path.dirname(missing)} does not exist; create it first.`,
      ],
      [
        [
          'slide',
          'region',
          path.join(dir, 'a.svs'),
          '--level',
          '0',
          '--x',
          '0',
          '--y',
          '0',
          '--w',
          '8',
          '--h',
          '8',
          '-o',
          dir,
        ],
        `-o ${dir} is a folder; give the path of the file to write.`,
      ],
      [
        ['slide', 'tile', path.join(dir, 'a.svs'), '0', '0', '0', '-o', path.join(dir, 'nope', 't.jpg')],
        `-o ${path.join(dir, 'nope', 't.jpg')}: the folder ${path.join(dir, 'nope')} does not exist; create it first.`,
      ],
    ];
    for (const [args, sentence] of cases) {
      const res = await cli(...args);
      expect(res.code, args.join(' ')).toBe(2);
      expect(res.err, args.join(' ')).toBe(`tessera: ${sentence}\n(run with --help for usage)\n`);
    }
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it('a file-system error that escapes a command is one sentence naming the path, not a raw EISDIR', async () => {
    const { describeFsError } = await import('../../../src-main/cli/file-checks.js');
    const dir = tempDir();
    const raw = await fs.promises.writeFile(dir, 'x').catch((err: unknown) => err);
    expect(describeFsError(raw)).toBe(`Cannot use ${dir}: it is a folder, not a file.`);
    const gone = await fs.promises.readFile(path.join(dir, 'a', 'b')).catch((err: unknown) => err);
    expect(describeFsError(gone)).toBe(
      `Cannot use ${path.join(dir, 'a', 'b')}: the folder ${path.join(dir, 'a')} does not exist.`,
    );
  });

  it('--config naming a folder says to give the config.json inside it', async () => {
    const out = path.join(tempDir(), 'e.npy');
    const res = await cli('embed', '--config', tinyVit, '-o', out, patch);
    expect(res.code).toBe(2);
    expect(res.err).toBe(
      `tessera: --config ${tinyVit} is a folder, not a file; give ${config}.\n(run with --help for usage)\n`,
    );
    const empty = tempDir();
    const bare = await cli('embed', '--config', empty, '-o', out, patch);
    expect(bare.err).toContain(`--config ${empty} is a folder, not a file; give the model's config.json.`);
  });

  it('embed refuses a whole-slide file and an image far larger than a patch, without decoding it', async () => {
    const dir = tempDir();
    const out = path.join(dir, 'e.npy');
    const slide = path.join(dir, 'biopsy.svs');
    fs.copyFileSync(patch, slide);
    const res = await cli('embed', '--config', config, '--random-init', '1', '-o', out, '-q', slide);
    expect(res.code).toBe(2);
    expect(res.err).toBe(
      `tessera: ${slide} is a whole-slide image, not an image patch; embed patches cut from it (e.g. with \`tessera slide region\`).\n(run with --help for usage)\n`,
    );
    // A level saved as PNG: 5000 px wide is no patch.
    const wide = path.join(dir, 'level.png');
    fs.writeFileSync(wide, await Transformer.fromRgbaPixels(new Uint8Array(5000 * 4 * 4), 5000, 4).png());
    const big = await cli('embed', '--config', config, '--random-init', '1', '-o', out, '-q', wide);
    expect(big.code).toBe(1);
    expect(big.err).toBe(
      `tessera: Cannot use image ${wide}: it is 5000 x 4 pixels, larger than an image patch may be (4096 x 4096); cut patches from it first.\n`,
    );
    expect(fs.existsSync(out)).toBe(false);
  });
});
