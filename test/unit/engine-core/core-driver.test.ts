/**
 * Builds the engine core (native/engine, no Node headers) with the standalone C++ test driver
 * (native/tests/engine_core_test.cpp) using g++ -O2, runs it against the PyTorch fixtures in
 * test/fixtures/engine and asserts its per-check results: forward outputs, loss, every parameter gradient
 * and 3 AdamW steps within relative L2 error 1e-4 for four ViT variants; the same with bf16 encoder matrix
 * products within the bf16 tolerance; chunked recompute equal to the full graph; the GEMM on every operand layout
 * (fp32 and bf16); determinism; frozen mode; gradient accumulation; cancellation; clear errors for bad input. Every
 * check runs once per CPU path this machine has (AVX-512, AVX2, portable: TESSERA_CPU_PATH), each in its own
 * process, and once more on the guarded backend (native/tests/backend_guarded.h): the CPU ops on memory that host
 * code cannot touch outside the backend table, so a model-level copy or loop that bypasses the table crashes it.
 * (Every op on every backend: backend-ops.test.ts.)
 */
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadEngine } from '../../../src-main/engine/native.js';
import { buildDrivers, repoRoot, DRIVER_TIMEOUT_MS } from './drivers.js';

const fixtureDir = path.join(repoRoot, 'test/fixtures/engine');

interface Check {
  ok: boolean;
  name: string;
  detail: string;
}

interface Summary {
  passed: number;
  failed: number;
  worstFixtureRelL2: number;
  path: string;
  gemm: string;
  gemmBf16: string;
  backend: string;
}

interface PathRun {
  status: number | null;
  checks: Check[];
  summary: Summary | undefined;
  stderr: string;
}

const runs = new Map<string, PathRun>();
let guarded: PathRun | undefined;
let paths: string[] = [];

function parse(stdout: string): { checks: Check[]; summary: Summary | undefined } {
  const lines = stdout.split('\n');
  const parsed = lines
    .filter((l) => l.startsWith('PASS ') || l.startsWith('FAIL '))
    .map((l) => {
      const [head, detail = ''] = l.slice(5).split(/ {2}/, 2);
      return { ok: l.startsWith('PASS'), name: head ?? '', detail };
    });
  const s = lines.find((l) => l.startsWith('SUMMARY '));
  return { checks: parsed, summary: s ? (JSON.parse(s.slice('SUMMARY '.length)) as Summary) : undefined };
}

/** The GEMM micro-kernel each path must report. */
const KERNEL: Record<string, { fp32: string; bf16: RegExp }> = {
  avx512: { fp32: 'avx512-12x32', bf16: /^avx512-(bf16-12x32|12x32\+bf16-rounding)$/ },
  avx2: { fp32: 'avx2-fma', bf16: /^avx2-fma\+bf16-rounding$/ },
  portable: { fp32: 'portable', bf16: /^portable\+bf16-rounding$/ },
};

function runDriver(driver: string, env: Record<string, string>): PathRun {
  const run = spawnSync(driver, [fixtureDir], {
    encoding: 'utf8',
    timeout: DRIVER_TIMEOUT_MS, // a hung driver fails its test instead of the whole run
    env: { ...process.env, TESSERA_THREADS: '2', TESSERA_PORTABLE: '', TESSERA_TEST_BACKEND: '', ...env },
  });
  return { status: run.status, stderr: run.stderr, ...parse(run.stdout) };
}

beforeAll(() => {
  const driver = path.join(buildDrivers('cpu'), 'engine_core_test');
  paths = execFileSync(driver, ['--cpu-paths'], { encoding: 'utf8' }).trim().split(' ');
  for (const cpuPath of paths) runs.set(cpuPath, runDriver(driver, { TESSERA_CPU_PATH: cpuPath }));
  guarded = runDriver(driver, { TESSERA_TEST_BACKEND: 'guarded' });
}, 240_000);

/** The run of one path; fails the test with the driver's stderr if it crashed. */
function runOf(cpuPath: string): PathRun {
  const r = runs.get(cpuPath);
  if (!r) throw new Error(`no run for ${cpuPath}`);
  if (!r.summary) throw new Error(`engine_core_test crashed on the ${cpuPath} path: ${r.stderr}`);
  return r;
}

function findCheck(cpuPath: string, pattern: RegExp): Check[] {
  return runOf(cpuPath).checks.filter((c) => pattern.test(c.name));
}

// Every path, widest first; the ones this CPU lacks (per the addon, checked against the driver below) are skipped.
const ALL_PATHS = ['avx512', 'avx2', 'portable'];
const widest = loadEngine().cpuInfo().widestPath;
const available = ALL_PATHS.slice(ALL_PATHS.indexOf(widest));
const onEachPath = (name: string, fn: (cpuPath: string) => void): void => {
  for (const cpuPath of ALL_PATHS)
    describe.skipIf(!available.includes(cpuPath))(`${cpuPath} path: ${name}`, () => fn(cpuPath));
};

describe('engine core paths', () => {
  it('runs on every path this CPU has, the portable one included', () => {
    expect(paths).toEqual(available);
    for (const p of paths) {
      expect(runOf(p).summary!.path).toBe(p);
      expect(runOf(p).summary!.gemm).toBe(KERNEL[p]!.fp32);
      expect(runOf(p).summary!.gemmBf16).toMatch(KERNEL[p]!.bf16);
    }
  });
});

onEachPath('engine core against PyTorch fixtures', (cpuPath) => {
  const variants = ['vit_plain', 'vit_reg_ls', 'vit_swiglu', 'vit_swiglu_split'];

  it('runs every check and none fails', () => {
    const r = runOf(cpuPath);
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.status).toBe(0);
    expect(r.summary!.failed).toBe(0);
    expect(r.summary!.passed).toBeGreaterThanOrEqual(155);
    expect(r.summary!.worstFixtureRelL2).toBeLessThanOrEqual(1e-4);
    // Every path runs the same checks.
    expect(r.summary!.passed).toBe(runOf('portable').summary!.passed);
  });

  it.each(variants)('%s: embeddings, attention and probabilities match', (v) => {
    const forward = findCheck(cpuPath, new RegExp(`^${v}: (embeddings|attention|prob) `));
    expect(forward.length).toBe(8);
    expect(forward.every((c) => c.ok)).toBe(true);
  });

  it.each(variants)('%s: loss and every parameter gradient match for chunk sizes 1, 2 and 8', (v) => {
    const grads = findCheck(cpuPath, new RegExp(`^${v}: chunk \\d+ every parameter gradient vs PyTorch$`));
    expect(grads.map((c) => c.name.split(' ')[2])).toEqual(['1', '2', '8']);
    expect(grads.every((c) => c.ok)).toBe(true);
    expect(findCheck(cpuPath, new RegExp(`^${v}: chunk \\d+ loss$`)).every((c) => c.ok)).toBe(true);
    expect(findCheck(cpuPath, new RegExp(`^${v}: chunked recompute .* == full graph`))[0]?.ok).toBe(true);
  });

  it.each(variants)('%s: three AdamW steps match torch.optim.AdamW', (v) => {
    const steps = findCheck(
      cpuPath,
      new RegExp(`^${v}: (losses over|grad norms over|parameters after|parameter updates)`),
    );
    expect(steps.length).toBe(4);
    expect(steps.every((c) => c.ok)).toBe(true);
  });

  it.each(variants)('%s: bf16 encoder matmuls stay within the bf16 tolerance of PyTorch fp32', (v) => {
    const bf16 = findCheck(cpuPath, new RegExp(`^${v}: bf16 matmuls: `));
    expect(bf16.map((c) => c.name.slice(v.length + 2))).toEqual([
      'bf16 matmuls: embeddings vs PyTorch fp32',
      'bf16 matmuls: loss and gradients vs PyTorch fp32',
    ]);
    for (const c of bf16) expect(c.ok, `${c.name}: ${c.detail}`).toBe(true);
  });

  it.each(variants)('%s: frozen mode trains only the aggregator with the same gradients', (v) => {
    const frozen = findCheck(cpuPath, new RegExp(`^${v}: frozen`));
    expect(frozen.length).toBe(2);
    expect(frozen.every((c) => c.ok)).toBe(true);
  });

  it('resamples pos_embed like torch bicubic interpolation (antialiased and plain)', () => {
    const r = findCheck(cpuPath, /^resample pos_embed/);
    expect(r.length).toBe(8);
    expect(r.every((c) => c.ok)).toBe(true);
  });
});

onEachPath('engine core op checks', (cpuPath) => {
  it('multiplies matrices of every operand layout and edge size like a double-precision reference, fp32 and bf16', () => {
    const gemm = findCheck(cpuPath, /gemm/).map((c) => [c.name.replace(/\(.*?\) /, ''), c.ok, c.detail]);
    expect(gemm.map(([name, ok]) => [name, ok])).toEqual([
      ['gemm vs naive, strided operands', true],
      ['threaded gemm == serial gemm bitwise (plain and transposed operands, = and +=)', true],
      // the weight gradients' product: the same numbers on any thread count
      ['gemmSplitK == C + first half of K + second half, row sums too, bitwise on 1-3 threads', true],
      ['gemm with a region warmed during it == without, bitwise', true], // WarmDuringGemm only prefetches
      ['gemm vs naive, every layout, edges, =, +=, bias', true],
      ['gemm bf16 vs naive on bf16-rounded operands', true],
      ['gemm bf16 vs fp32 product within the bf16 tolerance', true],
      ['threaded gemm == serial gemm bitwise, every layout, fp32 and bf16', true],
      ['gemm row sums of A == KC-k slices in order bitwise, threaded and serial', true], // the bias gradient
    ]);
  });

  it('gives each pool thread its own contiguous share of a job first, and lets idle threads take what is left', () => {
    // Consecutive jobs numbered by rows keep each thread on the rows it wrote (threads.cpp).
    const pool = findCheck(cpuPath, /^thread pool: /).map((c) => [c.name, c.ok, c.detail]);
    expect(pool.map(([name, ok]) => [name, ok])).toEqual([
      ['thread pool: 3,000 resizes, every job right after one runs each task once and finishes', true],
      ["thread pool: each worker's first task is the start of its own contiguous share (2-4 threads)", true],
      ['thread pool: every task of a job runs once, shares taken over by threads done with theirs', true],
      ["thread pool: a thread done with its share takes tasks from a slower one's", true],
    ]);
  });

  it('keeps large arrays 2 MiB aligned and advised transparent huge pages', () => {
    const host = findCheck(cpuPath, /^host memory: /);
    expect(host.length).toBe(1);
    expect(host[0]?.ok).toBe(true);
    expect(host[0]?.name).toContain('2 MiB aligned');
  });

  it('writes the input gradients of the training step (no zeroing pass) with the same numbers as zeroing and adding', () => {
    const written = findCheck(cpuPath, /^(linear|attention)_backward_write /).map((c) => [
      c.name,
      c.ok,
      c.detail,
    ]);
    expect(written.map(([name, ok]) => [name, ok])).toEqual([
      ['linear_backward_write (cpu) == zero, linear_backward bitwise', true],
      ['linear_backward_write (cpu-bf16) == zero, linear_backward bitwise', true],
      ['attention_backward_write (cpu) == zero, attention_backward bitwise', true],
    ]);
  });

  it('computes only the class-token rows of the last block for token pooling, equal to the full path', () => {
    const rows = findCheck(cpuPath, /^output rows only == full computation: /).map((c) => [
      c.name.slice('output rows only == full computation: '.length),
      c.detail.split(',')[0],
      c.ok,
    ]);
    expect(rows).toEqual([
      ['token pool', 'pruned', true],
      ['token pool, registers + LayerScale + SwiGLU', 'pruned', true],
      ['token pool, fc_norm, depth 1', 'pruned', true],
      ['token+avg pool (full path)', 'full path', true],
    ]);
  });

  it('is deterministic across thread counts, accumulates gradients exactly and cancels cleanly', () => {
    for (const p of [
      /^deterministic: /,
      /^dropout mask depends on the seed/,
      /^gradient accumulation/,
      /^cancel /,
    ]) {
      const c = findCheck(cpuPath, p);
      expect(c.length, String(p)).toBe(1);
      expect(c[0]?.ok, c[0]?.name).toBe(true);
    }
  });

  it('rejects bad shapes, labels and options with clear messages', () => {
    const errors = findCheck(cpuPath, /^error: /);
    expect(errors.length).toBeGreaterThanOrEqual(12);
    for (const e of errors) expect(e.ok, `${e.name}: ${e.detail}`).toBe(true);
    expect(findCheck(cpuPath, /^model unchanged after rejected calls/)[0]?.ok).toBe(true);
  });
});

describe('the backend seam', () => {
  it("runs every check with the model's memory behind the backend table (guarded backend)", () => {
    const r = guarded!;
    if (!r.summary) throw new Error(`engine_core_test crashed on the guarded backend: ${r.stderr}`);
    expect(r.summary.backend).toBe('guarded');
    expect(r.checks.filter((c) => !c.ok)).toEqual([]);
    expect(r.status).toBe(0);
    // The same checks as the CPU backend, with the same results against the fixtures, except the two of the packed
    // weights the CPU keeps in host memory (a table whose memory is not host memory keeps none).
    const cpu = runOf(paths[0]!);
    const hostOnly = cpu.checks.filter((c) => /^(packed weights kept|weights written through)/.test(c.name));
    expect(hostOnly.length).toBe(2);
    expect(r.summary.passed).toBe(cpu.summary!.passed - hostOnly.length);
    expect(r.summary.worstFixtureRelL2).toBeLessThanOrEqual(1e-4);
  });
});
