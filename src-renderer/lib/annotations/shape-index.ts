/**
 * The shapes of the open slide, kept for drawing and pointing: an R-tree (rbush) over their bounding boxes
 * so a frame draws only what is in view and a pointer finds its shape among thousands, and per shape its
 * rings as flat arrays with simplified copies made on first use at power-of-two tolerances (level of
 * detail): zoomed out, a 50-vertex outline a few pixels across is drawn with the handful of vertices that
 * show (simplify-js: radial distance, then Douglas-Peucker).
 */
import RBush from 'rbush';
import simplify from 'simplify-js';
import type { Annotation } from '../../../src-main/contract/contract.js';
import { areaOf, boundsOf, distanceTo, isArea, partsOf, type Bounds } from './shape-geometry.js';

export interface IndexedShape {
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
  annotation: Annotation;
  kind: 'area' | 'line' | 'points';
  /** Rings, lines or point lists as [x0, y0, x1, y1, …]. */
  parts: Float64Array[];
  /** Simplified parts by level k (tolerance 2^k level-0 pixels), made when first drawn at that level. */
  lod: (Float64Array[] | undefined)[];
  /** For picking the innermost of nested shapes. */
  area: number;
}

/** Zoomed in beyond this tolerance (level-0 pixels per half screen pixel), outlines are drawn whole. */
const FULL_DETAIL_BELOW = 2;
const MAX_LEVEL = 24;

function flat(part: number[][]): Float64Array {
  const out = new Float64Array(part.length * 2);
  for (let i = 0; i < part.length; i++) {
    out[2 * i] = part[i]![0]!;
    out[2 * i + 1] = part[i]![1]!;
  }
  return out;
}

function entryOf(a: Annotation): IndexedShape {
  const [minX, minY, maxX, maxY] = boundsOf(a.geometry);
  const g = a.geometry;
  return {
    minX,
    minY,
    maxX,
    maxY,
    annotation: a,
    kind: isArea(g) ? 'area' : g.type === 'LineString' ? 'line' : 'points',
    parts: partsOf(g).map(flat),
    lod: [],
    area: areaOf(g),
  };
}

function simplified(part: Float64Array, tolerance: number, closed: boolean): Float64Array {
  const n = part.length / 2;
  if (n <= 4) return part;
  const points: { x: number; y: number }[] = new Array(n);
  for (let i = 0; i < n; i++) points[i] = { x: part[2 * i]!, y: part[2 * i + 1]! };
  const kept = simplify(points, tolerance, false);
  // A ring simplified below a triangle would vanish: keep its box's worth of shape instead.
  if (closed && kept.length < 4) return part.length <= 8 ? part : simplified(part, tolerance / 4, closed);
  const out = new Float64Array(kept.length * 2);
  kept.forEach((p, i) => {
    out[2 * i] = p.x;
    out[2 * i + 1] = p.y;
  });
  return out;
}

export class ShapeIndex {
  private tree = new RBush<IndexedShape>();
  private byId = new Map<number, IndexedShape>();

  get size(): number {
    return this.byId.size;
  }

  load(annotations: readonly Annotation[]): void {
    this.tree.clear();
    this.byId.clear();
    const entries = annotations.map(entryOf);
    for (const e of entries) this.byId.set(e.annotation.id, e);
    this.tree.load(entries);
  }

  upsert(a: Annotation): void {
    this.remove(a.id);
    const e = entryOf(a);
    this.byId.set(a.id, e);
    this.tree.insert(e);
  }

  remove(id: number): void {
    const e = this.byId.get(id);
    if (!e) return;
    this.tree.remove(e);
    this.byId.delete(id);
  }

  get(id: number): IndexedShape | undefined {
    return this.byId.get(id);
  }

  all(): IterableIterator<IndexedShape> {
    return this.byId.values();
  }

  search(b: Bounds): IndexedShape[] {
    return this.tree.search({ minX: b[0], minY: b[1], maxX: b[2], maxY: b[3] });
  }

  /**
   * The parts of a shape to draw when half a screen pixel is `tolerance` level-0 pixels: whole when
   * zoomed in, else the simplified copy of the level at or below the tolerance.
   */
  partsAt(e: IndexedShape, tolerance: number): Float64Array[] {
    if (tolerance < FULL_DETAIL_BELOW || e.kind === 'points') return e.parts;
    const level = Math.min(MAX_LEVEL, Math.floor(Math.log2(tolerance)));
    let parts = e.lod[level];
    if (!parts) {
      const t = 2 ** level;
      parts = e.parts.map((p) => simplified(p, t, e.kind === 'area'));
      e.lod[level] = parts;
    }
    return parts;
  }

  /**
   * The shape under (x, y): the smallest area containing it, else the nearest line or point within
   * `tolerance` level-0 pixels. `only` restricts the search (e.g. to visible shapes).
   */
  hit(x: number, y: number, tolerance: number, only?: (e: IndexedShape) => boolean): IndexedShape | null {
    let best: IndexedShape | null = null;
    let bestArea = Infinity;
    let bestDistance = Infinity;
    for (const e of this.search([x - tolerance, y - tolerance, x + tolerance, y + tolerance])) {
      if (only && !only(e)) continue;
      const d = distanceTo(e.annotation.geometry, x, y);
      if (d > tolerance) continue;
      if (d === 0 && e.kind === 'area') {
        if (bestDistance > 0 || e.area < bestArea) {
          best = e;
          bestArea = e.area;
          bestDistance = 0;
        }
      } else if (bestDistance > 0 && d < bestDistance) {
        best = e;
        bestDistance = d;
      }
    }
    return best;
  }
}
