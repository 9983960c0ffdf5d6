/**
 * An inference job, as the job process runs it (the job runner loads this module and calls runJob): a model
 * applied to slides, every tissue patch of each at the model's resolution.
 *
 *   prepare   each slide's patch grid (tissue from the project's cache, or detected and kept there); a slide
 *             with no tissue patch is skipped with one sentence
 *   predict   the slides' patches read in pieces through the patch loader, embedded batch by batch; the
 *             aggregator over each slide's whole embedding matrix gives its probabilities and attention
 *   keep      each slide's raster (attention, per-patch scores) written whole into the project's cache,
 *             then its probabilities sent as a record, which the supervisor stores as predictions
 *
 * A slide whose raster for this model is already in the cache (an earlier job, or this job before a pause or
 * a crash) is not computed again: inference is deterministic, so resuming continues where it stopped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SlideModel } from '../../engine/index.js';
import { openProject, type Project } from '../../project/project.js';
import { SlideService } from '../../slides/index.js';
import { PatchLoader } from '../../training/patches/patch-loader.js';
import { PatchWorkers } from '../../training/patches/patch-workers.js';
import { evaluationPlan } from '../../training/patches/plans.js';
import { concat } from '../../training/runs/job/evaluate.js';
import { prepareSlide, type RunSlide } from '../../training/runs/job/slide-data.js';
import { heatmapPath, readHeatmap, writeHeatmap, type HeatmapRaster } from '../heatmap-raster.js';
import type { InferenceModel } from '../model-source.js';
import { patchScores } from '../patch-scores.js';
import { openOnnxModel } from '../../training/models/onnx-model-import.js';
import type { OnnxEncoder } from '../../onnx/index.js';

export interface InferenceSlide {
  id: number;
  name: string;
  path: string;
  fingerprint: string;
  /** Level-0 size. */
  width: number;
  height: number;
}

export interface InferenceParams {
  model: InferenceModel;
  slides: InferenceSlide[];
}

/** Records the supervisor persists (inference-records.ts). */
export type InferenceRecord =
  | { type: 'slide'; slideId: number; probabilities: number[][]; patches: number }
  | { type: 'skipped'; slideId: number; name: string; message: string };

export interface InferenceResult {
  predicted: number;
  skipped: { slideId: number; name: string; message: string }[];
}

export interface InferenceProgress {
  phase: 'preparing' | 'predicting';
  /** Slides finished (predicted or skipped) of all. */
  done: number;
  total: number;
  slide: string | null;
  patchesPerSecond: number;
}

/** What the job process gives a job (structurally the job runner's JobContext). */
export interface InferenceJobContext {
  params: unknown;
  projectDir: string;
  workDir: string;
  attempt: number;
  signal: AbortSignal;
  pauseRequested(): boolean;
  progress(progress: unknown): void;
  record(record: unknown): void;
  log(line: string): void;
}

/** Patches per read piece: bounds the memory of one slide's pixels in flight. */
const PIECE = 256;

export async function runJob(ctx: InferenceJobContext): Promise<{ result: InferenceResult } | 'paused'> {
  const params = ctx.params as InferenceParams;
  const project = await openProject(ctx.projectDir, { readOnly: true });
  const slides = new SlideService({ maxOpen: 8 });
  const workers = new PatchWorkers();
  let model: SlideModel | null = null;
  let onnx: OnnxEncoder | null = null;
  try {
    model = await SlideModel.loadCheckpoint(params.model.dir);
    // A run trained (frozen) on an imported ONNX encoder: patches are embedded through onnxruntime again.
    if (params.model.onnxEncoderDir) onnx = await openOnnxModel(params.model.onnxEncoderDir);
    return await predict(ctx, params, project, slides, workers, model, onnx);
  } finally {
    model?.dispose();
    await onnx?.dispose();
    project.close();
    await workers.close();
    await slides.closeAll();
  }
}

async function predict(
  ctx: InferenceJobContext,
  { model: m, slides: all }: InferenceParams,
  project: Project,
  slides: SlideService,
  workers: PatchWorkers,
  model: SlideModel,
  onnx: OnnxEncoder | null,
): Promise<{ result: InferenceResult } | 'paused'> {
  ctx.log(`inference job: ${m.label} on ${all.length} slide(s), attempt ${ctx.attempt}`);
  if (onnx) ctx.log(`patches embedded by the ONNX encoder in ${m.onnxEncoderDir} (onnxruntime)`);
  const result: InferenceResult = { predicted: 0, skipped: [] };
  writeSkipped(ctx.workDir, []);
  let done = 0;
  let patches = 0;
  const started = performance.now();
  const report = (phase: InferenceProgress['phase'], slide: string | null) =>
    ctx.progress({
      phase,
      done,
      total: all.length,
      slide,
      patchesPerSecond: patches / Math.max(1e-3, (performance.now() - started) / 1000),
    } satisfies InferenceProgress);
  const skip = (s: InferenceSlide, message: string) => {
    ctx.log(message);
    result.skipped.push({ slideId: s.id, name: s.name, message });
    writeSkipped(ctx.workDir, result.skipped);
    ctx.record({ type: 'skipped', slideId: s.id, name: s.name, message } satisfies InferenceRecord);
    done++;
  };

  const todo: (RunSlide & { source: InferenceSlide })[] = [];
  for (const s of all) {
    ctx.signal.throwIfAborted();
    const kept = readHeatmap(heatmapPath(ctx.projectDir, m.key, s.fingerprint));
    if (kept) {
      ctx.record({ type: 'slide', slideId: s.id, probabilities: kept.probabilities, patches: kept.x.length });
      result.predicted++;
      done++;
      continue;
    }
    report('preparing', s.name);
    const prepared = await prepareSlide(
      project,
      slides,
      { ...s, patient: null, labels: [] },
      { mpp: m.mpp, patchSize: onnx?.inputSize ?? model.spec.inputSize, tissueThreshold: m.tissueThreshold },
    );
    if ('warning' in prepared) skip(s, prepared.warning);
    else todo.push({ ...prepared.slide, source: s });
  }

  const loader = new PatchLoader({ slides, workers, prefetch: 2, augment: null });
  let pieces: Float32Array[] = [];
  let unreadable: string | null = null;
  const batches = loader.batches(evaluationPlan(todo, PIECE), ctx.signal);
  for await (const batch of batches) {
    const slide = batch.request.slide;
    const piece = batch.request.piece!;
    if (piece.index === 0) {
      if (ctx.pauseRequested()) {
        await batches.return(undefined);
        return 'paused';
      }
      pieces = [];
      unreadable = null;
      report('predicting', slide.source.name);
    }
    if (batch.kind === 'skipped') unreadable ??= batch.reason;
    else if (unreadable === null) {
      pieces.push(
        onnx
          ? await onnx.embed(batch.pixels, batch.numPatches, { signal: ctx.signal })
          : await model.embed(batch.pixels, batch.numPatches, { chunkSize: m.chunkSize, signal: ctx.signal }),
      );
      patches += batch.numPatches;
    }
    if (piece.index < piece.count - 1) continue;
    if (unreadable !== null) {
      skip(slide.source, `Slide ${slide.source.name} is left out: it cannot be read (${unreadable}).`);
      continue;
    }
    const raster = await slideRaster(model, m, slide, concat(pieces), ctx.signal);
    writeHeatmap(heatmapPath(ctx.projectDir, m.key, slide.source.fingerprint), raster);
    ctx.record({
      type: 'slide',
      slideId: slide.id,
      probabilities: raster.probabilities,
      patches: raster.x.length,
    } satisfies InferenceRecord);
    result.predicted++;
    done++;
    report('predicting', slide.source.name);
  }
  ctx.log(`predicted ${result.predicted} slide(s), skipped ${result.skipped.length}`);
  if (result.predicted === 0)
    throw new Error(
      result.skipped.length === 1
        ? result.skipped[0]!.message
        : 'No slide could be predicted; see the job log.',
    );
  return { result };
}

async function slideRaster(
  model: SlideModel,
  m: InferenceModel,
  slide: RunSlide & { source: InferenceSlide },
  h: Float32Array,
  signal: AbortSignal,
): Promise<HeatmapRaster> {
  const n = slide.grid.x.length;
  const prediction = await model.predictFromEmbeddings(h, n, { signal });
  const probabilities = model.tasks.map((t) => {
    const p = prediction.probabilities[t.name]!;
    return t.kind === 'binary' ? [1 - p[0]!, p[0]!] : Array.from(p);
  });
  return {
    extent: slide.grid.extent,
    width: slide.source.width,
    height: slide.source.height,
    tasks: m.tasks.map((t) => ({ name: t.name, values: t.values })),
    probabilities,
    x: slide.grid.x,
    y: slide.grid.y,
    attention: prediction.attention,
    scores: patchScores(model, h, n),
  };
}

/** The slides left out, kept beside the job's log for the job's summary: `skipped.json`. */
export const SKIPPED_FILE = 'skipped.json';

function writeSkipped(workDir: string, skipped: InferenceResult['skipped']): void {
  const file = path.join(workDir, SKIPPED_FILE);
  fs.writeFileSync(`${file}.tmp`, JSON.stringify(skipped));
  fs.renameSync(`${file}.tmp`, file);
}
