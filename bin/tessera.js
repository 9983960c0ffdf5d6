#!/usr/bin/env node
// Entry point of the `tessera` command: runs the compiled CLI from out/main.
import { existsSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';

const entry = fileURLToPath(new URL('../out/main/cli/index.js', import.meta.url));
if (!existsSync(entry)) {
  // Only a source checkout can build it; an installed Tessera missing it is damaged.
  const checkout = existsSync(fileURLToPath(new URL('../src-main', import.meta.url)));
  process.stderr.write(
    checkout
      ? 'tessera: the app is not built yet; run `npm run build` (or `npm install`) first.\n'
      : 'tessera: this installation is incomplete (out/main is missing); reinstall Tessera.\n',
  );
  process.exit(1);
}
const { runCli } = await import(pathToFileURL(entry).href);
process.exitCode = await runCli(process.argv.slice(2));
