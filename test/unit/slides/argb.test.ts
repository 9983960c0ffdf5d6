/** OpenSlide's premultiplied ARGB words become straight RGBA bytes, exactly as the plain formula says. */
import { describe, expect, it } from 'vitest';
import { argbToRgba } from '../../../src-main/slides/openslide/openslide-reader.js';

/** The definition, one pixel at a time (OpenSlide's docs: premultiplied, native-endian ARGB). */
function reference(p: number): number[] {
  const a = p >>> 24;
  if (a === 0) return [0, 0, 0, 0];
  const un = (c: number) => Math.min(255, Math.round((c * 255) / a));
  return [un((p >>> 16) & 0xff), un((p >>> 8) & 0xff), un(p & 0xff), a];
}

describe('argbToRgba', () => {
  it('un-premultiplies and reorders opaque, translucent and transparent pixels', () => {
    let seed = 3;
    const words = Array.from({ length: 5000 }, (_, i) => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const alpha = i % 3 === 0 ? 255 : i % 3 === 1 ? seed & 0xff : 0;
      // premultiplied: colour channels never exceed alpha
      const c = (v: number) => Math.floor(((v & 0xff) * alpha) / 255);
      return ((alpha << 24) | (c(seed >>> 8) << 16) | (c(seed >>> 16) << 8) | c(seed >>> 24)) >>> 0;
    });
    words.push(0xff102030, 0x80402010, 0x00ffffff);
    const rgba = argbToRgba(Uint32Array.from(words));
    expect(rgba.length).toBe(words.length * 4);
    words.forEach((p, i) => expect([...rgba.subarray(i * 4, i * 4 + 4)], `pixel ${i}`).toEqual(reference(p)));
    expect([...rgba.subarray(-12)]).toEqual([0x10, 0x20, 0x30, 255, 0x80, 0x40, 0x20, 0x80, 0, 0, 0, 0]);
  });
});
