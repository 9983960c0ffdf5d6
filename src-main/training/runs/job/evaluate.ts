/**
 * Evaluating slides with the model: every patch of a slide (read in pieces of bounded size, not
 * augmented) is embedded, and the aggregator runs once over the slide's whole embedding matrix, as a
 * slide is seen in deployment. Frozen runs take the cached embeddings instead of reading pixels.
 */
import type { SlideModel } from '../../../engine/index.js';
import type { PatchLoader } from '../../patches/patch-loader.js';
import { evaluationPlan } from '../../patches/plans.js';
import type { PlanTask } from '../run-plan.js';
import type { RunSlide } from './slide-data.js';

export interface SlideOutput {
  slide: RunSlide;
  /** Per task (plan order): the probability of each class. */
  probabilities: number[][];
}

/** Engine task name of the plan's task i (task names may hold characters parameter names cannot). */
export function engineTaskName(i: number): string {
  return `task${i}`;
}

export function probabilitiesOf(
  prediction: { probabilities: Record<string, Float32Array> },
  tasks: PlanTask[],
): number[][] {
  return tasks.map((t, i) => {
    const p = prediction.probabilities[engineTaskName(i)]!;
    return t.kind === 'binary' ? [1 - p[0]!, p[0]!] : Array.from(p);
  });
}

const PIECE = 512;

export interface EvaluateOptions {
  chunkSize: number;
  signal?: AbortSignal;
  onSlide?: (slide: RunSlide, done: number, total: number) => void;
  /** Called for a slide skipped as unreadable (the loader has warned once already). */
  onSkipped?: (slide: RunSlide, reason: string) => void;
  onWait?: (seconds: number) => void;
}

export async function evaluateSlides(
  model: SlideModel,
  slides: RunSlide[],
  loader: PatchLoader,
  tasks: PlanTask[],
  options: EvaluateOptions,
): Promise<SlideOutput[]> {
  const out: SlideOutput[] = [];
  let pieces: Float32Array[] = [];
  let skipped = false;
  let done = 0;
  let waitStart = performance.now();
  for await (const batch of loader.batches(evaluationPlan(slides, PIECE), options.signal)) {
    options.onWait?.((performance.now() - waitStart) / 1000);
    const slide = batch.request.slide as RunSlide;
    const piece = batch.request.piece!;
    if (piece.index === 0) {
      pieces = [];
      skipped = false;
    }
    if (batch.kind === 'skipped') {
      if (!skipped) options.onSkipped?.(slide, batch.reason);
      skipped = true;
    } else if (!skipped) {
      pieces.push(
        await model.embed(batch.pixels, batch.numPatches, {
          chunkSize: options.chunkSize,
          signal: options.signal,
        }),
      );
    }
    if (piece.index === piece.count - 1) {
      done++;
      if (!skipped) {
        const n = pieces.reduce((a, p) => a + p.length, 0) / model.outputDim;
        const h = concat(pieces);
        const prediction = await model.predictFromEmbeddings(h, n, { signal: options.signal });
        out.push({ slide, probabilities: probabilitiesOf(prediction, tasks) });
      }
      options.onSlide?.(slide, done, slides.length);
    }
    waitStart = performance.now();
  }
  return out;
}

export async function evaluateFromEmbeddings(
  model: SlideModel,
  slides: { slide: RunSlide; embeddings: Float32Array }[],
  tasks: PlanTask[],
  signal?: AbortSignal,
): Promise<SlideOutput[]> {
  const out: SlideOutput[] = [];
  for (const { slide, embeddings } of slides) {
    const n = embeddings.length / model.outputDim;
    const prediction = await model.predictFromEmbeddings(embeddings, n, { signal });
    out.push({ slide, probabilities: probabilitiesOf(prediction, tasks) });
  }
  return out;
}

export function concat(parts: Float32Array[]): Float32Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Mean cross-entropy of task i over the outputs whose slide is labelled for it (NaN where none is). */
export function meanLoss(outputs: SlideOutput[], i: number): number {
  let sum = 0;
  let n = 0;
  for (const o of outputs) {
    const label = o.slide.plan.labels[i]!;
    if (label < 0) continue;
    const p = Math.min(1 - 1e-7, Math.max(1e-7, o.probabilities[i]![label]!));
    sum -= Math.log(p);
    n++;
  }
  return n ? sum / n : NaN;
}
