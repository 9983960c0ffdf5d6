/**
 * Builds the standalone engine-core drivers (native/tests/build.sh: engine_core_test, backend_ops_test) once per
 * variant and source state, into a directory under the OS temp dir that later runs reuse (build.sh recompiles only
 * what changed). Test files in parallel workers share it: build.sh runs under an exclusive flock, so the second
 * caller waits and then finds everything up to date.
 *
 * Variants: 'cpu' (the CPU and guarded backends) and 'cuda-emulated' (also the CUDA backend compiled with g++
 * against native/cuda/emulate.h, its kernels run by the CPU emulator).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

export type DriverVariant = 'cpu' | 'cuda-emulated';

/** How long one run of a driver may take: a hang (a thread-pool deadlock once) fails its test, not the suite. */
export const DRIVER_TIMEOUT_MS = 200_000;

/** The directory holding the built drivers of a variant. */
export function buildDrivers(variant: DriverVariant): string {
  const key = createHash('sha1').update(repoRoot).digest('hex').slice(0, 12);
  const dir = path.join(os.tmpdir(), `tessera-engine-drivers-${key}-${variant}`);
  fs.mkdirSync(dir, { recursive: true });
  execFileSync(
    'flock',
    [path.join(dir, '.lock'), 'bash', path.join(repoRoot, 'native/tests/build.sh'), dir],
    {
      stdio: 'pipe',
      env: {
        ...process.env,
        CXXFLAGS: '-O2',
        TESSERA_CUDA_EMULATE: variant === 'cuda-emulated' ? '1' : '',
      },
    },
  );
  return dir;
}
