/**
 * The round trip of a cache line between this machine's first two CPUs, in ns (core-to-core.c, built here with the
 * system C compiler), or why it could not be measured. On a shared host it tells whether a VM's two vCPUs sat on
 * one core complex or apart while a two-thread measurement ran.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { buildWithCc } from './build-with-cc.js';

const SOURCE = path.join(import.meta.dirname, 'core-to-core.c');

export function coreToCoreNs(workDir: string): number | string {
  const binary = path.resolve(workDir, 'core-to-core');
  const whyNot = buildWithCc(SOURCE, binary, ['-O2', '-pthread']);
  if (whyNot) return whyNot;
  try {
    return Number(
      execFileSync(binary, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 }),
    );
  } catch (e) {
    return `${path.basename(binary)} failed (${(e as Error).message.split('\n')[0]})`;
  }
}
