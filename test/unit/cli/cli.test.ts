import fs from 'node:fs';
import { latestVersion } from '../../../src-main/db/migrate.js';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { cli, spawnBuiltCli, waitForLine } from '../../helpers/cli.js';
import { tempDir } from '../../helpers/temp.js';
import type { ChildProcess } from 'node:child_process';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGTERM');
});

describe('tessera CLI', () => {
  it('--help lists the commands and exits 0', async () => {
    const { code, out } = await cli('--help');
    expect(code).toBe(0);
    expect(out).toMatch(/project/);
    expect(out).toMatch(/serve/);
  });

  it('usage mistakes exit 2 with a message', async () => {
    expect((await cli('frobnicate')).code).toBe(2);
    expect((await cli('project', 'init')).code).toBe(2);
    const badPort = await cli('serve', '--port', 'eighty');
    expect(badPort.code).toBe(2);
    expect(badPort.err).toMatch(/--port must be a whole number, got "eighty"/);
  });

  it('project init then info (text and --json)', async () => {
    const dir = path.join(tempDir(), 'breast-her2');
    const init = await cli('project', 'init', dir, '--name', 'HER2 study');
    expect(init).toMatchObject({ code: 0, out: `Created project "HER2 study" in ${dir}\n` });
    const text = await cli('project', 'info', dir);
    expect(text.code).toBe(0);
    expect(text.out).toMatch(/Project\s+HER2 study/);
    expect(text.out).toMatch(/Slides\s+0/);
    const json = await cli('project', 'info', dir, '--json');
    expect(JSON.parse(json.out)).toMatchObject({
      name: 'HER2 study',
      dir,
      slideCount: 0,
      schemaVersion: latestVersion(),
    });
  });

  it('failures exit 1 with one clear sentence', async () => {
    const dir = tempDir();
    const res = await cli('project', 'info', dir);
    expect(res.code).toBe(1);
    expect(res.err).toBe(`tessera: ${dir} is not a Tessera project (it has no project.sqlite).\n`);
    fs.writeFileSync(path.join(dir, 'project.sqlite'), 'garbage'.repeat(1000));
    expect((await cli('project', 'info', dir)).err).toBe(
      `tessera: Cannot open ${path.join(dir, 'project.sqlite')}: it is not a Tessera project database, or it is damaged (SQLite: file is not a database).\n`,
    );
  });

  it('serve prints a URL with its token and refuses requests without it', async () => {
    const project = path.join(tempDir(), 'p');
    expect((await cli('project', 'init', project)).code).toBe(0);
    const child = spawnBuiltCli(['serve', project, '--port', '0'], { TESSERA_USER_DATA: tempDir() });
    children.push(child);
    const line = await waitForLine(child, /http:\/\/127\.0\.0\.1:\d+\/\?token=/);
    const launch = new URL(line.trim());
    const token = launch.searchParams.get('token')!;
    const api = `${launch.origin}/api/project.current`;
    expect((await fetch(api, { method: 'POST' })).status).toBe(401);
    expect((await fetch(`${launch.origin}/`)).status).toBe(401);
    const ok = await fetch(api, {
      method: 'POST',
      headers: { Authorization: `Bearer ${token}`, 'Content-Type': 'application/json' },
    });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ ok: true, value: { dir: project, name: 'p' } });
  });

  it('serve --host on an address other than 127.0.0.1 warns', async () => {
    const child = spawnBuiltCli(['serve', '--host', '127.0.0.2', '--port', '0'], {
      TESSERA_USER_DATA: tempDir(),
    });
    children.push(child);
    let err = '';
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    await waitForLine(child, /token=/);
    expect(err).toMatch(/WARNING: listening on 127\.0\.0\.2/);
  });
});
