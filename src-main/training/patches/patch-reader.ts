/**
 * Reads a slide's grid patches into one encoder-ready batch (N x size x size x 3 RGB bytes, the engine's
 * SlidePatches layout) through the reader's fast path: each region is read into a reusable shared buffer
 * (the decode workers compose it there), then a patch worker resamples, converts and augments it straight
 * into its place in the batch. A few regions are in flight at once, so reading one overlaps processing
 * another; memory is those regions plus the batch, whatever the slide's size.
 */
import type { SlideReader } from '../../slides/index.js';
import { drawAugmentation, type AugmentOptions } from '../augment.js';
import type { PatchGrid } from '../patch-grid.js';
import type { PatchWorkers } from './patch-workers.js';

export interface ReadPatchesOptions {
  /** Augmentations to apply (none when absent). */
  augment?: AugmentOptions | null;
  /** Key of the augmentation draws, e.g. [seed, step, slide id]; the patch's grid index is appended. */
  augmentKey?: number[];
  signal?: AbortSignal;
}

/** Thrown for failures of the slide itself (as opposed to the workers): the caller may skip the slide. */
export class SlideReadError extends Error {
  constructor(message: string, cause: unknown) {
    super(message, { cause });
    this.name = 'SlideReadError';
  }
}

export class PatchReader {
  /** Free region buffers by read size. */
  private free = new Map<number, Uint8Array[]>();

  constructor(
    private readonly workers: PatchWorkers,
    /** Regions read at once per batch (default 8: enough to keep 4 decode and 4 patch workers busy). */
    private readonly regionsInFlight = 8,
  ) {}

  /** The patches `indices` (positions in the grid's lists) of the slide, in that order. */
  async read(
    reader: SlideReader,
    grid: PatchGrid,
    indices: ArrayLike<number>,
    options: ReadPatchesOptions = {},
  ): Promise<Uint8Array> {
    const { patchSize: size, readSize, level } = grid;
    const n = indices.length;
    const stride = size * size * 3;
    const batch = new Uint8Array(new SharedArrayBuffer(n * stride));
    const buffers = this.take(readSize, Math.min(this.regionsInFlight, n));
    let next = 0;
    let failure: unknown;
    const lane = async (region: Uint8Array) => {
      while (failure === undefined && next < n) {
        if (options.signal?.aborted) throw options.signal.reason ?? new Error('The operation was cancelled.');
        const j = next++;
        const i = indices[j]!;
        const x = grid.x[i];
        const y = grid.y[i];
        if (x === undefined || y === undefined) throw new RangeError(`patch ${i} is not in the grid`);
        try {
          await reader.readRegion(level, x, y, readSize, readSize, region);
        } catch (err) {
          throw new SlideReadError(err instanceof Error ? err.message : String(err), err);
        }
        await this.workers.run({
          region,
          readSize,
          batch,
          offset: j * stride,
          size,
          augmentation: options.augment
            ? drawAugmentation(options.augment, ...(options.augmentKey ?? []), i)
            : null,
        });
      }
    };
    const results = await Promise.allSettled(
      buffers.map((b) =>
        lane(b).catch((err: unknown) => {
          failure ??= err;
          throw err;
        }),
      ),
    );
    this.giveBack(readSize, buffers);
    if (failure !== undefined || results.some((r) => r.status === 'rejected')) throw failure;
    return batch;
  }

  private take(readSize: number, count: number): Uint8Array[] {
    const list = this.free.get(readSize) ?? [];
    const out = list.splice(0, count);
    while (out.length < count) out.push(new Uint8Array(new SharedArrayBuffer(readSize * readSize * 4)));
    return out;
  }

  private giveBack(readSize: number, buffers: Uint8Array[]): void {
    const list = this.free.get(readSize) ?? [];
    // Keep at most a few batches' worth; other sizes (other slides' levels) come and go.
    list.push(...buffers.slice(0, Math.max(0, 2 * this.regionsInFlight - list.length)));
    this.free.set(readSize, list);
  }
}
