/**
 * Every op of every backend present against the CPU reference (native/tests/backend_ops_test.cpp, after ggml's
 * test-backend-ops): fresh random inputs, outputs poisoned with NaN before each run, gradients starting from random
 * values (so += is checked), per-op tolerances (bf16 matrix products within 1e-2 of fp32, and different from it).
 * Here the backends are the CPU tables on every path this CPU has (fp32 and bf16) and the guarded table; the CUDA
 * tables join where the driver is built with CUDA (test/gpu/run.sh on a GPU machine; cuda-emulated.test.ts runs
 * the CUDA code on the CPU). Plus finite-difference checks of every op's backward on each CPU path.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadEngine } from '../../../src-main/engine/native.js';
import { buildDrivers, DRIVER_TIMEOUT_MS } from './drivers.js';

interface Check {
  ok: boolean;
  name: string;
  detail: string;
}

let checks: Check[] = [];
let summary: { passed: number; failed: number; backends: string[] } | undefined;
let status: number | null = null;
let stderr = '';

beforeAll(() => {
  const driver = path.join(buildDrivers('cpu'), 'backend_ops_test');
  const run = spawnSync(driver, [], {
    encoding: 'utf8',
    timeout: DRIVER_TIMEOUT_MS, // a hung driver fails its test instead of the whole run
    env: { ...process.env, TESSERA_THREADS: '2' },
  });
  status = run.status;
  stderr = run.stderr;
  const lines = run.stdout.split('\n');
  checks = lines
    .filter((l) => l.startsWith('PASS ') || l.startsWith('FAIL '))
    .map((l) => {
      const [head, detail = ''] = l.slice(5).split(/ {2}/, 2);
      return { ok: l.startsWith('PASS'), name: head ?? '', detail };
    });
  const s = lines.find((l) => l.startsWith('SUMMARY '));
  summary = s ? (JSON.parse(s.slice('SUMMARY '.length)) as typeof summary) : undefined;
}, 240_000);

const ALL_PATHS = ['avx512', 'avx2', 'portable'];
const widest = loadEngine().cpuInfo().widestPath;
const paths = ALL_PATHS.slice(ALL_PATHS.indexOf(widest));

/** The ops each case exercises, by the case name's first word(s). */
const OPS = [
  'linear_forward ',
  'linear_forward_rows',
  'linear_backward',
  'layernorm_forward+backward',
  'layernorm_forward (inference)',
  'attention_forward+backward',
  'attention_forward (inference)',
  'gelu_forward+backward',
  'swiglu_forward+backward',
  'residual_scale_forward+backward',
  'patch_embed_forward+backward',
  'tokens_forward+backward',
  'pool_forward+backward',
  'dropout_forward+backward',
  'mil_attention_forward+backward',
  'task_loss',
  'sum_squares',
  'adamw_update',
  'copy, copy_rows, zero, prefetch',
];

describe('every op on every backend against the CPU reference', () => {
  it('runs on every backend present here, and every check passes', () => {
    if (!summary) throw new Error(`backend_ops_test crashed: ${stderr}`);
    const expected = paths.flatMap((p) => [`cpu/${p}`, `cpu-bf16/${p}`]).concat(['guarded', 'guarded-bf16']);
    expect(summary.backends).toEqual(expected);
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(status).toBe(0);
  });

  it('checks every op of the table on each backend, with its outputs compared', () => {
    for (const backend of summary!.backends) {
      const mine = checks.filter(
        (c) => c.name.startsWith(`${backend}: `) && !/: (finite differences: |AdamW update ==)/.test(c.name),
      );
      for (const op of OPS)
        expect(
          mine.some((c) => c.name.slice(backend.length + 2).startsWith(op)),
          `${backend}: ${op}`,
        ).toBe(true);
      // Every check reports its error and tolerance.
      for (const c of mine) expect(c.detail, c.name).toMatch(/^rel_l2=\S+ \(\w+, tolerance /);
    }
  });

  it('runs the matrix products in bf16 on the bf16 tables (not bitwise fp32)', () => {
    const bf16 = checks.filter((c) => /^cpu-bf16\/\w+: linear_forward 257x384x1152$/.test(c.name));
    expect(bf16.length).toBe(paths.length);
    for (const c of bf16) {
      const err = Number(/rel_l2=(\S+)/.exec(c.detail)![1]);
      expect(err).toBeGreaterThan(1e-4);
      expect(err).toBeLessThan(1e-2);
    }
  });
});

describe('finite differences', () => {
  it.each(paths)('%s path: every op backward matches finite differences', (p) => {
    const fd = checks
      .filter((c) => c.name.startsWith(`cpu/${p}: finite differences: `))
      .map((c) => [c.name.slice(`cpu/${p}: finite differences: `.length), c.ok]);
    expect(fd).toEqual([
      ['linear (input, weight, bias)', true],
      ['layernorm (input, weight, bias)', true],
      ['attention (q, k, v)', true],
      ['attention, first 2 queries (q, k, v)', true],
      ['exact GELU', true],
      ['SwiGLU (gate, value)', true],
      ['residual + LayerScale (input, gamma)', true],
      ['patch embedding (weight, bias)', true],
      ['gated-attention MIL (h, Wa, ba, Wb, bb, wc)', true],
      ['BCE with logits', true],
      ['cross-entropy', true],
    ]);
    expect(checks.find((c) => c.name === `cpu/${p}: AdamW update == reference formula (3 steps)`)?.ok).toBe(
      true,
    );
  });
});
