import { Transformer } from '@napi-rs/image';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPatch } from '../../../src-main/engine/patches.js';
import { tempDir } from '../../helpers/temp.js';
import { tinyVit } from './helpers.js';

const geometry = { size: 32, interpolation: 'bicubic' };

describe('loadPatch', () => {
  it('returns the stored pixels of an image already at the input size', async () => {
    const rgb = await loadPatch(path.join(tinyVit, 'patch0.png'), geometry);
    expect(rgb.length).toBe(32 * 32 * 3);
    const raw = await new Transformer(fs.readFileSync(path.join(tinyVit, 'patch0.png'))).rawPixels();
    expect(Buffer.from(rgb).equals(raw)).toBe(true);
  });

  it('drops alpha (PIL convert("RGB")) and decodes JPEG', async () => {
    const rgb = await loadPatch(path.join(tinyVit, 'patch0.png'), geometry);
    const rgba = new Uint8Array(32 * 32 * 4);
    for (let i = 0; i < 32 * 32; i++) {
      rgba.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
      rgba[i * 4 + 3] = i % 2 ? 0 : 128; // transparent pixels keep their colour
    }
    const dir = tempDir();
    const png = path.join(dir, 'rgba.png');
    fs.writeFileSync(png, await Transformer.fromRgbaPixels(rgba, 32, 32).png());
    expect(Buffer.from(await loadPatch(png, geometry)).equals(Buffer.from(rgb))).toBe(true);
    const jpg = path.join(dir, 'q100.jpg');
    fs.writeFileSync(jpg, await Transformer.fromRgbaPixels(rgba, 32, 32).jpeg(100));
    const decoded = await loadPatch(jpg, geometry);
    let maxDiff = 0;
    for (let i = 0; i < decoded.length; i++) maxDiff = Math.max(maxDiff, Math.abs(decoded[i]! - rgb[i]!));
    expect(maxDiff).toBeGreaterThan(0); // lossy, but close
    expect(maxDiff).toBeLessThan(64);
  });

  it('resizes the shorter side and centre-crops a non-square image', async () => {
    // 64 x 32 image: left half black, right half white → after resize to 64x32 (no-op on the short side)
    // and a centre crop of 32, the left 16 columns are black and the right 16 white.
    const w = 64;
    const h = 32;
    const rgba = new Uint8Array(w * h * 4);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) rgba.fill(x < 32 ? 0 : 255, (y * w + x) * 4, (y * w + x) * 4 + 3);
    for (let i = 3; i < rgba.length; i += 4) rgba[i] = 255;
    const file = path.join(tempDir(), 'wide.png');
    fs.writeFileSync(file, await Transformer.fromRgbaPixels(rgba, w, h).png());
    const rgb = await loadPatch(file, geometry);
    expect(rgb[(5 * 32 + 2) * 3]).toBe(0);
    expect(rgb[(5 * 32 + 29) * 3]).toBe(255);
    // Downscaling: large.png is 50 x 60 → 32 x 38, then the centre 32 x 32.
    const big = await loadPatch(path.join(tinyVit, 'large.png'), geometry);
    expect(big.length).toBe(32 * 32 * 3);
  });

  it('names the file when it cannot be read or decoded', async () => {
    await expect(loadPatch('/nonexistent/x.png', geometry)).rejects.toThrow(
      'Cannot read image /nonexistent/x.png: ENOENT.',
    );
    const junk = path.join(tempDir(), 'junk.png');
    fs.writeFileSync(junk, 'PNG? no');
    await expect(loadPatch(junk, geometry)).rejects.toThrow(`Cannot decode image ${junk}`);
  });
});
