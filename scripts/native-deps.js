// better-sqlite3 is a V8 (not N-API) addon: it must be compiled for the runtime that loads it. Node (tests,
// CLI, browser mode) and Electron need different builds; this records which one is in node_modules and
// rebuilds when switching. Our own engine addon is N-API and serves both as it is.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const marker = path.join(root, 'node_modules', '.tessera-native-runtime');

export function ensureNativeDepsFor(runtime) {
  const current = fs.existsSync(marker) ? fs.readFileSync(marker, 'utf8').trim() : 'node';
  if (current === runtime) return;
  console.log(`Rebuilding native dependencies for ${runtime} (they were built for ${current})…`);
  if (runtime === 'electron') {
    execFileSync('npx', ['electron-builder', 'install-app-deps'], { cwd: root, stdio: 'inherit' });
  } else {
    execFileSync('npm', ['rebuild', 'better-sqlite3'], { cwd: root, stdio: 'inherit' });
  }
  fs.writeFileSync(marker, runtime);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) ensureNativeDepsFor(process.argv[2] ?? 'node');
