/**
 * Painting a heatmap raster: a layer's per-patch values (attention as a percentile rank on the slide, or a
 * task value's probability) looked up per output pixel from the patch under its centre, so cell
 * edges stay sharp at every zoom and fall on the patches' level-0 edges. Deep Zoom geometry as OpenSeadragon
 * and OpenSlide's generator use it: levels halve, rounding up, down to 1 x 1.
 */
import { colorAt, type ColorMapId } from '../contract/heatmap-colors.js';
import type { HeatmapRaster } from './heatmap-raster.js';

/**
 * Attention as each patch's percentile rank on the slide (0 least, 1 most attended; ties share the higher
 * rank), as CLAM draws it: raw attention sums to 1 over thousands of patches and is often nearly flat, so
 * its ranks, not its magnitudes, show where the model looks.
 */
export function attentionPercentiles(attention: Float32Array | readonly number[]): Float32Array {
  const n = attention.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => attention[a]! - attention[b]!);
  const out = new Float32Array(n);
  for (let k = 0; k < n;) {
    let j = k;
    while (j + 1 < n && attention[order[j + 1]!] === attention[order[k]!]) j++;
    for (let t = k; t <= j; t++) out[order[t]!] = n > 1 ? j / (n - 1) : 1;
    k = j + 1;
  }
  return out;
}

/** The layer's value per patch, 0..1; null where the layer does not exist. */
export function layerValues(raster: HeatmapRaster, layer: string): Float32Array | null {
  const n = raster.x.length;
  if (layer === 'attention') return attentionPercentiles(raster.attention);
  const m = /^task-(\d+)-(\d+)$/.exec(layer);
  if (!m) return null;
  const t = +m[1]!;
  const v = +m[2]!;
  const task = raster.tasks[t];
  if (!task || v >= task.values.length) return null;
  const classes = task.values.length;
  const scores = raster.scores[t]!;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = scores[i * classes + v]!;
  return out;
}

/** Patch index by grid cell (column-major lookups by level-0 position); -1 where no patch. */
export class CellIndex {
  readonly columns: number;
  readonly rows: number;
  private readonly cells: Int32Array;

  constructor(readonly raster: HeatmapRaster) {
    this.columns = Math.max(1, Math.ceil(raster.width / raster.extent));
    this.rows = Math.max(1, Math.ceil(raster.height / raster.extent));
    this.cells = new Int32Array(this.columns * this.rows).fill(-1);
    for (let i = 0; i < raster.x.length; i++) {
      const c = Math.round(raster.x[i]! / raster.extent);
      const r = Math.round(raster.y[i]! / raster.extent);
      if (c < this.columns && r < this.rows) this.cells[r * this.columns + c] = i;
    }
  }

  /** The patch covering level-0 point (x, y), or -1. */
  at(x: number, y: number): number {
    const c = Math.floor(x / this.raster.extent);
    const r = Math.floor(y / this.raster.extent);
    if (c < 0 || r < 0 || c >= this.columns || r >= this.rows) return -1;
    const i = this.cells[r * this.columns + c]!;
    if (i < 0) return -1;
    const rx = this.raster.x[i]!;
    const ry = this.raster.y[i]!;
    const e = this.raster.extent;
    return x >= rx && x < rx + e && y >= ry && y < ry + e ? i : -1;
  }
}

export function deepZoomMaxLevel(width: number, height: number): number {
  return Math.ceil(Math.log2(Math.max(width, height, 1)));
}

/** Size of Deep Zoom level `level` (OpenSlide's: halving with rounding up from level 0 at full size). */
export function deepZoomLevelSize(width: number, height: number, level: number): [number, number] {
  let w = width;
  let h = height;
  for (let l = deepZoomMaxLevel(width, height); l > level; l--) {
    w = Math.ceil(w / 2);
    h = Math.ceil(h / 2);
  }
  return [w, h];
}

export interface PaintArea {
  /** Level-0 pixels per output pixel along x and y. */
  scaleX: number;
  scaleY: number;
  /** Output pixel offset of the area's top-left corner. */
  left: number;
  top: number;
  width: number;
  height: number;
}

/** RGBA of the area: the colour of the patch under each pixel's centre, clear where there is none. */
export function paintHeatmap(
  index: CellIndex,
  values: Float32Array,
  map: ColorMapId,
  area: PaintArea,
): Uint8Array {
  const out = new Uint8Array(area.width * area.height * 4);
  const lut = new Uint8Array(256 * 3);
  for (let k = 0; k < 256; k++) lut.set(colorAt(map, k / 255), k * 3);
  for (let j = 0; j < area.height; j++) {
    const y = (area.top + j + 0.5) * area.scaleY;
    for (let i = 0; i < area.width; i++) {
      const p = index.at((area.left + i + 0.5) * area.scaleX, y);
      if (p < 0) continue;
      const k = Math.round(Math.min(1, Math.max(0, values[p]!)) * 255) * 3;
      const o = (j * area.width + i) * 4;
      out[o] = lut[k]!;
      out[o + 1] = lut[k + 1]!;
      out[o + 2] = lut[k + 2]!;
      out[o + 3] = 255;
    }
  }
  return out;
}

/** The area of Deep Zoom tile (level, col, row) of side `tileSize`; null outside the pyramid. */
export function tileArea(
  width: number,
  height: number,
  tileSize: number,
  level: number,
  col: number,
  row: number,
): PaintArea | null {
  if (level > deepZoomMaxLevel(width, height)) return null;
  const [lw, lh] = deepZoomLevelSize(width, height, level);
  const left = col * tileSize;
  const top = row * tileSize;
  if (left >= lw || top >= lh) return null;
  return {
    scaleX: width / lw,
    scaleY: height / lh,
    left,
    top,
    width: Math.min(tileSize, lw - left),
    height: Math.min(tileSize, lh - top),
  };
}

/** The whole slide at most `maxSide` pixels on its longer side (the exported overlay). */
export function overlayArea(width: number, height: number, maxSide = 2048): PaintArea {
  const s = Math.min(1, maxSide / Math.max(width, height));
  const w = Math.max(1, Math.round(width * s));
  const h = Math.max(1, Math.round(height * s));
  return { scaleX: width / w, scaleY: height / h, left: 0, top: 0, width: w, height: h };
}
