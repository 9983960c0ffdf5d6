#!/usr/bin/env node
// Builds the engine addon (native/build/Release/tessera_engine.node) with node-gyp, offline: when the Node
// running this script has its headers installed next to it (<prefix>/include/node/node_api.h, as Debian's
// nodejs and the official tarballs do), node-gyp is pointed at them and downloads nothing.
// TESSERA_BUILD_JOBS sets the parallel compile jobs (default: CPU count, at most 4).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
const prefix = path.resolve(path.dirname(process.execPath), '..');
const jobs = process.env.TESSERA_BUILD_JOBS ?? String(Math.min(os.cpus().length, 4));

const args = [nodeGyp, 'rebuild', '-C', path.join(root, 'native'), '-j', jobs];
if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const started = Date.now();
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit' });
if (r.status !== 0) {
  process.stderr.write(
    'tessera: building the native engine failed (a C++17 compiler and make are needed).\n',
  );
  process.exit(r.status ?? 1);
}
process.stdout.write(`tessera: native engine built in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
