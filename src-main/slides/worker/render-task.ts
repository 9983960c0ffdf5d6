/**
 * A render task's numbers in one Float64Array, so that a region costs the decode worker a few numbers to
 * receive instead of a graph of objects, strings and shared-memory views (a render-shaped message cost
 * about 45-50 us of CPU per round trip against 30-35 us packed, both threads, here). Slab slots travel as
 * a slab id and a byte offset; the slab itself was shared with the worker once (WorkerShared).
 *
 * Layout: HEADER numbers, then TILE numbers per tile.
 */
import type { RegionBox } from '../tile-region.js';
import type { RenderTile, WorkerShared } from './messages.js';

/** What a render task needs besides its source and output type. */
export interface RenderSpec {
  region: RegionBox;
  width: number;
  height: number;
  outWidth: number;
  outHeight: number;
  flatten: boolean;
  quality: number;
  /** Pixels of each tile: a tile-cache slab slot, or empty (decoded in part straight into the region). */
  tiles: RenderTile[];
  /** For 'rgba': a slab slot (width x height x 4) to compose into. */
  intoSlot?: Uint8Array;
}

const HEADER = 14;
const TILE = 7;
const NONE = -1;

const slabShares = new WeakMap<SharedArrayBuffer, Extract<WorkerShared, { kind: 'slab' }>>();
let nextSlabId = 1;

/** The one share (and id) of a slab, made on first use. */
export function slabShare(buffer: SharedArrayBuffer): Extract<WorkerShared, { kind: 'slab' }> {
  let share = slabShares.get(buffer);
  if (!share) {
    share = { kind: 'slab', id: nextSlabId++, buffer };
    slabShares.set(buffer, share);
  }
  return share;
}

/**
 * One array per tile count, reused: postMessage copies it at once, and a fresh one per task is an
 * ArrayBuffer outside V8's heap each time (external memory, which brings major collections sooner).
 */
const scratch: Float64Array[] = [];

/**
 * Packs `spec` into an array valid until the next call (post it at once); adds the share of every slab
 * it refers to to `shared` (once each).
 */
export function packRenderTask(spec: RenderSpec, shared: WorkerShared[]): Float64Array {
  const count = spec.tiles.length;
  const n = (scratch[count] ??= new Float64Array(HEADER + TILE * count));
  const { lx, ly, x0, y0, x1, y1 } = spec.region;
  n[0] = lx;
  n[1] = ly;
  n[2] = x0;
  n[3] = y0;
  n[4] = x1;
  n[5] = y1;
  n[6] = spec.width;
  n[7] = spec.height;
  n[8] = spec.outWidth;
  n[9] = spec.outHeight;
  n[10] = spec.quality;
  n[11] = spec.flatten ? 1 : 0;
  n[12] = spec.intoSlot ? slabOf(spec.intoSlot, shared) : NONE;
  n[13] = spec.intoSlot ? spec.intoSlot.byteOffset : 0;
  let at = HEADER;
  for (const t of spec.tiles) {
    n[at] = t.col;
    n[at + 1] = t.row;
    n[at + 2] = t.pixels.length > 0 ? slabOf(t.pixels, shared) : NONE;
    n[at + 3] = t.pixels.byteOffset;
    n[at + 4] = t.range ? t.range[0] : NONE;
    n[at + 5] = t.range ? t.range[1] : 0;
    n[at + 6] = t.part ? 1 : 0;
    at += TILE;
  }
  return n;
}

function slabOf(view: Uint8Array, shared: WorkerShared[]): number {
  if (!(view.buffer instanceof SharedArrayBuffer)) throw new TypeError('a render slot must be shared memory');
  const share = slabShare(view.buffer);
  if (!shared.includes(share)) shared.push(share);
  return share.id;
}

const EMPTY = new Uint8Array(0);

/** The worker's side: the spec back, slab slots as views of the slabs shared with it. */
export function unpackRenderTask(
  n: Float64Array,
  slabs: ReadonlyMap<number, SharedArrayBuffer>,
  tileBytes: number,
): RenderSpec {
  const view = (slab: number, offset: number, bytes: number): Uint8Array => {
    const buffer = slabs.get(slab);
    if (!buffer) throw new Error(`slab ${slab} was not shared with this worker`);
    return new Uint8Array(buffer, offset, bytes);
  };
  const width = n[6]!;
  const height = n[7]!;
  const tiles: RenderTile[] = [];
  for (let at = HEADER; at < n.length; at += TILE) {
    tiles.push({
      col: n[at]!,
      row: n[at + 1]!,
      pixels: n[at + 2] === NONE ? EMPTY : view(n[at + 2]!, n[at + 3]!, tileBytes),
      range: n[at + 4] === NONE ? null : [n[at + 4]!, n[at + 5]!],
      part: n[at + 6] === 1,
    });
  }
  return {
    region: { lx: n[0]!, ly: n[1]!, x0: n[2]!, y0: n[3]!, x1: n[4]!, y1: n[5]! },
    width,
    height,
    outWidth: n[8]!,
    outHeight: n[9]!,
    quality: n[10]!,
    flatten: n[11] === 1,
    tiles,
    intoSlot: n[12] === NONE ? undefined : view(n[12]!, n[13]!, width * height * 4),
  };
}

/** The file range of each tile of a packed task (null: cached pixels), e.g. to count decodes. */
export function packedTileRanges(n: Float64Array): ([number, number] | null)[] {
  const ranges: ([number, number] | null)[] = [];
  for (let at = HEADER; at < n.length; at += TILE)
    ranges.push(n[at + 4] === NONE ? null : [n[at + 4]!, n[at + 5]!]);
  return ranges;
}
