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
  part?: boolean;
}

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
   * slab slots, shared memory), compose the region (level pixels x0..x1, y0..y1 of the level; the
   * region's top-left is lx, ly), optionally flatten onto white, resize and encode.
   */
  | {
      kind: 'render';
      file: { key: string; path: string };
      format: TileFormat;
      tiles: RenderTile[];
      region: { lx: number; ly: number; x0: number; y0: number; x1: number; y1: number };
      width: number;
      height: number;
      outWidth: number;
      outHeight: number;
      flatten: boolean;
      /** 'rgba': answer the composed pixels themselves (no flattening, resizing or encoding). */
      type: 'jpeg' | 'png' | 'rgba';
      quality: number;
      /**
       * For 'rgba': shared memory (width x height x 4) to compose into, answered with an empty array;
       * without it the pixels come back in a buffer of their own.
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
  /** Close the worker's descriptor for a file (the reader was closed). */
  | { kind: 'forget'; key: string }
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

export type WorkerResponse =
  { id: number; ok: true; bytes: Uint8Array | Uint8Array[] } | { id: number; ok: false; message: string };
