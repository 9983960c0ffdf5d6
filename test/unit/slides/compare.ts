/** Reference pixels from OpenSlide's own tool and the comparisons the pixel tests make. */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Transformer } from '@napi-rs/image';
import { tool } from '../../helpers/prerequisites.js';

/** OpenSlide's command line tools (openslide-tools): a test prerequisite. */
export function hasOpenSlideTools(): boolean {
  return tool('openslide-write-png');
}

/** RGBA of a region as `openslide-write-png` renders it (x, y level-0; w, h level pixels). */
export function openSlideRegion(
  file: string,
  level: number,
  x: number,
  y: number,
  w: number,
  h: number,
): Uint8Array {
  const out = path.join(
    os.tmpdir(),
    `tessera-osref-${process.pid}-${Math.random().toString(36).slice(2)}.png`,
  );
  try {
    execFileSync('openslide-write-png', [
      '--',
      file,
      String(x),
      String(y),
      String(level),
      String(w),
      String(h),
      out,
    ]);
    const px = new Transformer(fs.readFileSync(out)).rawPixelsSync();
    if (px.length !== w * h * 4)
      throw new Error(`unexpected PNG size from openslide-write-png (${px.length} bytes)`);
    return new Uint8Array(px);
  } finally {
    fs.rmSync(out, { force: true });
  }
}

/** OpenSlide's properties for a file (openslide-show-properties). */
export function openSlideProperties(file: string): Record<string, string> {
  const text = execFileSync('openslide-show-properties', [file], { encoding: 'latin1' });
  const props: Record<string, string> = {};
  for (const m of text.matchAll(/^([^:\n]+): '(.*)'$/gm)) props[m[1]!] = m[2]!;
  return props;
}

/**
 * Mean absolute difference per channel (R, G, B, A) between `a` at (x, y) and `b` at (x+dx, y+dy),
 * over the pixels where both exist, leaving a 1-pixel margin so shifts compare equal areas.
 */
export function meanAbsDiff(a: Uint8Array, b: Uint8Array, w: number, h: number, dx = 0, dy = 0): number[] {
  const sum = [0, 0, 0, 0];
  let n = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const i = (y * w + x) * 4;
      const j = ((y + dy) * w + (x + dx)) * 4;
      for (let c = 0; c < 4; c++) sum[c]! += Math.abs(a[i + c]! - b[j + c]!);
      n++;
    }
  }
  return sum.map((s) => s / Math.max(1, n));
}

/** RGBA crop of packed RGB source pixels, transparent outside. */
export function sourceRegion(
  rgb: Uint8Array,
  srcW: number,
  srcH: number,
  x: number,
  y: number,
  w: number,
  h: number,
): Uint8Array {
  const out = new Uint8Array(w * h * 4);
  for (let yy = 0; yy < h; yy++) {
    for (let xx = 0; xx < w; xx++) {
      const sx = x + xx;
      const sy = y + yy;
      if (sx < 0 || sy < 0 || sx >= srcW || sy >= srcH) continue;
      const s = (sy * srcW + sx) * 3;
      const d = (yy * w + xx) * 4;
      out[d] = rgb[s]!;
      out[d + 1] = rgb[s + 1]!;
      out[d + 2] = rgb[s + 2]!;
      out[d + 3] = 255;
    }
  }
  return out;
}

/**
 * Asserts closeness and alignment: every channel's MAD ≤ `tolerance`, and each one-pixel shift of
 * the reference matches clearly worse than no shift (so an off-by-one would be caught). Callers
 * must pick textured regions: a region whose reference barely changes under a one-pixel shift
 * cannot show misalignment, and is refused.
 */
export function expectAligned(
  ours: Uint8Array,
  ref: Uint8Array,
  w: number,
  h: number,
  tolerance: number,
): { mad: number[]; shifted: number[] } {
  const mad = meanAbsDiff(ours, ref, w, h);
  const shifted = [
    [1, 0],
    [-1, 0],
    [0, 1],
    [0, -1],
  ].map(([dx, dy]) => {
    const m = meanAbsDiff(ours, ref, w, h, dx, dy);
    return (m[0]! + m[1]! + m[2]!) / 3;
  });
  const worst = Math.max(...mad);
  if (worst > tolerance)
    throw new Error(
      `mean absolute difference ${mad.map((m) => m.toFixed(3)).join('/')} exceeds ${tolerance}`,
    );
  const base = (mad[0]! + mad[1]! + mad[2]!) / 3;
  const texture = meanAbsDiff(ref, ref, w, h, 1, 0);
  if ((texture[0]! + texture[1]! + texture[2]!) / 3 < 2)
    throw new Error('the region is too flat to check alignment');
  for (const s of shifted) {
    if (!(s > base + 1))
      throw new Error(`a one-pixel shift matches as well as none (${s.toFixed(3)} vs ${base.toFixed(3)})`);
  }
  return { mad, shifted };
}

/** Largest per-channel mean absolute difference over every pixel of two equal-size RGBA buffers. */
export function maxChannelMad(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) throw new Error(`size mismatch ${a.length} vs ${b.length}`);
  const sum = [0, 0, 0, 0];
  for (let i = 0; i < a.length; i++) sum[i & 3]! += Math.abs(a[i]! - b[i]!);
  return Math.max(...sum) / (a.length / 4);
}
