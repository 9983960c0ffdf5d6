/**
 * Deep Zoom tiles for OpenSeadragon, with the semantics of OpenSlide's DeepZoomGenerator (geometry in
 * deepzoom-grid.ts): regions flattened on white and scaled down (Lanczos) when the slide level is finer
 * than the Deep Zoom level; JPEG quality 75.
 *
 * Each tile has one source, decided by its place in the pyramid: a stored JPEG tile passed through as it
 * is (same grid, no overlap, same level size, tile fully inside the image), a block of a reduced copy of
 * the level (reduced-levels.ts) for tiles far coarser than their slide level, or else the reader's
 * encodeRegion. `deepZoomFor(reader)` picks tile size = stored tile size and overlap 0 for slides whose
 * level 0 is square JPEG tiles, so that pass-through is the common case; pass explicit options for the
 * OpenSlide defaults (254, 1).
 */
import type { SlideReader } from './types.js';
import { sharedDecodePool, type DecodePool } from './worker/decode-pool.js';
import { DeepZoomGrid, type DeepZoomDescriptor, type DeepZoomTileInfo } from './deepzoom-grid.js';
import { reducedLevelsOf, type ReducedLevels, type ReducedCopy } from './reduced-levels.js';
import { encodeInPool } from './encode.js';

export { bestLevelForDownsample, type DeepZoomDescriptor, type DeepZoomTileInfo } from './deepzoom-grid.js';
export type { ReducedCopy } from './reduced-levels.js';

export interface DeepZoomOptions {
  tileSize?: number;
  overlap?: number;
  /** Only show the non-empty slide area (openslide.bounds-* properties), as OpenSlide's option. */
  limitBounds?: boolean;
  format?: 'jpeg' | 'png';
  quality?: number;
  pool?: DecodePool;
}

/** Where the coarsest tile of a slide comes from, when that is a reduced copy (DeepZoom.firstReduction). */
interface FirstReduction {
  slideLevel: number;
  levelPixels: number;
  /** The first reduction, the copy that reads the level. */
  factor: number;
  /** The coarsest tile's reduction. */
  coarsestFactor: number;
}

export class DeepZoom {
  readonly format: 'jpeg' | 'png';
  readonly quality: number;
  private readonly grid: DeepZoomGrid;
  private readonly pool: DecodePool;
  private readonly reduced: ReducedLevels;
  private firstReductionMemo?: FirstReduction | null;
  /** Tiles served from stored bytes vs rendered, for tests and benchmarks. */
  readonly stats = { passthrough: 0, rendered: 0 };

  constructor(
    readonly reader: SlideReader,
    options: DeepZoomOptions = {},
  ) {
    this.format = options.format ?? 'jpeg';
    this.quality = options.quality ?? 75;
    this.pool = options.pool ?? sharedDecodePool();
    this.grid = new DeepZoomGrid(
      reader.metadata,
      options.tileSize ?? 254,
      options.overlap ?? 1,
      options.limitBounds ?? false,
    );
    this.reduced = reducedLevelsOf(reader, this.pool);
  }

  get tileSize(): number {
    return this.grid.tileSize;
  }

  get overlap(): number {
    return this.grid.overlap;
  }

  /** Deep Zoom level dimensions, level 0 = 1x1. */
  get levelDimensions(): [number, number][] {
    return this.grid.levelDimensions;
  }

  get levelTiles(): [number, number][] {
    return this.grid.levelTiles;
  }

  get levelCount(): number {
    return this.grid.levelCount;
  }

  descriptor(): DeepZoomDescriptor {
    return this.grid.descriptor(this.format);
  }

  /** Where a Deep Zoom tile comes from (DeepZoomGenerator._get_tile_info). */
  tileInfo(level: number, col: number, row: number): DeepZoomTileInfo {
    return this.grid.tileInfo(level, col, row);
  }

  /** Encoded tile bytes; RangeError for a level or tile address outside the pyramid. */
  async tile(level: number, col: number, row: number): Promise<Uint8Array> {
    if (!this.grid.hasTile(level, col, row))
      throw new RangeError(`Deep Zoom tile ${level}/${col}_${row} does not exist`);
    const stored = this.format === 'jpeg' ? this.grid.storedTileAt(level, col, row) : undefined;
    if (stored && this.reader.storedJpegTile) {
      const bytes = await this.reader.storedJpegTile(stored.slideLevel, stored.col, stored.row);
      if (bytes) {
        this.stats.passthrough++;
        return bytes;
      }
      // Nothing stored (an empty tile): rendered like any other.
    }
    const info = this.grid.tileInfo(level, col, row);
    this.stats.rendered++;
    const factor = this.reduced.factorFor(info);
    const encoding = {
      outWidth: info.width,
      outHeight: info.height,
      type: this.format,
      quality: this.quality,
    };
    // The reduced copies are flattened already.
    if (factor)
      return encodeInPool(this.pool, await this.reduced.block(info, factor), { ...encoding, flatten: false });
    const { slideLevel, l0x, l0y, readWidth, readHeight } = info;
    return this.reader.encodeRegion(slideLevel, l0x, l0y, readWidth, readHeight, {
      ...encoding,
      flatten: true,
    });
  }

  /**
   * Where the coarsest tile (level 0) comes from, when that is a reduced copy: the slide level, the first
   * reduction of it (the copy that reads the level) and the coarsest one. Fixed per slide, so worked out once.
   */
  private firstReduction(): FirstReduction | undefined {
    if (this.firstReductionMemo === undefined) {
      const info = this.grid.tileInfo(0, 0, 0);
      const coarsestFactor = this.reduced.factorFor(info);
      const sl = this.reader.metadata.levels[info.slideLevel]!;
      this.firstReductionMemo = coarsestFactor
        ? {
            slideLevel: info.slideLevel,
            levelPixels: sl.width * sl.height,
            factor: this.reduced.firstFactor(info.slideLevel),
            coarsestFactor,
          }
        : null;
    }
    return this.firstReductionMemo ?? undefined;
  }

  /**
   * Starts, in the background, what a first screen of this slide will wait for: the reduced copies that
   * the coarse Deep Zoom levels of a single-level slide come from (the first one reads the whole level,
   * unless seeded with a kept copy; the coarser ones reduce it further). The viewer asks for a slide's
   * details before it asks for tiles, so the work gets that head start.
   */
  prepare(): void {
    const first = this.firstReduction();
    if (first) this.reduced.level(first.slideLevel, first.coarsestFactor).catch(() => {}); // tiles report errors
  }

  /**
   * The first reduced copy the coarse levels come from (every coarser copy derives from it cheaply), for
   * slides where building it means reading a large level (at least `minLevelPixels`); undefined otherwise.
   * Kept on disk by the project (made at import), it spares the first screen that read.
   */
  async firstReducedCopy(minLevelPixels = 0): Promise<ReducedCopy | undefined> {
    const first = this.firstReduction();
    if (!first || first.levelPixels < minLevelPixels) return undefined;
    const image = await this.reduced.level(first.slideLevel, first.factor);
    return { slideLevel: first.slideLevel, factor: first.factor, ...image };
  }

  /** True while coarse tiles of this slide would have to build their reduced copy by reading the level. */
  wantsReducedCopy(): boolean {
    const first = this.firstReduction();
    return first !== undefined && !this.reduced.has(first.slideLevel, first.factor);
  }

  /**
   * Uses a copy made by firstReducedCopy (kept on disk, still loading) instead of reading the level again:
   * coarse tiles asked for meanwhile wait for it; should it be missing or not this slide's (level, factor,
   * size), the level is read after all.
   */
  seedReducedCopy(loading: Promise<ReducedCopy | undefined>): void {
    const first = this.firstReduction();
    if (!first || !this.wantsReducedCopy()) return;
    this.reduced.seed(first.slideLevel, loading);
  }
}

/**
 * Deep Zoom with the tile grid chosen for the slide: the stored tile size and no overlap when level
 * 0 is square JPEG tiles (so stored tiles pass through), otherwise OpenSlide's 254 px + 1 overlap.
 */
export function deepZoomFor(reader: SlideReader, options: DeepZoomOptions = {}): DeepZoom {
  const l0 = reader.metadata.levels[0]!;
  const passthrough =
    l0.jpegTiles === true &&
    reader.storedJpegTile !== undefined &&
    l0.tileWidth === l0.tileHeight &&
    l0.tileWidth >= 128 &&
    l0.tileWidth <= 1024;
  const auto = passthrough ? { tileSize: l0.tileWidth, overlap: 0 } : { tileSize: 254, overlap: 1 };
  return new DeepZoom(reader, { ...auto, ...options });
}

/** The DZI descriptor (XML and OpenSeadragon JSON) of the per-slide grid `deepZoomFor` chooses. */
export function deepZoomDescriptor(reader: SlideReader, options: DeepZoomOptions = {}): DeepZoomDescriptor {
  return deepZoomFor(reader, options).descriptor();
}
