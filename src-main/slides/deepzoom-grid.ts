/**
 * The geometry of a Deep Zoom pyramid over a slide, with the semantics of OpenSlide's DeepZoomGenerator
 * (openslide-python): levels halve with ceil down to 1x1; each Deep Zoom level reads from the best slide
 * level for its downsample; tiles carry `overlap` pixels on inner edges; regions are read rounded down in
 * position and up in size. Also which tiles are exactly one stored JPEG tile (pass-through).
 */
import type { SlideMetadata } from './types.js';

/** Where one Deep Zoom tile comes from (DeepZoomGenerator._get_tile_info). */
export interface DeepZoomTileInfo {
  /** The slide level read. */
  slideLevel: number;
  /** Top-left corner of the region read, in level-0 pixels (readRegion's x, y). */
  l0x: number;
  l0y: number;
  /** Size of the region read, in pixels of the slide level. */
  readWidth: number;
  readHeight: number;
  /** Size of the tile (the region scaled to the Deep Zoom level). */
  width: number;
  height: number;
}

/** A stored tile that is exactly one Deep Zoom tile: its slide level and address. */
export interface StoredTileAddress {
  slideLevel: number;
  col: number;
  row: number;
}

export interface DeepZoomDescriptor {
  tileSize: number;
  overlap: number;
  format: 'jpeg' | 'png';
  width: number;
  height: number;
  /** The DZI XML OpenSeadragon loads. */
  xml: string;
  /** The same as OpenSeadragon's inline tile source object ({ Image: { ... } }). */
  json: {
    Image: {
      xmlns: string;
      Format: string;
      Overlap: string;
      TileSize: string;
      Size: { Width: string; Height: string };
    };
  };
}

export class DeepZoomGrid {
  /** Deep Zoom level dimensions, level 0 = 1x1. */
  readonly levelDimensions: [number, number][];
  readonly levelTiles: [number, number][];
  private readonly slideLevelOf: number[];
  private readonly l0Offset: [number, number];

  constructor(
    private readonly metadata: SlideMetadata,
    readonly tileSize: number,
    readonly overlap: number,
    /** Only show the non-empty slide area (openslide.bounds-* properties), as OpenSlide's option. */
    limitBounds = false,
  ) {
    if (!Number.isInteger(tileSize) || tileSize < 1)
      throw new RangeError('tile size must be a positive integer');
    if (!Number.isInteger(overlap) || overlap < 0)
      throw new RangeError('overlap must be a non-negative integer');
    const { levels, properties } = metadata;
    const l0 = levels[0]!;
    let size: [number, number] = [l0.width, l0.height];
    this.l0Offset = [0, 0];
    if (limitBounds) {
      const bx = Number(properties['openslide.bounds-x'] ?? 0);
      const by = Number(properties['openslide.bounds-y'] ?? 0);
      const bw = Number(properties['openslide.bounds-width'] ?? 0);
      const bh = Number(properties['openslide.bounds-height'] ?? 0);
      this.l0Offset = [bx || 0, by || 0];
      size = [bw || l0.width, bh || l0.height];
    }
    const dims: [number, number][] = [size];
    let z = size;
    while (z[0] > 1 || z[1] > 1) {
      z = [Math.max(1, Math.ceil(z[0] / 2)), Math.max(1, Math.ceil(z[1] / 2))];
      dims.push(z);
    }
    this.levelDimensions = dims.reverse();
    this.levelTiles = this.levelDimensions.map(([w, h]) => [
      Math.ceil(w / tileSize),
      Math.ceil(h / tileSize),
    ]);
    const n = this.levelDimensions.length;
    this.slideLevelOf = this.levelDimensions.map((_, zl) =>
      bestLevelForDownsample(
        levels.map((l) => l.downsample),
        2 ** (n - 1 - zl),
      ),
    );
  }

  get levelCount(): number {
    return this.levelDimensions.length;
  }

  /** True when (level, col, row) is a tile of this pyramid. */
  hasTile(level: number, col: number, row: number): boolean {
    const tiles = this.levelTiles[level];
    return (
      tiles !== undefined &&
      Number.isInteger(col) &&
      Number.isInteger(row) &&
      col >= 0 &&
      row >= 0 &&
      col < tiles[0] &&
      row < tiles[1]
    );
  }

  /** Where a Deep Zoom tile comes from (DeepZoomGenerator._get_tile_info). */
  tileInfo(level: number, col: number, row: number): DeepZoomTileInfo {
    const slideLevel = this.slideLevelOf[level]!;
    const sl = this.metadata.levels[slideLevel]!;
    const lzDownsample = 2 ** (this.levelCount - 1 - level) / sl.downsample;
    const [zw, zh] = this.levelDimensions[level]!;
    const [tx, ty] = this.levelTiles[level]!;
    const axis = (t: number, tLim: number, zLim: number, lLim: number, off: number) => {
      const tl = this.overlap * (t !== 0 ? 1 : 0);
      const br = this.overlap * (t !== tLim - 1 ? 1 : 0);
      const zSize = Math.min(this.tileSize, zLim - this.tileSize * t) + tl + br;
      const lLoc = lzDownsample * (this.tileSize * t - tl);
      const l0 = Math.trunc(sl.downsample * lLoc + off);
      const lSize = Math.trunc(Math.min(Math.ceil(lzDownsample * zSize), lLim - Math.ceil(lLoc)));
      return { zSize, l0, lSize };
    };
    const ax = axis(col, tx, zw, sl.width, this.l0Offset[0]);
    const ay = axis(row, ty, zh, sl.height, this.l0Offset[1]);
    return {
      slideLevel,
      l0x: ax.l0,
      l0y: ay.l0,
      readWidth: Math.max(1, ax.lSize),
      readHeight: Math.max(1, ay.lSize),
      width: ax.zSize,
      height: ay.zSize,
    };
  }

  /**
   * The stored JPEG tile that is exactly this Deep Zoom tile (same grid, no overlap, same level size, tile
   * fully inside the image), or undefined. JPEG output only: the stored bytes are served as they are.
   */
  storedTileAt(level: number, col: number, row: number): StoredTileAddress | undefined {
    if (this.overlap !== 0 || this.l0Offset[0] !== 0 || this.l0Offset[1] !== 0) return undefined;
    const slideLevel = this.slideLevelOf[level]!;
    const sl = this.metadata.levels[slideLevel]!;
    const [zw, zh] = this.levelDimensions[level]!;
    if (!sl.jpegTiles || sl.width !== zw || sl.height !== zh) return undefined;
    if (sl.tileWidth !== this.tileSize || sl.tileHeight !== this.tileSize) return undefined;
    if ((col + 1) * this.tileSize > zw || (row + 1) * this.tileSize > zh) return undefined;
    return { slideLevel, col, row };
  }

  descriptor(format: 'jpeg' | 'png'): DeepZoomDescriptor {
    const [width, height] = this.levelDimensions[this.levelCount - 1]!;
    const xmlns = 'http://schemas.microsoft.com/deepzoom/2008';
    const xml =
      `<?xml version="1.0" encoding="UTF-8"?>\n` +
      `<Image xmlns="${xmlns}" Format="${format}" Overlap="${this.overlap}" TileSize="${this.tileSize}">` +
      `<Size Width="${width}" Height="${height}"/></Image>\n`;
    return {
      tileSize: this.tileSize,
      overlap: this.overlap,
      format,
      width,
      height,
      xml,
      json: {
        Image: {
          xmlns,
          Format: format,
          Overlap: String(this.overlap),
          TileSize: String(this.tileSize),
          Size: { Width: String(width), Height: String(height) },
        },
      },
    };
  }
}

/** OpenSlide 3.4's openslide_get_best_level_for_downsample: the last level with downsample <= d. */
export function bestLevelForDownsample(downsamples: number[], d: number): number {
  if (d < downsamples[0]!) return 0;
  for (let i = 1; i < downsamples.length; i++) if (d < downsamples[i]!) return i - 1;
  return downsamples.length - 1;
}
