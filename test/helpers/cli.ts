import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runCli } from '../../src-main/cli/index.js';
import { repoRoot } from './temp.js';

/** Runs the CLI in-process and captures its output and exit code. */
export async function cli(...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(argv, { out: (t) => (out += t), err: (t) => (err += t) });
  return { code, out, err };
}

export const builtCli = path.join(repoRoot, 'bin', 'tessera.js');

/** Spawns the built `tessera` command (needs `npm run build`, which `npm test` runs first). */
export function spawnBuiltCli(args: string[], env: Record<string, string> = {}): ChildProcess {
  if (!fs.existsSync(path.join(repoRoot, 'out', 'main', 'cli', 'index.js'))) {
    throw new Error('out/main is missing: run `npm run build` before this test (npm test does).');
  }
  return spawn(process.execPath, [builtCli, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Resolves with the first line of stdout that matches, or rejects if the process exits first. */
export function waitForLine(child: ChildProcess, pattern: RegExp, timeoutMs = 20_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    let errText = '';
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${pattern}; stderr: ${errText}`)),
      timeoutMs,
    );
    child.stderr?.on('data', (d: Buffer) => (errText += d.toString()));
    child.stdout?.on('data', (d: Buffer) => {
      buffered += d.toString();
      const line = buffered.split('\n').find((l) => pattern.test(l));
      if (line) {
        clearTimeout(timer);
        resolve(line);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`process exited (${code}) before printing ${pattern}; stderr: ${errText}`));
    });
  });
}
