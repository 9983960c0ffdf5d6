/**
 * `npm run bench -- engine`: the native engine against PyTorch CPU (Debian python3-torch) and
 * onnxruntime-node CPU, in one run, on the same models, with 2 threads each:
 *
 *   - ViT-Ti/16 (192, 12, 3) and ViT-S/16 (384, 12, 6) at 224 px, timm semantics;
 *   - training images/s: one slide of BATCH patches through encoder → gated-attention MIL → binary head,
 *     backward, AdamW (engine: trainStepEndToEnd with chunkSize = BATCH, so the slide is one chunk and the step
 *     recomputes nothing, it reuses that chunk's activations; PyTorch: plain full-graph backward);
 *   - inference images/s: encoder forward on BATCH patches (engine embed, PyTorch inference_mode,
 *     onnxruntime-node on the PyTorch model exported with torch.onnx.export at bench time);
 *   - the engine on every SIMD path this CPU has (AVX-512 and AVX2, switched with setEngineCpuPath as
 *     TESSERA_CPU_PATH would), and with bf16 matrix products where the CPU has AVX512-BF16;
 *   - the peak of each vector unit (AVX2 FMA, AVX-512 FMA, AVX512-BF16 dot product) measured here, and the
 *     engine's achieved GFLOP/s (model FLOPs: forward, and 3x forward for training) as a share of the peak of the
 *     unit its path uses, probed just before each setup (clock speeds drift on a shared host);
 *   - PyTorch with the best kernels this machine supports: OpenBLAS's own choice with OPENBLAS_CORETYPE and
 *     OPENBLAS_L2_SIZE unset, or, where that is not the widest core the CPU supports (OpenBLAS 0.3.21 takes a CPU
 *     it does not know for a Prescott), the widest core named; ATen's AVX-512 kernels where the CPU has them;
 *     the chosen kernels first pass every engine fixture and bench-sized products against float64. The AVX2 rows
 *     compare with PyTorch held to AVX2 (OpenBLAS Haswell, ATen AVX2), as on an AVX2-only machine, and with
 *     onnxruntime-node held to AVX2 too: its MLAS picks its kernels by CPUID with no switch, so it runs in a child
 *     process whose CPUID answers without AVX-512 (cpuid-avx2-only.c; Linux CPUID faulting);
 *   - the round trip of a cache line between the two CPUs just before each engine setup (core-to-core.c): on a
 *     shared host a VM's two vCPUs are sometimes placed on one core complex and sometimes apart, which two-thread
 *     rates feel and the peak probe does not;
 *   - peak RSS of one end-to-end step for N = 64, 256, 1024 patches at a fixed chunk size, each in a fresh
 *     process (RSS_IMG px inputs so the three steps fit in the time budget).
 *
 * Options: --seconds S (timing window per case, default 4), --batch B (default 8), --repeat R (whole rounds, the
 * table shows medians, default 1), --no-reference, --no-rss, --rss-img PX (default 64). Results go to the
 * "engine" section of test/bench/RESULTS.md.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  SlideModel,
  engineCpuInfo,
  measurePeakGflops,
  setEngineCpuPath,
  setEngineThreads,
} from '../../src-main/engine/model.js';
import type { EncoderSpec, EngineCpuInfo, PeakUnit } from '../../src-main/engine/types.js';
import { vitSpec } from '../helpers/engine.js';
import { coreToCoreNs } from './core-to-core.js';
import { avx2OnlyEnv, cpuFlags } from './cpuid-avx2-only.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const work = path.join(root, 'test', 'bench', 'work');
const THREADS = 2;
const PYTHON = '/usr/bin/python3';

const argv = process.argv.slice(2);
const flag = (name: string): boolean => argv.includes(name);
const option = (name: string, fallback: number): number => {
  const i = argv.indexOf(name);
  return i >= 0 ? Number(argv[i + 1]) : fallback;
};
const SECONDS = option('--seconds', 4);
const BATCH = option('--batch', 8);
const RSS_IMG = option('--rss-img', 64);
const REPEAT = Math.max(1, option('--repeat', 1));
const RSS_CHUNK = 32;

interface Arch {
  name: string;
  dim: number;
  heads: number;
}
const ARCHS: Arch[] = [
  { name: 'ViT-Ti/16', dim: 192, heads: 3 },
  { name: 'ViT-S/16', dim: 384, heads: 6 },
];

function spec(dim: number, heads: number, img = 224): EncoderSpec {
  return vitSpec('vit', {
    imgSize: img,
    patchSize: 16,
    embedDim: dim,
    depth: 12,
    numHeads: heads,
    mlpRatio: 4,
  });
}

const AGGREGATOR = { hiddenDim: 128, tasks: [{ name: 'msi', kind: 'binary' as const }] };

/** Forward FLOPs of one image (multiply-add = 2), as usually counted for ViTs. */
function forwardFlops(dim: number, img = 224, patch = 16, depth = 12): number {
  const grid = img / patch;
  const T = grid * grid + 1;
  const hidden = 4 * dim;
  const patchEmbed = 2 * grid * grid * dim * 3 * patch * patch;
  const block = 2 * T * dim * 3 * dim + 2 * 2 * T * T * dim + 2 * T * dim * dim + 2 * 2 * T * dim * hidden;
  return patchEmbed + depth * block;
}

function pixels(n: number, img: number): Uint8Array {
  const out = new Uint8Array(n * img * img * 3);
  let s = 12345;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}

/**
 * Seconds per call: one warm-up call, then calls until the window is over (at least 2); the fastest call
 * counts, since on a shared machine other processes only ever make calls slower.
 */
async function timed(fn: () => Promise<unknown>): Promise<number> {
  await fn();
  let best = Infinity;
  let n = 0;
  const start = performance.now();
  while (n < 2 || performance.now() - start < SECONDS * 1000) {
    const t = performance.now();
    await fn();
    best = Math.min(best, performance.now() - t);
    n++;
  }
  return best / 1000;
}

/** One engine configuration: a CPU path, and bf16 matrix products or not. */
interface EngineSetup {
  path: 'avx512' | 'avx2';
  bf16: boolean;
}

async function engineRow(arch: Arch, setup: EngineSetup): Promise<{ train: number; infer: number }> {
  setEngineCpuPath(setup.path);
  const model = SlideModel.create(spec(arch.dim, arch.heads), AGGREGATOR, 1);
  try {
    if (setup.bf16) model.setMatmulPrecision('bf16');
    const px = pixels(BATCH, 224);
    const infer = BATCH / (await timed(() => model.embed(px, BATCH, { chunkSize: BATCH })));
    const slide = [{ pixels: px, numPatches: BATCH, labels: [1] }];
    const train = BATCH / (await timed(() => model.trainStepEndToEnd(slide, { chunkSize: BATCH })));
    return { train, infer };
  } finally {
    model.dispose();
  }
}

// ---- the PyTorch reference and its kernels --------------------------------------------------------------

interface TorchKernels {
  torch: string;
  openblas_core: string | null;
  aten_capability: string | null;
}

/** A reference environment: the kernels it runs and how they were chosen. */
interface TorchEnv {
  env: NodeJS.ProcessEnv;
  kernels: TorchKernels;
  /** e.g. "OPENBLAS_CORETYPE=Cooperlake ATEN_CPU_CAPABILITY=avx512" or "(OpenBLAS's own choice)" */
  settings: string;
  note: string;
}

function runReference(args: string[], env: NodeJS.ProcessEnv): Record<string, unknown> | string {
  const r = spawnSync(PYTHON, [path.join(root, 'test', 'bench', 'engine_reference.py'), ...args], {
    encoding: 'utf8',
    env,
  });
  if (r.status !== 0)
    return `PyTorch reference failed: ${(r.stderr || '').trim().split('\n').slice(-1)[0] ?? ''}`;
  return JSON.parse(r.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
}

/**
 * The environment that gives PyTorch the widest kernels of `level` this CPU supports, checked against the
 * fixtures: OpenBLAS's own choice when it is already among the widest, else the widest core it accepts.
 */
function torchEnvFor(level: 'best' | 'avx2'): TorchEnv | string {
  if (!fs.existsSync(PYTHON)) return `${PYTHON} not found`;
  const base: NodeJS.ProcessEnv = {
    ...process.env,
    OMP_NUM_THREADS: String(THREADS),
    OPENBLAS_NUM_THREADS: String(THREADS),
  };
  delete base.OPENBLAS_CORETYPE;
  delete base.OPENBLAS_L2_SIZE;
  delete base.ATEN_CPU_CAPABILITY;
  const f = cpuFlags();
  const avx512 = ['avx512f', 'avx512bw', 'avx512dq', 'avx512vl'].every((x) => f.has(x));
  const cores: string[] = [];
  if (level === 'best' && avx512 && f.has('avx512_bf16')) cores.push('SapphireRapids', 'Cooperlake');
  if (level === 'best' && avx512) cores.push('SkylakeX');
  if (f.has('avx2') && f.has('fma')) cores.push('Haswell', 'Zen');
  const aten = level === 'best' && avx512 ? 'avx512' : f.has('avx2') ? 'avx2' : undefined;
  const own = runReference(['--kernels'], base);
  if (typeof own === 'string') return own;
  const ownCore = String(own.openblas_core);
  const isOneOf = (core: string, list: string[]) => list.some((c) => c.toLowerCase() === core.toLowerCase());
  let env = { ...base };
  let settings = '';
  // OpenBLAS's own detection is kept when it lands on the widest kind of core this level allows.
  const widest = cores.slice(0, cores[0] === 'SapphireRapids' ? 2 : 1);
  if (!isOneOf(ownCore, widest)) {
    for (const core of cores) {
      const k = runReference(['--kernels'], { ...base, OPENBLAS_CORETYPE: core });
      if (typeof k !== 'string' && isOneOf(String(k.openblas_core), cores)) {
        env.OPENBLAS_CORETYPE = core;
        settings = `OPENBLAS_CORETYPE=${core}`;
        break;
      }
    }
  }
  if (aten) {
    env.ATEN_CPU_CAPABILITY = aten;
    settings += `${settings ? ' ' : ''}ATEN_CPU_CAPABILITY=${aten}`;
  }
  const check = runReference(['--check', path.join(root, 'test', 'fixtures', 'engine')], env);
  let note = `OpenBLAS picks ${ownCore} by itself (OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE unset)`;
  if (typeof check === 'string' || !check.ok) {
    note += `; ${settings} failed the fixture check (${typeof check === 'string' ? check : JSON.stringify(check)}), so PyTorch runs with OpenBLAS's own choice`;
    env = base;
    settings = '';
    const k = runReference(['--kernels'], base);
    if (typeof k === 'string') return k;
    return { env, kernels: k as unknown as TorchKernels, settings: "(OpenBLAS's own choice)", note };
  }
  note += `; with ${settings || 'nothing set'} every engine fixture and bench-sized products match (worst relative L2 ${Number(check.fixtures).toExponential(1)} / ${Number(check.gemm).toExponential(1)})`;
  return {
    env,
    kernels: check as unknown as TorchKernels,
    settings: settings || "(OpenBLAS's own choice)",
    note,
  };
}

function torchRow(arch: Arch, t: TorchEnv, onnxPath: string): { train: number; infer: number } | string {
  const args = [
    '--dim',
    String(arch.dim),
    '--heads',
    String(arch.heads),
    '--threads',
    String(THREADS),
    '--batch',
    String(BATCH),
    '--seconds',
    String(SECONDS),
  ];
  const out = runReference(onnxPath ? [...args, '--onnx', onnxPath] : args, t.env);
  if (typeof out === 'string') return out;
  if (out.openblas_core !== t.kernels.openblas_core)
    return `PyTorch ran OpenBLAS ${String(out.openblas_core)}, not ${String(t.kernels.openblas_core)}`;
  return { train: Number(out.train_images_per_s), infer: Number(out.infer_images_per_s) };
}

async function ortInfer(onnxPath: string): Promise<number | string> {
  if (!fs.existsSync(onnxPath)) return 'no ONNX export';
  const ort = await import('onnxruntime-node');
  const session = await ort.InferenceSession.create(onnxPath, {
    intraOpNumThreads: THREADS,
    interOpNumThreads: 1,
    executionProviders: ['cpu'],
  });
  const feeds = { pixels: new ort.Tensor('uint8', pixels(BATCH, 224), [BATCH, 224, 224, 3]) };
  const s = await timed(() => session.run(feeds));
  await session.release();
  return BATCH / s;
}

/** Child mode (under the AVX2-only CPUID mask): onnxruntime's rate, and the CPU path the engine saw. */
async function ortChild(onnxPath: string): Promise<void> {
  const rate = await ortInfer(onnxPath);
  process.stdout.write(JSON.stringify({ rate, engineSaw: engineCpuInfo().widestPath }) + '\n');
}

/** onnxruntime-node's rate with MLAS held to AVX2 by CPUID, in a child process, or why not. */
function ortInferHeldToAvx2(onnxPath: string, env: NodeJS.ProcessEnv): number | string {
  const r = spawnSync(
    process.execPath,
    ['--import', 'tsx', import.meta.filename, '--ort-child', onnxPath, '--seconds', String(SECONDS)],
    { cwd: root, encoding: 'utf8', env },
  );
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1) || '{}') as {
    rate?: number | string;
    engineSaw?: string;
  };
  if (r.status !== 0 || out.rate === undefined)
    return `the AVX2-only child failed (${r.signal ?? `exit ${r.status}`}: ${r.stderr.trim().split('\n').at(-1) ?? ''})`;
  if (out.engineSaw !== 'avx2')
    return `the CPUID mask did not hold (the engine's probe saw ${out.engineSaw})`;
  return out.rate;
}

/** Child mode: one end-to-end step on N patches; prints RSS numbers as JSON. */
async function rssChild(n: number): Promise<void> {
  setEngineThreads(THREADS);
  const status = (key: string): number =>
    Number(new RegExp(`${key}:\\s+(\\d+) kB`).exec(fs.readFileSync('/proc/self/status', 'utf8'))?.[1] ?? 0) *
    1024;
  const model = SlideModel.create(spec(192, 3, RSS_IMG), AGGREGATOR, 1);
  const px = pixels(n, RSS_IMG);
  // Warm-up on 2 patches: allocates gradients and AdamW state, which do not depend on N.
  const warm = px.subarray(0, 2 * RSS_IMG * RSS_IMG * 3);
  await model.trainStepEndToEnd([{ pixels: warm, numPatches: 2, labels: [1] }], { chunkSize: RSS_CHUNK });
  const before = status('VmRSS');
  const hwmBefore = status('VmHWM');
  const t = performance.now();
  await model.trainStepEndToEnd([{ pixels: px, numPatches: n, labels: [1] }], { chunkSize: RSS_CHUNK });
  const seconds = (performance.now() - t) / 1000;
  process.stdout.write(
    JSON.stringify({
      n,
      rssBefore: before,
      hwmBefore,
      peak: status('VmHWM'),
      inputBytes: px.byteLength,
      seconds,
    }) + '\n',
  );
  model.dispose();
}

function rssRows(): {
  n: number;
  rssBefore: number;
  hwmBefore: number;
  peak: number;
  inputBytes: number;
  seconds: number;
}[] {
  const rows = [];
  for (const n of [64, 256, 1024]) {
    const out = execFileSync(
      process.execPath,
      ['--import', 'tsx', import.meta.filename, '--rss-child', String(n), '--rss-img', String(RSS_IMG)],
      {
        cwd: root,
        encoding: 'utf8',
      },
    );
    rows.push(JSON.parse(out.trim().split('\n').at(-1) ?? '{}'));
  }
  return rows;
}

const fmt = (x: number | undefined, digits = 2): string =>
  x === undefined || Number.isNaN(x) ? '–' : x.toFixed(digits);
const ratio = (a: number, b: number | undefined): string => (b ? `${(a / b).toFixed(2)}x` : '–');
const mib = (b: number): string => (b / 2 ** 20).toFixed(0);

function machine(): string {
  try {
    const lscpu = execFileSync('lscpu', { encoding: 'utf8' });
    const pick = (k: string) => new RegExp(`^${k}:\\s*(.+)$`, 'm').exec(lscpu)?.[1]?.trim();
    return `${pick('Model name')}, ${pick('CPU\\(s\\)')} CPUs, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`;
  } catch {
    return `${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.cpus().length} CPUs`;
  }
}

function writeResults(section: string): void {
  const file = path.join(root, 'test', 'bench', 'RESULTS.md');
  const start = '<!-- engine:start -->';
  const end = '<!-- engine:end -->';
  const block = `${start}\n${section}\n${end}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmark results\n';
  const i = text.indexOf(start);
  const j = text.indexOf(end);
  text =
    i >= 0 && j > i
      ? text.slice(0, i) + block + text.slice(j + end.length)
      : `${text.trimEnd()}\n\n${block}\n`;
  fs.writeFileSync(file, text);
}

const median = (xs: number[]): number => {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const m = Math.floor(v.length / 2);
  return v.length % 2 ? (v[m] as number) : ((v[m - 1] as number) + (v[m] as number)) / 2;
};

interface Cell {
  train: number[];
  infer: number[];
  /** The peak of the setup's unit, measured just before it (clock speeds drift on a shared host). */
  peak: number[];
}
const cell = (): Cell => ({ train: [], infer: [], peak: [] });

const UNIT_NAME: Record<PeakUnit, string> = {
  'avx2-fma': 'AVX2 FMA',
  'avx512-fma': 'AVX-512 FMA',
  'avx512-bf16': 'AVX512-BF16 dot product',
};

function unitOf(s: EngineSetup, info: EngineCpuInfo): PeakUnit {
  if (s.bf16 && info.avx512Bf16) return 'avx512-bf16';
  return s.path === 'avx512' ? 'avx512-fma' : 'avx2-fma';
}

async function main(): Promise<void> {
  if (flag('--rss-child')) return rssChild(option('--rss-child', 64));
  if (flag('--ort-child')) return ortChild(argv[argv.indexOf('--ort-child') + 1] ?? '');
  setEngineThreads(THREADS);
  fs.mkdirSync(work, { recursive: true });
  const loadStart = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const info = engineCpuInfo();
  const startPath = info.path;

  // Peaks of every unit this CPU has, on 1 and on THREADS threads.
  const peaks = new Map<PeakUnit, { one: number; all: number }>();
  for (const unit of ['avx2-fma', 'avx512-fma', 'avx512-bf16'] as PeakUnit[]) {
    const all = measurePeakGflops(THREADS, 1, unit);
    if (all > 0) peaks.set(unit, { one: measurePeakGflops(1, 1, unit), all });
  }
  for (const [unit, p] of peaks)
    console.log(
      `peak ${UNIT_NAME[unit]}: ${p.one.toFixed(1)} GFLOP/s (1 thread), ${p.all.toFixed(1)} (${THREADS} threads)`,
    );

  // Engine setups: every SIMD path (widest first), and bf16 on AVX-512 where vdpbf16ps exists.
  const setups: EngineSetup[] = [];
  if (info.widestPath === 'avx512') setups.push({ path: 'avx512', bf16: false });
  if (info.widestPath !== 'portable') setups.push({ path: 'avx2', bf16: false });
  if (info.avx512Bf16) setups.push({ path: 'avx512', bf16: true });
  const key = (s: EngineSetup) => `${s.path}${s.bf16 ? '+bf16' : ''}`;

  const notes: string[] = [];
  const torchEnvs = new Map<'best' | 'avx2', TorchEnv>();
  if (!flag('--no-reference')) {
    for (const level of ['best', 'avx2'] as const) {
      if (level === 'avx2' && !setups.some((s) => s.path === 'avx2')) continue;
      const t = torchEnvFor(level);
      if (typeof t === 'string') notes.push(`PyTorch (${level}) not measured: ${t}.`);
      else {
        torchEnvs.set(level, t);
        console.log(
          `PyTorch ${level}: OpenBLAS ${t.kernels.openblas_core}, ATen ${t.kernels.aten_capability} (${t.settings}); ${t.note}`,
        );
      }
    }
  }
  /** Which reference a setup is compared with: held to AVX2 for the AVX2 rows of an AVX-512 machine. */
  const levelOf = (s: EngineSetup): 'best' | 'avx2' =>
    s.path === 'avx2' && info.widestPath === 'avx512' ? 'avx2' : 'best';
  const avx2Env: NodeJS.ProcessEnv | string = setups.some((x) => levelOf(x) === 'avx2')
    ? avx2OnlyEnv(work)
    : 'no AVX2 rows';
  const ortLevelOf = (s: EngineSetup): 'best' | 'avx2' => (typeof avx2Env === 'string' ? 'best' : levelOf(s));

  const engine = new Map<string, Cell>();
  const torch = new Map<string, Cell>();
  const ort = new Map<string, number[]>();
  const rounds: string[] = [];
  const roundTripLines: string[] = [];
  for (let round = 0; round < REPEAT; round++) {
    const ratios: string[] = [];
    const roundTrips: string[] = [];
    for (const arch of ARCHS) {
      const got = new Map<string, { train: number; infer: number }>();
      for (const s of setups) {
        const peak = measurePeakGflops(THREADS, 0.5, unitOf(s, info));
        const ns = coreToCoreNs(work);
        const e = await engineRow(arch, s);
        got.set(key(s), e);
        const c = engine.get(`${arch.name} ${key(s)}`) ?? cell();
        c.train.push(e.train);
        c.infer.push(e.infer);
        c.peak.push(peak);
        engine.set(`${arch.name} ${key(s)}`, c);
        const roundTrip = typeof ns === 'number' ? `${ns} ns` : `not measured (${ns})`;
        roundTrips.push(`${arch.name} ${key(s)} ${roundTrip}`);
        console.log(
          `${arch.name} engine ${key(s)}: train ${fmt(e.train)} img/s, infer ${fmt(e.infer)} img/s (cores' round trip ${roundTrip})`,
        );
      }
      setEngineCpuPath(startPath);
      const onnx = path.join(work, `engine-${arch.dim}.onnx`);
      const tor = new Map<string, { train: number; infer: number }>();
      for (const [level, t] of torchEnvs) {
        const r = torchRow(arch, t, level === 'best' ? onnx : '');
        if (typeof r === 'string') {
          notes.push(`${arch.name}: PyTorch (${level}) not measured in round ${round + 1} (${r}).`);
          continue;
        }
        tor.set(level, r);
        const c = torch.get(`${arch.name} ${level}`) ?? cell();
        c.train.push(r.train);
        c.infer.push(r.infer);
        torch.set(`${arch.name} ${level}`, c);
        console.log(
          `${arch.name} PyTorch ${level}: train ${fmt(r.train)} img/s, infer ${fmt(r.infer)} img/s`,
        );
      }
      const ortRate = new Map<'best' | 'avx2', number>();
      if (torchEnvs.has('best')) {
        for (const level of ['best', 'avx2'] as const) {
          if (level === 'avx2' && !setups.some((x) => levelOf(x) === 'avx2')) continue;
          // Without the CPUID mask the AVX2 rows compare with onnxruntime's widest kernels (said below).
          if (level === 'avx2' && typeof avx2Env === 'string') continue;
          const o =
            level === 'best' ? await ortInfer(onnx) : ortInferHeldToAvx2(onnx, avx2Env as NodeJS.ProcessEnv);
          if (typeof o === 'string') {
            notes.push(
              `${arch.name}: onnxruntime-node (${level}) not measured in round ${round + 1} (${o}).`,
            );
            continue;
          }
          ortRate.set(level, o);
          ort.set(`${arch.name} ${level}`, [...(ort.get(`${arch.name} ${level}`) ?? []), o]);
          console.log(`${arch.name} onnxruntime-node ${level}: infer ${fmt(o)} img/s`);
        }
      }
      for (const s of setups) {
        const e = got.get(key(s));
        const t = tor.get(levelOf(s));
        const o = ortRate.get(ortLevelOf(s));
        if (e && t)
          ratios.push(
            `${arch.name} ${key(s)}: train ${ratio(e.train, t.train)} PyTorch, infer ${ratio(e.infer, o)} ORT`,
          );
      }
    }
    rounds.push(`round ${round + 1}: ${ratios.join('; ')}`);
    roundTripLines.push(`round ${round + 1}: ${roundTrips.join('; ')}`);
  }
  setEngineCpuPath(startPath);
  const rss = flag('--no-rss') ? [] : rssRows();
  for (const r of rss)
    console.log(`RSS N=${r.n}: peak ${mib(r.peak)} MiB (before step ${mib(r.rssBefore)} MiB)`);
  const loadEnd = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');

  const ortVersion = await import('onnxruntime-node').then(
    (m) => (m as { env?: { versions?: { common?: string } } }).env?.versions?.common ?? '',
  );
  const avx512Flags = [...cpuFlags()].filter((x) => x.startsWith('avx512')).sort();
  const best = torchEnvs.get('best');
  const avx2Torch = torchEnvs.get('avx2');
  const describeTorch = (t: TorchEnv | undefined) =>
    t
      ? `OpenBLAS ${t.kernels.openblas_core} + ATen ${t.kernels.aten_capability} (${t.settings})`
      : '(not run)';
  const lines = [
    '## engine',
    '',
    `Command: \`npm run bench -- engine${REPEAT > 1 ? ` --repeat ${REPEAT}` : ''}\` (batch ${BATCH}; per case one warm-up call, then calls for ${SECONDS} s (at least 2), fastest call counted, for every library alike; ${THREADS} threads everywhere${REPEAT > 1 ? `; ${REPEAT} rounds, each measuring every engine setup, PyTorch and onnxruntime in turn; the table shows medians` : ''}).`,
    `Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. Machine: ${machine()}; ${avx512Flags.length ? avx512Flags.join(' ') : 'no AVX-512'}; load average (1, 5, 15 min) ${loadStart} at the start, ${loadEnd} at the end (other processes were not controlled).`,
    `Engine kernels: ${setups.map((s) => `${key(s)} = GEMM ${s.path === 'avx512' ? (s.bf16 ? info.gemmKernelBf16 : 'avx512-12x32') : s.bf16 ? 'avx2-fma+bf16-rounding' : 'avx2-fma'}`).join(', ')} (elementwise ops on the same path).`,
    `References: PyTorch ${best?.kernels.torch ?? '(not run)'} CPU (Debian python3-torch) with ${describeTorch(best)}${avx2Torch ? `, and held to AVX2 for the AVX2 rows with ${describeTorch(avx2Torch)}` : ''}; ${best?.note ?? ''}. onnxruntime-node ${ortVersion || '(see package.json)'} CPU EP on the same model exported with torch.onnx.export (opset 14); its MLAS picks its SGEMM kernel by CPUID (AVX-512F where the CPU has it), ${typeof avx2Env === 'string' ? `and it could not be held to AVX2 here (${avx2Env}), so the AVX2 rows compare with its widest kernels` : "so for the AVX2 rows it ran in a child process whose CPUID answers without AVX-512 (test/bench/cpuid-avx2-only.c, Linux CPUID faulting; glibc held to AVX2 by GLIBC_TUNABLES), where the engine's own CPUID probe also found AVX2 only"}.`,
    `Peaks (measured at the start, ${THREADS} threads / 1 thread): ${[...peaks].map(([u, p]) => `${UNIT_NAME[u]} ${fmt(p.all, 1)} / ${fmt(p.one, 1)} GFLOP/s`).join('; ')}. Each engine setup's share of peak is taken against its unit's ${THREADS}-thread peak measured just before it in the same round (the column shows their median): clock speeds here drift by 10% and more with the host's load.`,
    '',
    '| model | engine | engine train img/s | PyTorch train img/s | train ratio (goal ≥ 1.5x) | engine infer img/s | ORT infer img/s | infer vs ORT (goal ≥ 1.0x) | PyTorch infer img/s | engine GFLOP/s train / infer | peak GFLOP/s of its unit | % of peak train / infer (goal ≥ 75%) |',
    '| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --: |',
  ];
  for (const arch of ARCHS) {
    const gflop = forwardFlops(arch.dim) / 1e9;
    for (const s of setups) {
      const e = engine.get(`${arch.name} ${key(s)}`) ?? cell();
      const t = torch.get(`${arch.name} ${levelOf(s)}`) ?? cell();
      const eTrain = median(e.train);
      const eInfer = median(e.infer);
      const tTrain = median(t.train);
      const tInfer = median(t.infer);
      const o = median(ort.get(`${arch.name} ${ortLevelOf(s)}`) ?? []);
      const unit = unitOf(s, info);
      const peak = median(e.peak);
      const gTrain = eTrain * 3 * gflop;
      const gInfer = eInfer * gflop;
      // Shares per round (each against the peak measured just before it), then their median.
      const shareTrain = median(e.train.map((x, i) => (100 * x * 3 * gflop) / (e.peak[i] ?? NaN)));
      const shareInfer = median(e.infer.map((x, i) => (100 * x * gflop) / (e.peak[i] ?? NaN)));
      lines.push(
        `| ${arch.name} | ${key(s)} | ${fmt(eTrain)} | ${fmt(tTrain)} | ${ratio(eTrain, tTrain)} | ${fmt(eInfer)} | ${fmt(o)} | ${ratio(eInfer, o)} | ${fmt(tInfer)} | ${fmt(gTrain, 1)} / ${fmt(gInfer, 1)} | ${fmt(peak, 1)} (${UNIT_NAME[unit]}) | ${fmt(shareTrain, 0)}% / ${fmt(shareInfer, 0)}% |`,
      );
    }
  }
  lines.push(
    '',
    `GFLOP/s count model FLOPs (${ARCHS.map((a) => `${a.name} ${fmt(forwardFlops(a.dim) / 1e9, 2)} GFLOP forward per image`).join(', ')}; training = 3x forward). With chunkSize = ${BATCH} the engine's step recomputes nothing (one chunk; the backward reuses its activations). With token pooling the engine computes only the class token's row after the last block's attention (keys and values for every token), about 7% fewer FLOPs than counted here, with the same results. PyTorch train/infer in the AVX2 rows: PyTorch held to AVX2${typeof avx2Env === 'string' ? '' : '; ORT infer there: onnxruntime held to AVX2'}.`,
  );
  if (REPEAT > 1) lines.push('', 'Ratios per round:', '', ...rounds.map((r) => `- ${r}`));
  lines.push(
    '',
    `Round trip of a cache line between the two CPUs just before each engine setup (test/bench/core-to-core.c; tens of ns where the host keeps the two vCPUs on one core complex, hundreds where it places them apart, and two-thread rates drop then while the peak probe does not):`,
    '',
    ...roundTripLines.map((r) => `- ${r}`),
  );
  if (rss.length > 0) {
    lines.push(
      '',
      `Peak RSS of one end-to-end training step, ViT-Ti/16 at ${RSS_IMG} px, chunk ${RSS_CHUNK}, fresh process per N (after one 2-patch warm-up step that allocates gradients and AdamW state):`,
      '',
      '| N patches | input pixels MiB | RSS before step MiB | peak RSS MiB | peak − before MiB | step s |',
      '| --: | --: | --: | --: | --: | --: |',
      ...rss.map(
        (r) =>
          `| ${r.n} | ${mib(r.inputBytes)} | ${mib(r.rssBefore)} | ${mib(r.peak)} | ${mib(r.peak - r.rssBefore)} | ${fmt(r.seconds, 1)} |`,
      ),
    );
  }
  for (const [unit, p] of peaks)
    if (p.all < 1.5 * p.one)
      notes.push(
        `Other processes held the CPUs during the peak probe: the ${THREADS}-thread ${UNIT_NAME[unit]} probe reached only ${fmt(p.all / p.one)}x the 1-thread one, so shares of peak are uncertain.`,
      );
  if (notes.length) lines.push('', ...notes.map((n) => `- ${n}`));
  writeResults(lines.join('\n'));
  console.log(lines.slice(lines.indexOf('') + 1).join('\n'));
  console.log('wrote the engine section of test/bench/RESULTS.md');
}

await main();
