/**
 * What `npm install` does about the CUDA backend (scripts/build-cuda.js): builds it when nvcc is found, otherwise a
 * CPU-only engine said in one line; TESSERA_CUDA=0 skips it, TESSERA_CUDA=1 insists.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain ES module of the build scripts, without type declarations
import { CUDA_ARCHS, cudaPlan, findNvcc } from '../../../scripts/build-cuda.js';

interface Found {
  nvcc: string;
  version: string;
  home: string;
}
const find = findNvcc as (env?: NodeJS.ProcessEnv, roots?: string[]) => Found | null;
const plan = cudaPlan as (wanted: string, found: Found | null) => { action: string; line?: string };

describe('CUDA backend at install', () => {
  it('builds for Ampere, Ada and Hopper', () => {
    expect(CUDA_ARCHS).toEqual(['80', '86', '89', '90']);
  });

  it('without nvcc: a CPU-only engine, said in one line; TESSERA_CUDA=1 fails instead', () => {
    const none = find({ PATH: '/usr/bin:/bin' }, []);
    expect(none).toBeNull();
    const auto = plan('auto', none);
    expect(auto).toEqual({
      action: 'skip',
      line: 'tessera: CPU-only engine: nvcc was not found (install the CUDA toolkit and rebuild for the GPU backend).',
    });
    expect(auto.line).not.toMatch(/\n/);
    expect(plan('1', none).action).toBe('fail');
    expect(plan('0', { nvcc: 'x', version: '13.0', home: '/x' })).toEqual({
      action: 'skip',
      line: 'tessera: CPU-only engine (TESSERA_CUDA=0).',
    });
  });

  it('finds nvcc on PATH or under a CUDA root, with the static runtime the addon links', () => {
    const found = find();
    if (!found) return; // no CUDA toolkit here (CI): the case above is this machine's
    expect(found.version).toMatch(/^\d+\.\d+$/);
    expect(fs.existsSync(path.join(found.home, 'lib64', 'libcudart_static.a'))).toBe(true);
    expect(plan('auto', found)).toEqual({ action: 'build' });
    // The same toolkit through its root alone (no PATH), as a fresh shell would find it.
    const again = find({ PATH: '/usr/bin:/bin' }, [found.home]);
    expect(again && fs.realpathSync(again.home)).toBe(fs.realpathSync(found.home));
  });
});
