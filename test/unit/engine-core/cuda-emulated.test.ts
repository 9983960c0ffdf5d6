/**
 * The CUDA backend (native/cuda) run on the CPU: its host code and kernels compiled with g++ against the emulator
 * (native/cuda/emulate.h: threads as coroutines, shared memory, barriers, warp shuffles and mma.sync fragments as
 * the PTX ISA lays them out), so every kernel's indexing, tiling and reductions are checked here without a GPU.
 * What the emulator cannot show (races, timing, the hardware's own numerics) is left to test/gpu/run.sh on a GPU.
 *  - every op of the fp32 and bf16 tables against the CPU reference (backend_ops_test), the bf16 attention through
 *    the fused (flash) kernels;
 *  - the whole engine-core fixture suite (PyTorch forward, loss, every gradient, 3 AdamW steps, bf16, recompute,
 *    frozen mode, determinism, errors) on the CUDA backend, plus out-of-device-memory handling and the chunk size
 *    chosen from free device memory;
 *  - no device: the backend reports it in one line and the driver runs nothing on it.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildDrivers, repoRoot, DRIVER_TIMEOUT_MS } from './drivers.js';

interface Run {
  status: number | null;
  stdout: string;
  stderr: string;
  checks: { ok: boolean; name: string; detail: string }[];
  summary: Record<string, unknown> | undefined;
}

let dir = '';
const run = (prog: string, args: string[], env: Record<string, string> = {}): Run => {
  const r = spawnSync(path.join(dir, prog), args, {
    encoding: 'utf8',
    timeout: DRIVER_TIMEOUT_MS, // a hung driver fails its test instead of the whole run
    env: { ...process.env, TESSERA_THREADS: '2', TESSERA_TEST_BACKEND: '', ...env },
  });
  const lines = r.stdout.split('\n');
  const s = lines.find((l) => l.startsWith('SUMMARY '));
  return {
    status: r.status,
    stdout: r.stdout,
    stderr: r.stderr,
    checks: lines
      .filter((l) => l.startsWith('PASS ') || l.startsWith('FAIL '))
      .map((l) => {
        const [head, detail = ''] = l.slice(5).split(/ {2}/, 2);
        return { ok: l.startsWith('PASS'), name: head ?? '', detail };
      }),
    summary: s ? (JSON.parse(s.slice('SUMMARY '.length)) as Record<string, unknown>) : undefined,
  };
};

let ops: Run;
let core: Run;
let cpuCore: Run;

beforeAll(() => {
  dir = buildDrivers('cuda-emulated');
  const fixtures = path.join(repoRoot, 'test/fixtures/engine');
  // Every device allocation starts as NaN: an unwritten output or a read of memory nothing wrote fails a check.
  ops = run('backend_ops_test', ['--backend', 'cuda'], { TESSERA_CUDA_POISON: '1' });
  core = run('engine_core_test', [fixtures], { TESSERA_TEST_BACKEND: 'cuda', TESSERA_CUDA_POISON: '1' });
  cpuCore = run('engine_core_test', [fixtures]);
}, 600_000);

describe('CUDA backend under the CPU emulator', () => {
  it('passes every op of the fp32 and bf16 tables against the CPU reference', () => {
    if (!ops.summary) throw new Error(`backend_ops_test crashed: ${ops.stderr}`);
    expect(ops.summary.backends).toEqual(['cuda', 'cuda-bf16']);
    expect(ops.checks.filter((c) => !c.ok)).toEqual([]);
    expect(ops.status).toBe(0);
    expect(ops.checks.length).toBeGreaterThanOrEqual(130);
  });

  it('runs the bf16 attention through the fused kernels (bf16 error, not fp32 identity) for head dim 64', () => {
    const fused = ops.checks.filter((c) =>
      /^cuda-bf16: attention_forward\+backward B\d+ T\d+ Tq\d+ C(128 NH2|384 NH6)/.test(c.name),
    );
    expect(fused.length).toBe(3);
    for (const c of fused) {
      const err = Number(/rel_l2=(\S+)/.exec(c.detail)![1]);
      expect(err, c.name).toBeGreaterThan(1e-4);
      expect(err, c.name).toBeLessThan(1e-2);
    }
  });

  it('passes the whole engine-core fixture suite on the CUDA backend, as the CPU backend does', () => {
    if (!core.summary) throw new Error(`engine_core_test crashed on cuda: ${core.stderr}`);
    expect(core.summary.backend).toBe('cuda');
    expect(core.checks.filter((c) => !c.ok)).toEqual([]);
    expect(core.status).toBe(0);
    expect(core.summary.worstFixtureRelL2).toBeLessThanOrEqual(1e-4);
    // The CPU run has the same checks except the two that only a device backend has, and the CPU's own: its fused
    // ops against the unfused ones (optional table entries the CUDA table leaves out: it runs the unfused ops) and
    // the packed weights it keeps in host memory.
    const cpuOnly = cpuCore.checks.filter((c) =>
      /^(linear_gelu_forward|gelu_linear_backward|linear_backward_write|attention_backward_write|adamw_update_zero_grads|packed weights kept|weights written through)/.test(
        c.name,
      ),
    );
    expect(cpuOnly.length).toBe(10);
    expect(core.summary.passed).toBe((cpuCore.summary!.passed as number) + 2 - cpuOnly.length);
  });

  it('turns out-of-device-memory into an error naming the chunk size that fits, and picks it from free memory', () => {
    const oom = core.checks.find((c) => c.name.startsWith('error: out of device memory'));
    expect(oom?.ok, oom?.detail).toBe(true);
    expect(oom!.detail).toMatch(/Out of GPU memory: .* The chunk size was \d+; use chunk size 2 or less\./);
    expect(core.checks.find((c) => c.name.startsWith('chunk size 0 is chosen'))?.ok).toBe(true);
  });

  it('without a device, says so in one line and runs nothing on it', () => {
    const r = run('engine_core_test', [path.join(repoRoot, 'test/fixtures/engine')], {
      TESSERA_TEST_BACKEND: 'cuda',
      TESSERA_EMULATE_NO_DEVICE: '1',
    });
    expect(r.status).toBe(2);
    expect(r.stderr.trim()).toBe(
      'engine_core_test: backend cuda is not available: No CUDA device was found: the engine runs on the CPU.',
    );
    const o = run('backend_ops_test', ['--backend', 'cuda'], { TESSERA_EMULATE_NO_DEVICE: '1' });
    expect(o.stdout).toMatch(/^NOTE cuda backend not present: No CUDA device was found/m);
    expect(o.summary!.backends).toEqual([]);
    expect(o.status).toBe(0);
  });
});
