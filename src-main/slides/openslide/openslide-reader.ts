/**
 * SlideReader over libopenslide, for the formats the built-in reader does not handle (MIRAX, Leica
 * SCN, Hamamatsu NDPI/VMS, Ventana BIF, ...). OpenSlide keeps its own tile cache and decodes on
 * koffi's async calls (libuv threads), so this reader is not a TiledSlideReader.
 */
import crypto from 'node:crypto';
import { stat } from 'node:fs/promises';
import type {
  RegionEncoding,
  RgbaImage,
  SlideBackend,
  SlideLevel,
  SlideMetadata,
  SlideReader,
} from '../types.js';
import { SlideError } from '../errors.js';
import { loadOpenSlide, type OpenSlideLib } from './openslide-library.js';
import { tiffLevelProblem } from './tiff-levels.js';
import { checkRegionSize } from '../types.js';
import { readAndEncodeRegion } from '../encode.js';
import { sharedDecodePool } from '../worker/decode-pool.js';

/** OpenSlide 3.4 does not report tile sizes; this is what region reads are split into. */
const DEFAULT_TILE = 256;

export class OpenSlideReader implements SlideReader {
  private closed = false;

  private constructor(
    private lib: OpenSlideLib,
    private osr: unknown,
    readonly id: string,
    readonly path: string,
    readonly metadata: SlideMetadata,
  ) {}

  static async open(lib: OpenSlideLib, path: string): Promise<OpenSlideReader> {
    let st;
    try {
      st = await stat(path);
    } catch (err) {
      throw new SlideError(path, 'the file does not exist', { cause: err });
    }
    const osr = lib.open(path);
    if (!osr) throw new SlideError(path, 'OpenSlide does not recognise the format');
    const error = lib.getError(osr);
    if (error) {
      lib.close(osr);
      throw new SlideError(path, `OpenSlide cannot read it (${error})`);
    }
    const properties: Record<string, string> = {};
    for (const name of lib.getPropertyNames(osr)) properties[name] = lib.getPropertyValue(osr, name) ?? '';
    const levels: SlideLevel[] = [];
    const count = lib.getLevelCount(osr);
    for (let i = 0; i < count; i++) {
      const [width, height] = lib.getLevelDimensions(osr, i);
      levels.push({
        width,
        height,
        downsample: lib.getLevelDownsample(osr, i),
        tileWidth: Number(properties[`openslide.level[${i}].tile-width`]) || DEFAULT_TILE,
        tileHeight: Number(properties[`openslide.level[${i}].tile-height`]) || DEFAULT_TILE,
      });
    }
    const levelProblem = await tiffLevelProblem(path, levels).catch(() => undefined);
    if (levelProblem) {
      lib.close(osr);
      throw new SlideError(path, levelProblem);
    }
    const num = (k: string) => (Number(properties[k]) > 0 ? Number(properties[k]) : undefined);
    const id = crypto
      .createHash('sha1')
      .update(`openslide\0${path}\0${st.size}\0${st.mtimeMs}`)
      .digest('hex')
      .slice(0, 16);
    return new OpenSlideReader(lib, osr, id, path, {
      vendor: properties['openslide.vendor'] ?? 'unknown',
      backend: 'openslide',
      levels,
      mppX: num('openslide.mpp-x'),
      mppY: num('openslide.mpp-y'),
      objectivePower: num('openslide.objective-power'),
      properties,
      associatedImages: lib.getAssociatedImageNames(osr),
      problems: [],
    });
  }

  async readRegion(
    level: number,
    x: number,
    y: number,
    w: number,
    h: number,
    into?: Uint8Array,
  ): Promise<Uint8Array> {
    if (this.closed) throw new SlideError(this.path, 'the slide was closed');
    if (!this.metadata.levels[level]) throw new RangeError(`level ${level} does not exist`);
    checkRegionSize(w, h);
    const dest = new Uint32Array(w * h);
    if (w > 0 && h > 0) await this.lib.readRegion(this.osr, dest, Math.floor(x), Math.floor(y), level, w, h);
    this.checkError();
    const rgba = argbToRgba(dest);
    if (!into) return rgba;
    into.set(rgba);
    return into;
  }

  encodeRegion(
    level: number,
    x: number,
    y: number,
    w: number,
    h: number,
    encoding: RegionEncoding,
  ): Promise<Uint8Array> {
    return readAndEncodeRegion(this, sharedDecodePool(), level, x, y, w, h, encoding);
  }

  async readAssociatedImage(name: string): Promise<RgbaImage> {
    if (!this.metadata.associatedImages.includes(name)) {
      throw new SlideError(this.path, `it has no associated image named "${name}"`);
    }
    const [width, height] = this.lib.getAssociatedImageDimensions(this.osr, name);
    const dest = new Uint32Array(width * height);
    await this.lib.readAssociatedImage(this.osr, name, dest);
    this.checkError();
    return { width, height, rgba: argbToRgba(dest) };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.lib.close(this.osr);
  }

  private checkError(): void {
    const error = this.lib.getError(this.osr);
    if (error) throw new SlideError(this.path, `OpenSlide failed to read it (${error})`);
  }
}

const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

/**
 * OpenSlide's premultiplied native-endian ARGB → straight RGBA bytes, in place: the returned bytes
 * share `src`'s buffer. Opaque pixels (nearly all of a slide) take one 32-bit swizzle each, which keeps
 * this at a fraction of a millisecond per tile on the main thread.
 */
export function argbToRgba(src: Uint32Array): Uint8Array {
  const out = new Uint8Array(src.buffer, src.byteOffset, src.length * 4);
  for (let i = 0; i < src.length; i++) {
    const p = src[i]!;
    const a = p >>> 24;
    if (a === 255 && LITTLE_ENDIAN) {
      // ARGB as a native (little-endian) word → the bytes R, G, B, A: swap R and B, keep G and A.
      src[i] = (p & 0xff00ff00) | ((p >>> 16) & 0xff) | ((p & 0xff) << 16);
      continue;
    }
    let r = (p >>> 16) & 0xff;
    let g = (p >>> 8) & 0xff;
    let b = p & 0xff;
    if (a === 0) r = g = b = 0;
    else if (a !== 255) {
      r = Math.min(255, Math.round((r * 255) / a));
      g = Math.min(255, Math.round((g * 255) / a));
      b = Math.min(255, Math.round((b * 255) / a));
    }
    const d = i * 4;
    out[d] = r;
    out[d + 1] = g;
    out[d + 2] = b;
    out[d + 3] = a;
  }
  return out;
}

/** Formats OpenSlide reads that the built-in reader leaves to it score high; the rest low. */
const BUILT_IN_VENDORS = new Set(['aperio', 'generic-tiff']);

export function openSlideBackend(
  log?: (msg: string) => void,
  libraryNames?: string[],
): SlideBackend | undefined {
  const lib = loadOpenSlide(log, libraryNames);
  if (!lib) return undefined;
  return {
    name: 'openslide',
    async score(file) {
      try {
        const vendor = lib.detectVendor(file);
        if (!vendor) return 0;
        return BUILT_IN_VENDORS.has(vendor) ? 0.5 : 0.9;
      } catch {
        return 0;
      }
    },
    open: (file) => OpenSlideReader.open(lib, file),
  };
}
