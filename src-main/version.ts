import fs from 'node:fs';
import path from 'node:path';
import { packageRoot } from './package-root.js';

let cached: string | null = null;

/** The version from Tessera's package.json. */
export function appVersion(): string {
  if (cached) return cached;
  try {
    const pkg = JSON.parse(fs.readFileSync(path.join(packageRoot(), 'package.json'), 'utf8')) as {
      version?: string;
    };
    return (cached = pkg.version ?? '0.0.0');
  } catch {
    return (cached = '0.0.0');
  }
}
