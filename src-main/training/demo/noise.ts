/** Cheap seeded noise for painting synthetic tissue: integer-hash white noise and tileable value noise. */
import { Random } from '../random.js';

/** White noise in [0, 1) for an integer pixel, from a 32-bit seed. */
export function pixelNoise(seed: number, x: number, y: number): number {
  let h = (seed ^ Math.imul(x, 0x27d4eb2d) ^ Math.imul(y, 0x165667b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32;
}

const SIZE = 256;
const MASK = SIZE - 1;

/** Value noise on a 256 x 256 lattice that wraps around, smooth between lattice points; values in [0, 1]. */
export class ValueNoise {
  private readonly values = new Float32Array(SIZE * SIZE);

  constructor(rng: Random) {
    for (let i = 0; i < this.values.length; i++) this.values[i] = rng.next();
  }

  /** Noise at lattice coordinates (u, v) (one unit = one lattice cell). */
  at(u: number, v: number): number {
    const i = Math.floor(u);
    const j = Math.floor(v);
    let fu = u - i;
    let fv = v - j;
    fu = fu * fu * (3 - 2 * fu);
    fv = fv * fv * (3 - 2 * fv);
    const i0 = i & MASK;
    const i1 = (i + 1) & MASK;
    const r0 = (j & MASK) * SIZE;
    const r1 = ((j + 1) & MASK) * SIZE;
    const t = this.values;
    const a = t[r0 + i0]! + (t[r0 + i1]! - t[r0 + i0]!) * fu;
    const b = t[r1 + i0]! + (t[r1 + i1]! - t[r1 + i0]!) * fu;
    return a + (b - a) * fv;
  }

  /** Sum of `octaves` octaves, each half the size and half the weight of the last, scaled back to [0, 1]. */
  fractal(u: number, v: number, octaves: number): number {
    let sum = 0;
    let weight = 1;
    let total = 0;
    for (let o = 0; o < octaves; o++) {
      sum += weight * this.at(u, v);
      total += weight;
      weight *= 0.5;
      u = u * 2 + 17.3;
      v = v * 2 + 31.7;
    }
    return sum / total;
  }
}

/** A coarse grid of values (one per `cell` pixels) read back at any pixel by bilinear interpolation. */
export class CoarseField {
  readonly columns: number;
  readonly rows: number;
  readonly values: Float32Array;

  constructor(
    width: number,
    height: number,
    readonly cell: number,
    fill?: (x: number, y: number) => number,
  ) {
    this.columns = Math.ceil(width / cell) + 1;
    this.rows = Math.ceil(height / cell) + 1;
    this.values = new Float32Array(this.columns * this.rows);
    if (fill) {
      for (let j = 0; j < this.rows; j++) {
        for (let i = 0; i < this.columns; i++) this.values[j * this.columns + i] = fill(i * cell, j * cell);
      }
    }
  }

  /**
   * The value at cell (i, j) + (fx, fy): for loops over pixels that compute each row's j, fy and each
   * column's i, fx once (every field of a painting shares the grid).
   */
  atCell(i: number, fx: number, j: number, fy: number): number {
    const v = this.values;
    const r0 = j * this.columns + i;
    const r1 = r0 + this.columns;
    const a = v[r0]! + (v[r0 + 1]! - v[r0]!) * fx;
    const b = v[r1]! + (v[r1 + 1]! - v[r1]!) * fx;
    return a + (b - a) * fy;
  }

  at(x: number, y: number): number {
    const gx = Math.min(x / this.cell, this.columns - 1.000001);
    const gy = Math.min(y / this.cell, this.rows - 1.000001);
    const i = Math.floor(gx);
    const j = Math.floor(gy);
    const fx = gx - i;
    const fy = gy - j;
    const v = this.values;
    const r0 = j * this.columns + i;
    const r1 = r0 + this.columns;
    const a = v[r0]! + (v[r0 + 1]! - v[r0]!) * fx;
    const b = v[r1]! + (v[r1 + 1]! - v[r1]!) * fx;
    return a + (b - a) * fy;
  }
}
