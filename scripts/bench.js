#!/usr/bin/env node
// `npm run bench -- <area> [args...]` runs test/bench/<area>.bench.{js,mjs,ts} (TypeScript through tsx,
// since Node 20 cannot strip types) and exits with its status. Without an area it lists the benches.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const benchDir = path.join(root, 'test', 'bench');
const EXTENSIONS = ['.js', '.mjs', '.ts'];

function areas() {
  if (!fs.existsSync(benchDir)) return [];
  return fs
    .readdirSync(benchDir)
    .map((f) => /^(.+)\.bench\.(js|mjs|ts)$/.exec(f)?.[1])
    .filter((a) => a !== undefined)
    .sort();
}

const [area, ...rest] = process.argv.slice(2);
if (!area) {
  process.stderr.write(`usage: npm run bench -- <area> [args]\nareas: ${areas().join(', ') || '(none)'}\n`);
  process.exit(2);
}
const file = EXTENSIONS.map((ext) => path.join(benchDir, `${area}.bench${ext}`)).find((f) =>
  fs.existsSync(f),
);
if (!file) {
  process.stderr.write(
    `bench: no test/bench/${area}.bench.{js,mjs,ts}; areas: ${areas().join(', ') || '(none)'}\n`,
  );
  process.exit(2);
}
const args = file.endsWith('.ts') ? ['--import', 'tsx', file, ...rest] : [file, ...rest];
const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
