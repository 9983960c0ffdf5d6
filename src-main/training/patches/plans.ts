/**
 * What the loader reads in an epoch: the training plan (up to K seeded patches of each slide, one batch per
 * slide, augmented, in a seeded order) and the evaluation plan (every patch of every slide, in pieces of
 * bounded size, not augmented).
 */
import { Random } from '../random.js';
import type { BatchRequest, LoaderSlide } from './patch-loader.js';
import { samplePatchIndices } from './sampling.js';

export interface TrainingPlanOptions<S extends LoaderSlide> {
  /** K: patches drawn from each slide per epoch (all of a slide's patches where it has fewer). */
  patchesPerSlide: number;
  seed: number;
  epoch: number;
  /**
   * 'shuffled' (default): a seeded shuffle. 'balanced': slides of each label value taken in turn (each
   * shuffled), so that consecutive slides, stepped on together, differ in label: what they share then
   * cancels out of the encoder's gradient and what tells them apart remains (helps MIL from scratch).
   */
  order?: 'shuffled' | 'balanced';
  /** The label a balanced order alternates on (e.g. the first task's value); needed for 'balanced'. */
  labelOf?: (slide: S) => number;
}

export function trainingPlan<S extends LoaderSlide>(
  slides: S[],
  options: TrainingPlanOptions<S>,
): BatchRequest<S>[] {
  const { patchesPerSlide, seed, epoch } = options;
  const rng = new Random(seed, epoch, 0x6f726472);
  let order = rng.shuffle([...slides]);
  if (options.order === 'balanced') {
    const labelOf = options.labelOf;
    if (!labelOf) throw new Error('a balanced training order needs labelOf');
    const groups = new Map<number, S[]>();
    for (const s of order) groups.set(labelOf(s), [...(groups.get(labelOf(s)) ?? []), s]);
    const lists = [...groups.entries()].sort((a, b) => a[0] - b[0]).map(([, list]) => list);
    order = [];
    for (let i = 0; order.length < slides.length; i++) {
      for (const list of lists) if (i < list.length) order.push(list[i]!);
    }
  }
  return order.map((slide) => ({
    slide,
    indices: samplePatchIndices(slide.grid.x.length, patchesPerSlide, seed, epoch, slide.id),
    augmentKey: [seed, epoch],
  }));
}

/** Every patch of every slide, in grid order, in pieces of at most maxPerBatch; no augmentation. */
export function evaluationPlan<S extends LoaderSlide>(slides: S[], maxPerBatch: number): BatchRequest<S>[] {
  if (!Number.isInteger(maxPerBatch) || maxPerBatch < 1)
    throw new RangeError(`invalid batch size ${maxPerBatch}`);
  const plan: BatchRequest<S>[] = [];
  for (const slide of slides) {
    const count = slide.grid.x.length;
    const pieces = Math.max(1, Math.ceil(count / maxPerBatch));
    for (let p = 0; p < pieces; p++) {
      const start = p * maxPerBatch;
      const end = Math.min(count, start + maxPerBatch);
      plan.push({
        slide,
        indices: Int32Array.from({ length: end - start }, (_, i) => start + i),
        piece: { index: p, count: pieces },
      });
    }
  }
  return plan;
}
