/**
 * Builds a bench helper written in C (cpuid-avx2-only.c, core-to-core.c) with the system C compiler into the
 * bench's work folder, again only when the source is newer than what is there.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/**
 * Builds `source` into `output` with cc, `flags` before the source and `libs` after it (where the linker looks for
 * what the source needs); undefined when the output is there, else why it could not be built.
 */
export function buildWithCc(
  source: string,
  output: string,
  flags: string[],
  libs: string[] = [],
): string | undefined {
  if (fs.existsSync(output) && fs.statSync(output).mtimeMs >= fs.statSync(source).mtimeMs) return undefined;
  try {
    fs.mkdirSync(path.dirname(output), { recursive: true });
    execFileSync('cc', [...flags, '-o', output, source, ...libs], { stdio: 'pipe' });
    return undefined;
  } catch (e) {
    return `cannot build ${path.basename(source)} with cc (${(e as Error).message.split('\n')[0]})`;
  }
}
