/** Seeded bootstrap confidence intervals over slides. */
import { Random } from '../random.js';

/** numpy.percentile's default (linear interpolation between order statistics); `sorted` ascending. */
export function percentile(sorted: number[], q: number): number {
  if (!sorted.length) return NaN;
  const pos = (q / 100) * (sorted.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export interface BootstrapOptions {
  seed: number;
  /** Resamples (default 1000). */
  resamples?: number;
  /** Confidence level (default 0.95). */
  level?: number;
}

/**
 * Percentile interval of `statistic` over resamples of the n items drawn with replacement from a stream
 * keyed by `seed`. Resamples where the statistic is NaN (e.g. one class only) are left out; with fewer
 * than half of them left, the interval is [NaN, NaN].
 */
export function bootstrapInterval(
  n: number,
  statistic: (indices: Int32Array) => number,
  options: BootstrapOptions,
): [number, number] {
  const resamples = options.resamples ?? 1000;
  const level = options.level ?? 0.95;
  const rng = new Random(options.seed, 0x626f6f74);
  const values: number[] = [];
  const indices = new Int32Array(n);
  for (let r = 0; r < resamples; r++) {
    for (let i = 0; i < n; i++) indices[i] = rng.int(n);
    const v = statistic(indices);
    if (!Number.isNaN(v)) values.push(v);
  }
  if (values.length < resamples / 2) return [NaN, NaN];
  values.sort((a, b) => a - b);
  const tail = ((1 - level) / 2) * 100;
  return [percentile(values, tail), percentile(values, 100 - tail)];
}
