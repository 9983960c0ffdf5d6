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
      const s4 = ox * 4;
      out[base + s4] = Math.round(sums[s4]! / n);
      out[base + s4 + 1] = Math.round(sums[s4 + 1]! / n);
      out[base + s4 + 2] = Math.round(sums[s4 + 2]! / n);
      out[base + s4 + 3] = Math.round(sums[s4 + 3]! / n);
    }
  }
  return { rgba: out, width, height };
}

/** Pillow's reducing_gap = 2 factors for scaling (w, h) down to (outW, outH); 1 means no reduction. */
export function reductionFactors(w: number, h: number, outW: number, outH: number): [number, number] {
  return [Math.max(1, Math.floor(w / outW / 2)), Math.max(1, Math.floor(h / outH / 2))];
}
