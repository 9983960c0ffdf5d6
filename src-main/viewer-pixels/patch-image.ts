/**
 * A square of a slide as a small JPEG (the heatmap's top-k gallery): read from the coarsest level that still
 * gives the output size, then resized and encoded in the decode pool.
 */
import { sharedDecodePool } from '../slides/index.js';
import { readAndEncodeRegion } from '../slides/encode.js';
import type { SlideReader } from '../slides/index.js';
import type { SlideImageResult } from './slide-images.js';

const OUT = 128;
const MAX_SIDE = 16_384;

export async function patchImage(
  reader: SlideReader,
  r: { x: number; y: number; size: number },
): Promise<SlideImageResult> {
  if (r.size < 1 || r.size > MAX_SIDE)
    return { status: 400, message: `A patch must be 1 to ${MAX_SIDE} pixels.` };
  const levels = reader.metadata.levels;
  let level = 0;
  for (let l = 0; l < levels.length; l++) if (levels[l]!.downsample <= r.size / OUT) level = l;
  const side = Math.max(1, Math.round(r.size / levels[level]!.downsample));
  const bytes = await readAndEncodeRegion(reader, sharedDecodePool(), level, r.x, r.y, side, side, {
    outWidth: OUT,
    outHeight: OUT,
    flatten: true,
    type: 'jpeg',
    quality: 85,
  });
  return { status: 200, contentType: 'image/jpeg', bytes };
}
