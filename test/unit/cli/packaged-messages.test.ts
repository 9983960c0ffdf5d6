/**
 * What an installed Tessera says when a built part is missing: never to run npm or node-gyp (a packaged
 * app has neither, nor its sources), only what is missing and to reinstall. The developer command is for
 * source checkouts. The packaged layout is made the way electron-builder's `files` list makes it:
 * package.json, bin/ and out/ without src-main/ (node_modules linked in).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { buildHint } from '../../../src-main/build-hint.js';
import { repoRoot, tempDir } from '../../helpers/temp.js';

const builtMain = path.join(repoRoot, 'out', 'main');

/** A packaged-app layout in a temporary folder, holding the parts named. */
function packagedLayout(parts: { main?: boolean; native?: boolean } = {}): string {
  const root = tempDir('tessera-packaged-');
  fs.copyFileSync(path.join(repoRoot, 'package.json'), path.join(root, 'package.json'));
  fs.cpSync(path.join(repoRoot, 'bin'), path.join(root, 'bin'), { recursive: true });
  if (parts.main !== false) fs.cpSync(builtMain, path.join(root, 'out', 'main'), { recursive: true });
  if (parts.native) {
    fs.cpSync(
      path.join(repoRoot, 'native', 'build', 'Release'),
      path.join(root, 'native', 'build', 'Release'),
      {
        recursive: true,
      },
    );
  }
  fs.symlinkSync(path.join(repoRoot, 'node_modules'), path.join(root, 'node_modules'), 'dir');
  return root;
}

function run(root: string, args: string[], env: Record<string, string> = {}) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn(process.execPath, [path.join(root, 'bin', 'tessera.js'), ...args], {
      cwd: root,
      env: { ...process.env, TESSERA_USER_DATA: tempDir(), ...env },
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', (code) => resolve({ code, out, err }));
  });
}

const config = path.join(repoRoot, 'test', 'fixtures', 'engine-io', 'tiny-vit', 'config.json');
const patch = path.join(repoRoot, 'test', 'fixtures', 'engine-io', 'tiny-vit', 'patch0.png');

describe('messages about missing built parts', () => {
  it('name the developer command in a source checkout and reinstalling elsewhere', () => {
    expect(buildHint('npm run build:native', repoRoot)).toBe('; build it with `npm run build:native`');
    const installed = tempDir();
    fs.writeFileSync(path.join(installed, 'package.json'), '{"name":"tessera"}');
    expect(buildHint('npm run build:native', installed)).toBe(
      '; this installation of Tessera is incomplete: reinstall it',
    );
  });

  it('a packaged app without its native engine says to reinstall, not to run node-gyp', async () => {
    if (!fs.existsSync(path.join(builtMain, 'cli', 'index.js'))) {
      throw new Error('out/main is missing: run `npm run build` before this test (npm test does).');
    }
    const root = packagedLayout();
    const res = await run(root, ['embed', '--config', config, '-o', path.join(tempDir(), 'e.npy'), patch]);
    expect(res.code).toBe(1);
    const addon = path.join(root, 'native', 'build', 'Release', 'tessera_engine.node');
    expect(res.err).toBe(
      `tessera: The native engine ${addon} is missing; this installation of Tessera is incomplete: reinstall it.\n`,
    );
    expect(res.err).not.toMatch(/npm|npx|node-gyp/);

    // The same in a source checkout names the command that builds it.
    const checkout = await run(
      repoRoot,
      ['embed', '--config', config, '-o', path.join(tempDir(), 'e.npy'), patch],
      {
        TESSERA_ENGINE_ADDON: path.join(tempDir(), 'gone.node'),
      },
    );
    expect(checkout.err).toMatch(/is missing; build it with `npm run build:native`\.\n$/);
  });

  it('a packaged app without its renderer or its compiled main says to reinstall', async () => {
    const root = packagedLayout({ native: true });
    const child = spawn(process.execPath, [path.join(root, 'bin', 'tessera.js'), 'serve', '--port', '0'], {
      cwd: root,
      env: { ...process.env, TESSERA_USER_DATA: tempDir() },
    });
    try {
      const launch = await new Promise<URL>((resolve, reject) => {
        let seen = '';
        child.stdout.on('data', (d: Buffer) => {
          seen += d.toString();
          const m = /(http:\/\/\S+\?token=\S+)/.exec(seen);
          if (m) resolve(new URL(m[1]!));
        });
        child.on('exit', (code) => reject(new Error(`serve exited (${code}): ${seen}`)));
      });
      const page = await fetch(new URL('/', launch.origin), {
        headers: { Authorization: `Bearer ${launch.searchParams.get('token')}` },
      });
      expect(page.status).toBe(404);
      expect(((await page.json()) as { error: { message: string } }).error.message).toBe(
        'The renderer (out/renderer) is missing; this installation of Tessera is incomplete: reinstall it.',
      );
    } finally {
      child.kill('SIGTERM');
    }

    const noMain = await run(packagedLayout({ main: false }), ['--help']);
    expect(noMain.code).toBe(1);
    expect(noMain.err).toBe(
      'tessera: this installation is incomplete (out/main is missing); reinstall Tessera.\n',
    );
  });
});
