/**
 * `npm run bench -- demo-cohort`: is the demo cohort's signal learnable end to end from random init in a
 * CPU budget, and not by a frozen random encoder? Makes a demo cohort (createDemoCohort, timed), detects
 * tissue and builds grids, splits patients 0.6 / 0.2 / 0.2 (stratified, seeded), then trains a small ViT
 * (embed 96, depth 4, 3 heads, 16 px patches at 224 px) with the gated-attention aggregator:
 *
 *   - end to end: pairs of slides of opposite labels per step (trainingPlan 'balanced'), K patches per
 *     slide, flips / rotations / HED jitter, AdamW 3e-4 for both parts, warm-up 20 steps, cosine, clip 1;
 *     validation and test AUROC every EVAL epochs, until the time budget;
 *   - frozen: the same random encoder embeds every patch once; only the aggregator trains (same pairs,
 *     AdamW 1e-3, 200 epochs).
 *
 * This is a feasibility probe for the training defaults, not the product's training loop (that is the job
 * runner's). BENCH_SEED (default 11), BENCH_SLIDES (48), BENCH_K (48), BENCH_BUDGET_S (720), BENCH_EVAL (3)
 * change it; the cohort is kept in test/bench/work/ between runs. Results go to the "demo-cohort" section
 * of test/bench/RESULTS.md.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SlideModel } from '../../src-main/engine/index.js';
import { openProject } from '../../src-main/project/project.js';
import { DecodePool, SlideService, setSharedDecodePool } from '../../src-main/slides/index.js';
import { createDemoCohort } from '../../src-main/training/demo/cohort.js';
import { buildPatchGrid } from '../../src-main/training/patch-grid.js';
import { PatchLoader, type LoaderSlide } from '../../src-main/training/patches/patch-loader.js';
import { PatchWorkers } from '../../src-main/training/patches/patch-workers.js';
import { evaluationPlan, trainingPlan } from '../../src-main/training/patches/plans.js';
import { Random } from '../../src-main/training/random.js';
import { projectTissueMask } from '../../src-main/training/tissue/cache.js';
import { vitSpec } from '../helpers/engine.js';

const root = path.resolve(import.meta.dirname, '..', '..');
const num = (k: string, d: number) => Number(process.env[k] ?? d);
const SEED = num('BENCH_SEED', 11);
const SLIDES = num('BENCH_SLIDES', 48);
const K = num('BENCH_K', 48);
const BUDGET = num('BENCH_BUDGET_S', 720);
const EVAL = num('BENCH_EVAL', 3);
const S = 224;
const cores = os.availableParallelism();

type Slide = LoaderSlide & { label: number; patient: string };

function auroc(scores: number[], labels: number[]): number {
  let pairs = 0;
  let good = 0;
  for (let i = 0; i < scores.length; i++) {
    for (let j = 0; j < scores.length; j++) {
      if (labels[i] !== 1 || labels[j] !== 0) continue;
      pairs++;
      good += scores[i]! > scores[j]! ? 1 : scores[i] === scores[j] ? 0.5 : 0;
    }
  }
  return good / pairs;
}

const work = path.join(root, 'test', 'bench', 'work');
const dir = path.join(work, `demo-cohort-${SEED}-${SLIDES}`);
let cohortSeconds: number | null = null;
if (!fs.existsSync(path.join(dir, 'project.sqlite'))) {
  fs.rmSync(dir, { recursive: true, force: true });
  const t = performance.now();
  await createDemoCohort(dir, { slides: SLIDES, seed: SEED });
  cohortSeconds = (performance.now() - t) / 1000;
  console.log(`demo cohort of ${SLIDES} slides made in ${cohortSeconds.toFixed(1)} s`);
}
await setSharedDecodePool(new DecodePool(cores));
const truth = JSON.parse(fs.readFileSync(path.join(dir, 'slides', 'demo-truth.json'), 'utf8')) as {
  slides: { file: string; patient: string; csvLabel: string }[];
};
const project = await openProject(dir);
const service = new SlideService({ maxOpen: 8 });
const slides: Slide[] = [];
for (const [i, t] of truth.slides.entries()) {
  const file = path.join(dir, 'slides', t.file);
  const row = project.db.prepare('SELECT fingerprint FROM slides WHERE path = ?').get(file) as {
    fingerprint: string;
  };
  const reader = await service.reader(file);
  const tissue = await projectTissueMask(project, row.fingerprint, async () => reader);
  const grid = buildPatchGrid(reader.metadata, t.file, tissue.mask);
  slides.push({ id: i + 1, path: file, grid, label: t.csvLabel === 'positive' ? 1 : 0, patient: t.patient });
}
project.close();
const patientLabel = new Map(slides.map((s) => [s.patient, s.label]));
const part = new Map<string, 'train' | 'val' | 'test'>();
for (const label of [0, 1]) {
  const list = new Random(SEED, 5).shuffle([...patientLabel].filter(([, l]) => l === label).map(([p]) => p));
  list.forEach((p, i) =>
    part.set(
      p,
      i < Math.round(list.length * 0.6) ? 'train' : i < Math.round(list.length * 0.8) ? 'val' : 'test',
    ),
  );
}
const train = slides.filter((s) => part.get(s.patient) === 'train');
const val = slides.filter((s) => part.get(s.patient) === 'val');
const test = slides.filter((s) => part.get(s.patient) === 'test');
const counts = slides.map((s) => s.grid.x.length);
console.log(
  `patches per slide ${Math.min(...counts)}-${Math.max(...counts)}; train ${train.length}, val ${val.length}, test ${test.length} slides`,
);

const workers = new PatchWorkers();
const loader = new PatchLoader({ slides: service, workers, prefetch: 2, augment: {} });
const spec = vitSpec('demo_vit', {
  imgSize: S,
  patchSize: 16,
  embedDim: 96,
  depth: 4,
  numHeads: 3,
  mlpRatio: 4,
});
const aggregator = { tasks: [{ name: 'atypia', kind: 'binary' as const }] };

/** Every patch of each slide, in bounded pieces, gathered per slide. */
async function* wholeSlides(list: Slide[]): AsyncGenerator<{ slide: Slide; pixels: Uint8Array; n: number }> {
  const pieces: Uint8Array[] = [];
  for await (const b of loader.batches(evaluationPlan(list, 256))) {
    if (b.kind !== 'patches') continue;
    pieces.push(b.pixels.slice());
    if (b.request.piece!.index < b.request.piece!.count - 1) continue;
    const all = new Uint8Array(pieces.reduce((a, p) => a + p.length, 0));
    let o = 0;
    for (const p of pieces) {
      all.set(p, o);
      o += p.length;
    }
    pieces.length = 0;
    yield { slide: b.request.slide, pixels: all, n: all.length / (S * S * 3) };
  }
}

// End to end.
const rows: string[] = [];
const model = SlideModel.create(spec, aggregator, SEED);
const evaluate = async (list: Slide[]) => {
  const scores: number[] = [];
  const labels: number[] = [];
  for await (const s of wholeSlides(list)) {
    scores.push((await model.predictSlide(s.pixels, s.n, { chunkSize: 64 })).probabilities.atypia![0]!);
    labels.push(s.slide.label);
  }
  return auroc(scores, labels);
};
const epochsPlanned = 60;
const stepsPerEpoch = Math.ceil(train.length / 2);
const start = performance.now();
let waited = 0;
let engine = 0;
for (let epoch = 0; epoch < epochsPlanned; epoch++) {
  let pending: { pixels: Uint8Array; numPatches: number; labels: number[] }[] = [];
  let loss = 0;
  let asked = performance.now();
  const plan = trainingPlan(train, {
    patchesPerSlide: K,
    seed: SEED,
    epoch,
    order: 'balanced',
    labelOf: (s) => s.label,
  });
  for await (const b of loader.batches(plan)) {
    waited += performance.now() - asked;
    if (b.kind === 'patches')
      pending.push({ pixels: b.pixels, numPatches: b.numPatches, labels: [b.request.slide.label] });
    if (pending.length === 2) {
      const t = performance.now();
      const r = await model.trainStepEndToEnd(pending, {
        chunkSize: 32,
        lrEncoder: 3e-4,
        lrAggregator: 3e-4,
        warmupSteps: 20,
        totalSteps: epochsPlanned * stepsPerEpoch,
        minLrRatio: 0.05,
        clipNorm: 1,
        weightDecay: 0.05,
        seed: SEED,
      });
      engine += performance.now() - t;
      loss += r.loss;
      pending = [];
    }
    asked = performance.now();
  }
  const elapsed = (performance.now() - start) / 1000;
  if ((epoch + 1) % EVAL === 0 || elapsed > BUDGET) {
    const v = await evaluate(val);
    const t = await evaluate(test);
    const line = `| end to end | ${epoch + 1} | ${(loss / stepsPerEpoch).toFixed(3)} | ${v.toFixed(3)} | ${t.toFixed(3)} | ${((performance.now() - start) / 1000).toFixed(0)} | ${((100 * waited) / (waited + engine)).toFixed(1)}% |`;
    rows.push(line);
    console.log(line);
  }
  if (elapsed > BUDGET) break;
}
model.dispose();

// Frozen: the same random encoder, embeddings once, the aggregator alone.
const frozen = SlideModel.create(spec, aggregator, SEED);
const frozenStart = performance.now();
const embeddings = new Map<number, { e: Float32Array; n: number }>();
for await (const s of wholeSlides(slides))
  embeddings.set(s.slide.id, { e: await frozen.embed(s.pixels, s.n, { chunkSize: 64 }), n: s.n });
const embedSeconds = (performance.now() - frozenStart) / 1000;
const score = async (list: Slide[]) => {
  const scores: number[] = [];
  for (const s of list) {
    const { e, n } = embeddings.get(s.id)!;
    scores.push((await frozen.predictFromEmbeddings(e, n)).probabilities.atypia![0]!);
  }
  return auroc(
    scores,
    list.map((s) => s.label),
  );
};
const frozenEpochs = 200;
for (let epoch = 0; epoch < frozenEpochs; epoch++) {
  const plan = trainingPlan(train, {
    patchesPerSlide: 1,
    seed: SEED,
    epoch,
    order: 'balanced',
    labelOf: (s) => s.label,
  });
  let loss = 0;
  for (let k = 0; k < plan.length; k += 2) {
    const batch = plan.slice(k, k + 2).map((r) => {
      const { e, n } = embeddings.get(r.slide.id)!;
      return { embeddings: e, numPatches: n, labels: [r.slide.label] };
    });
    const r = await frozen.trainStepFrozen(batch, {
      lrAggregator: 1e-3,
      warmupSteps: 20,
      totalSteps: frozenEpochs * stepsPerEpoch,
      minLrRatio: 0.05,
      clipNorm: 1,
      weightDecay: 0.05,
      seed: SEED,
    });
    loss += r.loss;
  }
  if ((epoch + 1) % 50 === 0) {
    const line = `| frozen | ${epoch + 1} | ${(loss / stepsPerEpoch).toFixed(3)} | ${(await score(val)).toFixed(3)} | ${(await score(test)).toFixed(3)} | ${((performance.now() - frozenStart) / 1000).toFixed(0)} | — |`;
    rows.push(line);
    console.log(line);
  }
}
await workers.close();
await service.closeAll();

const load = fs.readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
const flags = execFileSync(
  'sh',
  ['-c', "grep -o 'avx512[a-z_0-9]*' /proc/cpuinfo | sort -u | tr '\\n' ' '"],
  {
    encoding: 'utf8',
  },
).trim();
const body = [
  '## demo-cohort',
  '',
  `Command: \`npm run bench -- demo-cohort\` (BENCH_SEED=${SEED} BENCH_SLIDES=${SLIDES} BENCH_K=${K} BENCH_BUDGET_S=${BUDGET}). A feasibility probe for the training defaults, not the product's training loop.`,
  `Date: ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC. Load average at the end: ${load} (other processes shared the machine: times are not those of a quiet machine).`,
  cohortSeconds === null
    ? 'Demo cohort: kept from an earlier run.'
    : `Demo cohort: ${SLIDES} slides made (painted, written, imported) in ${cohortSeconds.toFixed(1)} s.`,
  `Split (patients, stratified): train ${train.length}, validation ${val.length}, test ${test.length} slides; ${Math.min(...counts)}-${Math.max(...counts)} tissue patches of 224 px at 0.5 µm/px per slide.`,
  `Model: ViT embed 96, depth 4, 3 heads, 16 px patches, 224 px input (random init, seed ${SEED}), gated-attention aggregator, one binary head. End to end: K = ${K}, two slides of opposite labels per step. Frozen: embeddings once (${embedSeconds.toFixed(0)} s), aggregator only.`,
  '',
  '| mode | epoch | train loss | validation AUROC | test AUROC | seconds | engine waiting for patches |',
  '| --- | --: | --: | --: | --: | --: | --: |',
  ...rows,
  '',
  `Machine: ${cores} cores, ${os.cpus()[0]?.model ?? 'unknown CPU'}; ${flags}.`,
].join('\n');
const file = path.join(root, 'test', 'bench', 'RESULTS.md');
const startMark = '<!-- demo-cohort:start -->';
const endMark = '<!-- demo-cohort:end -->';
const section = `${startMark}\n${body}\n${endMark}`;
let text = fs.readFileSync(file, 'utf8');
if (text.includes(startMark) && text.includes(endMark)) {
  text =
    text.slice(0, text.indexOf(startMark)) + section + text.slice(text.indexOf(endMark) + endMark.length);
} else text = `${text.trimEnd()}\n\n${section}\n`;
fs.writeFileSync(file, text);
console.log('test/bench/RESULTS.md: demo-cohort section written');
process.exit(0);
