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
  const rowSums = new Float64Array(width * 4);
  const counts = new Uint32Array(width);
  for (let oy = 0; oy < height; oy++) {
    rowSums.fill(0);
    counts.fill(0);
    const y1 = Math.min(src.height, (oy + 1) * fy);
    for (let y = oy * fy; y < y1; y++) {
      let i = y * src.width * 4;
      for (let x = 0; x < src.width; x++, i += 4) {
        const o = Math.floor(x / fx);
        const s = o * 4;
        rowSums[s] = rowSums[s]! + src.rgba[i]!;
        rowSums[s + 1] = rowSums[s + 1]! + src.rgba[i + 1]!;
        rowSums[s + 2] = rowSums[s + 2]! + src.rgba[i + 2]!;
        rowSums[s + 3] = rowSums[s + 3]! + src.rgba[i + 3]!;
        counts[o]!++;
      }
    }
    const base = oy * width * 4;
    for (let o = 0; o < width; o++) {
      const n = counts[o]!;
      for (let c = 0; c < 4; c++) out[base + o * 4 + c] = Math.round(rowSums[o * 4 + c]! / n);
    }
  }
  return { rgba: out, width, height };
}

/** Pillow's reducing_gap = 2 factors for scaling (w, h) down to (outW, outH); 1 means no reduction. */
export function reductionFactors(w: number, h: number, outW: number, outH: number): [number, number] {
  return [Math.max(1, Math.floor(w / outW / 2)), Math.max(1, Math.floor(h / outH / 2))];
}
