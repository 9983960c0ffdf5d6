/**
 * Reads a slide's grid patches into one encoder-ready batch (N x size x size x 3 RGB bytes, the engine's
 * SlidePatches layout) through the reader's fast path: each strip of adjacent patches is read into a
 * reusable shared buffer (the decode workers compose it there), then a patch worker cuts, resamples,
 * converts and augments its patches straight into their places in the batch. A few strips are in flight
 * at once, so reading one overlaps processing another; memory is those strips plus the batch, whatever
 * the slide's size.
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

/** Most patches read as one strip (adjacent patches of a grid row share one region read). */
const STRIP_PATCHES = 8;

interface Strip {
  /** Position in the batch of the strip's first patch; the others follow. */
  first: number;
  count: number;
  x: number;
  y: number;
  /** Another strip of the batch needs one of this strip's stored tiles (a neighbouring grid row). */
  tilesReused: boolean;
}

export class PatchReader {
  /** Free strip buffers by size in bytes. */
  private free = new Map<number, Uint8Array[]>();

  constructor(
    private readonly workers: PatchWorkers,
    /** Strips read at once per batch (default 4: enough to keep the decode and patch workers busy). */
    private readonly stripsInFlight = 4,
  ) {}

  /**
   * The patches `indices` (positions in the grid's lists) of the slide, in that order. Runs of patches
   * that lie side by side in a grid row (as grid-ordered lists mostly do) are read as one strip: one
   * region read, each stored tile decoded once, one worker message; the pixels are those of reading each
   * patch alone.
   */
  async read(
    reader: SlideReader,
    grid: PatchGrid,
    indices: ArrayLike<number>,
    options: ReadPatchesOptions = {},
  ): Promise<Uint8Array> {
    const { patchSize: size, readSize, level } = grid;
    const lv = reader.metadata.levels[level];
    if (lv === undefined) throw new RangeError(`the slide has no level ${level}`);
    const { downsample } = lv;
    const n = indices.length;
    const stride = size * size * 3;
    const batch = new Uint8Array(new SharedArrayBuffer(n * stride));
    const strips = this.strips(grid, indices, downsample);
    markReusedTiles(strips, downsample, readSize, lv.tileWidth, lv.tileHeight);
    const stripBytes = STRIP_PATCHES * readSize * readSize * 4;
    // Every shared tile of the batch is queued for decoding at once (strip order), so the decode workers
    // stay busy while the strips in flight wait for composing and the patch workers; a small batch (a whole
    // slide of 47 patches) otherwise left them idle between strips.
    const prefetches: Promise<void>[] = [];
    if (reader.prefetchRegion) {
      for (const s of strips)
        if (s.tilesReused)
          prefetches.push(reader.prefetchRegion(level, s.x, s.y, s.count * readSize, readSize));
    }
    const buffers = this.take(stripBytes, Math.min(this.stripsInFlight, strips.length));
    let next = 0;
    let failure: unknown;
    const lane = async (buffer: Uint8Array) => {
      while (failure === undefined && next < strips.length) {
        if (options.signal?.aborted) throw options.signal.reason ?? new Error('The operation was cancelled.');
        const s = strips[next++]!;
        const width = s.count * readSize;
        const strip = buffer.subarray(0, width * readSize * 4);
        try {
          await reader.readRegion(level, s.x, s.y, width, readSize, strip, { tilesReused: s.tilesReused });
        } catch (err) {
          throw new SlideReadError(err instanceof Error ? err.message : String(err), err);
        }
        await this.workers.run({
          strip,
          stripWidth: width,
          readSize,
          batch,
          size,
          patches: Array.from({ length: s.count }, (_, k) => ({
            column: k * readSize,
            offset: (s.first + k) * stride,
            augmentation: options.augment
              ? drawAugmentation(options.augment, ...(options.augmentKey ?? []), indices[s.first + k]!)
              : null,
          })),
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
    this.giveBack(stripBytes, buffers);
    // Done in the normal course; after a failure or abort, nothing of this batch is still reading when the
    // caller closes the slide (prefetches never reject).
    await Promise.all(prefetches);
    if (failure !== undefined || results.some((r) => r.status === 'rejected')) throw failure;
    return batch;
  }

  /**
   * Consecutive patches of the list that lie next to each other in one grid row, contiguous in the read
   * level's pixels (OpenSlide's floor(x / downsample)), grouped into strips of at most STRIP_PATCHES.
   */
  private strips(grid: PatchGrid, indices: ArrayLike<number>, downsample: number): Strip[] {
    const strips: Strip[] = [];
    let current: (Strip & { levelX: number }) | null = null;
    for (let j = 0; j < indices.length; j++) {
      const i = indices[j]!;
      const x = grid.x[i];
      const y = grid.y[i];
      if (x === undefined || y === undefined) throw new RangeError(`patch ${i} is not in the grid`);
      const levelX = Math.floor(x / downsample);
      if (
        current &&
        current.count < STRIP_PATCHES &&
        current.y === y &&
        levelX === current.levelX + current.count * grid.readSize
      ) {
        current.count++;
        continue;
      }
      current = { first: j, count: 1, x, y, levelX, tilesReused: false };
      strips.push(current);
    }
    return strips;
  }

  private take(bytes: number, count: number): Uint8Array[] {
    const list = this.free.get(bytes) ?? [];
    const out = list.splice(0, count);
    while (out.length < count) out.push(new Uint8Array(new SharedArrayBuffer(bytes)));
    return out;
  }

  private giveBack(bytes: number, buffers: Uint8Array[]): void {
    const list = this.free.get(bytes) ?? [];
    // Keep at most a couple of batches' worth; other sizes (other slides' levels) come and go.
    list.push(...buffers.slice(0, Math.max(0, 2 * this.stripsInFlight - list.length)));
    this.free.set(bytes, list);
  }
}

/**
 * Marks the strips that share a stored tile with another strip of the batch. Grid rows are rarely aligned
 * with tile rows, so in a grid-ordered batch most tiles straddle two rows: read in part for the first row
 * and whole for the next, they would be decoded one and a half times; marked, they are decoded whole once.
 * Lone strips (a sparse sample) keep the reader's partial decoding.
 */
function markReusedTiles(
  strips: Strip[],
  downsample: number,
  readSize: number,
  tileWidth: number,
  tileHeight: number,
): void {
  if (!(tileWidth > 0 && tileHeight > 0) || strips.length < 2) return;
  const users = new Map<string, number>();
  const tilesOf = (s: Strip): string[] => {
    const lx = Math.floor(s.x / downsample);
    const ly = Math.floor(s.y / downsample);
    const keys: string[] = [];
    for (let row = Math.floor(ly / tileHeight); row * tileHeight < ly + readSize; row++) {
      for (let col = Math.floor(lx / tileWidth); col * tileWidth < lx + s.count * readSize; col++) {
        keys.push(`${col},${row}`);
      }
    }
    return keys;
  };
  const keys = strips.map(tilesOf);
  for (const list of keys) for (const k of list) users.set(k, (users.get(k) ?? 0) + 1);
  strips.forEach((s, i) => (s.tilesReused = keys[i]!.some((k) => users.get(k)! > 1)));
}
