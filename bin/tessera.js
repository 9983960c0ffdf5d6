#!/usr/bin/env node
// Entry point of the `tessera` command: runs the compiled CLI from out/main.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const entry = fileURLToPath(new URL('../out/main/cli/index.js', import.meta.url));
if (!existsSync(entry)) {
  process.stderr.write('tessera: the app is not built yet; run `npm run build` (or `npm install`) first.\n');
  process.exit(1);
}
const { runCli } = await import(pathToFileURL(entry).href);
process.exitCode = await runCli(process.argv.slice(2));
