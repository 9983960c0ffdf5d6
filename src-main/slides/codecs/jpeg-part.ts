/**
 * Partial JPEG decoding (native/jpeg, the tessera_jpeg addon over libjpeg-turbo): only the rows and
 * whole-iMCU columns a request needs are transformed, and rows below it are not even entropy-decoded.
 * A random region or 254/1 Deep Zoom tile needs about a quarter of each of the four stored tiles it
 * touches, which then costs about half as much as decoding the four whole tiles (test/bench/RESULTS.md).
 * The pixels are exactly those of a full decode (test/unit/slides/jpeg-part.test.ts).
 *
 * Optional: the addon is built only where libjpeg's headers are installed; without it (or with
 * TESSERA_JPEG_PARTIAL=0) readers decode whole tiles.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { appRoot } from '../../version.js';

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

interface NativeJpeg {
  decodeRegion(
    jpeg: Uint8Array,
    x: number,
    y: number,
    w: number,
    h: number,
    out: Uint8Array,
    outOffset: number,
    outStride: number,
  ): void;
}

let loaded: PartialJpegDecoder | null | undefined;

export function partialJpegAddonPath(): string {
  return (
    process.env.TESSERA_JPEG_ADDON ?? path.join(appRoot(), 'native', 'build', 'Release', 'tessera_jpeg.node')
  );
}

/** The decoder, or undefined where the addon is not built or is switched off. */
export function partialJpegDecoder(): PartialJpegDecoder | undefined {
  if (loaded !== undefined) return loaded ?? undefined;
  loaded = null;
  if (process.env.TESSERA_JPEG_PARTIAL === '0') return undefined;
  try {
    const file = partialJpegAddonPath();
    if (!fs.existsSync(file)) return undefined;
    const native = createRequire(import.meta.url)(file) as NativeJpeg;
    loaded = {
      decodePart: (jpeg, p, out, outOffset, outStride) =>
        native.decodeRegion(jpeg, p.x, p.y, p.w, p.h, out, outOffset, outStride),
    };
  } catch {
    // A broken or foreign build: whole-tile decoding still works.
  }
  return loaded ?? undefined;
}
