import type { TileFormat } from '../codecs/tile-format.js';

/**
 * A stored tile a render task uses: cached pixels (range null), or the file range of its stored bytes,
 * decoded into `pixels` (a tile-cache slab slot) or, with `part`, only the part the region needs,
 * straight into the region (then `pixels` is empty and nothing is cached).
 */
export interface RenderTile {
  col: number;
  row: number;
  pixels: Uint8Array;
  range: [number, number] | null;
  /** Always set, so that every tile object has one shape (V8 deoptimized on a second one). */
  part: boolean;
}

/**
 * What tasks refer to by number, posted to each worker once, before the first task that uses it: a tile
 * source (a level of one file: where to read it, how its tiles are coded) and the tile cache's slabs
 * (shared memory, cut into tile slots). A file path, a format with its JPEG tables and a view of shared
 * memory cost far more to clone per task than a few numbers (structured clone makes a SharedArrayBuffer
 * object for every view). 'unshare' drops slabs the main thread has let go of.
 */
export type WorkerShared =
  | { kind: 'source'; id: number; file: { key: string; path: string }; format: TileFormat }
  | { kind: 'slab'; id: number; buffer: SharedArrayBuffer };

/** Work the decode workers do: CPU-heavy steps kept off the main event loop. */
export type WorkerTask =
  | { kind: 'decode'; format: TileFormat; stored: Uint8Array }
  /**
   * Several tiles of one image in one round trip; the worker reads the stored bytes itself (file offset,
   * length), saving the main thread one asynchronous read per tile. `file` keys the worker's open descriptor.
   */
  | {
      kind: 'decodeRanges';
      file: { key: string; path: string };
      format: TileFormat;
      ranges: [number, number][];
      /**
       * One tile-sized buffer per range from the tile cache: slab slots (shared memory) are filled in
       * place and answered with an empty array; plain buffers are transferred, filled and sent back.
       */
      into: Uint8Array[];
    }
  /**
   * A region in one round trip: decode the tiles that carry a file range into their slots (tile-cache
   * slab slots, shared memory), compose the region, optionally flatten onto white, resize and encode.
   * Only numbers travel (see render-task.ts): the file and format as a source id, slab slots as slab
   * ids and offsets, all shared with the worker once beforehand (WorkerShared).
   */
  | {
      kind: 'render';
      source: number;
      /** 'rgba': answer the composed pixels themselves (no flattening, resizing or encoding). */
      type: 'jpeg' | 'png' | 'rgba';
      /** The region, sizes and tiles, packed by packRenderTask. */
      numbers: Float64Array;
      /**
       * For 'rgba' into the caller's shared memory outside the slabs (width x height x 4), answered with
       * nothing; a slab slot to compose into travels in `numbers`.
       */
      into?: Uint8Array;
    }
  /**
   * Part of a level box-reduced tile by tile (the factor divides the tile size, so blocks never straddle
   * tiles): decode each stored tile, optionally flatten onto white, reduce its part inside the level and
   * write it into `out` (shared memory, outWidth pixels wide). Tiles without a range are empty
   * (transparent; white once flattened).
   */
  | {
      kind: 'reduceTiles';
      file: { key: string; path: string };
      format: TileFormat;
      tiles: { col: number; row: number; range: [number, number] | null }[];
      factor: number;
      flatten: boolean;
      levelWidth: number;
      levelHeight: number;
      out: Uint8Array;
      outWidth: number;
    }
  /** Flatten onto white, then box-reduce by `factor` in both directions (returns RGBA). */
  | { kind: 'reduce'; rgba: Uint8Array; width: number; height: number; factor: number; flatten: boolean }
  /** Close the worker's descriptor for a file and drop its sources (the reader was closed). */
  | { kind: 'forget'; key: string }
  /** Not answered: applied on arrival, before any task posted after it runs. */
  | { kind: 'share'; items: WorkerShared[] }
  | { kind: 'unshare'; slabs: number[] }
  /**
   * Optionally flatten onto white (as OpenSlide's Deep Zoom does), resize (Lanczos, like PIL's
   * thumbnail there), then encode.
   */
  | {
      kind: 'encode';
      rgba: Uint8Array;
      width: number;
      height: number;
      outWidth: number;
      outHeight: number;
      flatten: boolean;
      type: 'jpeg' | 'png';
      quality: number;
      /** Send the (flattened) pixel buffer back after the encoded bytes, for reuse. */
      returnPixels?: boolean;
    };

export interface WorkerRequest {
  id: number;
  task: WorkerTask;
}

/** `bytes` left out: the answer is in shared memory (an empty array for the caller). */
export type WorkerResponse =
  { id: number; ok: true; bytes?: Uint8Array | Uint8Array[] } | { id: number; ok: false; message: string };
