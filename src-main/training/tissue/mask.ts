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
 * The mask as an RGBA overlay for the viewer, resampled (nearest) onto a grid that spans exactly the
 * slide's level-0 extent, so that the viewer can lay it over the slide at the slide's own size: tissue
 * tinted green, ink marked red, background clear. About one overlay pixel per mask pixel.
 */
export function tissueOverlay(mask: TissueMask): { rgba: Uint8Array; width: number; height: number } {
  const width = Math.max(1, Math.round(mask.slideWidth / mask.downsampleX));
  const height = Math.max(1, Math.round(mask.slideHeight / mask.downsampleY));
  const rgba = new Uint8Array(width * height * 4);
  for (let j = 0; j < height; j++) {
    const my = Math.min(
      mask.height - 1,
      Math.floor(((j + 0.5) * mask.slideHeight) / height / mask.downsampleY),
    );
    for (let i = 0; i < width; i++) {
      const mx = Math.min(
        mask.width - 1,
        Math.floor(((i + 0.5) * mask.slideWidth) / width / mask.downsampleX),
      );
      const c = mask.classes[my * mask.width + mx];
      const at = (j * width + i) * 4;
      if (c === TISSUE) rgba.set([0, 200, 90, 110], at);
      else if (c === INK) rgba.set([230, 40, 40, 150], at);
    }
  }
  return { rgba, width, height };
}
