// Compiles the CUDA backend (native/cuda/*.cu) with nvcc into native/build-cuda/libtessera_cuda.a, a fat binary
// for sm_80, sm_86, sm_89 and sm_90 (Ampere, Ada, Hopper) with PTX for compute_90 so newer GPUs JIT it. The addon
// links it with the static CUDA runtime (binding.gyp), which loads the driver only when a GPU is asked for, so the
// addon still loads where there is no GPU or no driver. Objects are rebuilt only when a source or header changed.
//
//   TESSERA_CUDA=0   never build it (CPU-only addon)
//   TESSERA_CUDA=1   build it or fail (nvcc must be found)
//   unset            build it when nvcc is found (PATH, CUDA_HOME, /usr/local/cuda)
//
// Exports findNvcc() and buildCuda() for scripts/build-native.js; run alone it builds and prints the archive path.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const sourceDir = path.join(root, 'native', 'cuda');
const outDir = path.join(root, 'native', 'build-cuda');
export const CUDA_ARCHS = ['80', '86', '89', '90'];

/**
 * The nvcc to use and its CUDA root, or null: CUDA_HOME, then PATH, then the usual roots (tests pass their own
 * environment and roots).
 */
export function findNvcc(env = process.env, roots = ['/usr/local/cuda']) {
  const candidates = [];
  if (env.CUDA_HOME) candidates.push(path.join(env.CUDA_HOME, 'bin', 'nvcc'));
  const onPath = spawnSync('sh', ['-c', 'command -v nvcc'], { encoding: 'utf8', env });
  if (onPath.status === 0 && onPath.stdout.trim()) candidates.push(onPath.stdout.trim());
  for (const r of roots) candidates.push(path.join(r, 'bin', 'nvcc'));
  for (const nvcc of candidates) {
    if (!fs.existsSync(nvcc)) continue;
    const v = spawnSync(nvcc, ['--version'], { encoding: 'utf8' });
    if (v.status !== 0) continue;
    const version = /release (\d+\.\d+)/.exec(v.stdout)?.[1] ?? '?';
    // The CUDA root: where lib64/libcudart_static.a is (nvcc may be a wrapper script elsewhere).
    const homes = [env.CUDA_HOME, path.resolve(path.dirname(fs.realpathSync(nvcc)), '..'), ...roots];
    const home = homes.find((h) => h && fs.existsSync(path.join(h, 'lib64', 'libcudart_static.a')));
    if (home) return { nvcc, version, home };
  }
  return null;
}

/**
 * What the install does about the CUDA backend: 'build', or 'skip' with the one line a CPU-only install prints, or
 * 'fail' with the reason (TESSERA_CUDA=1 without nvcc). `wanted`: TESSERA_CUDA ('0', '1' or unset); `found`: findNvcc().
 */
export function cudaPlan(wanted, found) {
  if (wanted === '0') return { action: 'skip', line: 'tessera: CPU-only engine (TESSERA_CUDA=0).' };
  if (found) return { action: 'build' };
  if (wanted === '1')
    return {
      action: 'fail',
      line: 'tessera: TESSERA_CUDA=1 but nvcc was not found (PATH, CUDA_HOME, /usr/local/cuda).',
    };
  return {
    action: 'skip',
    line: 'tessera: CPU-only engine: nvcc was not found (install the CUDA toolkit and rebuild for the GPU backend).',
  };
}

function newestHeader() {
  let newest = 0;
  for (const dir of [sourceDir, path.join(root, 'native', 'engine')])
    for (const f of fs.readdirSync(dir))
      if (/\.(h|cuh)$/.test(f)) newest = Math.max(newest, fs.statSync(path.join(dir, f)).mtimeMs);
  return newest;
}

function run(cmd, args) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'inherit', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (status) => resolve({ status, stderr }));
  });
}

/**
 * Builds the archive; returns { lib, home, version, seconds } or throws with nvcc's messages. `jobs` nvcc
 * processes at once.
 */
export async function buildCuda(found, jobs) {
  fs.mkdirSync(outDir, { recursive: true });
  const gencode = CUDA_ARCHS.flatMap((a) => ['-gencode', `arch=compute_${a},code=sm_${a}`]).concat([
    '-gencode',
    'arch=compute_90,code=compute_90',
  ]);
  const archList = CUDA_ARCHS.map((a) => `sm_${a}`).join(' ');
  const flags = [
    '-std=c++17',
    '-O3',
    '-Xcompiler=-fPIC,-Wall,-Wextra',
    `-DTESSERA_CUDA_ARCHS="${archList}"`,
    ...gencode,
  ];
  const sources = fs
    .readdirSync(sourceDir)
    .filter((f) => f.endsWith('.cu') && f !== 'emulate_runtime.cu')
    .sort();
  const headers = newestHeader();
  const started = Date.now();
  const todo = sources.filter((f) => {
    const obj = path.join(outDir, f.replace(/\.cu$/, '.o'));
    if (!fs.existsSync(obj)) return true;
    const built = fs.statSync(obj).mtimeMs;
    return built < fs.statSync(path.join(sourceDir, f)).mtimeMs || built < headers;
  });
  const queue = [...todo];
  const failures = [];
  await Promise.all(
    Array.from({ length: Math.max(1, jobs) }, async () => {
      for (let f = queue.shift(); f; f = queue.shift()) {
        const obj = path.join(outDir, f.replace(/\.cu$/, '.o'));
        const r = await run(found.nvcc, [...flags, '-c', path.join(sourceDir, f), '-o', obj]);
        if (r.status !== 0) {
          fs.rmSync(obj, { force: true });
          failures.push(`${f}:\n${r.stderr}`);
        } else if (r.stderr.trim()) {
          process.stderr.write(r.stderr);
        }
      }
    }),
  );
  if (failures.length) throw new Error(`nvcc failed:\n${failures.join('\n')}`);
  const lib = path.join(outDir, 'libtessera_cuda.a');
  if (todo.length || !fs.existsSync(lib)) {
    fs.rmSync(lib, { force: true });
    const objs = sources.map((f) => path.join(outDir, f.replace(/\.cu$/, '.o')));
    const ar = spawnSync('ar', ['rcs', lib, ...objs], { stdio: 'inherit' });
    if (ar.status !== 0) throw new Error('ar failed to make libtessera_cuda.a');
  }
  return {
    lib,
    home: found.home,
    version: found.version,
    archs: archList,
    seconds: (Date.now() - started) / 1000,
  };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const found = findNvcc();
  if (!found) {
    process.stderr.write('tessera: nvcc was not found (PATH, CUDA_HOME, /usr/local/cuda).\n');
    process.exit(1);
  }
  const jobs = Number(process.env.TESSERA_BUILD_JOBS ?? Math.min(os.cpus().length, 4));
  buildCuda(found, jobs).then(
    (r) => process.stdout.write(`${r.lib}\n`),
    (e) => {
      process.stderr.write(`${e.message}\n`);
      process.exit(1);
    },
  );
}
