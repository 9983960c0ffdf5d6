/**
 * Integer box reduction of RGBA pixels, as Pillow's Image.reduce: each output pixel is the mean of an
 * fx x fy block (fewer at the right and bottom edges). Deep Zoom scales large regions down with Pillow's
 * thumbnail(), which reduces by floor(scale / 2) first (reducing_gap = 2) and only then applies
 * Lanczos; doing the same here matches OpenSlide's tiles and makes a 250x reduction cost one pass
 * instead of a Lanczos kernel hundreds of pixels wide.
 */
export interface RgbaPixels {
  rgba: Uint8Array;
  width: number;
  height: number;
}

export function boxReduce(src: RgbaPixels, fx: number, fy: number): RgbaPixels {
  const width = Math.ceil(src.width / fx);
  const height = Math.ceil(src.height / fy);
  const out = new Uint8Array(width * height * 4);
  const sums = new Uint32Array(width * 4);
  const { rgba, width: sw } = src;
  for (let oy = 0; oy < height; oy++) {
    sums.fill(0);
    const y0 = oy * fy;
    const rows = Math.min(src.height, y0 + fy) - y0;
    for (let y = y0; y < y0 + rows; y++) {
      const row = y * sw * 4;
      for (let ox = 0, x = 0; ox < width; ox++) {
        const xEnd = Math.min(sw, x + fx);
        let r = 0;
        let g = 0;
        let b = 0;
        let a = 0;
        for (let i = row + x * 4; x < xEnd; x++, i += 4) {
          r += rgba[i]!;
          g += rgba[i + 1]!;
          b += rgba[i + 2]!;
          a += rgba[i + 3]!;
        }
        const s4 = ox * 4;
        sums[s4] = sums[s4]! + r;
        sums[s4 + 1] = sums[s4 + 1]! + g;
        sums[s4 + 2] = sums[s4 + 2]! + b;
        sums[s4 + 3] = sums[s4 + 3]! + a;
      }
    }
    const base = oy * width * 4;
    for (let ox = 0; ox < width; ox++) {
      const n = rows * (Math.min(sw, (ox + 1) * fx) - ox * fx);
      const amend = n >> 1;
      const multiplier = pillowMultiplier(n);
      const s4 = ox * 4;
      // (sum + amend) * multiplier < 2^32: exact in doubles, as in Pillow's 32-bit arithmetic.
      out[base + s4] = Math.floor(((sums[s4]! + amend) * multiplier) / 2 ** 24);
      out[base + s4 + 1] = Math.floor(((sums[s4 + 1]! + amend) * multiplier) / 2 ** 24);
      out[base + s4 + 2] = Math.floor(((sums[s4 + 2]! + amend) * multiplier) / 2 ** 24);
      out[base + s4 + 3] = Math.floor(((sums[s4 + 3]! + amend) * multiplier) / 2 ** 24);
    }
  }
  return { rgba: out, width, height };
}

/**
 * Pillow's Image.reduce divides a block's sum by its n pixels as ((sum + n / 2) * m) >> 24 with
 * m = (uint32)(2^32 / (256 n)) computed in single precision (Reduce.c, division_UINT32): for most n that
 * is one less than rounding, now and then. Reproduced to the bit, so reduced tiles equal OpenSlide's.
 */
function pillowMultiplier(n: number): number {
  return Math.trunc(Math.fround(2 ** 32 / Math.fround(256 * n)));
}

/** Pillow's reducing_gap = 2 factors for scaling (w, h) down to (outW, outH); 1 means no reduction. */
export function reductionFactors(w: number, h: number, outW: number, outH: number): [number, number] {
  return [Math.max(1, Math.floor(w / outW / 2)), Math.max(1, Math.floor(h / outH / 2))];
}

/** Composites straight-alpha pixels onto opaque white, in place (OpenSlide's Deep Zoom background). */
export function flattenOnWhite(rgba: Uint8Array): void {
  for (let i = 0; i < rgba.length; i += 4) {
    const a = rgba[i + 3]!;
    if (a === 255) continue;
    const k = 255 - a;
    rgba[i] = Math.round((rgba[i]! * a + 255 * k) / 255);
    rgba[i + 1] = Math.round((rgba[i + 1]! * a + 255 * k) / 255);
    rgba[i + 2] = Math.round((rgba[i + 2]! * a + 255 * k) / 255);
    rgba[i + 3] = 255;
  }
}
