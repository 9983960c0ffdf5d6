/**
 * Box-reduced copies of whole slide levels, kept per open slide: what coarse Deep Zoom tiles come from.
 *
 * Tiles far coarser than the slide level they come from (single-level slides, or the small Deep Zoom
 * levels below a pyramid's last level) would each read and scale a huge region. Pillow's thumbnail,
 * which OpenSlide's tiles go through, first box-reduces by floor(scale / 2); box reductions compose, so a
 * once-per-slide box-reduced copy of the level (by 2, 4, 16 or 64) gives the same intermediate image for
 * every such tile at a fraction of the cost. Only the first copy of a level reads it; each coarser copy
 * reduces the next finer one.
 *
 * Memory stays bounded whatever the level's size (single-level slides of 100k x 100k pixels): the first
 * copy is built piece by piece, in the decode workers tile by tile where the reader can (readLevelReduced),
 * else from regions of a few megapixels; it is by 2 for levels up to 16 Mpx, by 4 up to 64 Mpx and by 16
 * beyond (at most 1/256 of the level: 25 MiB for 40k x 40k). Deep Zoom tiles finer than the first copy
 * read their region, at most 16 times the tile's side (4128 x 4128 pixels).
 */
import { MAX_REGION_PIXELS, type RgbaImage, type SlideReader } from './types.js';
import type { RgbaPixels } from './codecs/box-reduce.js';
import { rectCopier } from './codecs/native-pixels.js';
import type { DeepZoomTileInfo } from './deepzoom-grid.js';
import type { DecodePool } from './worker/decode-pool.js';

/** Reductions kept per level, coarsest first. */
const REDUCTION_FACTORS = [64, 16, 4, 2];

/** A level box-reduced by `factor` after flattening onto white: what coarse Deep Zoom tiles come from. */
export interface ReducedCopy extends RgbaPixels {
  slideLevel: number;
  factor: number;
}

export class ReducedLevels {
  private readonly copies = new Map<string, Promise<RgbaPixels>>();

  constructor(
    private readonly reader: SlideReader,
    private readonly pool: DecodePool,
  ) {}

  /**
   * The first reduction of a slide level, the copy that reads it: by 2 for levels up to 16 Mpx (a copy of
   * 4 Mpx at most), by 4 up to 64 Mpx, else by 16.
   */
  firstFactor(slideLevel: number): number {
    const sl = this.reader.metadata.levels[slideLevel]!;
    const pixels = sl.width * sl.height;
    return pixels <= MAX_REGION_PIXELS / 4 ? 2 : pixels <= MAX_REGION_PIXELS ? 4 : 16;
  }

  /** The reduced copy a Deep Zoom tile comes from, or undefined when it reads the level. */
  factorFor(info: DeepZoomTileInfo): number | undefined {
    const pillowFactor = Math.floor(Math.min(info.readWidth / info.width, info.readHeight / info.height) / 2);
    const first = this.firstFactor(info.slideLevel);
    return REDUCTION_FACTORS.find((f) => f <= pillowFactor && f >= first);
  }

  /**
   * The coarsest copy of a level at least `width` x `height` pixels (the first copy if none is), for
   * thumbnails of levels too large to read whole.
   */
  coarsestAtLeast(slideLevel: number, width: number, height: number): Promise<RgbaPixels> {
    const sl = this.reader.metadata.levels[slideLevel]!;
    const first = this.firstFactor(slideLevel);
    const factor =
      REDUCTION_FACTORS.find(
        (f) => f >= first && Math.ceil(sl.width / f) >= width && Math.ceil(sl.height / f) >= height,
      ) ?? first;
    return this.level(slideLevel, factor);
  }

  /** The block of the level's copy reduced by `factor` that covers a Deep Zoom tile's region. */
  async block(info: DeepZoomTileInfo, factor: number): Promise<RgbaImage> {
    const sl = this.reader.metadata.levels[info.slideLevel]!;
    const image = await this.level(info.slideLevel, factor);
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
    return { rgba, width: w, height: h };
  }

  /** True when the copy is made or being made (or seeded). */
  has(slideLevel: number, factor: number): boolean {
    return this.copies.has(copyKey(slideLevel, factor));
  }

  /**
   * Uses a copy kept elsewhere (still loading) as the level's first reduced copy instead of reading the
   * level: requests meanwhile wait for it; should it be missing or not this level's (factor, size), the
   * level is read after all.
   */
  seed(slideLevel: number, loading: Promise<ReducedCopy | undefined>): void {
    const factor = this.firstFactor(slideLevel);
    const key = copyKey(slideLevel, factor);
    const image = loading
      .catch(() => undefined)
      .then((copy) => {
        const fitting = copy && this.fitting(copy, slideLevel, factor);
        if (fitting) return fitting;
        this.copies.delete(key);
        return this.level(slideLevel, factor);
      });
    this.copies.set(key, image);
  }

  /** The copy's pixels if it is this level's copy reduced by `factor` (and of the right size), else undefined. */
  private fitting(copy: ReducedCopy, slideLevel: number, factor: number): RgbaPixels | undefined {
    if (copy.slideLevel !== slideLevel || copy.factor !== factor) return undefined;
    const sl = this.reader.metadata.levels[slideLevel]!;
    const width = Math.ceil(sl.width / factor);
    const height = Math.ceil(sl.height / factor);
    if (copy.width !== width || copy.height !== height || copy.rgba.length !== width * height * 4)
      return undefined;
    return { rgba: copy.rgba, width, height };
  }

  /** The level box-reduced by `factor` (one of the kept reductions, no finer than the first). */
  level(slideLevel: number, factor: number): Promise<RgbaPixels> {
    const key = copyKey(slideLevel, factor);
    let image = this.copies.get(key);
    if (!image) {
      image = this.make(slideLevel, factor);
      image.catch(() => this.copies.delete(key));
      this.copies.set(key, image);
    }
    return image;
  }

  private async make(slideLevel: number, factor: number): Promise<RgbaPixels> {
    const sl = this.reader.metadata.levels[slideLevel]!;
    const firstFactor = this.firstFactor(slideLevel);
    let source: RgbaPixels;
    let step: number;
    if (factor === firstFactor) {
      // Tile by tile in the workers where the reader can: the same pixels without a full-size copy.
      const direct = await this.reader.readLevelReduced?.(slideLevel, factor, true);
      if (direct) return direct;
      if (sl.width * sl.height > MAX_REGION_PIXELS / 4) return this.reduceInPieces(slideLevel, factor);
      source = {
        rgba: await this.reader.readRegion(slideLevel, 0, 0, sl.width, sl.height),
        width: sl.width,
        height: sl.height,
      };
      step = factor;
    } else {
      const finer = REDUCTION_FACTORS.find((f) => f < factor && f >= firstFactor)!;
      source = await this.level(slideLevel, finer);
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
  }

  /**
   * The level flattened and box-reduced by `factor`, read in square pieces of PIECE pixels (multiples of
   * the factor, so reduction blocks never straddle pieces and the pixels are those of reducing the whole
   * level): memory is the copy plus a few pieces. For readers that cannot reduce tile by tile themselves.
   */
  private async reduceInPieces(slideLevel: number, factor: number): Promise<RgbaPixels> {
    const sl = this.reader.metadata.levels[slideLevel]!;
    const width = Math.ceil(sl.width / factor);
    const height = Math.ceil(sl.height / factor);
    const rgba = new Uint8Array(width * height * 4);
    const copyRect = rectCopier();
    const pieces: [number, number][] = [];
    for (let y = 0; y < sl.height; y += PIECE) for (let x = 0; x < sl.width; x += PIECE) pieces.push([x, y]);
    const one = async ([x, y]: [number, number]) => {
      const w = Math.min(PIECE, sl.width - x);
      const h = Math.min(PIECE, sl.height - y);
      // Level-0 coordinates that readRegion divides back to exactly (x, y) of the level.
      const pixels = await this.reader.readRegion(
        slideLevel,
        Math.ceil(x * sl.downsample),
        Math.ceil(y * sl.downsample),
        w,
        h,
      );
      const reduced = await this.pool.run(
        { kind: 'reduce', rgba: pixels, width: w, height: h, factor, flatten: true },
        pixels.buffer instanceof ArrayBuffer ? [pixels.buffer] : [],
      );
      const bw = Math.ceil(w / factor);
      copyRect(
        reduced,
        0,
        bw * 4,
        rgba,
        ((y / factor) * width + x / factor) * 4,
        width * 4,
        bw * 4,
        Math.ceil(h / factor),
      );
    };
    // A few pieces at a time: the decode workers stay busy and memory stays a few pieces.
    let next = 0;
    const lanes = Array.from({ length: Math.max(1, this.pool.size) }, async () => {
      while (next < pieces.length) await one(pieces[next++]!);
    });
    await Promise.all(lanes);
    return { rgba, width, height };
  }
}

/** Side of the pieces reduceInPieces reads (a multiple of every factor: 4 Mpx, 16 MiB of RGBA). */
const PIECE = 2048;

/** The key of a level's copy reduced by `factor`. */
function copyKey(slideLevel: number, factor: number): string {
  return `${slideLevel}/${factor}`;
}

const perReader = new WeakMap<SlideReader, ReducedLevels>();

/**
 * The reduced copies of an open slide, shared by everything that uses them (Deep Zoom, thumbnails), so a
 * level is read once; they go with the reader. The first caller's pool does the reducing.
 */
export function reducedLevelsOf(reader: SlideReader, pool: DecodePool): ReducedLevels {
  let levels = perReader.get(reader);
  if (!levels) {
    levels = new ReducedLevels(reader, pool);
    perReader.set(reader, levels);
  }
  return levels;
}
