import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let cached: string | null = null;

/**
 * Tessera's package root: the nearest folder above this file whose package.json is Tessera's. The same
 * walk finds the checkout from src-main/ (tests), out/main/ (built) and the packaged app's resources;
 * the native addons, the built renderer and the version are all found from here.
 */
export function packageRoot(): string {
  if (cached) return cached;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pkg = path.join(dir, 'package.json');
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'tessera')
          return (cached = dir);
      } catch {
        // not ours; keep looking
      }
    }
    const up = path.dirname(dir);
    if (up === dir)
      throw new Error(`Cannot find Tessera's package.json above ${fileURLToPath(import.meta.url)}.`);
    dir = up;
  }
}
