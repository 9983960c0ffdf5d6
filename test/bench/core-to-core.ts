/**
 * The round trip of a cache line between this machine's first two CPUs, in ns (core-to-core.c, built here with the
 * system C compiler), or why it could not be measured. On a shared host it tells whether a VM's two vCPUs sat on
 * one core complex or apart while a two-thread measurement ran.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const SOURCE = path.join(import.meta.dirname, 'core-to-core.c');

export function coreToCoreNs(workDir: string): number | string {
  const binary = path.resolve(workDir, 'core-to-core');
  if (!fs.existsSync(binary) || fs.statSync(binary).mtimeMs < fs.statSync(SOURCE).mtimeMs) {
    try {
      fs.mkdirSync(workDir, { recursive: true });
      execFileSync('cc', ['-O2', '-pthread', '-o', binary, SOURCE], { stdio: 'pipe' });
    } catch (e) {
      return `cannot build ${path.basename(SOURCE)} with cc (${(e as Error).message.split('\n')[0]})`;
    }
  }
  try {
    return Number(
      execFileSync(binary, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }),
    );
  } catch (e) {
    return `${path.basename(binary)} failed (${(e as Error).message.split('\n')[0]})`;
  }
}
