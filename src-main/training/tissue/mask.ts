/**
 * A slide's tissue mask: one class per pixel of a low-resolution grid laid over level 0, and the area of
 * tissue under any level-0 rectangle (what the patch grid keeps a patch by).
 */

/** Mask pixel classes. */
export const BACKGROUND = 0;
export const TISSUE = 1;
/** Pen or marker ink: left out of the tissue even where it lies on tissue. */
export const INK = 2;

export interface TissueMask {
  width: number;
  height: number;
  /**
   * Level-0 pixels per mask pixel: mask pixel (i, j) covers level-0 [i dx, (i+1) dx) x [j dy, (j+1) dy)
   * (the last column and row may reach past the slide's edge).
   */
  downsampleX: number;
  downsampleY: number;
  /** width x height classes (BACKGROUND, TISSUE, INK), row-major. */
  classes: Uint8Array;
  /** Level-0 size of the slide. */
  slideWidth: number;
  slideHeight: number;
}

/** Tissue area under level-0 rectangles, from a summed-area table of the mask (built once per mask). */
export class TissueCoverage {
  private readonly sums: Float64Array;
  private readonly stride: number;

  constructor(private readonly mask: TissueMask) {
    const { width: w, height: h, classes } = mask;
    this.stride = w + 1;
    // sums[(j) * (w + 1) + i] = tissue pixels in [0, i) x [0, j).
    const sums = new Float64Array((w + 1) * (h + 1));
    for (let j = 0; j < h; j++) {
      let row = 0;
      for (let i = 0; i < w; i++) {
        row += classes[j * w + i] === TISSUE ? 1 : 0;
        sums[(j + 1) * this.stride + i + 1] = sums[j * this.stride + i + 1]! + row;
      }
    }
    this.sums = sums;
  }

  /**
   * Fraction of the level-0 rectangle [x0, x1) x [y0, y1) that is tissue, counting mask pixels by the
   * area they share with it (exact for the piecewise-constant mask: the summed-area table is bilinear
   * between its samples).
   */
  fraction(x0: number, y0: number, x1: number, y1: number): number {
    if (!(x1 > x0 && y1 > y0)) return 0;
    const { downsampleX: dx, downsampleY: dy } = this.mask;
    const area = this.area(x1 / dx, y1 / dy) - this.area(x0 / dx, y1 / dy) - this.area(x1 / dx, y0 / dy);
    const whole = area + this.area(x0 / dx, y0 / dy);
    return Math.min(1, Math.max(0, (whole * dx * dy) / ((x1 - x0) * (y1 - y0))));
  }

  /** Tissue pixels in [0, u) x [0, v) of the mask, u and v fractional. */
  private area(u: number, v: number): number {
    const { width: w, height: h } = this.mask;
    u = Math.min(Math.max(u, 0), w);
    v = Math.min(Math.max(v, 0), h);
    const i = Math.min(Math.floor(u), w - 1);
    const j = Math.min(Math.floor(v), h - 1);
    const fu = u - i;
    const fv = v - j;
    const s = this.sums;
    const at = (a: number, b: number) => s[b * this.stride + a]!;
    return (
      at(i, j) * (1 - fu) * (1 - fv) +
      at(i + 1, j) * fu * (1 - fv) +
      at(i, j + 1) * (1 - fu) * fv +
      at(i + 1, j + 1) * fu * fv
    );
  }
}

/** Tissue pixels as a fraction of the mask (for logs and tests). */
export function tissueShare(mask: TissueMask): number {
  let n = 0;
  for (const c of mask.classes) if (c === TISSUE) n++;
  return n / Math.max(1, mask.classes.length);
}

/**
 * The mask as an RGBA overlay for the viewer, one pixel per mask pixel: tissue tinted, ink marked,
 * background clear (OpenSeadragon stretches it over the slide).
 */
export function overlayRgba(mask: TissueMask): Uint8Array {
  const out = new Uint8Array(mask.width * mask.height * 4);
  for (let p = 0; p < mask.classes.length; p++) {
    const c = mask.classes[p];
    if (c === TISSUE) out.set([0, 200, 90, 110], p * 4);
    else if (c === INK) out.set([230, 40, 40, 150], p * 4);
  }
  return out;
}
