import path from 'node:path';
import { vitSpec } from '../../helpers/engine.js';
import { repoRoot } from '../../helpers/temp.js';
import type { EncoderSpec } from '../../../src-main/engine/types.js';

export const fixtures = path.join(repoRoot, 'test', 'fixtures', 'engine-io');
export const tinyVit = path.join(fixtures, 'tiny-vit');

/** Relative L2 error |a - b| / |b|. */
export function relL2(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    const d = (a[i] ?? NaN) - (b[i] ?? NaN);
    num += d * d;
    den += (b[i] ?? 0) ** 2;
  }
  return Math.sqrt(num / den);
}

/** A small encoder spec for binding tests (fast on 2 cores). */
export function smallSpec(overrides: Partial<EncoderSpec['vit']> = {}): EncoderSpec {
  return vitSpec('test', {
    imgSize: 16,
    patchSize: 8,
    embedDim: 16,
    depth: 1,
    numHeads: 2,
    mlpRatio: 2,
    ...overrides,
  });
}

/** Deterministic pseudo-random patches. */
export function patches(n: number, size: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n * size * size * 3);
  let s = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s >>> 24;
  }
  return out;
}
