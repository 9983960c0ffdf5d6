import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitForLine } from '../../helpers/cli.js';
import { repoRoot, tempDir } from '../../helpers/temp.js';

const children: ChildProcess[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGTERM');
});

const electronInstalled = fs.existsSync(path.join(repoRoot, 'node_modules', 'electron', 'dist'));

describe.skipIf(electronInstalled)('npm start without Electron', () => {
  it('says so, starts browser mode and opens the demo cohort, made on first use', async () => {
    const userData = tempDir();
    const child = spawn(process.execPath, [path.join(repoRoot, 'scripts', 'start.js')], {
      cwd: repoRoot,
      env: {
        ...process.env,
        TESSERA_USER_DATA: userData,
        TESSERA_DEMO_SLIDES: '4',
        DISPLAY: '',
        WAYLAND_DISPLAY: '',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    children.push(child);
    let out = '';
    child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    const line = await waitForLine(child, /token=/, 120_000);
    expect(out).toMatch(/Electron is not installed here .* starts in browser mode/);
    expect(out).toMatch(/First start: making the demo cohort/);
    const launch = new URL(line.trim());
    const res = await fetch(`${launch.origin}/api/project.current`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${launch.searchParams.get('token')}`,
        'Content-Type': 'application/json',
      },
    });
    expect(await res.json()).toMatchObject({
      ok: true,
      value: { name: 'Demo cohort', dir: path.join(userData, 'demo-cohort'), slideCount: 4 },
    });
  }, 180_000);
});
