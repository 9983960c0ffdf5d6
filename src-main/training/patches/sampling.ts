/** Which of a slide's patches a training step reads: up to K of them, drawn by a seeded key. */
import { Random } from '../random.js';

/**
 * Up to `k` distinct indices of [0, count), in increasing order (reading in grid order lets neighbouring
 * patches share decoded tiles), drawn from the stream keyed by `key` (e.g. seed, epoch, slide id). All of
 * them when k >= count.
 */
export function samplePatchIndices(count: number, k: number, ...key: number[]): Int32Array {
  if (!Number.isInteger(count) || count < 0) throw new RangeError(`invalid patch count ${count}`);
  if (!Number.isInteger(k) || k < 1)
    throw new RangeError(`patches per slide must be a positive integer, not ${k}`);
  if (k >= count) return Int32Array.from({ length: count }, (_, i) => i);
  const rng = new Random(...key);
  // Partial Fisher-Yates over a sparse permutation: k draws, O(k) memory.
  const swapped = new Map<number, number>();
  const picked = new Int32Array(k);
  for (let i = 0; i < k; i++) {
    const j = i + rng.int(count - i);
    const vj = swapped.get(j) ?? j;
    swapped.set(j, swapped.get(i) ?? i);
    picked[i] = vj;
  }
  return picked.sort();
}
