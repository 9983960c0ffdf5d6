/** The reader contract every slide backend implements (modelled on QuPath's ImageServer). */

/**
 * The region-size limit: one readRegion call (API, CLI `slide region`) returns at most 8192 x 8192 pixels'
 * worth (64 Mpx = 256 MiB of RGBA); larger areas are read in pieces. Checked before anything is allocated.
 */
export const MAX_REGION_PIXELS = 1 << 26;

/** Hints for one readRegion call; the pixels are the same with or without them. */
export interface RegionReadOptions {
  /**
   * The caller will soon read other regions that share this one's stored tiles (the next row of a patch
   * grid): decode its missing tiles whole and keep them in the cache, rather than only the part this region
   * needs (which a reader may do for a first, possibly lone, request, and then decode the tile again).
   */
  tilesReused?: boolean;
}

/** Why a w x h region cannot be read in one call, as one sentence; undefined when it can. */
export function regionSizeProblem(w: number, h: number): string | undefined {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 0 || h < 0)
    return `A region's width and height must be whole numbers of pixels, not ${w} x ${h}.`;
  if (w * h > MAX_REGION_PIXELS) {
    return (
      `A region of ${w} x ${h} pixels is too large: one read returns at most ${MAX_REGION_PIXELS} pixels ` +
      `(8192 x 8192, 256 MiB of RGBA); read larger areas in pieces.`
    );
  }
  return undefined;
}

/** Throws regionSizeProblem's sentence as a RangeError. */
export function checkRegionSize(w: number, h: number): void {
  const problem = regionSizeProblem(w, h);
  if (problem) throw new RangeError(problem);
}

export interface SlideLevel {
  width: number;
  height: number;
  /** Level-0 pixels per pixel of this level (OpenSlide: mean of the x and y ratios). */
  downsample: number;
  /** Native tile size of the level (what a region read decodes in one piece). */
  tileWidth: number;
  tileHeight: number;
  /** True when the level is stored as JPEG tiles that `storedJpegTile` can hand out as they are. */
  jpegTiles?: boolean;
}

export type SlideBackendName = 'tiff' | 'openslide';

export interface SlideMetadata {
  /** Format family: 'aperio', 'generic-tiff', or OpenSlide's vendor name ('mirax', 'hamamatsu', ...). */
  vendor: string;
  /** Which backend opened the file. */
  backend: SlideBackendName;
  levels: SlideLevel[];
  /** Micrometres per pixel at level 0, where the file says. */
  mppX?: number;
  mppY?: number;
  /** Scanning objective magnification (e.g. 20, 40), where the file says. */
  objectivePower?: number;
  /** Scanner and format properties, OpenSlide-style names (e.g. 'aperio.AppMag', 'tiff.Software'). */
  properties: Record<string, string>;
  /** Names of associated images available: 'thumbnail', 'label', 'macro', ... */
  associatedImages: string[];
  /**
   * What of the file could not be read although the slide opens, one sentence each, fit to show as they
   * are (a truncated file whose associated images are missing); empty for a sound file.
   */
  problems: string[];
}

export interface RgbaImage {
  width: number;
  height: number;
  /** width x height x 4 bytes, straight (not premultiplied) alpha. */
  rgba: Uint8Array;
}

export interface RegionEncoding {
  outWidth: number;
  outHeight: number;
  flatten: boolean;
  type: 'jpeg' | 'png';
  quality: number;
}

export interface SlideReader {
  /** Unique per file version (path, size, mtime); prefix of every cache key of this reader. */
  readonly id: string;
  readonly path: string;
  readonly metadata: SlideMetadata;
  /**
   * RGBA pixels of a w x h rectangle of `level`, whose top-left corner is (x, y) in level-0
   * coordinates (OpenSlide semantics: x/y are divided by the level downsample, rounded down; pixels
   * outside the image are transparent black). With `into` (w x h x 4 bytes), the pixels are written
   * there and `into` is returned, so callers can reuse buffers. `options` are hints that never change the
   * pixels (see RegionReadOptions).
   */
  readRegion(
    level: number,
    x: number,
    y: number,
    w: number,
    h: number,
    into?: Uint8Array,
    options?: RegionReadOptions,
  ): Promise<Uint8Array>;
  /**
   * Optional: starts reading the stored tiles of a region the caller will read soon (whole, into the tile
   * cache), so that decoding a batch of regions keeps every decode worker busy from the start. Resolves
   * when they are read; never rejects (the read itself reports a failure).
   */
  prefetchRegion?(level: number, x: number, y: number, w: number, h: number): Promise<void>;
  /**
   * readRegion, then optionally flatten onto white, resize to outWidth x outHeight and encode (in one
   * worker task where the reader can: the tiles are decoded there, straight into the tile cache).
   */
  encodeRegion(
    level: number,
    x: number,
    y: number,
    w: number,
    h: number,
    encoding: RegionEncoding,
  ): Promise<Uint8Array>;
  /**
   * The whole of `level` box-reduced by `factor` (Pillow's Image.reduce), optionally flattened onto white
   * first: what reading the level and reducing it gives, computed tile by tile in the decode workers
   * without composing the full-size level. Undefined where the reader cannot (the caller reads the level).
   */
  readLevelReduced?(level: number, factor: number, flattenOnWhite: boolean): Promise<RgbaImage | undefined>;
  readAssociatedImage(name: string): Promise<RgbaImage>;
  /**
   * The stored tile as a complete JPEG file (tables merged, colour space marked), when the level is
   * stored as JPEG tiles; undefined otherwise. Lets Deep Zoom serve stored bytes without re-encoding.
   */
  storedJpegTile?(level: number, col: number, row: number): Promise<Uint8Array | undefined>;
  close(): Promise<void>;
}

/** A backend that can open some slide files. Registered with the slide registry. */
export interface SlideBackend {
  name: SlideBackendName;
  /**
   * How well this backend can open the file: 0 = not at all, 1 = it is made for it. `head` holds the
   * first bytes of the file. Must be cheap and must not throw.
   */
  score(path: string, head: Uint8Array): Promise<number>;
  open(path: string): Promise<SlideReader>;
}
