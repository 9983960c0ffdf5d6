/**
 * Deep Zoom tiles for OpenSeadragon, with the semantics of OpenSlide's DeepZoomGenerator
 * (openslide-python): levels halve with ceil down to 1x1; each Deep Zoom level reads from the best
 * slide level for its downsample; tiles carry `overlap` pixels on inner edges; regions are read
 * rounded down in position and up in size, flattened on white and scaled down (Lanczos) when the
 * slide level is finer than the Deep Zoom level; JPEG quality 75.
 *
 * Stored-tile pass-through: when a Deep Zoom tile covers exactly one stored JPEG tile (same grid, no
 * overlap, same level size, tile fully inside the image), the stored JPEG bytes are returned as
 * they are. `deepZoomFor(reader)` picks tile size = stored tile size and overlap 0 for slides whose
 * level 0 is square JPEG tiles, so that this is the common case; pass explicit options for the
 * OpenSlide defaults (254, 1).
 */
import { MAX_REGION_PIXELS, type SlideReader } from './types.js';
import type { RgbaPixels } from './codecs/box-reduce.js';
import { sharedDecodePool, type DecodePool } from './worker/decode-pool.js';

export interface DeepZoomOptions {
  tileSize?: number;
  overlap?: number;
  /** Only show the non-empty slide area (openslide.bounds-* properties), as OpenSlide's option. */
  limitBounds?: boolean;
  format?: 'jpeg' | 'png';
  quality?: number;
  pool?: DecodePool;
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

export class DeepZoom {
  readonly tileSize: number;
  readonly overlap: number;
  readonly format: 'jpeg' | 'png';
  readonly quality: number;
  /** Deep Zoom level dimensions, level 0 = 1x1. */
  readonly levelDimensions: [number, number][];
  readonly levelTiles: [number, number][];
  private readonly slideLevelOf: number[];
  private readonly l0Offset: [number, number];
  private readonly pool: DecodePool;
  private readonly reducedLevels = new Map<string, Promise<RgbaPixels>>();
  private firstReductionMemo?: FirstReduction | null;
  /** Tiles served from stored bytes vs rendered, for tests and benchmarks. */
  readonly stats = { passthrough: 0, rendered: 0 };

  constructor(
    readonly reader: SlideReader,
    options: DeepZoomOptions = {},
  ) {
    this.tileSize = options.tileSize ?? 254;
    this.overlap = options.overlap ?? 1;
    this.format = options.format ?? 'jpeg';
    this.quality = options.quality ?? 75;
    this.pool = options.pool ?? sharedDecodePool();
    if (!Number.isInteger(this.tileSize) || this.tileSize < 1)
      throw new RangeError('tile size must be a positive integer');
    if (!Number.isInteger(this.overlap) || this.overlap < 0)
      throw new RangeError('overlap must be a non-negative integer');
    const { levels, properties } = reader.metadata;
    const l0 = levels[0]!;
    let size: [number, number] = [l0.width, l0.height];
    this.l0Offset = [0, 0];
    if (options.limitBounds) {
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
      Math.ceil(w / this.tileSize),
      Math.ceil(h / this.tileSize),
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

  descriptor(): DeepZoomDescriptor {
    const [width, height] = this.levelDimensions[this.levelCount - 1]!;
    const xmlns = 'http://schemas.microsoft.com/deepzoom/2008';
    const xml =
      `<?xml version="1.0" encoding="UTF-8"?>\n` +
      `<Image xmlns="${xmlns}" Format="${this.format}" Overlap="${this.overlap}" TileSize="${this.tileSize}">` +
      `<Size Width="${width}" Height="${height}"/></Image>\n`;
    return {
      tileSize: this.tileSize,
      overlap: this.overlap,
      format: this.format,
      width,
      height,
      xml,
      json: {
        Image: {
          xmlns,
          Format: this.format,
          Overlap: String(this.overlap),
          TileSize: String(this.tileSize),
          Size: { Width: String(width), Height: String(height) },
        },
      },
    };
  }

  /** Encoded tile bytes; RangeError for a level or tile address outside the pyramid. */
  async tile(level: number, col: number, row: number): Promise<Uint8Array> {
    const tiles = this.levelTiles[level];
    if (
      !tiles ||
      !Number.isInteger(col) ||
      !Number.isInteger(row) ||
      col < 0 ||
      row < 0 ||
      col >= tiles[0] ||
      row >= tiles[1]
    ) {
      throw new RangeError(`Deep Zoom tile ${level}/${col}_${row} does not exist`);
    }
    const stored = await this.storedTile(level, col, row);
    if (stored) {
      this.stats.passthrough++;
      return stored;
    }
    const info = this.tileInfo(level, col, row);
    const reduced = await this.tileFromReducedLevel(info);
    if (reduced) return reduced;
    const encoding = {
      outWidth: info.width,
      outHeight: info.height,
      flatten: true,
      type: this.format,
      quality: this.quality,
    };
    // Read, compose, flatten and encode in one worker task where the reader can.
    const direct = await this.reader.encodeRegion?.(
      info.slideLevel,
      info.l0x,
      info.l0y,
      info.readWidth,
      info.readHeight,
      encoding,
    );
    if (direct) {
      this.stats.rendered++;
      return direct;
    }
    const bytes = info.readWidth * info.readHeight * 4;
    const rgba = await this.reader.readRegion(
      info.slideLevel,
      info.l0x,
      info.l0y,
      info.readWidth,
      info.readHeight,
      regionBuffers.take(bytes),
    );
    this.stats.rendered++;
    // The pixel buffer travels to the worker and back, and serves the next tile of this size.
    const [encoded, pixels] = await this.pool.runForBuffers(
      {
        kind: 'encode',
        rgba,
        width: info.readWidth,
        height: info.readHeight,
        outWidth: info.width,
        outHeight: info.height,
        flatten: true,
        type: this.format,
        quality: this.quality,
        returnPixels: true,
      },
      [rgba.buffer as ArrayBuffer],
    );
    if (pixels) regionBuffers.give(pixels);
    return encoded!;
  }

  /**
   * Tiles far coarser than the slide level they come from (single-level slides, or the small Deep Zoom
   * levels below a pyramid's last level) would each read and scale a huge region. Pillow's thumbnail,
   * which OpenSlide's tiles go through, first box-reduces by floor(scale / 2); box reductions compose,
   * so a once-per-slide box-reduced copy of the level (by 2, 4, 16 or 64) gives the same intermediate
   * image for every such tile at a fraction of the cost. Undefined when the tile is not such a case.
   */
  private async tileFromReducedLevel(
    info: ReturnType<DeepZoom['tileInfo']>,
  ): Promise<Uint8Array | undefined> {
    const factor = this.reductionFor(info);
    if (!factor) return undefined;
    const sl = this.reader.metadata.levels[info.slideLevel]!;
    const image = await this.reducedLevel(info.slideLevel, factor);
    // Level pixels of the region (readRegion's rounding), then the covering block of the reduced image.
    const lx = Math.floor(info.l0x / sl.downsample);
    const ly = Math.floor(info.l0y / sl.downsample);
    const x0 = Math.floor(lx / factor);
    const y0 = Math.floor(ly / factor);
    const w = Math.max(1, Math.min(image.width, Math.ceil((lx + info.readWidth) / factor)) - x0);
    const h = Math.max(1, Math.min(image.height, Math.ceil((ly + info.readHeight) / factor)) - y0);
    const rgba = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++) {
      const from = ((y0 + y) * image.width + x0) * 4;
      rgba.set(image.rgba.subarray(from, from + w * 4), y * w * 4);
    }
    this.stats.rendered++;
    return this.pool.run(
      {
        kind: 'encode',
        rgba,
        width: w,
        height: h,
        outWidth: info.width,
        outHeight: info.height,
        flatten: false,
        type: this.format,
        quality: this.quality,
      },
      [rgba.buffer as ArrayBuffer],
    );
  }

  /**
   * Where the coarsest tile (level 0) comes from, when that is a reduced copy: the slide level, the first
   * reduction of it (the copy that reads the level) and the coarsest one. Fixed per slide, so worked out once.
   */
  private firstReduction(): FirstReduction | undefined {
    if (this.firstReductionMemo === undefined) {
      const info = this.tileInfo(0, 0, 0);
      const coarsestFactor = this.reductionFor(info);
      const sl = this.reader.metadata.levels[info.slideLevel]!;
      const levelPixels = sl.width * sl.height;
      this.firstReductionMemo = coarsestFactor
        ? {
            slideLevel: info.slideLevel,
            levelPixels,
            factor: firstReductionFactor(levelPixels),
            coarsestFactor,
          }
        : null;
    }
    return this.firstReductionMemo ?? undefined;
  }

  /** The reduced copy a tile comes from (see tileFromReducedLevel), or undefined when it reads the level. */
  private reductionFor(info: ReturnType<DeepZoom['tileInfo']>): number | undefined {
    const pillowFactor = Math.floor(Math.min(info.readWidth / info.width, info.readHeight / info.height) / 2);
    const sl = this.reader.metadata.levels[info.slideLevel]!;
    const pixels = sl.width * sl.height;
    if (pixels > MAX_REGION_PIXELS) return undefined;
    // A copy reduced by 2 is a quarter of the level: kept only for levels of up to 16 Mpx (64 MiB).
    return REDUCTION_FACTORS.find((f) => f <= pillowFactor && (f > 2 || pixels <= MAX_REGION_PIXELS / 4));
  }

  /**
   * Starts, in the background, what a first screen of this slide will wait for: the reduced copies that
   * the coarse Deep Zoom levels of a single-level slide come from (the first one reads the whole level,
   * unless seeded with a kept copy; the coarser ones reduce it further). The viewer asks for a slide's
   * details before it asks for tiles, so the work gets that head start.
   */
  prepare(): void {
    const first = this.firstReduction();
    if (first) this.reducedLevel(first.slideLevel, first.coarsestFactor).catch(() => {}); // tiles report errors
  }

  /**
   * The first reduced copy the coarse levels come from (every coarser copy derives from it cheaply), for
   * slides where building it means reading a large level (at least `minLevelPixels`); undefined otherwise.
   * Kept on disk by the project (made at import), it spares the first screen that read.
   */
  async firstReducedCopy(minLevelPixels = 0): Promise<ReducedCopy | undefined> {
    const first = this.firstReduction();
    if (!first || first.levelPixels < minLevelPixels) return undefined;
    const image = await this.reducedLevel(first.slideLevel, first.factor);
    return { slideLevel: first.slideLevel, factor: first.factor, ...image };
  }

  /** True while coarse tiles of this slide would have to build their reduced copy by reading the level. */
  wantsReducedCopy(): boolean {
    const first = this.firstReduction();
    return first !== undefined && !this.reducedLevels.has(reducedKey(first.slideLevel, first.factor));
  }

  /**
   * Uses a copy made by firstReducedCopy (kept on disk, still loading) instead of reading the level again:
   * coarse tiles asked for meanwhile wait for it; should it be missing or not this slide's (level, factor,
   * size), the level is read after all.
   */
  seedReducedCopy(loading: Promise<ReducedCopy | undefined>): void {
    const first = this.firstReduction();
    if (!first || !this.wantsReducedCopy()) return;
    const key = reducedKey(first.slideLevel, first.factor);
    const image = loading
      .catch(() => undefined)
      .then((copy) => {
        const fitting = copy && this.fittingCopy(copy);
        if (fitting) return fitting;
        this.reducedLevels.delete(key);
        return this.reducedLevel(first.slideLevel, first.factor);
      });
    this.reducedLevels.set(key, image);
  }

  /** The copy's pixels if it is this slide's first reduced copy (level, factor and size), else undefined. */
  private fittingCopy(copy: ReducedCopy): RgbaPixels | undefined {
    const first = this.firstReduction();
    if (!first || copy.slideLevel !== first.slideLevel || copy.factor !== first.factor) return undefined;
    const sl = this.reader.metadata.levels[copy.slideLevel]!;
    const width = Math.ceil(sl.width / copy.factor);
    const height = Math.ceil(sl.height / copy.factor);
    if (copy.width !== width || copy.height !== height || copy.rgba.length !== width * height * 4)
      return undefined;
    return { rgba: copy.rgba, width, height };
  }

  /**
   * The level box-reduced by `factor`. Only the first copy reads the level (by 2 where the level is
   * small enough to keep that copy, else by 4); each coarser one reduces the next finer copy.
   */
  private reducedLevel(slideLevel: number, factor: number): Promise<RgbaPixels> {
    const key = reducedKey(slideLevel, factor);
    let image = this.reducedLevels.get(key);
    if (!image) {
      image = (async () => {
        const sl = this.reader.metadata.levels[slideLevel]!;
        const firstFactor = firstReductionFactor(sl.width * sl.height);
        let source: RgbaPixels;
        let step: number;
        // Tile by tile in the workers where the reader can: the same pixels without a full-size copy.
        const direct =
          factor === firstFactor ? await this.reader.readLevelReduced?.(slideLevel, factor, true) : undefined;
        if (direct) return direct;
        if (factor === firstFactor) {
          source = {
            rgba: await this.reader.readRegion(slideLevel, 0, 0, sl.width, sl.height),
            width: sl.width,
            height: sl.height,
          };
          step = factor;
        } else {
          const finer = REDUCTION_FACTORS.find((f) => f < factor && f >= firstFactor)!;
          source = await this.reducedLevel(slideLevel, finer);
          step = factor / finer;
        }
        const copy = source.rgba.slice();
        const rgba = await this.pool.run(
          {
            kind: 'reduce',
            rgba: copy,
            width: source.width,
            height: source.height,
            factor: step,
            flatten: factor === firstFactor,
          },
          [copy.buffer as ArrayBuffer],
        );
        return { rgba, width: Math.ceil(source.width / step), height: Math.ceil(source.height / step) };
      })();
      image.catch(() => this.reducedLevels.delete(key));
      this.reducedLevels.set(key, image);
    }
    return image;
  }

  /** Where a Deep Zoom tile comes from (DeepZoomGenerator._get_tile_info). */
  tileInfo(level: number, col: number, row: number) {
    const slideLevel = this.slideLevelOf[level]!;
    const sl = this.reader.metadata.levels[slideLevel]!;
    const n = this.levelCount;
    const lzDownsample = 2 ** (n - 1 - level) / sl.downsample;
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

  private async storedTile(level: number, col: number, row: number): Promise<Uint8Array | undefined> {
    if (this.format !== 'jpeg' || this.overlap !== 0 || this.l0Offset[0] !== 0 || this.l0Offset[1] !== 0)
      return undefined;
    if (!this.reader.storedJpegTile) return undefined;
    const slideLevel = this.slideLevelOf[level]!;
    const sl = this.reader.metadata.levels[slideLevel]!;
    const [zw, zh] = this.levelDimensions[level]!;
    if (!sl.jpegTiles || sl.width !== zw || sl.height !== zh) return undefined;
    if (sl.tileWidth !== this.tileSize || sl.tileHeight !== this.tileSize) return undefined;
    if ((col + 1) * this.tileSize > zw || (row + 1) * this.tileSize > zh) return undefined;
    return this.reader.storedJpegTile(slideLevel, col, row);
  }
}

/** A few region buffers per size, reused from tile to tile (keeps the main thread's GC quiet). */
const regionBuffers = {
  free: new Map<number, Uint8Array[]>(),
  take(bytes: number): Uint8Array {
    return this.free.get(bytes)?.pop() ?? new Uint8Array(bytes);
  },
  give(buffer: Uint8Array): void {
    if (buffer.byteOffset !== 0 || buffer.byteLength !== buffer.buffer.byteLength) return;
    const list = this.free.get(buffer.byteLength) ?? [];
    if (list.length >= 8) return;
    list.push(buffer);
    this.free.set(buffer.byteLength, list);
    // Odd sizes (edge tiles) would accumulate; keep a bounded number of sizes.
    if (this.free.size > 16) this.free.delete(this.free.keys().next().value!);
  },
};

/** Box reductions of whole levels kept per slide, coarsest first (see DeepZoom.reducedLevel). */
const REDUCTION_FACTORS = [64, 16, 4, 2];

/** OpenSlide 3.4's openslide_get_best_level_for_downsample: the last level with downsample <= d. */
export function bestLevelForDownsample(downsamples: number[], d: number): number {
  if (d < downsamples[0]!) return 0;
  for (let i = 1; i < downsamples.length; i++) if (d < downsamples[i]!) return i - 1;
  return downsamples.length - 1;
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

/** A level box-reduced by `factor` after flattening onto white: what coarse Deep Zoom tiles come from. */
export interface ReducedCopy extends RgbaPixels {
  slideLevel: number;
  factor: number;
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

/** The key of a level's copy reduced by `factor` in DeepZoom.reducedLevels. */
function reducedKey(slideLevel: number, factor: number): string {
  return `${slideLevel}/${factor}`;
}

/** The first reduction of a level of `pixels` pixels: by 2 where that copy stays within 16 Mpx, else by 4. */
function firstReductionFactor(pixels: number): number {
  return pixels <= MAX_REGION_PIXELS / 4 ? 2 : 4;
}
