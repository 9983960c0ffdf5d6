/**
 * The rectangle copy that puts a tile's part into a region: the native one (tessera_pixels) and the
 * JavaScript fallback move the same bytes and refuse rectangles that do not fit.
 */
import { describe, expect, it } from 'vitest';
import { copyRectInJs, rectCopier, type RectCopier } from '../../../src-main/slides/codecs/native-pixels.js';

const copiers: [string, RectCopier][] = [['JavaScript', copyRectInJs]];
if (rectCopier() !== copyRectInJs) copiers.push(['native', rectCopier()]);

describe.each(copiers)('copyRect (%s)', (_, copyRect) => {
  it('copies rows between strides and touches nothing else', () => {
    const src = Uint8Array.from({ length: 64 * 40 }, (_, i) => (i * 7 + 3) & 255);
    const dst = new Uint8Array(48 * 30).fill(1);
    // 20 bytes x 9 rows from (8, 5) of a 64-byte-wide source to (12, 3) of a 48-byte-wide target.
    copyRect(src, 5 * 64 + 8, 64, dst, 3 * 48 + 12, 48, 20, 9);
    for (let y = 0; y < 30; y++)
      for (let x = 0; x < 48; x++) {
        const inside = y >= 3 && y < 12 && x >= 12 && x < 32;
        const want = inside ? src[(y - 3 + 5) * 64 + (x - 12 + 8)] : 1;
        if (dst[y * 48 + x] !== want) throw new Error(`byte (${x}, ${y}) is ${dst[y * 48 + x]}, not ${want}`);
      }
  });

  it('copies out of and into shared memory (tile-cache slots)', () => {
    const src = new Uint8Array(new SharedArrayBuffer(1024), 256, 512).fill(5);
    const dst = new Uint8Array(new SharedArrayBuffer(256));
    copyRect(src, 0, 32, dst, 16, 16, 16, 15);
    expect(dst.subarray(0, 16).every((v) => v === 0)).toBe(true);
    expect(dst.subarray(16).every((v) => v === 5)).toBe(true);
  });

  it('refuses a rectangle that runs past either buffer', () => {
    const src = new Uint8Array(100);
    const dst = new Uint8Array(100);
    expect(() => copyRect(src, 0, 10, dst, 0, 10, 10, 11)).toThrow(RangeError);
    expect(() => copyRect(src, 0, 10, dst, 1, 10, 10, 10)).toThrow(RangeError);
    expect(() => copyRect(src, 95, 10, dst, 0, 10, 6, 1)).toThrow(RangeError);
    expect(() => copyRect(src, 0, 10, dst, 0, 10, 10, 10)).not.toThrow();
  });
});
