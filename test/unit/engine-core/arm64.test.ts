/**
 * The engine core on aarch64 (Apple silicon, Windows on Arm, Linux arm64 machines): native/tests/arm64.sh
 * cross-builds it with Debian's g++-aarch64-linux-gnu, where the x86 kernels are compiled out and the portable
 * ones run, and runs every engine-core check (PyTorch fixtures, bf16, finite differences, GEMM layouts, errors)
 * under qemu-user. CI installs both tools (.ci/run) and fails without them; elsewhere the test is skipped with the
 * reason when they are absent.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../../helpers/temp.js';

const tools = ['aarch64-linux-gnu-g++', 'qemu-aarch64'];
const missing = tools.filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const inCi = Boolean(process.env.TESSERA_CI);

describe('engine core on aarch64 under emulation', () => {
  it.skipIf(missing.length > 0 && !inCi)(
    `builds the portable kernels for aarch64 and passes every engine-core check${missing.length ? ` (skipped: ${missing.join(' and ')} not installed; apt-get install g++-aarch64-linux-gnu qemu-user)` : ''}`,
    () => {
      expect(missing, 'CI installs the cross toolchain and qemu-user (.ci/run)').toEqual([]);
      const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-arm64-'));
      try {
        const r = spawnSync('bash', [path.join(repoRoot, 'native/tests/arm64.sh'), out], {
          encoding: 'utf8',
        });
        const failures = r.stdout.split('\n').filter((l) => l.startsWith('FAIL '));
        expect(failures).toEqual([]);
        expect(r.status, r.stderr).toBe(0);
        const line = r.stdout.split('\n').find((l) => l.startsWith('SUMMARY '));
        const summary = JSON.parse(line?.slice('SUMMARY '.length) ?? '{}') as Record<string, unknown>;
        expect(summary).toMatchObject({ failed: 0, path: 'portable', gemm: 'portable' });
        expect(summary.passed).toBeGreaterThanOrEqual(155);
        expect(summary.worstFixtureRelL2).toBeLessThanOrEqual(1e-4);
      } finally {
        fs.rmSync(out, { recursive: true, force: true });
      }
    },
    300_000,
  );
});
