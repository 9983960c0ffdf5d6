/**
 * The engine benchmark's AVX2-only rows hold onnxruntime to AVX2 with a CPUID mask (test/bench/cpuid-avx2-only.c).
 * The rows mean something only if, under the mask, every CPUID probe sees no AVX-512, the process still runs as
 * usual (same results), and faults that are not CPUID still reach their own handlers.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { avx2OnlyEnv, cpuFlags } from '../../bench/cpuid-avx2-only.js';

const root = path.resolve(import.meta.dirname, '..', '..', '..');
const flags = cpuFlags();
// Hardware, not an installable prerequisite: a CPU without AVX-512 has nothing to mask, and one without
// CPUID faulting cannot be masked (the bench then says so in its table).
const reason = !flags.has('avx512f')
  ? 'this CPU has no AVX-512 to mask'
  : !flags.has('cpuid_fault')
    ? 'this CPU offers no CPUID faulting'
    : '';

function node(script: string, env: NodeJS.ProcessEnv) {
  return spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: root, encoding: 'utf8', env });
}

const PROBE = `
const { engineCpuInfo } = await import('./src-main/engine/model.ts');
const ort = await import('onnxruntime-node');
const s = await ort.InferenceSession.create('test/fixtures/onnx/cnn.onnx');
const input = s.inputNames[0];
const x = new Float32Array(1 * 3 * 32 * 32).map((_, i) => Math.sin(i));
const out = await s.run({ [input]: new ort.Tensor('float32', x, [1, 3, 32, 32]) });
console.log(JSON.stringify({ path: engineCpuInfo().widestPath, out: Array.from(Object.values(out)[0].data) }));
`;

describe.skipIf(reason !== '')(`the AVX2-only CPUID mask${reason ? ` (skipped: ${reason})` : ''}`, () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-cpuid-'));
  const env = avx2OnlyEnv(work);
  afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

  it('hides AVX-512 from the engine and onnxruntime, which give the same results', () => {
    expect(typeof env, String(env)).toBe('object');
    const plain = node(PROBE, process.env);
    const masked = node(PROBE, env as NodeJS.ProcessEnv);
    expect(plain.status, plain.stderr).toBe(0);
    expect(masked.status, masked.stderr).toBe(0);
    const a = JSON.parse(plain.stdout.trim().split('\n').at(-1) ?? '{}');
    const b = JSON.parse(masked.stdout.trim().split('\n').at(-1) ?? '{}');
    expect(a.path).toBe('avx512');
    expect(b.path).toBe('avx2');
    expect(b.out.length).toBe(a.out.length);
    b.out.forEach((v: number, i: number) => expect(v).toBeCloseTo(a.out[i], 4));
  });

  it('passes other faults on: a WebAssembly trap still throws, a real crash still kills', () => {
    const wasm = `
      const bytes = new Uint8Array([0,97,115,109,1,0,0,0,1,6,1,96,1,127,1,127,3,2,1,0,5,3,1,0,1,7,5,1,1,102,0,0,10,9,1,7,0,32,0,40,2,0,11]);
      const f = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.f;
      try { f(1 << 30); console.log('no trap'); } catch (e) { console.log(e.constructor.name); }`;
    const trapped = node(wasm, env as NodeJS.ProcessEnv);
    expect(trapped.stdout.trim()).toBe('RuntimeError');
    const crash = node(`process.kill(process.pid, 'SIGSEGV')`, env as NodeJS.ProcessEnv);
    expect(crash.signal).toBe('SIGSEGV');
  });
});
