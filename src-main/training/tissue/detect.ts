/**
 * Tissue detection on a low-resolution copy of a slide (about 8 µm per mask pixel), in the manner of
 * CLAM's segmentation: saturation of the image flattened onto white, smoothed, thresholded by Otsu's method
 * (clamped so that a slide that is nearly all tissue or all glass is not split in two); pen and marker ink
 * (green or blue hues, near-black strokes) left out even where it lies on tissue; holes smaller than a
 * lumen filled; specks smaller than a small biopsy fragment removed. Saturation separates stained tissue
 * from glass whatever the stain's intensity, which a brightness threshold does not.
 */
import path from 'node:path';
import type { SlideReader } from '../../slides/index.js';
import { boxReduce, flattenOnWhite, nativeBoxReducer } from '../pixel-helpers.js';
import { slideResolution, type SlideResolution } from '../resolution.js';
import { BACKGROUND, INK, TISSUE, type TissueMask } from './mask.js';

export interface TissueOptions {
  /** Size of a mask pixel in µm (default 8); the mask is read from the coarsest level at least this fine. */
  maskMpp?: number;
  /** Level-0 µm/px for slides that do not say (see slideResolution). */
  defaultMpp?: number;
  /** Otsu's threshold on saturation (0-255) is clamped to this range (default [20, 35]). */
  minSaturation?: number;
  maxSaturation?: number;
  /** Tissue pieces smaller than this are dropped (µm², default 10,000: a 100 µm square). */
  minTissueArea?: number;
  /** Holes in tissue up to this size are filled (µm², default 50,000); larger ones (lumens, fat) stay. */
  maxHoleArea?: number;
}

export const TISSUE_DEFAULTS: Required<Omit<TissueOptions, 'defaultMpp'>> = {
  maskMpp: 8,
  minSaturation: 20,
  maxSaturation: 35,
  minTissueArea: 10_000,
  maxHoleArea: 50_000,
};

/** Hues (degrees) of green and blue marker ink; haematoxylin sits at 240 and above (purple). */
const INK_HUE_FROM = 70;
const INK_HUE_TO = 235;
/** Saturation (0-255) an ink-coloured pixel needs to count as ink rather than pale tissue. */
const INK_MIN_SATURATION = 80;
/**
 * Black marker: dark and grey (dense nuclei are as dark only where they are strongly blue-purple), or
 * darker than any stain at 8 µm whatever its hue.
 */
const BLACK_INK_MAX_VALUE = 90;
const BLACK_INK_MAX_SATURATION = 110;
const INK_MAX_VALUE = 45;
/** Ink pieces smaller than this many mask pixels are stain at a tissue edge, not a pen stroke. */
const INK_MIN_PIXELS = 6;

export interface TissueDetection {
  mask: TissueMask;
  /** Slide level read and its box-reduction factor. */
  level: number;
  factor: number;
  resolution: SlideResolution;
  /** Saturation threshold used (0-255). */
  threshold: number;
}

/** Detects tissue on `reader`'s slide; pixels are read through its public region API. */
export async function detectTissue(
  reader: SlideReader,
  options: TissueOptions = {},
): Promise<TissueDetection> {
  const o = { ...TISSUE_DEFAULTS, ...options };
  const { levels } = reader.metadata;
  const level0 = levels[0];
  if (!level0)
    throw new Error(`Cannot detect tissue on ${path.basename(reader.path)}: it has no image levels.`);
  const resolution = slideResolution(reader.metadata, path.basename(reader.path), options.defaultMpp);
  const wanted = o.maskMpp / resolution.mpp;
  let level = 0;
  levels.forEach((l, i) => {
    if (l.downsample <= wanted * 1.001 && l.downsample > levels[level]!.downsample) level = i;
  });
  const lv = levels[level]!;
  const factor = Math.max(1, Math.floor(wanted / lv.downsample + 1e-9));
  const image = await readReduced(reader, level, factor);
  const mask: TissueMask = {
    width: image.width,
    height: image.height,
    downsampleX: (factor * level0.width) / lv.width,
    downsampleY: (factor * level0.height) / lv.height,
    classes: new Uint8Array(image.width * image.height),
    slideWidth: level0.width,
    slideHeight: level0.height,
  };
  const pixelArea = mask.downsampleX * mask.downsampleY * resolution.mpp * resolution.mpp;
  const threshold = classify(image.rgba, mask, o.minSaturation, o.maxSaturation);
  fillHoles(mask, Math.floor(o.maxHoleArea / pixelArea));
  removeSpecks(mask, Math.ceil(o.minTissueArea / pixelArea));
  return { mask, level, factor, resolution, threshold };
}

/** The level box-reduced by `factor` and flattened onto white, in the decode workers where the reader can. */
async function readReduced(
  reader: SlideReader,
  level: number,
  factor: number,
): Promise<{ rgba: Uint8Array; width: number; height: number }> {
  const fast = await reader.readLevelReduced?.(level, factor, true);
  if (fast) return fast;
  const lv = reader.metadata.levels[level]!;
  const width = Math.ceil(lv.width / factor);
  const height = Math.ceil(lv.height / factor);
  const out = new Uint8Array(width * height * 4);
  // Bands of whole reduction blocks, about 16 Mpx each.
  const bandRows = Math.max(factor, Math.floor((1 << 24) / lv.width / factor) * factor);
  const native = nativeBoxReducer();
  for (let ly = 0; ly < lv.height; ly += bandRows) {
    const rows = Math.min(bandRows, lv.height - ly);
    // Level-0 y whose level row (OpenSlide's floor(y / downsample)) is exactly ly.
    const y0 = ly === 0 ? 0 : Math.ceil(ly * lv.downsample);
    const band = await reader.readRegion(level, 0, y0, lv.width, rows);
    let reduced: Uint8Array;
    if (native) reduced = native(band, lv.width, rows, factor, factor, true);
    else {
      flattenOnWhite(band);
      reduced = boxReduce({ rgba: band, width: lv.width, height: rows }, factor, factor).rgba;
    }
    out.set(reduced, (ly / factor) * width * 4);
  }
  return { rgba: out, width, height };
}

/**
 * Sets every pixel's class from its colour and returns the saturation threshold used. Ink is decided per
 * pixel (then grown by one pixel, as stroke edges blend into what lies under them); tissue by the smoothed
 * saturation against Otsu's threshold.
 */
function classify(rgba: Uint8Array, mask: TissueMask, minSat: number, maxSat: number): number {
  const { width: w, height: h, classes } = mask;
  const n = w * h;
  const sat = new Uint8Array(n);
  const ink = new Uint8Array(n);
  for (let p = 0; p < n; p++) {
    const r = rgba[p * 4]!;
    const g = rgba[p * 4 + 1]!;
    const b = rgba[p * 4 + 2]!;
    const max = Math.max(r, g, b);
    const min = Math.min(r, g, b);
    const s = max === 0 ? 0 : Math.round((255 * (max - min)) / max);
    sat[p] = s;
    if (max < INK_MAX_VALUE || (max < BLACK_INK_MAX_VALUE && s < BLACK_INK_MAX_SATURATION)) ink[p] = 1;
    else if (s >= INK_MIN_SATURATION) {
      const hue = hueDegrees(r, g, b, max, min);
      if (hue >= INK_HUE_FROM && hue <= INK_HUE_TO) ink[p] = 1;
    }
  }
  dropSmallPieces(ink, w, h, INK_MIN_PIXELS);
  const smooth = boxBlur3(sat, w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      let nearInk = ink[p] === 1;
      for (let dy = -1; dy <= 1 && !nearInk; dy++) {
        for (let dx = -1; dx <= 1 && !nearInk; dx++) {
          const xx = x + dx;
          const yy = y + dy;
          if (xx >= 0 && yy >= 0 && xx < w && yy < h && ink[yy * w + xx] === 1) nearInk = true;
        }
      }
      if (nearInk) classes[p] = INK;
    }
  }
  // Ink is strongly saturated: left in, it would pull the threshold up into pale tissue.
  const threshold = Math.min(maxSat, Math.max(minSat, otsu(smooth.filter((_, p) => classes[p] !== INK))));
  for (let p = 0; p < n; p++)
    if (classes[p] !== INK) classes[p] = smooth[p]! >= threshold ? TISSUE : BACKGROUND;
  return threshold;
}

function hueDegrees(r: number, g: number, b: number, max: number, min: number): number {
  const d = max - min;
  if (d === 0) return 0;
  let h: number;
  if (max === r) h = ((g - b) / d) % 6;
  else if (max === g) h = (b - r) / d + 2;
  else h = (r - g) / d + 4;
  h *= 60;
  return h < 0 ? h + 360 : h;
}

/** 3 x 3 mean (edges use the pixels that exist), rounded. */
function boxBlur3(src: Uint8Array, w: number, h: number): Uint8Array {
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      let count = 0;
      for (let yy = Math.max(0, y - 1); yy <= Math.min(h - 1, y + 1); yy++) {
        for (let xx = Math.max(0, x - 1); xx <= Math.min(w - 1, x + 1); xx++) {
          sum += src[yy * w + xx]!;
          count++;
        }
      }
      out[y * w + x] = Math.round(sum / count);
    }
  }
  return out;
}

/** Otsu's threshold of 8-bit values: the t maximising the between-class variance of (< t, >= t). */
export function otsu(values: Uint8Array): number {
  const hist = new Float64Array(256);
  for (const v of values) hist[v]!++;
  const total = values.length;
  let sumAll = 0;
  for (let i = 0; i < 256; i++) sumAll += i * hist[i]!;
  let weightBelow = 0;
  let sumBelow = 0;
  let best = 0;
  let bestT = 0;
  for (let t = 1; t < 256; t++) {
    weightBelow += hist[t - 1]!;
    sumBelow += (t - 1) * hist[t - 1]!;
    const weightAbove = total - weightBelow;
    if (weightBelow === 0 || weightAbove === 0) continue;
    const meanBelow = sumBelow / weightBelow;
    const meanAbove = (sumAll - sumBelow) / weightAbove;
    const between = weightBelow * weightAbove * (meanBelow - meanAbove) ** 2;
    if (between > best) {
      best = between;
      bestT = t;
    }
  }
  return bestT;
}

/**
 * Calls `visit` for each 4-connected component of the pixels where `member` is 1, with its pixel indices
 * (a view valid during the call) and whether it touches the border of the w x h grid.
 */
function components(
  member: Uint8Array,
  w: number,
  h: number,
  visit: (pixels: Int32Array, touchesBorder: boolean) => void,
): void {
  const seen = new Uint8Array(w * h);
  const stack = new Int32Array(w * h);
  const found = new Int32Array(w * h);
  for (let start = 0; start < w * h; start++) {
    if (seen[start] || !member[start]) continue;
    let top = 0;
    let count = 0;
    let border = false;
    stack[top++] = start;
    seen[start] = 1;
    const push = (q: number) => {
      if (!seen[q] && member[q]) {
        seen[q] = 1;
        stack[top++] = q;
      }
    };
    while (top > 0) {
      const p = stack[--top]!;
      found[count++] = p;
      const x = p % w;
      const y = (p - x) / w;
      if (x === 0 || y === 0 || x === w - 1 || y === h - 1) border = true;
      if (x > 0) push(p - 1);
      if (x < w - 1) push(p + 1);
      if (y > 0) push(p - w);
      if (y < h - 1) push(p + w);
    }
    visit(found.subarray(0, count), border);
  }
}

/** 1 where `classes` is one of `wanted`. */
function where(classes: Uint8Array, ...wanted: number[]): Uint8Array {
  return classes.map((c) => (wanted.includes(c) ? 1 : 0));
}

/** Clears the 4-connected pieces of 1s in `bits` (w x h) smaller than minPixels. */
function dropSmallPieces(bits: Uint8Array, w: number, h: number, minPixels: number): void {
  const drops: Int32Array[] = [];
  components(bits, w, h, (pixels) => {
    if (pixels.length < minPixels) drops.push(pixels.slice());
  });
  for (const pixels of drops) for (const p of pixels) bits[p] = 0;
}

/** Background enclosed by tissue alone (not by ink or the border), up to maxPixels, becomes tissue. */
function fillHoles(mask: TissueMask, maxPixels: number): void {
  const { width: w, height: h, classes } = mask;
  const fills: Int32Array[] = [];
  components(where(classes, BACKGROUND), w, h, (pixels, border) => {
    if (border || pixels.length > maxPixels) return;
    for (const p of pixels) {
      const x = p % w;
      if ((x > 0 && classes[p - 1] === INK) || (x < w - 1 && classes[p + 1] === INK)) return;
      if (classes[p - w] === INK || classes[p + w] === INK) return;
    }
    fills.push(pixels.slice());
  });
  for (const pixels of fills) for (const p of pixels) classes[p] = TISSUE;
}

/**
 * Tissue pieces with fewer than minPixels tissue pixels become background. Ink counts as connecting (a
 * stroke across tissue does not cut it into specks) but not towards the size.
 */
function removeSpecks(mask: TissueMask, minPixels: number): void {
  const { width: w, height: h, classes } = mask;
  const drops: Int32Array[] = [];
  components(where(classes, TISSUE, INK), w, h, (pixels) => {
    let tissue = 0;
    for (const p of pixels) if (classes[p] === TISSUE) tissue++;
    if (tissue < minPixels) drops.push(pixels.filter((p) => classes[p] === TISSUE));
  });
  for (const pixels of drops) for (const p of pixels) classes[p] = BACKGROUND;
}
