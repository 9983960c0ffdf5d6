/**
 * Small seeded random numbers for sampling, augmentation and the demo cohort: SplitMix32-style mixing,
 * so that a stream can be keyed by several integers (seed, epoch, slide, patch) without one shared state
 * whose order would make results depend on scheduling.
 */

/** A 32-bit hash of integers (Murmur3's finaliser over a running combination). */
export function hashInts(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) {
    h = Math.imul(h ^ (v >>> 0), 0x85ebca6b);
    h ^= h >>> 13;
    h = Math.imul(h, 0xc2b2ae35);
    h ^= h >>> 16;
    // The high word of large integers (seeds up to 2^53) is mixed in too.
    const high = Math.floor(v / 2 ** 32) >>> 0;
    if (high) h = Math.imul(h ^ high, 0x27d4eb2f);
  }
  return h >>> 0;
}

/** A generator of floats in [0, 1) keyed by integers; each key gives its own independent stream. */
export class Random {
  private state: number;

  constructor(...key: number[]) {
    this.state = hashInts(...key);
  }

  /** Next 32-bit unsigned integer (SplitMix32). */
  nextUint32(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0;
    let z = this.state;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextUint32() / 2 ** 32;
  }

  /** Uniform in [a, b). */
  uniform(a: number, b: number): number {
    return a + (b - a) * this.next();
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Fisher-Yates shuffle in place. */
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}
