/**
 * The tessera_pixels addon (native/pixels): pixel work JavaScript does too slowly, called from the
 * decode workers. Optional: without the build, readers decode whole tiles and scale with @napi-rs/image.
 *
 * - Partial JPEG decoding (where libjpeg's headers were found at build time): only the rows and
 *   whole-iMCU columns a request needs are transformed, and rows below it are not even entropy-decoded.
 *   A random region or 254/1 Deep Zoom tile needs about a quarter of each of the four stored tiles it
 *   touches, which then costs about half as much as decoding them whole (test/bench/RESULTS.md). The
 *   pixels are exactly those of a whole decode (test/unit/slides/jpeg-part.test.ts).
 * - Lanczos scaling with Pillow's arithmetic (OpenSlide's Deep Zoom tiles are scaled by Pillow), about
 *   2.5 times faster than @napi-rs/image here (and equal to Pillow's output) (test/unit/slides/lanczos.test.ts).
 * - Box reduction with Pillow's rounding (test/unit/slides/box-reduce.test.ts), and rectangle copies
 *   (a tile's part into a region) in one call instead of a subarray per row.
 *
 * - Region reads on libuv's thread pool (regionPartsReader): a region whose tiles are cached or decoded
 *   in part is read, decoded and composed into the caller's buffer in one call, without a decode worker.
 *
 * TESSERA_NATIVE_PIXELS=0 switches the addon off (to compare, or to test the fallbacks);
 * TESSERA_NATIVE_REGIONS=0 only the region reads (regions then go through the decode workers);
 * TESSERA_WITHOUT=libjpeg hides only its partial JPEG decoding, as on a machine built without libjpeg's
 * headers (optional-libraries.ts).
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { packageRoot as appRoot } from '../../package-root.js';
import { isHidden } from '../optional-libraries.js';

export interface JpegPart {
  x: number;
  y: number;
  w: number;
  h: number;
}

export interface PartialJpegDecoder {
  /** Decodes `part` of a complete JPEG as RGBA into out[outOffset + row * outStride ...]. */
  decodePart(jpeg: Uint8Array, part: JpegPart, out: Uint8Array, outOffset: number, outStride: number): void;
}

/**
 * Scales the box [0, boxWidth) x [0, boxHeight) of an RGBA image to dstWidth x dstHeight with Lanczos-3
 * (the box may be fractional: after a box reduction by f, a region w pixels wide spans w / f pixels).
 */
export type LanczosResampler = (
  src: Uint8Array,
  srcWidth: number,
  srcHeight: number,
  boxWidth: number,
  boxHeight: number,
  dstWidth: number,
  dstHeight: number,
  /** Force the plain loops instead of the SSE4.1 / AVX2 ones (the same pixels; for tests). */
  portable?: boolean,
) => Uint8Array;

/**
 * Copies `rows` rows of `rowBytes` bytes from src[srcOffset + y * srcStride] to dst[dstOffset + y * dstStride]
 * (a tile's part into a region) in one call, allocating nothing.
 */
export type RectCopier = (
  src: Uint8Array,
  srcOffset: number,
  srcStride: number,
  dst: Uint8Array,
  dstOffset: number,
  dstStride: number,
  rowBytes: number,
  rows: number,
) => void;

/**
 * Writes `rows` rows of `width` RGBA pixels from src[srcOffset + y * srcStride] as packed RGB rows from
 * dst[dstOffset] on (Pillow's convert('RGB') of an RGBA image: alpha dropped).
 */
export type AlphaDropper = (
  src: Uint8Array,
  srcOffset: number,
  srcStride: number,
  dst: Uint8Array,
  dstOffset: number,
  width: number,
  rows: number,
) => void;

/**
 * Box-reduces RGBA by fx x fy (Pillow's Image.reduce, to the bit), optionally flattening onto white
 * first; the JavaScript boxReduce (box-reduce.ts) computes the same pixels, several times slower.
 */
export type BoxReducer = (
  src: Uint8Array,
  width: number,
  height: number,
  fx: number,
  fy: number,
  flattenOnWhite: boolean,
) => Uint8Array;

/**
 * Reads a region on libuv's thread pool (native/pixels/region_parts.cpp), one record of 8 numbers per step,
 * in order: a stored JPEG tile decoded in part into `out` (0, fileOffset, length, x, y, w, h, dstOffset; x..h
 * in tile pixels), the part of an RGBA tile copied into `out` (1, index into `tiles`, srcOffset, srcStride, 0,
 * w, h, dstOffset), or a stored JPEG tile decoded whole into `tiles[index]` (2, fileOffset, length, index, 0, 0,
 * 0, 0). `out` has outStride bytes a row. The descriptor, `out` and the tiles must stay as they are until it
 * settles.
 */
export type RegionPartsReader = (
  fd: number,
  records: Float64Array,
  jpegTables: Uint8Array | undefined,
  rgbComponents: boolean,
  tileWidth: number,
  tileHeight: number,
  out: Uint8Array,
  outStride: number,
  tiles: Uint8Array[],
) => Promise<void>;

interface NativePixels {
  /** BoxReducer's arguments, then the output buffer. */
  boxReduce(...args: [...Parameters<BoxReducer>, dst: Uint8Array]): void;
  resampleLanczos(
    src: Uint8Array,
    srcWidth: number,
    srcHeight: number,
    boxWidth: number,
    boxHeight: number,
    dst: Uint8Array,
    dstWidth: number,
    dstHeight: number,
    portable?: boolean,
  ): void;
  copyRect: RectCopier;
  /** Absent from builds older than this function. */
  dropAlpha?: AlphaDropper;
  decodeRegion?(
    jpeg: Uint8Array,
    x: number,
    y: number,
    w: number,
    h: number,
    out: Uint8Array,
    outOffset: number,
    outStride: number,
  ): void;
  readRegionParts?: RegionPartsReader;
}

export function nativePixelsAddonPath(): string {
  return (
    process.env.TESSERA_PIXELS_ADDON ??
    path.join(appRoot(), 'native', 'build', 'Release', 'tessera_pixels.node')
  );
}

interface NativeHelpers {
  partialJpeg?: PartialJpegDecoder;
  regionParts?: RegionPartsReader;
  copyRect: RectCopier;
  dropAlpha?: AlphaDropper;
  lanczos: LanczosResampler;
  boxReduce: BoxReducer;
}

/** The addon's helpers, wrapped once at first use (they are called per tile); null where it is not built. */
let helpers: NativeHelpers | null | undefined;

function native(): NativeHelpers | null {
  if (helpers !== undefined) return helpers;
  helpers = null;
  if (process.env.TESSERA_NATIVE_PIXELS === '0') return helpers;
  let addon: NativePixels;
  try {
    const file = nativePixelsAddonPath();
    if (!fs.existsSync(file)) return helpers;
    addon = createRequire(import.meta.url)(file) as NativePixels;
  } catch {
    return helpers; // a broken or foreign build: the JavaScript paths still work
  }
  const decodeRegion = isHidden('libjpeg') ? undefined : addon.decodeRegion;
  helpers = {
    regionParts:
      decodeRegion && process.env.TESSERA_NATIVE_REGIONS !== '0' ? addon.readRegionParts : undefined,
    copyRect: addon.copyRect,
    dropAlpha: addon.dropAlpha,
    partialJpeg: decodeRegion && {
      decodePart: (jpeg, p, out, outOffset, outStride) =>
        decodeRegion(jpeg, p.x, p.y, p.w, p.h, out, outOffset, outStride),
    },
    lanczos: (src, srcWidth, srcHeight, boxWidth, boxHeight, dstWidth, dstHeight, portable = false) => {
      const dst = new Uint8Array(dstWidth * dstHeight * 4);
      addon.resampleLanczos(
        src,
        srcWidth,
        srcHeight,
        boxWidth,
        boxHeight,
        dst,
        dstWidth,
        dstHeight,
        portable,
      );
      return dst;
    },
    boxReduce: (src, width, height, fx, fy, flattenOnWhite) => {
      if (!(fx >= 1 && fy >= 1)) throw new RangeError('box reduction factors must be positive');
      const dst = new Uint8Array(Math.ceil(width / fx) * Math.ceil(height / fy) * 4);
      addon.boxReduce(src, width, height, fx, fy, flattenOnWhite, dst);
      return dst;
    },
  };
  return helpers;
}

/** The partial JPEG decoder, or undefined where the addon was built without libjpeg (or is off). */
export function partialJpegDecoder(): PartialJpegDecoder | undefined {
  return native()?.partialJpeg;
}

let regionReadsOn = true;
let regionReadObserver: ((records: Float64Array) => void) | undefined;

/**
 * Switches region reads on libuv's thread pool on or off for this process (regions then go through the
 * decode workers): for benchmarks comparing the two, and for tests of the worker path.
 */
export function setNativeRegionReads(on: boolean): void {
  regionReadsOn = on;
}

/** Calls `observer` with the records of every region read on libuv's pool (tests count the decodes). */
export function observeNativeRegionReads(observer: ((records: Float64Array) => void) | undefined): void {
  regionReadObserver = observer;
}

/** The region reader on libuv's thread pool, or undefined where it is not built (or is off). */
export function regionPartsReader(): RegionPartsReader | undefined {
  const read = regionReadsOn ? native()?.regionParts : undefined;
  const observe = regionReadObserver;
  if (!read || !observe) return read;
  return (fd, records, ...rest) => {
    observe(records);
    return read(fd, records, ...rest);
  };
}

/** The Lanczos resampler, or undefined where the addon is not built (or is off). */
export function lanczosResampler(): LanczosResampler | undefined {
  return native()?.lanczos;
}

/**
 * A rectangle copier: native where built, else one subarray per row (as fast, but each row leaves a small
 * object behind, which on the main thread means more frequent garbage collections).
 */
export function rectCopier(): RectCopier {
  return native()?.copyRect ?? copyRectInJs;
}

/** RGBA to RGB: native where built, else a JavaScript loop (the same bytes, several times slower). */
export function alphaDropper(): AlphaDropper {
  return native()?.dropAlpha ?? dropAlphaInJs;
}

export const dropAlphaInJs: AlphaDropper = (src, srcOffset, srcStride, dst, dstOffset, width, rows) => {
  if (rows <= 0 || width <= 0) return;
  if (
    srcStride < width * 4 ||
    srcOffset + (rows - 1) * srcStride + width * 4 > src.length ||
    dstOffset + rows * width * 3 > dst.length
  )
    throw new RangeError('the rectangle does not fit its buffer');
  for (let y = 0, q = dstOffset; y < rows; y++) {
    for (let x = 0, p = srcOffset + y * srcStride; x < width; x++, p += 4, q += 3) {
      dst[q] = src[p]!;
      dst[q + 1] = src[p + 1]!;
      dst[q + 2] = src[p + 2]!;
    }
  }
};

export const copyRectInJs: RectCopier = (
  src,
  srcOffset,
  srcStride,
  dst,
  dstOffset,
  dstStride,
  rowBytes,
  rows,
) => {
  if (rows <= 0 || rowBytes <= 0) return;
  if (
    srcOffset + (rows - 1) * srcStride + rowBytes > src.length ||
    dstOffset + (rows - 1) * dstStride + rowBytes > dst.length
  )
    throw new RangeError('the rectangle does not fit its buffer');
  for (let y = 0; y < rows; y++) {
    const from = srcOffset + y * srcStride;
    dst.set(src.subarray(from, from + rowBytes), dstOffset + y * dstStride);
  }
};

/** The native box reducer, or undefined where the addon is not built (or is off). */
export function nativeBoxReducer(): BoxReducer | undefined {
  return native()?.boxReduce;
}
