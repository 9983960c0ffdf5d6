/**
 * `npm run bench -- inference`: whole-slide inference throughput (tissue detection, patch reading, encoder,
 * aggregator) for ViT-S/16 at 224 px on a generated 40960 x 40960 slide (0.25 µm/px, a 40x scan, pyramidal;
 * patches at 0.5 µm/px come from its 2x level), three pipelines in the same run on the same patches:
 *
 *   Tessera, native engine   PatchLoader (decode workers, patch workers) → SlideModel.embed → aggregator
 *   Tessera, onnxruntime     the same loader → the model exported by `tessera export onnx` (encoder graph in
 *                            onnxruntime-node, then the aggregator graph)
 *   Python                   OpenSlide read_region + Pillow LANCZOS (a thread pool reading the next batch ahead)
 *                            → PyTorch ViT with the same weights (the `tessera export safetensors` folder) →
 *                            the aggregator in PyTorch: how CLAM and Trident extract features
 *
 * To stay within minutes on a CPU, each pipeline processes a bounded subset of the slide's tissue patches
 * (BENCH_PATCHES, default 128, spread over the slide in grid order); tissue detection runs on the whole slide.
 * The table gives patches/s over the subset (reading, encoding and aggregating; tissue detection apart) and
 * the projected time for every tissue patch of the slide. Rounds (BENCH_ROUNDS, default 2) take turns, and each
 * pipeline's best round counts (the machine is shared). Weights: the built-in ViT-S/16 from a seeded init (the
 * throughput does not depend on the values); all three use them. The slide is kept in test/bench/work/.
 * Results go to the "inference" section of test/bench/RESULTS.md (a run with BENCH_PATCHES set only prints).
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { SlideModel, engineThreads } from '../../src-main/engine/index.js';
import { OnnxEncoder, exportOnnx } from '../../src-main/onnx/index.js';
import { exportTimmFolder } from '../../src-main/onnx/timm-export.js';
import { DecodePool, SlideService, openSlide, setSharedDecodePool } from '../../src-main/slides/index.js';
import { paintSlide } from '../../src-main/training/demo/paint-slide.js';
import { builtinSpec } from '../../src-main/training/models/builtin.js';
import { buildPatchGrid, type PatchGrid } from '../../src-main/training/patch-grid.js';
import {
  PatchLoader,
  type BatchRequest,
  type LoaderSlide,
} from '../../src-main/training/patches/patch-loader.js';
import { PatchWorkers } from '../../src-main/training/patches/patch-workers.js';
import { samplePatchIndices } from '../../src-main/training/patches/sampling.js';
import { detectTissue } from '../../src-main/training/tissue/detect.js';
import { saveJpegPyramid } from '../helpers/vips.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const work = path.join(root, 'test', 'bench', 'work');
const N_PATCHES = Number(process.env.BENCH_PATCHES ?? 128);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const FULL_RUN = !process.env.BENCH_PATCHES;
const BATCH = 32;
const SIDE = 40960;
const cores = os.availableParallelism();

/** 8192 x 8192 painted by the demo's painter, tiled 5 x 5 by vips into a 40960 x 40960 JPEG pyramid at 0.25 µm/px. */
function generatedSlide(): string {
  const file = path.join(work, 'inference-40k.tif');
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(work, { recursive: true });
  console.log('generating the 40960 x 40960 slide (once; kept in test/bench/work/)...');
  const painted = paintSlide({
    seed: 2026,
    width: 8192,
    height: 8192,
    positive: true,
    sheetArea: 0.07,
    pen: false,
    fold: true,
  });
  const raw = path.join(work, 'inference-tile.rgba');
  fs.writeFileSync(raw, painted.rgba);
  const tile = path.join(work, 'inference-tile.v');
  const big = path.join(work, 'inference-40k.v');
  execFileSync('vips', ['rawload', raw, tile, '8192', '8192', '4']);
  const rgb = path.join(work, 'inference-tile-rgb.v');
  execFileSync('vips', ['extract_band', tile, rgb, '0', '--n', '3']);
  execFileSync('vips', ['replicate', rgb, big, String(SIDE / 8192), String(SIDE / 8192)]);
  const tmp = `${file}.tmp.tif`;
  saveJpegPyramid(big, tmp, { quality: 85, bigtiff: true, pixelsPerMm: 4000 }); // 0.25 µm/px
  fs.renameSync(tmp, file);
  for (const f of [raw, tile, rgb, big, tmp]) fs.rmSync(f, { force: true });
  return file;
}

interface Row {
  name: string;
  tissueS: number;
  patchesPerS: number;
  probability: number;
  attention: Float32Array | number[];
}

function plan(slide: LoaderSlide, indices: Int32Array): BatchRequest[] {
  const out: BatchRequest[] = [];
  for (let i = 0; i < indices.length; i += BATCH)
    out.push({ slide, indices: indices.subarray(i, i + BATCH) });
  return out;
}

async function tesseraTissue(file: string): Promise<number> {
  const t0 = performance.now();
  const reader = await openSlide(file);
  await detectTissue(reader);
  await reader.close();
  return (performance.now() - t0) / 1000;
}

async function tesseraPipeline(
  name: string,
  file: string,
  grid: PatchGrid,
  indices: Int32Array,
  workers: PatchWorkers,
  encode: (pixels: Uint8Array, n: number) => Promise<Float32Array>,
  aggregate: (h: Float32Array, n: number) => Promise<{ probability: number; attention: Float32Array }>,
): Promise<Row> {
  const tissueS = await tesseraTissue(file);
  const service = new SlideService({ maxOpen: 2 });
  const loader = new PatchLoader({ slides: service, workers, prefetch: 2 });
  const t0 = performance.now();
  const pieces: Float32Array[] = [];
  for await (const b of loader.batches(plan({ id: 1, path: file, grid }, indices))) {
    if (b.kind !== 'patches') throw new Error(`bench slide skipped: ${b.reason}`);
    pieces.push(await encode(b.pixels, b.numPatches));
  }
  const h = new Float32Array(pieces.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of pieces) {
    h.set(p, o);
    o += p.length;
  }
  const out = await aggregate(h, indices.length);
  const seconds = (performance.now() - t0) / 1000;
  await service.closeAll();
  return { name, tissueS, patchesPerS: indices.length / seconds, ...out };
}

function pythonPipeline(
  file: string,
  timmFolder: string,
  grid: PatchGrid,
  indices: Int32Array,
): Row & { torch: string; openslide: string } {
  const req = path.join(work, `inference-req-${process.pid}.json`);
  fs.writeFileSync(
    req,
    JSON.stringify({
      slide: file,
      timm_folder: timmFolder,
      threads: cores,
      level: grid.level,
      read_size: grid.readSize,
      patch_size: grid.patchSize,
      batch: BATCH,
      coords: [...indices].map((i) => [grid.x[i]!, grid.y[i]!]),
    }),
  );
  const out = JSON.parse(
    execFileSync('/usr/bin/python3', [path.join(import.meta.dirname, 'inference-python.py'), req], {
      encoding: 'utf8',
      maxBuffer: 1 << 26,
    }),
  ) as {
    tissue_s: number;
    patches_s: number;
    probability: number;
    attention: number[];
    torch: string;
    openslide: string;
  };
  fs.rmSync(req, { force: true });
  return {
    name: 'Python: OpenSlide + Pillow + PyTorch',
    tissueS: out.tissue_s,
    patchesPerS: indices.length / out.patches_s,
    probability: out.probability,
    attention: out.attention,
    torch: out.torch,
    openslide: out.openslide,
  };
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)));
  return m;
}

const slideFile = generatedSlide();
await setSharedDecodePool(new DecodePool(cores));
const workers = new PatchWorkers();
const reader = await openSlide(slideFile);
const { mask } = await detectTissue(reader);
const grid = buildPatchGrid(reader.metadata, path.basename(slideFile), mask, { targetMpp: 0.5 });
const dims = `${reader.metadata.levels[0]!.width} x ${reader.metadata.levels[0]!.height}`;
await reader.close();
const indices = samplePatchIndices(grid.x.length, N_PATCHES, 7);
console.log(
  `${dims} slide: ${grid.x.length} tissue patches (${grid.readSize} px at level ${grid.level} → ${grid.patchSize}); timing ${indices.length}`,
);

// The model, exported both ways.
const model = SlideModel.create(builtinSpec('small'), { tasks: [{ name: 'tumour', kind: 'binary' }] }, 1);
const onnxFile = path.join(work, 'inference-vits.onnx');
exportOnnx(model, onnxFile, { producerVersion: 'bench' });
const checkpoint = path.join(work, 'inference-vits-checkpoint');
await model.saveCheckpoint(checkpoint);
const timmFolder = path.join(work, 'inference-vits-timm');
exportTimmFolder(
  model,
  JSON.parse(fs.readFileSync(path.join(checkpoint, 'config.json'), 'utf8')) as Record<string, unknown>,
  [{ name: 'tumour', kind: 'binary', values: ['no', 'yes'] }],
  timmFolder,
);
const encoder = await OnnxEncoder.open(onnxFile.replace(/\.onnx$/, '.encoder.onnx'), undefined, cores);
const aggregator = await ort.InferenceSession.create(onnxFile.replace(/\.onnx$/, '.aggregator.onnx'), {
  intraOpNumThreads: cores,
});

// Warm-up, untimed: each encoder's first batch (allocations, onnxruntime's and PyTorch's first call; Python warms
// up on its side).
const warm = new Uint8Array(BATCH * 224 * 224 * 3).fill(200);
await model.embed(warm, BATCH, { chunkSize: BATCH });
await encoder.embed(warm, BATCH, { batchSize: BATCH });

const best = new Map<string, Row>();
let versions = { torch: '', openslide: '' };
for (let round = 0; round < ROUNDS; round++) {
  const rows: Row[] = [];
  rows.push(
    await tesseraPipeline(
      'Tessera: native engine',
      slideFile,
      grid,
      indices,
      workers,
      (px, n) => model.embed(px, n, { chunkSize: BATCH }),
      async (h, n) => {
        const p = await model.predictFromEmbeddings(h, n);
        return { probability: p.probabilities.tumour![0]!, attention: p.attention };
      },
    ),
  );
  rows.push(
    await tesseraPipeline(
      'Tessera: onnxruntime-node (exported model)',
      slideFile,
      grid,
      indices,
      workers,
      (px, n) => encoder.embed(px, n, { batchSize: BATCH }),
      async (h, n) => {
        const out = await aggregator.run({ embeddings: new ort.Tensor('float32', h, [n, model.outputDim]) });
        return {
          probability: (out['probabilities.tumour']!.data as Float32Array)[0]!,
          attention: out.attention!.data as Float32Array,
        };
      },
    ),
  );
  const py = pythonPipeline(slideFile, timmFolder, grid, indices);
  versions = { torch: py.torch, openslide: py.openslide };
  rows.push(py);
  for (const r of rows) {
    console.log(
      `round ${round + 1}: ${r.name}: tissue ${r.tissueS.toFixed(2)} s, ${r.patchesPerS.toFixed(2)} patches/s, p = ${r.probability.toFixed(6)}`,
    );
    if (!best.has(r.name) || best.get(r.name)!.patchesPerS < r.patchesPerS) best.set(r.name, r);
  }
}
await encoder.dispose();
await aggregator.release();
await workers.close();

const rows = [...best.values()];
const native = rows[0]!;
// Same work on all three: the slide's probability and the attention over the patches agree.
const agree = rows.map(
  (r) =>
    `${r.name.split(':')[0]}${r.name.includes('onnx') ? ' (ORT)' : ''} p=${r.probability.toFixed(5)}, max |Δattention| ${maxAbsDiff(r.attention, native.attention).toExponential(1)}`,
);
const table = rows.map((r) => {
  const projected = r.tissueS + grid.x.length / r.patchesPerS;
  return `| ${r.name} | ${r.tissueS.toFixed(2)} | ${r.patchesPerS.toFixed(2)} | ${(projected / 60).toFixed(1)} | ${(native.patchesPerS / r.patchesPerS).toFixed(2)}x |`;
});
const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const flags = execFileSync(
  'sh',
  ['-c', "grep -o 'avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\\n' ' '"],
  { encoding: 'utf8' },
).trim();
const ortVersion = (
  JSON.parse(
    fs.readFileSync(path.join(root, 'node_modules', 'onnxruntime-node', 'package.json'), 'utf8'),
  ) as { version: string }
).version;
const body = [
  '## inference',
  '',
  `Command: \`npm run bench -- inference\` (ViT-S/16 at 224 px, the built-in \`small\` from a seeded init; a generated ${dims} slide at 0.25 µm/px; ${indices.length} of its ${grid.x.length} tissue patches at 0.5 µm/px, ${grid.readSize} px read at level ${grid.level}${grid.readSize !== grid.patchSize ? ` and resampled to ${grid.patchSize}` : ''}, spread over the slide in grid order, batches of ${BATCH}; tissue detection on the whole slide; ${ROUNDS} rounds taking turns, each pipeline's best round; BENCH_PATCHES / BENCH_ROUNDS change them and print without writing this file).`,
  `Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. Load average at the end: ${load} (the machine is shared with other work; numbers move with it).`,
  `Pipelines: Tessera's PatchLoader over ${cores} decode workers and ${workers.size} patch workers feeding the native engine (${engineThreads()} threads, fp32) or onnxruntime-node ${ortVersion} (CPU EP, ${cores} intra-op threads) on the graphs \`tessera export onnx\` writes; Python: OpenSlide ${versions.openslide} read_region + Pillow LANCZOS in a ${cores}-thread pool reading the next batch ahead, PyTorch ${versions.torch} (${cores} threads) on the \`tessera export safetensors\` folder, its own tissue detection (saturation, Otsu) on the level nearest 8 µm/px.`,
  '',
  '| pipeline | tissue detection s | patches/s (read + encode + aggregate) | projected whole slide, min | native engine is |',
  '| --- | --: | --: | --: | --: |',
  ...table,
  '',
  `Same work: ${agree.join('; ')}.`,
  `Goal: the native engine ahead of both: ${rows.slice(1).every((r) => native.patchesPerS > r.patchesPerS) ? 'met' : 'not met'} in this run.`,
  '',
  `Machine: ${cores} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}; ${flags}.`,
].join('\n');
console.log(body);
model.dispose();
if (FULL_RUN) {
  const file = path.join(root, 'test', 'bench', 'RESULTS.md');
  const start = '<!-- inference:start -->';
  const end = '<!-- inference:end -->';
  const section = `${start}\n${body}\n${end}`;
  let text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmark results\n';
  if (text.includes(start) && text.includes(end))
    text = text.slice(0, text.indexOf(start)) + section + text.slice(text.indexOf(end) + end.length);
  else text = `${text.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(file, text);
  console.log('test/bench/RESULTS.md: inference section written');
} else console.log('(a partial run: test/bench/RESULTS.md left as it was)');
process.exit(0);
