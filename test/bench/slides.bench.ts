/**
 * `npm run bench -- slides`: Tessera's slide reader against OpenSlide (Debian python3-openslide,
 * DeepZoomGenerator) in the same run on the same files and the same request lists.
 *
 *   - Deep Zoom tiles/s and p50/p99 latency for random cold tiles of the full-resolution level;
 *     Tessera both with its per-slide grid (stored JPEG tiles passed through) and with OpenSlide's
 *     254 px / overlap 1 grid (decode, crop, re-encode at quality 75);
 *   - 256 px level-0 region reads/s at random positions, into the caller's buffer (as OpenSlide's C API
 *     reads them), and for comparison into a new buffer per read;
 *   - each with 1 and 2 workers (Tessera decode workers; threads calling OpenSlide).
 *
 * Requests run closed-loop at concurrency = workers. Both sides take turns: a case's requests are timed in
 * three groups, each on Tessera and then on OpenSlide, so both meet the same spells of load on a shared
 * machine; the libjpeg-turbo floor of a group's requests (jpeg-work.ts) is measured between the two, so that
 * Tessera's CPU per request is held to what the same requests need at the same moment. Warm processes, cold tile caches: each group first
 * runs WARMUP other requests on a throwaway slide handle (Tessera's workers, kept for the run, and
 * OpenSlide's Python warm up, as in a running app), then times its requests in passes, each on the slide opened afresh with none
 * of its tiles cached (Tessera's tile cache is one per process, as in the app); within a pass Deep Zoom tiles are distinct (a slide with fewer tiles than requested
 * takes several passes). The file itself is in the OS page cache for both sides. Slides: a generated 17760 x 20769
 * JPEG pyramid (test/bench/work/, git-ignored) and the real CMU-1-Small-Region.svs when present.
 * Results go to the "slides" section of test/bench/RESULTS.md.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import {
  DecodePool,
  DeepZoom,
  TileCache,
  deepZoomFor,
  type SlideReader,
} from '../../src-main/slides/index.js';
import { TiffSlideReader } from '../../src-main/slides/tiff/tiff-reader.js';
import { sharedWsiDir } from '../helpers/slides.js';
import { jpegWorkPerRequest, type JpegRequest } from './jpeg-work.js';
import { saveJpegPyramid } from '../helpers/vips.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const work = path.join(root, 'test', 'bench', 'work');
const PYTHON = '/usr/bin/python3';
const N_TILES = Number(process.env.BENCH_TILES ?? 1500);
const N_REGIONS = Number(process.env.BENCH_REGIONS ?? 1500);
const WARMUP = 100;
/** For trying one thing at a time; RESULTS.md is written only by a full run. */
const WORKERS = (process.env.BENCH_WORKERS ?? '1,2').split(',').map(Number);
const CASES = new Set((process.env.BENCH_CASES ?? 'tiles,regions').split(','));
const SLIDES = new Set((process.env.BENCH_SLIDES ?? 'generated,cmu').split(','));
const FULL_RUN = !process.env.BENCH_WORKERS && !process.env.BENCH_CASES && !process.env.BENCH_SLIDES;

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

function makeLargeSlide(): string {
  const file = path.join(work, 'large-17760x20769-jpeg.tif');
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(work, { recursive: true });
  const wsi = sharedWsiDir();
  const tile = path.join(work, 'tile.v');
  const big = path.join(work, 'big.v');
  if (wsi) execFileSync('vips', ['tiffload', path.join(wsi, 'CMU-1-Small-Region.svs'), tile]);
  else execFileSync('vips', ['gaussnoise', tile, '2220', '2967', '--mean', '180', '--sigma', '30']);
  execFileSync('vips', ['replicate', tile, big, '8', '7']); // 17760 x 20769 of H&E texture
  saveJpegPyramid(big, file, { quality: 75, bigtiff: true });
  fs.rmSync(tile, { force: true });
  fs.rmSync(big, { force: true });
  return file;
}

interface Result {
  rate: number;
  p50: number;
  p99: number;
  /** CPU time of the whole process (all threads) per request, ms: steadier than rates on a shared machine. */
  cpuMs: number;
  /** Tessera only: p99 of the main event loop's delay while the case ran, ms. */
  loopP99?: number;
  /** Tessera only: CPU ms per request by thread (main, decode workers, the rest). */
  threads?: ThreadMs;
}

function summarize(latenciesMs: number[], wallS: number, cpuS: number): Result {
  const sorted = [...latenciesMs].sort((a, b) => a - b);
  const q = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  return {
    rate: latenciesMs.length / wallS,
    p50: q(0.5),
    p99: q(0.99),
    cpuMs: (cpuS * 1000) / latenciesMs.length,
  };
}

interface LoopRun {
  latencies: number[];
  wallS: number;
  cpuS: number;
  loopP99: number;
  /** CPU ms of the run by thread (Tessera's side only). */
  threads?: ThreadMs;
}

/** CPU ns of each thread of this process so far (Linux; empty elsewhere). */
function threadCpuNs(): Map<string, number> {
  const m = new Map<string, number>();
  if (!fs.existsSync('/proc/self/task')) return m;
  for (const t of fs.readdirSync('/proc/self/task')) {
    try {
      m.set(t, Number(fs.readFileSync(`/proc/self/task/${t}/schedstat`, 'utf8').split(' ')[0]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return m;
}

/**
 * CPU ms of a closed loop by thread: the main thread, the `concurrency` busiest others (the decode
 * workers) and the rest (libuv's pool, where regions of JPEG tiles are read natively and its four threads
 * share that work; V8's compiler and GC threads), so that a row's CPU per request says where it went.
 */
function threadSplit(before: Map<string, number>, concurrency: number): ThreadMs {
  const main = String(process.pid);
  const others: number[] = [];
  let mainMs = 0;
  for (const [t, ns] of threadCpuNs()) {
    const ms = (ns - (before.get(t) ?? 0)) / 1e6;
    if (t === main) mainMs = ms;
    else others.push(ms);
  }
  others.sort((a, b) => b - a);
  const sum = (v: number[]) => v.reduce((a, b) => a + b, 0);
  return { main: mainMs, workers: sum(others.slice(0, concurrency)), other: sum(others.slice(concurrency)) };
}

interface ThreadMs {
  main: number;
  workers: number;
  other: number;
}

async function closedLoop<T>(
  items: T[],
  concurrency: number,
  /** One request; `lane` tells the concurrent request streams apart (0 .. concurrency - 1). */
  run: (item: T, lane: number) => Promise<unknown>,
): Promise<LoopRun> {
  const latencies: number[] = [];
  let next = 0;
  const delay = monitorEventLoopDelay({ resolution: 1 });
  delay.enable();
  const threads = threadCpuNs();
  const cpu = process.cpuUsage();
  const start = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async (_, lane) => {
      while (next < items.length) {
        const item = items[next++]!;
        const t = performance.now();
        await run(item, lane);
        latencies.push(performance.now() - t);
      }
    }),
  );
  const wallS = (performance.now() - start) / 1000;
  const used = process.cpuUsage(cpu);
  const byThread = threadSplit(threads, concurrency);
  delay.disable();
  return {
    latencies,
    wallS,
    cpuS: (used.user + used.system) / 1e6,
    loopP99: delay.percentile(99) / 1e6,
    threads: byThread,
  };
}

/**
 * The tile cache, one for the whole run as in the app (one per process): a pass starts cold because
 * closing the slide drops its tiles, and the cache's memory is reused as OpenSlide's malloc'd cache
 * memory is from one handle to the next.
 */
const tileCache = new TileCache(256 * 1024 * 1024);

/**
 * The decode pools, one per worker count for the whole run, as the app keeps one pool for its lifetime
 * (a pool made afresh for each group of 500 requests put a new worker's warm-up into the timed requests).
 */
const pools = new Map<number, DecodePool>();
function poolOf(workers: number): DecodePool {
  let pool = pools.get(workers);
  if (!pool) {
    pool = new DecodePool(workers);
    pools.set(workers, pool);
  }
  return pool;
}

/**
 * How many times Tessera runs a case's warm-up list before the case's first timed pass, each on a fresh
 * handle (BENCH_CASE_WARMUPS): V8 optimizes a function called once or a few times per request only
 * after one to three thousand requests, and again after a deopt up to six thousand in (node --trace-opt),
 * and a running app is long past that. With 10 lists (1,000 requests) V8's background threads (TurboFan,
 * concurrent marking) still took 0.08-0.21 ms CPU per request in the timed passes of the generated slide's
 * regions, a tenth to a quarter of the libjpeg-turbo floor; with 40, 0.00-0.03 ms, as in a process that
 * has served tens of thousands. OpenSlide's Python has no such tiers; its warm-up list runs once per group.
 */
const CASE_WARMUPS = Number(process.env.BENCH_CASE_WARMUPS ?? 40);

/**
 * How many times Tessera runs the warm-up list before each later group of a case. A major garbage
 * collection that finds no reader open throws away the optimized request path (node --trace-deopt:
 * readRegion, planRender, renderInWorker, tileKey and a dozen more, reason "weak objects"): V8 frees the
 * hidden classes (maps) of a class once none of its objects is alive, and drops the code that checked for
 * them. With one reader kept open through such a GC, readRegion, tileKey and the rest of the reader's own
 * path stay optimized; planRender and renderInWorker still go, their render plans being gone too. Between
 * groups the floor and OpenSlide's side run with every reader closed, and with one list of 100 requests
 * TurboFan recompiled them during the next timed passes: V8's background threads took 0.14-0.25 ms CPU per
 * request there and the main thread up to 0.35 ms instead of 0.13. A running app keeps a slide's reader open
 * while it reads it; this is a cost of opening a slide after a GC with none open, paid once.
 */
const GROUP_WARMUPS = Number(process.env.BENCH_GROUP_WARMUPS ?? 10);

/**
 * Tessera's side of a case: the run's pool of `workers` decode workers; the warm-up and every pass on
 * the slide opened afresh, its tiles not in the cache; only the passes are timed.
 */
async function measure<T>(
  file: string,
  workers: number,
  plan: Plan<T>,
  request: (reader: SlideReader, pool: DecodePool) => (item: T, lane: number) => Promise<unknown>,
  warmupRuns: number,
): Promise<LoopRun> {
  const pool = poolOf(workers);
  const warmups: T[][] = Array.from({ length: warmupRuns }, () => plan.warmup);
  const timed: LoopRun[] = [];
  for (const [i, items] of [...warmups, ...plan.passes].entries()) {
    const reader = await TiffSlideReader.open(file, { pool, cache: tileCache });
    try {
      const run = await closedLoop(items, workers, request(reader, pool));
      if (i >= warmups.length) timed.push(run);
    } finally {
      await reader.close();
    }
    if (tileCache.count !== 0) throw new Error('closing the slide left tiles in the cache');
  }
  return combine(timed);
}

function combine(runs: LoopRun[]): LoopRun {
  return {
    latencies: runs.flatMap((r) => r.latencies),
    wallS: runs.reduce((a, r) => a + r.wallS, 0),
    cpuS: runs.reduce((a, r) => a + r.cpuS, 0),
    loopP99: Math.max(0, ...runs.map((r) => r.loopP99)),
    threads: runs.every((r) => r.threads)
      ? {
          main: runs.reduce((a, r) => a + r.threads!.main, 0),
          workers: runs.reduce((a, r) => a + r.threads!.workers, 0),
          other: runs.reduce((a, r) => a + r.threads!.other, 0),
        }
      : undefined,
  };
}

function result(run: LoopRun): Result {
  const n = run.latencies.length;
  const t = run.threads;
  return {
    ...summarize(run.latencies, run.wallS, run.cpuS),
    loopP99: run.loopP99,
    threads: t && { main: t.main / n, workers: t.workers / n, other: t.other / n },
  };
}

/** The passes of a plan in `n` groups (a single long pass is cut into n passes). */
function thirds<T>(plan: Plan<T>, n = 3): Plan<T>[] {
  const passes =
    plan.passes.length >= n
      ? plan.passes
      : plan.passes.flatMap((p) =>
          Array.from({ length: n }, (_, i) =>
            p.slice(Math.floor((i * p.length) / n), Math.floor(((i + 1) * p.length) / n)),
          ),
        );
  return Array.from({ length: n }, (_, i) => ({
    warmup: plan.warmup,
    passes: passes.slice(Math.floor((i * passes.length) / n), Math.floor(((i + 1) * passes.length) / n)),
  }));
}

/**
 * Both sides of a case, interleaved: the requests in three groups, each timed on Tessera and then on
 * OpenSlide (each group after its own warm-up), so that both see the same spells of load on a shared
 * machine; latencies of the groups are pooled. With `work`, the libjpeg-turbo floor of each group's
 * requests is measured right after Tessera's timed passes of that group, so that Tessera's CPU and the
 * floor it is held to come from the same spell too (measured once, before every case, the floor of the
 * same requests read 0.61 in one run and 0.85 ms in the next, and the ratio swung with it).
 */
async function sideBySide<T>(
  file: string,
  workers: number,
  plan: Plan<T>,
  request: (reader: SlideReader, pool: DecodePool) => (item: T, lane: number) => Promise<unknown>,
  openSlideRequest: object,
  work?: (reader: SlideReader, items: T[]) => JpegRequest[],
): Promise<{ tessera: Result; openslide: Result; work?: number }> {
  const ours: LoopRun[] = [];
  const theirs: LoopRun[] = [];
  let workMs = 0;
  let workN = 0;
  for (const [i, group] of thirds(plan).entries()) {
    ours.push(await measure(file, workers, group, request, i === 0 ? CASE_WARMUPS : GROUP_WARMUPS));
    if (work) {
      const items = group.passes.flat();
      const floor = await workOf(file, (reader) => work(reader, items));
      if (floor !== undefined) {
        workMs += floor * items.length;
        workN += items.length;
      }
    }
    theirs.push(openSlideSide({ ...openSlideRequest, ...group }));
  }
  return {
    tessera: result(combine(ours)),
    openslide: result(combine(theirs)),
    work: workN > 0 ? workMs / workN : undefined,
  };
}

/** Opens the slide once to plan a case's requests. */
async function planFor<R>(file: string, make: (reader: SlideReader, pool: DecodePool) => R): Promise<R> {
  const pool = new DecodePool(1);
  const reader = await TiffSlideReader.open(file, { pool, cache: new TileCache(1024 * 1024) });
  try {
    return await make(reader, pool);
  } finally {
    await reader.close();
    await pool.close();
  }
}

function openSlideSide(req: object): LoopRun {
  const f = path.join(os.tmpdir(), `tessera-bench-${process.pid}.json`);
  fs.writeFileSync(f, JSON.stringify(req));
  try {
    const out = JSON.parse(
      execFileSync(PYTHON, [path.join(root, 'test', 'bench', 'slides-openslide.py'), f], {
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      }),
    ) as { wall_s: number; cpu_s: number; latencies_s: number[] };
    return {
      latencies: out.latencies_s.map((s) => s * 1000),
      wallS: out.wall_s,
      cpuS: out.cpu_s,
      loopP99: 0,
    };
  } finally {
    fs.rmSync(f, { force: true });
  }
}

/** Requests of one case: a warm-up list (throwaway handle), then passes, each on a fresh handle. */
interface Plan<T> {
  warmup: T[];
  passes: T[][];
}

/**
 * Random tiles of the full-resolution Deep Zoom level: distinct within a pass; the warm-up and the first
 * pass do not share tiles where the level has enough of them.
 */
function tilePlan(dz: DeepZoom, n: number, seed: number): Plan<[number, number, number]> {
  const level = dz.levelCount - 1;
  const [cols, rows] = dz.levelTiles[level]!;
  const rand = rng(seed);
  const shuffled = () => {
    const all: [number, number, number][] = [];
    for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) all.push([level, c, r]);
    for (let i = all.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [all[i], all[j]] = [all[j]!, all[i]!];
    }
    return all;
  };
  const first = shuffled();
  if (first.length >= n + WARMUP)
    return { warmup: first.slice(0, WARMUP), passes: [first.slice(WARMUP, WARMUP + n)] };
  const passes: [number, number, number][][] = [];
  for (let left = n; left > 0; left -= first.length) passes.push(shuffled().slice(0, left));
  return { warmup: first.slice(0, WARMUP), passes };
}

function regionPlan(reader: SlideReader, n: number, seed: number): Plan<[number, number, number]> {
  const { width, height } = reader.metadata.levels[0]!;
  const rand = rng(seed);
  const list = (k: number) =>
    Array.from({ length: k }, (): [number, number, number] => [
      Math.floor(rand() * (width - 256)),
      Math.floor(rand() * (height - 256)),
      256,
    ]);
  return { warmup: list(WARMUP), passes: [list(n)] };
}

interface Row {
  slide: string;
  what: string;
  workers: number;
  tessera: Result;
  openslide: Result;
  /** libjpeg-turbo CPU ms a request of this case needs at least (jpeg-work.ts); undefined where not measured. */
  work?: number;
  note?: string;
  /** Shown for comparison, with no goal: a way of calling the reader no product path uses at rate. */
  comparison?: boolean;
}

/** The libjpeg-turbo CPU ms per request of `requests` (jpeg-work.ts), on the slide opened afresh. */
async function workOf(
  file: string,
  requests: (reader: SlideReader) => JpegRequest[],
): Promise<number | undefined> {
  return planFor(file, async (reader) => {
    const work = await jpegWorkPerRequest(reader, requests(reader));
    return work && work.decodeMs + work.encodeMs;
  });
}

/** Reads the file once so both sides start with it in the OS page cache (tile caches stay cold). */
function warmPageCache(file: string): void {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1 << 22);
  try {
    while (fs.readSync(fd, buf, 0, buf.length, null) > 0);
  } finally {
    fs.closeSync(fd);
  }
}

async function benchSlide(name: string, file: string): Promise<Row[]> {
  const rows: Row[] = [];
  warmPageCache(file);
  const osGridPlan = await planFor(file, (reader, pool) =>
    tilePlan(new DeepZoom(reader, { tileSize: 254, overlap: 1, pool }), N_TILES, 7),
  );
  const { autoPlan, autoGrid } = await planFor(file, (reader, pool) => {
    const dz = deepZoomFor(reader, { pool });
    return { autoPlan: tilePlan(dz, N_TILES, 11), autoGrid: `${dz.tileSize}/${dz.overlap}` };
  });
  const regions = await planFor(file, (reader) => regionPlan(reader, N_REGIONS, 13));
  const tileWork = (reader: SlideReader, items: [number, number, number][]): JpegRequest[] => {
    const dz = new DeepZoom(reader, { tileSize: 254, overlap: 1 });
    return items.map(([l, c, r]) => {
      const info = dz.tileInfo(l, c, r);
      return {
        x: info.l0x,
        y: info.l0y,
        w: info.readWidth,
        h: info.readHeight,
        encode: { width: info.width, height: info.height },
      };
    });
  };
  const regionWork = (_: SlideReader, items: [number, number, number][]): JpegRequest[] =>
    items.map(([x, y, size]) => ({ x, y, w: size, h: size }));
  for (const workers of WORKERS) {
    if (CASES.has('tiles')) {
      // Deep Zoom, OpenSlide's grid on both sides.
      const dz254 = await sideBySide(
        file,
        workers,
        osGridPlan,
        (reader, pool) => {
          const dz = new DeepZoom(reader, { tileSize: 254, overlap: 1, pool });
          return ([l, c, r]) => dz.tile(l, c, r);
        },
        { slide: file, threads: workers, kind: 'dz', tile_size: 254, overlap: 1 },
        tileWork,
      );
      rows.push({ slide: name, what: 'Deep Zoom 254/1 tiles', workers, ...dz254 });
      // Deep Zoom on Tessera's per-slide grid (what the viewer uses) vs OpenSlide's default grid (the row
      // above's OpenSlide numbers).
      const served: DeepZoom[] = []; // every pass's Deep Zoom, for the pass-through count
      const auto = result(
        await measure(
          file,
          workers,
          autoPlan,
          (reader, pool) => {
            const dz = deepZoomFor(reader, { pool });
            served.push(dz);
            return ([l, c, r]) => dz.tile(l, c, r);
          },
          CASE_WARMUPS,
        ),
      );
      rows.push({
        slide: name,
        what: `Deep Zoom tiles, per-slide grid ${autoGrid} (OpenSlide: 254/1)`,
        workers,
        tessera: auto,
        openslide: dz254.openslide,
        note: `${served.slice(CASE_WARMUPS).reduce((a, d) => a + d.stats.passthrough, 0)} stored tiles passed through, ${served.slice(CASE_WARMUPS).reduce((a, d) => a + d.stats.rendered, 0)} rendered`,
      });
    }
    if (CASES.has('regions')) {
      // Into the caller's buffer, one per request stream, as OpenSlide's C API (openslide_read_region) and
      // patch extraction read them; python-openslide wraps each read in a new image.
      const regionRow = await sideBySide(
        file,
        workers,
        regions,
        (reader) => {
          const buffers: Uint8Array[] = [];
          return ([x, y, size], lane) =>
            reader.readRegion(0, x, y, size, size, (buffers[lane] ??= new Uint8Array(size * size * 4)));
        },
        { slide: file, threads: workers, kind: 'region' },
        regionWork,
      );
      rows.push({ slide: name, what: '256 px level-0 regions', workers, ...regionRow });
      // A new buffer per read, as python-openslide's read_region: each is garbage a moment later, and V8
      // collects its heap more often for it (OpenSlide's row above for reference).
      const fresh = result(
        await measure(
          file,
          workers,
          regions,
          (reader) =>
            ([x, y, size]) =>
              reader.readRegion(0, x, y, size, size),
          CASE_WARMUPS,
        ),
      );
      rows.push({
        slide: name,
        what: '256 px level-0 regions, a new buffer per read (OpenSlide: row above)',
        workers,
        tessera: fresh,
        openslide: regionRow.openslide,
        comparison: true,
      });
    }
  }
  return rows;
}

function goalMet(r: Row): boolean {
  const cpuWithin = r.work === undefined || r.tessera.cpuMs <= 1.5 * r.work;
  return r.tessera.rate >= 2 * r.openslide.rate && r.tessera.p99 <= r.openslide.p99 && cpuWithin;
}

function table(rows: Row[]): string {
  const lines = [
    '| slide | what | workers | Tessera /s | OpenSlide /s | ratio | Tessera p50 / p99 ms | OpenSlide p50 / p99 ms | CPU ms per request Tessera / OpenSlide | libjpeg-turbo work per request ms (Tessera CPU ÷ it) | Tessera event-loop delay p99 ms | goal: ≥ 2x, p99 ≤, CPU ≤ 1.5x work |',
    '| --- | --- | --: | --: | --: | --: | --: | --: | --: | --: | --: | --- |',
  ];
  for (const r of rows) {
    lines.push(
      `| ${r.slide} | ${r.what} | ${r.workers} | ${r.tessera.rate.toFixed(0)} | ${r.openslide.rate.toFixed(0)} | ${(r.tessera.rate / r.openslide.rate).toFixed(2)}x | ${r.tessera.p50.toFixed(2)} / ${r.tessera.p99.toFixed(2)} | ${r.openslide.p50.toFixed(2)} / ${r.openslide.p99.toFixed(2)} | ${r.tessera.cpuMs.toFixed(2)} / ${r.openslide.cpuMs.toFixed(2)} | ${r.work === undefined ? '—' : `${r.work.toFixed(2)} (${(r.tessera.cpuMs / r.work).toFixed(2)}x)`} | ${(r.tessera.loopP99 ?? 0).toFixed(1)} | ${r.comparison ? 'comparison, no goal' : goalMet(r) ? 'met' : 'not met'} |`,
    );
  }
  const notes = rows.filter((r) => r.note).map((r) => `- ${r.slide}, ${r.workers} worker(s): ${r.note}`);
  for (const r of rows) {
    const t = r.tessera.threads;
    if (r.work === undefined || !t) continue;
    notes.push(
      `- ${r.slide}, ${r.what}, ${r.workers} worker(s): Tessera's CPU ms per request by thread: main ${t.main.toFixed(2)}, decode workers ${t.workers.toFixed(2)}, others (libuv's pool, which reads regions of JPEG tiles, and V8's compiler and GC) ${t.other.toFixed(2)}`,
    );
  }
  return [...lines, '', ...notes].join('\n');
}

function writeResults(body: string): void {
  const file = path.join(root, 'test', 'bench', 'RESULTS.md');
  const start = '<!-- slides:start -->';
  const end = '<!-- slides:end -->';
  const section = `${start}\n${body}\n${end}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmark results\n';
  if (text.includes(start) && text.includes(end)) {
    text = text.slice(0, text.indexOf(start)) + section + text.slice(text.indexOf(end) + end.length);
  } else {
    text = `${text.trimEnd()}\n\n${section}\n`;
  }
  fs.writeFileSync(file, text);
}

const slides: [string, string][] = [];
if (SLIDES.has('generated')) slides.push(['generated 17760x20769 JPEG', makeLargeSlide()]);
const wsi = sharedWsiDir();
if (SLIDES.has('cmu') && wsi)
  slides.push(['CMU-1-Small-Region.svs', path.join(wsi, 'CMU-1-Small-Region.svs')]);
const rows: Row[] = [];
try {
  for (const [name, file] of slides) rows.push(...(await benchSlide(name, file)));
} finally {
  for (const pool of pools.values()) await pool.close();
}
const lscpu = execFileSync('sh', ['-c', 'lscpu | head'], { encoding: 'utf8' }).trim();
const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const body = [
  '## slides',
  '',
  `Command: \`npm run bench -- slides\` (${N_TILES} random Deep Zoom tiles, distinct within a pass, and ${N_REGIONS} random 256 px regions per case, after ${WARMUP} warm-up requests on a throwaway handle; each pass opens the slide afresh, on both sides, with none of its tiles cached: OpenSlide's cache belongs to the handle, Tessera's is one per process as in the app and closing the slide drops its tiles, and so is its decode pool (one per worker count); Tessera runs a case's warm-up list ${CASE_WARMUPS} times before its first timed pass, as V8 optimizes the request path only after one to six thousand requests (BENCH_CASE_WARMUPS), and ${GROUP_WARMUPS} times before each later group (a major GC with no reader open drops the optimized request path); the libjpeg-turbo floor is measured on each group's requests right after Tessera's timed passes of that group; BENCH_TILES / BENCH_REGIONS change the counts, BENCH_SLIDES / BENCH_CASES / BENCH_WORKERS pick a part, e.g. \`BENCH_SLIDES=generated BENCH_CASES=regions BENCH_WORKERS=1\`, and print it without writing this file).`,
  `Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. Load average at the end: ${load} (other processes shared the machine; p99 especially is noisy).`,
  `Reference: OpenSlide ${execFileSync(PYTHON, ['-c', 'import openslide; print(openslide.__library_version__)'], { encoding: 'utf8' }).trim()} through python3-openslide DeepZoomGenerator (JPEG q75 via PIL), threads = workers.`,
  '',
  table(rows),
  '',
  'JPEG codec, chosen by measurement on this machine (one 256 px tile, one thread): TurboJPEG (libturbojpeg0 through',
  'koffi) decodes to RGBA in about 0.4-0.9 ms and encodes quality 75 in about 0.6 ms. Where it is not installed,',
  'the same libjpeg-turbo compiled to WebAssembly decodes the same pixels (1.6 ms for a 240 px CMU tile, native',
  '0.7 ms) and @napi-rs/image encodes in about 6 ms (mozjpeg).',
  'A random 254/1 tile or 256 px region touches 4 stored tiles and needs about a quarter of each. Tessera decodes',
  'only that part where a request needs less than three quarters of a tile (native/pixels: libjpeg-turbo with',
  'jpeg_crop_scanline / jpeg_skip_scanlines; rows below the part are not read, rows above are only entropy-decoded;',
  'pixels identical to a whole decode), and a tile asked for again soon (within the last 256 parts) is decoded whole',
  'and cached. Measured for one',
  '256 px q75 H&E tile here: whole 0.42 ms, top-left quarter 0.19 ms, bottom-right quarter 0.35 ms, a 3 px sliver',
  'at the bottom 0.21 ms. OpenSlide decodes the 4 tiles whole, then ~0.5 ms to encode a tile on both sides.',
  '"CPU ms per request" counts every thread of each process, so it is steadier than',
  'rates on this shared machine; its ratio bounds the throughput ratio once the 2 cores are busy.',
  'Decoded tiles live in shared-memory slabs (no per-tile allocation, no V8 full GCs while the cache fills);',
  'rendered Deep Zoom tiles are decoded, composed, flattened and encoded in one worker task. A region of JPEG',
  "tiles of which one is decoded in part is read without a worker: one native call on libuv's thread pool reads",
  'the stored bytes, decodes them (in part, or whole into a cache slot) and composes them straight into the',
  "caller's buffer.",
  "Regions are read into a buffer per request stream, as OpenSlide's C API (openslide_read_region) and patch",
  'extraction read them. The rows "a new buffer per read" show the cost of the other way (python-openslide\'s, whose',
  'buffers CPython frees at once): every 256 KiB result is V8 garbage, and on the main thread that brings full',
  'collections of a few ms each every few hundred reads, which is the p99 there. No product path reads that way at',
  "rate (Deep Zoom, the region API and patch extraction pass buffers; tissue detection, thumbnails and the CLI's",
  '`slide region` read once), so those rows carry no goal.',
  'Event-loop delay: when every tile a request needs is cached, the closed loop runs on microtasks alone and',
  'the delay monitor reports that stretch (CMU regions), not a pause a request sees.',
  'The viewer uses the per-slide grid, where stored tiles pass through without decoding.',
  '',
  'Machine (`lscpu | head`):',
  '',
  '```',
  lscpu,
  '```',
].join('\n');
console.log(body);
if (FULL_RUN) writeResults(body);
else console.log('(a partial run: test/bench/RESULTS.md left as it was)');
