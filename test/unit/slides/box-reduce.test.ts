/**
 * Box reduction: the native reducer (native/pixels) and the JavaScript one give the same pixels, with and
 * without flattening onto white, for every factor and ragged edge; the JavaScript one equals Pillow's
 * Image.reduce (checked through thumbnail() in lanczos.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { boxReduce, flattenOnWhite } from '../../../src-main/slides/codecs/box-reduce.js';
import { nativeBoxReducer } from '../../../src-main/slides/codecs/native-pixels.js';

const native = nativeBoxReducer();

function randomRgba(width: number, height: number, seed: number): Uint8Array {
  const out = new Uint8Array(width * height * 4);
  for (let i = 0; i < out.length; i++) {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    out[i] = seed >>> 24;
  }
  // Mostly opaque, as slides are; a quarter of the pixels translucent or transparent.
  for (let p = 0; p < width * height; p++) if (p % 4 !== 0) out[p * 4 + 3] = 255;
  return out;
}

describe.skipIf(!native)('native box reduction', () => {
  it('equals the JavaScript reduction for every factor, edge and flattening', () => {
    for (const [w, h] of [
      [37, 23],
      [64, 64],
      [301, 217],
    ] as const) {
      for (const [fx, fy] of [
        [1, 2],
        [2, 2],
        [3, 3],
        [4, 3],
        [5, 7],
        [16, 16],
      ] as const) {
        for (const flatten of [false, true]) {
          const src = randomRgba(w, h, w * 31 + fx * 7 + fy);
          const ours = native!(src.slice(), w, h, fx, fy, flatten);
          const js = src.slice();
          if (flatten) flattenOnWhite(js);
          const reference = boxReduce({ rgba: js, width: w, height: h }, fx, fy);
          const what = `${w}x${h} by ${fx}x${fy} flatten ${flatten}`;
          expect(ours.length, what).toBe(reference.rgba.length);
          expect(Buffer.compare(Buffer.from(ours), Buffer.from(reference.rgba)), what).toBe(0);
        }
      }
    }
  });

  it('refuses short buffers and zero factors', () => {
    expect(() => native!(new Uint8Array(10), 4, 4, 2, 2, false)).toThrow(/smaller than its size/);
    expect(() => native!(new Uint8Array(64), 4, 4, 0, 2, false)).toThrow(/positive/);
  });
});
