/**
 * Feeds the engine: reads the batches of a run's plan (one slide's sampled patches per batch in training,
 * all of a slide's patches, in pieces, at evaluation) ahead of the consumer, at most `prefetch` batches
 * ahead, so memory stays bounded however long the plan. Batches come out in plan order.
 *
 * A slide that cannot be read (moved, truncated, corrupt; at open or mid-run) is skipped with one warning
 * naming it, and every later batch of it is skipped without trying again: the run goes on without it.
 */
import path from 'node:path';
import { SlideError, type SlideReader } from '../../slides/index.js';
import type { AugmentOptions } from '../augment.js';
import type { PatchGrid } from '../patch-grid.js';
import { PatchReader, SlideReadError } from './patch-reader.js';
import type { PatchWorkers } from './patch-workers.js';

export interface LoaderSlide {
  /** Stable id (e.g. the slide's id in the project): part of the augmentation key. */
  id: number;
  path: string;
  grid: PatchGrid;
}

export interface BatchRequest<S extends LoaderSlide = LoaderSlide> {
  slide: S;
  /** Positions in the slide's grid lists. */
  indices: Int32Array;
  /** Augmentation draws key (e.g. [seed, epoch]); the slide id and patch index are appended. None = no augmentation. */
  augmentKey?: number[];
  /** Where a slide is read in several batches (evaluation): which piece this is, of how many. */
  piece?: { index: number; count: number };
}

export type PatchBatch<S extends LoaderSlide = LoaderSlide> =
  | {
      kind: 'patches';
      request: BatchRequest<S>;
      /** numPatches x size x size x 3 RGB bytes (shared memory). */
      pixels: Uint8Array;
      numPatches: number;
    }
  | { kind: 'skipped'; request: BatchRequest<S>; reason: string };

export interface SlideWarning {
  slide: LoaderSlide;
  message: string;
}

/** Where the loader gets open readers: SlideService fits (an LRU of open files, never closed under a lease). */
export interface ReaderSource {
  withReader<T>(file: string, use: (reader: SlideReader) => Promise<T>): Promise<T>;
}

export interface PatchLoaderOptions {
  slides: ReaderSource;
  workers: PatchWorkers;
  /** Batches read ahead of the consumer (default 2). */
  prefetch?: number;
  augment?: AugmentOptions | null;
  onWarning?: (warning: SlideWarning) => void;
}

export class PatchLoader {
  private readonly reader: PatchReader;
  private readonly unreadable = new Map<string, string>();

  constructor(private readonly options: PatchLoaderOptions) {
    this.reader = new PatchReader(options.workers);
    const prefetch = options.prefetch ?? 2;
    if (!Number.isInteger(prefetch) || prefetch < 0) throw new RangeError(`invalid prefetch ${prefetch}`);
  }

  /** The batches of `plan`, read ahead; stops early (without reading further) when `signal` aborts. */
  async *batches<S extends LoaderSlide>(
    plan: Iterable<BatchRequest<S>>,
    signal?: AbortSignal,
  ): AsyncGenerator<PatchBatch<S>> {
    // While the consumer holds a batch, at most `prefetch` more are being read.
    const prefetch = this.options.prefetch ?? 2;
    const queue: Promise<PatchBatch<S>>[] = [];
    const it = plan[Symbol.iterator]();
    let done = false;
    const fillTo = (count: number) => {
      while (!done && queue.length < count && !signal?.aborted) {
        const r = it.next();
        if (r.done) done = true;
        else {
          const p = this.load(r.value, signal);
          p.catch(() => {}); // rejections are raised when the consumer reaches the batch
          queue.push(p);
        }
      }
    };
    try {
      fillTo(Math.max(1, prefetch));
      while (queue.length > 0) {
        const batch = await queue.shift()!;
        fillTo(prefetch);
        yield batch;
        if (signal?.aborted) return;
        fillTo(Math.max(1, prefetch));
      }
    } finally {
      // The consumer stopped early or failed: let reads in flight finish before the caller closes things.
      await Promise.allSettled(queue);
    }
  }

  /** One batch, or a skip where the slide cannot be read. Worker failures are errors, not skips. */
  private async load<S extends LoaderSlide>(
    request: BatchRequest<S>,
    signal?: AbortSignal,
  ): Promise<PatchBatch<S>> {
    const { slide } = request;
    const known = this.unreadable.get(slide.path);
    if (known !== undefined) return { kind: 'skipped', request, reason: known };
    try {
      const pixels = await this.options.slides.withReader(slide.path, (reader) =>
        this.reader.read(reader, slide.grid, request.indices, {
          augment: request.augmentKey ? this.options.augment : null,
          augmentKey: request.augmentKey ? [...request.augmentKey, slide.id] : undefined,
          signal,
        }),
      );
      return { kind: 'patches', request, pixels, numPatches: request.indices.length };
    } catch (err) {
      if (signal?.aborted) throw err;
      const fromSlide = err instanceof SlideReadError || isOpenError(err);
      if (!fromSlide) throw err;
      const reason = err instanceof Error ? err.message : String(err);
      if (!this.unreadable.has(slide.path)) {
        this.unreadable.set(slide.path, reason);
        this.options.onWarning?.({
          slide,
          message: `Skipping slide ${path.basename(slide.path)} for the rest of the run: ${reason}`,
        });
      }
      return { kind: 'skipped', request, reason };
    }
  }
}

/** Errors from opening a slide: the slides layer's SlideError, or the file system's (ENOENT, EACCES, ...). */
function isOpenError(err: unknown): boolean {
  return (
    err instanceof SlideError ||
    (err instanceof Error && typeof (err as NodeJS.ErrnoException).code === 'string')
  );
}
