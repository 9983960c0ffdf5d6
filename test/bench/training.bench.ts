/**
 * `npm run bench -- training`: the training patch pipeline alone (tissue-grid patches read through the
 * slide reader's fast path into shared buffers, resampled, converted to RGB and placed in batches by the
 * patch workers, prefetched by PatchLoader) against a Python pipeline doing the same reads and resizes
 * as CLAM and Trident do (OpenSlide read_region, convert('RGB'), Pillow resize LANCZOS), in the same run,
 * on the same slides and the same patch lists.
 *
 * Cases: a generated slide written as a 40x scan (0.25 µm/px: 0.5 µm/px patches are read as 448 px and
 * resampled to 224), the same pixels written as a 20x scan (0.5 µm/px: read as 224 px), and the real
 * CMU-1-Small-Region.svs (0.499 µm/px) when present. Each case reads up to BENCH_PATCHES (default 800)
 * distinct tissue patches of the slide, in grid order, as batches of 64 (a training epoch's reads); a slide
 * with fewer is read in several passes. Both sides open the slide afresh for every timed pass (no tiles
 * cached), after a warm-up, and take turns in three groups so that both meet the same spells of load on a
 * shared machine; on both sides the open itself is not timed. Python runs with as many threads as the machine has cores (OpenSlide and Pillow release
 * the GIL); Tessera with a decode worker per core (as a training job sets them) and its default patch
 * workers. CPU time counts every thread of each process.
 * Results go to the "training" section of test/bench/RESULTS.md.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DecodePool, SlideService, openSlide, setSharedDecodePool } from '../../src-main/slides/index.js';
import { paintSlide } from '../../src-main/training/demo/paint-slide.js';
import { encodeSvs } from '../../src-main/training/demo/svs-writer.js';
import { buildPatchGrid, type PatchGrid } from '../../src-main/training/patch-grid.js';
import {
  PatchLoader,
  type BatchRequest,
  type LoaderSlide,
} from '../../src-main/training/patches/patch-loader.js';
import { PatchWorkers } from '../../src-main/training/patches/patch-workers.js';
import { samplePatchIndices } from '../../src-main/training/patches/sampling.js';
import { detectTissue } from '../../src-main/training/tissue/detect.js';
import { jpegCodec } from '../../src-main/training/pixel-helpers.js';
import { sharedWsiDir } from '../helpers/slides.js';
import { trainingJobRows } from './training-job-rows.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const work = path.join(root, 'test', 'bench', 'work');
const PYTHON = '/usr/bin/python3';
const N_PATCHES = Number(process.env.BENCH_PATCHES ?? 800);
const GROUPS = 3;
const BATCH = 64;
const FULL_RUN = !process.env.BENCH_PATCHES;
const cores = os.availableParallelism();

interface Case {
  name: string;
  file: string;
  targetMpp: number;
}

function generatedSlides(): Case[] {
  fs.mkdirSync(work, { recursive: true });
  const at40 = path.join(work, 'training-8k-40x.svs');
  const at20 = path.join(work, 'training-8k-20x.svs');
  if (!fs.existsSync(at40) || !fs.existsSync(at20)) {
    const painted = paintSlide({
      seed: 2024,
      width: 8192,
      height: 8192,
      positive: true,
      sheetArea: 0.07,
      pen: false,
      fold: true,
    });
    fs.writeFileSync(at40, encodeSvs(painted, { mpp: 0.25, appMag: 40 }));
    fs.writeFileSync(at20, encodeSvs(painted, { mpp: 0.5, appMag: 20 }));
  }
  return [
    { name: 'generated 8192x8192 at 0.25 µm/px (40x)', file: at40, targetMpp: 0.5 },
    { name: 'generated 8192x8192 at 0.5 µm/px (20x)', file: at20, targetMpp: 0.5 },
  ];
}

/** Up to N distinct patches of the grid, in grid order (all of them where it has fewer). */
function patchList(grid: PatchGrid, n: number): Int32Array {
  return samplePatchIndices(grid.x.length, n, 7);
}

/**
 * One timed pass over `indices` on the slide opened afresh. As on the Python side, the open is not timed
 * (Python opens with OpenSlide before its clock starts and closes after it stops): a training run opens
 * each slide once an epoch and reads all its patches, and what is compared is the reading. The loader and
 * its workers are the case's, as a training run keeps one loader for the whole run.
 */
async function tesseraPass(
  file: string,
  grid: PatchGrid,
  indices: Int32Array,
  loader: PatchLoader,
  service: SlideService,
) {
  const slide: LoaderSlide = { id: 1, path: file, grid };
  const plan: BatchRequest[] = [];
  for (let i = 0; i < indices.length; i += BATCH)
    plan.push({ slide, indices: indices.subarray(i, i + BATCH) });
  await service.withReader(file, async () => {}); // opens it (untimed), kept open by the service's LRU
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  let patches = 0;
  for await (const b of loader.batches(plan)) {
    if (b.kind !== 'patches') throw new Error(`bench slide skipped: ${b.reason}`);
    patches += b.numPatches;
  }
  const wall = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  await service.closeAll(); // drops the slide's tiles from the process-wide cache
  if (patches !== indices.length) throw new Error('patches went missing');
  return { wall, cpu: (cpu.user + cpu.system) / 1e6 };
}

function pythonPasses(file: string, grid: PatchGrid, indices: Int32Array, passes: number, threads: number) {
  const coords = [...indices].map((i) => [grid.x[i]!, grid.y[i]!]);
  const req = path.join(work, `training-req-${process.pid}.json`);
  fs.writeFileSync(
    req,
    JSON.stringify({
      slide: file,
      threads,
      level: grid.level,
      read_size: grid.readSize,
      patch_size: grid.patchSize,
      warmup: coords.slice(0, 64),
      passes: Array.from({ length: passes }, () => coords),
    }),
  );
  const out = execFileSync(PYTHON, [path.join(import.meta.dirname, 'training-openslide.py'), req], {
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  fs.rmSync(req, { force: true });
  return JSON.parse(out) as { wall_s: number; cpu_s: number; openslide: string };
}

const cases = generatedSlides();
const wsi = sharedWsiDir();
if (wsi)
  cases.push({
    name: 'CMU-1-Small-Region.svs',
    file: path.join(wsi, 'CMU-1-Small-Region.svs'),
    targetMpp: 0.5,
  });

// A training job's main thread only routes: decoding gets a worker per core (the default keeps one core
// for an app's main thread).
await setSharedDecodePool(new DecodePool(cores));
const workers = new PatchWorkers();
const rows: string[] = [];
let openslideVersion = '';
for (const c of cases) {
  const reader = await openSlide(c.file);
  const { mask } = await detectTissue(reader);
  const grid = buildPatchGrid(reader.metadata, path.basename(c.file), mask, { targetMpp: c.targetMpp });
  await reader.close();
  const indices = patchList(grid, N_PATCHES);
  // Small slides are read several times per group (each pass on the slide opened afresh) to reach N.
  const passes = Math.ceil(N_PATCHES / indices.length);
  const service = new SlideService({ maxOpen: 2 });
  const loader = new PatchLoader({ slides: service, workers, prefetch: 2 });
  // Warm-up on both sides (Tessera's workers start; Python imports), untimed.
  await tesseraPass(c.file, grid, indices.subarray(0, BATCH), loader, service);
  let tWall = 0;
  let tCpu = 0;
  let pWall = 0;
  let pCpu = 0;
  let p1Wall = 0;
  for (let g = 0; g < GROUPS; g++) {
    for (let k = 0; k < passes; k++) {
      const t = await tesseraPass(c.file, grid, indices, loader, service);
      tWall += t.wall;
      tCpu += t.cpu;
    }
    const p = pythonPasses(c.file, grid, indices, passes, cores);
    pWall += p.wall_s;
    pCpu += p.cpu_s;
    openslideVersion = p.openslide;
    if (g === 0) p1Wall = pythonPasses(c.file, grid, indices, passes, 1).wall_s;
  }
  const n = indices.length * passes * GROUPS;
  const ours = n / tWall;
  const theirs = n / pWall;
  const ratio = ours / theirs;
  rows.push(
    `| ${c.name} | ${grid.readSize} → ${grid.patchSize} (level ${grid.level}) | ${indices.length} of ${grid.x.length}, ${passes * GROUPS} passes | ` +
      `${ours.toFixed(0)} | ${theirs.toFixed(0)} | ${((indices.length * passes) / p1Wall).toFixed(0)} | ${ratio.toFixed(2)}x | ` +
      `${((tCpu / n) * 1000).toFixed(2)} / ${((pCpu / n) * 1000).toFixed(2)} | ${ratio >= 2 ? 'met' : 'not met'} |`,
  );
  console.log(rows[rows.length - 1]);
}
await workers.close();
// The training job's rows (peak RSS as K grows, waiting for patches); BENCH_SKIP_JOB=1 leaves them out.
const jobRows = process.env.BENCH_SKIP_JOB ? '' : await trainingJobRows(work);

const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const flags = execFileSync(
  'sh',
  ['-c', "grep -o 'avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\\n' ' '"],
  {
    encoding: 'utf8',
  },
).trim();
const body = [
  '## training',
  '',
  `Command: \`npm run bench -- training\` (up to ${N_PATCHES} distinct tissue patches per case in grid order, batches of ${BATCH}; a slide with fewer is read in several passes to reach ${N_PATCHES} per group; ${GROUPS} groups, each side in turn; every pass on the slide opened afresh with no tiles cached, the open untimed on both sides; BENCH_PATCHES changes the count and prints without writing this file).`,
  `Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. Load average at the end: ${load} (other processes shared the machine).`,
  `Reference: OpenSlide ${openslideVersion} read_region + convert('RGB') + Pillow LANCZOS resize (python3-openslide, python3-pil), ${cores} threads; also 1 thread (CLAM's and Trident's loop without DataLoader workers). Tessera: PatchLoader (prefetch 2; adjacent patches of a row read as one strip) over ${cores} decode workers (as a training job sets them) and ${workers.size} patch workers; JPEG through ${jpegCodec().name}.`,
  '',
  `| slide | read → patch px | patches per pass, passes | Tessera patches/s | Python (${cores} threads) patches/s | Python (1 thread) patches/s | ratio | CPU ms per patch Tessera / Python | goal ≥ 2x |`,
  '| --- | --- | --: | --: | --: | --: | --: | --: | --- |',
  ...rows,
  '',
  'Both sides produce the same pixels (test/unit/training/patch-grid.test.ts compares them byte for byte where TurboJPEG is installed).',
  '',
  ...(jobRows ? [jobRows, ''] : []),
  `Machine: ${cores} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}; ${flags}.`,
].join('\n');

if (FULL_RUN) {
  const file = path.join(root, 'test', 'bench', 'RESULTS.md');
  const start = '<!-- training:start -->';
  const end = '<!-- training:end -->';
  const section = `${start}\n${body}\n${end}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmark results\n';
  if (text.includes(start) && text.includes(end)) {
    text = text.slice(0, text.indexOf(start)) + section + text.slice(text.indexOf(end) + end.length);
  } else text = `${text.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(file, text);
  console.log('test/bench/RESULTS.md: training section written');
} else {
  console.log(body);
  console.log('(a partial run: test/bench/RESULTS.md left as it was)');
}
process.exit(0);
