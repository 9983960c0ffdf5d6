/**
 * A thumbnail of the whole slide, at most `maxSize` px on its longer side, flattened on white and
 * encoded as PNG or JPEG. Reads the smallest pyramid level that is still at least as large as the
 * thumbnail; where even that level is too large to read in one piece (single-level slides), it comes
 * from the level's reduced copies (reduced-levels.ts), built tile by tile with bounded memory and shared
 * with the slide's Deep Zoom levels.
 */
import { MAX_REGION_PIXELS, type RgbaImage, type SlideReader } from './types.js';
import { sharedDecodePool, type DecodePool } from './worker/decode-pool.js';
import { encodeInPool } from './encode.js';
import { reducedLevelsOf } from './reduced-levels.js';

export interface ThumbnailOptions {
  type?: 'png' | 'jpeg';
  quality?: number;
  pool?: DecodePool;
}

export async function makeThumbnail(
  reader: SlideReader,
  maxSize: number,
  options: ThumbnailOptions = {},
): Promise<Uint8Array> {
  if (!Number.isInteger(maxSize) || maxSize < 1)
    throw new RangeError('thumbnail size must be a positive integer');
  const { levels } = reader.metadata;
  const l0 = levels[0]!;
  const scale = Math.min(1, maxSize / Math.max(l0.width, l0.height));
  const outWidth = Math.max(1, Math.round(l0.width * scale));
  const outHeight = Math.max(1, Math.round(l0.height * scale));
  let level = 0;
  for (let i = levels.length - 1; i >= 0; i--) {
    if (levels[i]!.width >= outWidth && levels[i]!.height >= outHeight) {
      level = i;
      break;
    }
  }
  const lv = levels[level]!;
  const pool = options.pool ?? sharedDecodePool();
  let source: RgbaImage;
  if (lv.width * lv.height <= MAX_REGION_PIXELS) {
    source = {
      rgba: await reader.readRegion(level, 0, 0, lv.width, lv.height),
      width: lv.width,
      height: lv.height,
    };
  } else {
    const copy = await reducedLevelsOf(reader, pool).coarsestAtLeast(level, outWidth, outHeight);
    source = { ...copy, rgba: copy.rgba.slice() }; // the copy stays with the slide; the worker gets its own
  }
  return encodeInPool(pool, source, {
    outWidth,
    outHeight,
    flatten: true,
    type: options.type ?? 'jpeg',
    quality: options.quality ?? 85,
  });
}

/** Encodes RGBA pixels as PNG in the worker pool (CLI region output, associated images). */
export { encodePng } from './encode.js';
