/**
 * Builds the engine core (native/engine, no Node headers) with the standalone C++ test driver
 * (native/tests/engine_core_test.cpp) using g++ -O2, runs it against the PyTorch fixtures in
 * test/fixtures/engine and asserts its per-check results: forward outputs, loss, every parameter gradient
 * and 3 AdamW steps within relative L2 error 1e-4 for four ViT variants; chunked recompute equal to the full
 * graph; finite-difference checks of every op's backward; determinism; frozen mode; gradient accumulation;
 * cancellation; clear errors for bad input.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
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
  gemm: string;
}

let checks: Check[] = [];
let summary: Summary | undefined;
let portable: { status: number | null; summary: Summary | undefined; failures: string[] } | undefined;

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

function findCheck(pattern: RegExp): Check[] {
  return checks.filter((c) => pattern.test(c.name));
}

beforeAll(() => {
  const outDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-engine-core-'));
  try {
    execFileSync('bash', [path.join(repoRoot, 'native/tests/build.sh'), outDir], {
      stdio: 'pipe',
      env: { ...process.env, CXXFLAGS: '-O2' },
    });
    const driver = path.join(outDir, 'engine_core_test');
    const run = spawnSync(driver, [fixtureDir], {
      encoding: 'utf8',
      env: { ...process.env, TESSERA_THREADS: '2' },
    });
    ({ checks, summary } = parse(run.stdout));
    if (run.status !== 0 && !summary) throw new Error(`engine_core_test crashed: ${run.stderr}`);
    // The same checks with the portable (non-AVX2) kernels everywhere.
    const runPortable = spawnSync(driver, [fixtureDir], {
      encoding: 'utf8',
      env: { ...process.env, TESSERA_THREADS: '2', TESSERA_PORTABLE: '1' },
    });
    const p = parse(runPortable.stdout);
    portable = {
      status: runPortable.status,
      summary: p.summary,
      failures: p.checks.filter((c) => !c.ok).map((c) => `${c.name} ${c.detail}`),
    };
  } finally {
    fs.rmSync(outDir, { recursive: true, force: true });
  }
}, 240_000);

describe('engine core against PyTorch fixtures', () => {
  const variants = ['vit_plain', 'vit_reg_ls', 'vit_swiglu', 'vit_swiglu_split'];

  it('runs every check and none fails', () => {
    expect(summary).toBeDefined();
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(summary!.failed).toBe(0);
    expect(summary!.passed).toBeGreaterThanOrEqual(150);
    expect(summary!.worstFixtureRelL2).toBeLessThanOrEqual(1e-4);
  });

  it('passes the same checks with the portable (non-AVX2) kernels', () => {
    expect(portable?.failures).toEqual([]);
    expect(portable?.status).toBe(0);
    expect(portable?.summary?.gemm).toBe('portable');
    expect(portable?.summary?.passed).toBe(summary?.passed);
  });

  it.each(variants)('%s: embeddings, attention and probabilities match', (v) => {
    const forward = findCheck(new RegExp(`^${v}: (embeddings|attention|prob) `));
    expect(forward.length).toBe(8);
    expect(forward.every((c) => c.ok)).toBe(true);
  });

  it.each(variants)('%s: loss and every parameter gradient match for chunk sizes 1, 2 and 8', (v) => {
    const grads = findCheck(new RegExp(`^${v}: chunk \\d+ every parameter gradient vs PyTorch$`));
    expect(grads.map((c) => c.name.split(' ')[2])).toEqual(['1', '2', '8']);
    expect(grads.every((c) => c.ok)).toBe(true);
    expect(findCheck(new RegExp(`^${v}: chunk \\d+ loss$`)).every((c) => c.ok)).toBe(true);
    expect(findCheck(new RegExp(`^${v}: chunked recompute .* == full graph`))[0]?.ok).toBe(true);
  });

  it.each(variants)('%s: three AdamW steps match torch.optim.AdamW', (v) => {
    const steps = findCheck(
      new RegExp(`^${v}: (losses over|grad norms over|parameters after|parameter updates)`),
    );
    expect(steps.length).toBe(4);
    expect(steps.every((c) => c.ok)).toBe(true);
  });

  it.each(variants)('%s: frozen mode trains only the aggregator with the same gradients', (v) => {
    const frozen = findCheck(new RegExp(`^${v}: frozen`));
    expect(frozen.length).toBe(2);
    expect(frozen.every((c) => c.ok)).toBe(true);
  });

  it('resamples pos_embed like torch bicubic interpolation (antialiased and plain)', () => {
    const r = findCheck(/^resample pos_embed/);
    expect(r.length).toBe(8);
    expect(r.every((c) => c.ok)).toBe(true);
  });
});

describe('engine core op checks', () => {
  it('passes a finite-difference check for every op backward', () => {
    const fd = findCheck(/^finite differences: /).map((c) => [
      c.name.slice('finite differences: '.length),
      c.ok,
    ]);
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
    expect(findCheck(/^AdamW update == reference formula/)[0]?.ok).toBe(true);
    expect(findCheck(/^gemm .* vs naive/)[0]?.ok).toBe(true);
  });

  it('computes only the class-token rows of the last block for token pooling, equal to the full path', () => {
    const rows = findCheck(/^output rows only == full computation: /).map((c) => [
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
      const c = findCheck(p);
      expect(c.length, String(p)).toBe(1);
      expect(c[0]?.ok, c[0]?.name).toBe(true);
    }
  });

  it('rejects bad shapes, labels and options with clear messages', () => {
    const errors = findCheck(/^error: /);
    expect(errors.length).toBeGreaterThanOrEqual(12);
    for (const e of errors) expect(e.ok, `${e.name}: ${e.detail}`).toBe(true);
    expect(findCheck(/^model unchanged after rejected calls/)[0]?.ok).toBe(true);
  });
});
