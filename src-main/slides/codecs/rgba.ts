/** Pixel-layout helpers shared by the codecs. */
import os from 'node:os';

const littleEndian = os.endianness() === 'LE';

/** Interleaved 1- or 3-sample pixels → opaque RGBA (one 32-bit store per pixel). */
export function expandToRgba(src: Uint8Array, pixels: number, channels: number): Uint8Array {
  const out = new Uint8Array(pixels * 4);
  if (!littleEndian) {
    for (let i = 0, s = 0, d = 0; i < pixels; i++, s += channels, d += 4) {
      out[d] = src[s]!;
      out[d + 1] = src[s + (channels >= 3 ? 1 : 0)]!;
      out[d + 2] = src[s + (channels >= 3 ? 2 : 0)]!;
      out[d + 3] = 255;
    }
    return out;
  }
  const o32 = new Uint32Array(out.buffer);
  if (channels === 1) {
    for (let i = 0; i < pixels; i++) {
      const v = src[i]!;
      o32[i] = 0xff000000 | (v << 16) | (v << 8) | v;
    }
  } else {
    for (let i = 0, s = 0; i < pixels; i++, s += channels) {
      o32[i] = (0xff000000 | (src[s + 2]! << 16) | (src[s + 1]! << 8) | src[s]!) >>> 0;
    }
  }
  return out;
}
