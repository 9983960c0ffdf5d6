#!/usr/bin/env node
// Builds the engine addon (native/build/Release/tessera_engine.node) with node-gyp, offline: when the Node
// running this script has its headers installed next to it (<prefix>/include/node/node_api.h, as Debian's
// nodejs and the official tarballs do), node-gyp is pointed at them and downloads nothing.
// The CUDA backend is compiled first when nvcc is found (scripts/build-cuda.js; TESSERA_CUDA=0 skips it, =1 requires
// it) and linked in; otherwise the addon is CPU-only. One line of the output says which.
// TESSERA_BUILD_JOBS sets the parallel compile jobs (default: CPU count, at most 4).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildCuda, cudaPlan, findNvcc } from './build-cuda.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const nodeGyp = require.resolve('node-gyp/bin/node-gyp.js');
const prefix = path.resolve(path.dirname(process.execPath), '..');
const jobs = process.env.TESSERA_BUILD_JOBS ?? String(Math.min(os.cpus().length, 4));
const started = Date.now();

// The CUDA backend: an archive for binding.gyp (TESSERA_CUDA_LIB), or the reason there is none.
const env = { ...process.env, TESSERA_CUDA_LIB: '', TESSERA_CUDA_HOME: '' };
let cudaLine;
const wanted = process.env.TESSERA_CUDA ?? 'auto';
const found = wanted === '0' ? null : findNvcc();
const plan = cudaPlan(wanted, found);
if (plan.action === 'fail') {
  process.stderr.write(`${plan.line}\n`);
  process.exit(1);
}
if (plan.action === 'skip') {
  cudaLine = plan.line;
} else {
  try {
    const r = await buildCuda(found, Number(jobs));
    env.TESSERA_CUDA_LIB = r.lib;
    env.TESSERA_CUDA_HOME = r.home;
    cudaLine = `tessera: CUDA backend built with nvcc ${r.version} for ${r.archs} (${r.seconds.toFixed(0)} s).`;
  } catch (e) {
    process.stderr.write(`${e.message}\n`);
    if (wanted === '1') process.exit(1);
    cudaLine = 'tessera: CPU-only engine: building the CUDA backend failed (messages above).';
  }
}

const args = [nodeGyp, 'rebuild', '-C', path.join(root, 'native'), '-j', jobs];
if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const r = spawnSync(process.execPath, args, { cwd: root, stdio: 'inherit', env });
if (r.status !== 0) {
  process.stderr.write(
    'tessera: building the native engine failed (a C++17 compiler and make are needed).\n',
  );
  process.exit(r.status ?? 1);
}
process.stdout.write(`${cudaLine}\n`);
process.stdout.write(`tessera: native engine built in ${((Date.now() - started) / 1000).toFixed(0)} s\n`);
