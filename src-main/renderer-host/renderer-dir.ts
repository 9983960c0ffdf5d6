import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from '../package-root.js';

/** The built renderer (out/renderer, made by `npm run build`), or null when it is not built. */
export function rendererDir(): string | null {
  const dir = path.join(packageRoot(), 'out', 'renderer');
  return fs.existsSync(path.join(dir, 'index.html')) ? dir : null;
}
