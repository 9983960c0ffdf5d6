/**
 * Where a stored tile meets a region, and the one routine that copies it there: used on the main thread
 * (regions from cached tiles), in the decode workers (render tasks, partial decodes) and for associated
 * images. Plain functions, no imports of readers or workers.
 */
import type { RectCopier } from './codecs/native-pixels.js';

/**
 * A region of a level, in level pixels: its top-left corner (lx, ly, may lie outside the level) and the
 * part of it inside the level, [x0, x1) x [y0, y1). The region's pixels are `width` pixels wide.
 */
export interface RegionBox {
  lx: number;
  ly: number;
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** The part of stored tile (col, row) inside a region: tile-pixel origin, size, and byte offsets. */
export interface TilePart {
  /** Top-left of the part in tile pixels. */
  x: number;
  y: number;
  w: number;
  h: number;
  /** Byte offset of the part's first pixel in the tile (tileWidth x 4 bytes a row). */
  tileOffset: number;
  /** Byte offset of the part's first pixel in the region (regionWidth x 4 bytes a row). */
  regionOffset: number;
}

export function tilePartInRegion(
  col: number,
  row: number,
  tileWidth: number,
  tileHeight: number,
  region: RegionBox,
  regionWidth: number,
): TilePart {
  const ix0 = Math.max(region.x0, col * tileWidth);
  const iy0 = Math.max(region.y0, row * tileHeight);
  const ix1 = Math.min(region.x1, (col + 1) * tileWidth);
  const iy1 = Math.min(region.y1, (row + 1) * tileHeight);
  const x = ix0 - col * tileWidth;
  const y = iy0 - row * tileHeight;
  return {
    x,
    y,
    w: ix1 - ix0,
    h: iy1 - iy0,
    tileOffset: (y * tileWidth + x) * 4,
    regionOffset: ((iy0 - region.ly) * regionWidth + (ix0 - region.lx)) * 4,
  };
}

/** Copies the part of a decoded tile (tileWidth x tileHeight RGBA) inside the region into its pixels. */
export function copyTileIntoRegion(
  copyRect: RectCopier,
  tile: Uint8Array,
  col: number,
  row: number,
  tileWidth: number,
  tileHeight: number,
  region: RegionBox,
  out: Uint8Array,
  regionWidth: number,
): void {
  const p = tilePartInRegion(col, row, tileWidth, tileHeight, region, regionWidth);
  if (p.w <= 0 || p.h <= 0) return;
  copyRect(tile, p.tileOffset, tileWidth * 4, out, p.regionOffset, regionWidth * 4, p.w * 4, p.h);
}
