/**
 * RGBA to RGB for the patch workers (Pillow's convert('RGB')): the native one (tessera_pixels) and the
 * JavaScript fallback write the same bytes, stop at the last pixel of the rectangle, and refuse rectangles
 * that do not fit.
 */
import { describe, expect, it } from 'vitest';
import {
  alphaDropper,
  dropAlphaInJs,
  type AlphaDropper,
} from '../../../src-main/slides/codecs/native-pixels.js';

const droppers: [string, AlphaDropper][] = [['JavaScript', dropAlphaInJs]];
if (alphaDropper() !== dropAlphaInJs) droppers.push(['native', alphaDropper()]);

describe.each(droppers)('dropAlpha (%s)', (_, dropAlpha) => {
  it('keeps R, G and B of each pixel of a rectangle of a wider image, rows packed, nothing past them', () => {
    const srcWidth = 13;
    const src = Uint8Array.from({ length: srcWidth * 9 * 4 }, (_, i) => (i * 31 + 7) & 255);
    const dst = new Uint8Array(3 + 5 * 6 * 3 + 4).fill(9);
    // 5 x 6 pixels from (4, 2) of the source, to byte 3 of the target.
    dropAlpha(src, (2 * srcWidth + 4) * 4, srcWidth * 4, dst, 3, 5, 6);
    for (let i = 0; i < dst.length; i++) {
      const k = i - 3;
      let want = 9;
      if (k >= 0 && k < 5 * 6 * 3) {
        const y = Math.floor(k / 15);
        const x = Math.floor((k % 15) / 3);
        want = src[((2 + y) * srcWidth + 4 + x) * 4 + (k % 3)]!;
      }
      if (dst[i] !== want) throw new Error(`byte ${i} is ${dst[i]}, not ${want}`);
    }
  });

  it('writes into shared memory (a batch) and handles one-pixel rows', () => {
    const src = new Uint8Array(new SharedArrayBuffer(64)).fill(5);
    const dst = new Uint8Array(new SharedArrayBuffer(12)).fill(1);
    dropAlpha(src, 0, 4, dst, 0, 1, 4);
    expect([...dst]).toEqual(Array(12).fill(5));
  });

  it('refuses a rectangle that runs past either buffer', () => {
    const src = new Uint8Array(4 * 10 * 10);
    const dst = new Uint8Array(3 * 10 * 10);
    expect(() => dropAlpha(src, 0, 40, dst, 0, 10, 11)).toThrow(RangeError);
    expect(() => dropAlpha(src, 0, 40, dst, 1, 10, 10)).toThrow(RangeError);
    expect(() => dropAlpha(src, 4, 40, dst, 0, 10, 10)).toThrow(RangeError);
    expect(() => dropAlpha(src, 0, 36, dst, 0, 10, 1)).toThrow(RangeError);
    expect(() => dropAlpha(src, 0, 40, dst, 0, 10, 10)).not.toThrow();
  });
});
