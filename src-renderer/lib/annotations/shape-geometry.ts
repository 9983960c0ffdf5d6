/**
 * Geometry the Viewer needs while drawing and pointing at shapes, in level-0 pixels: the shapes the tools
 * make, hit testing, moving shapes and vertices, and measurements in the slide's units. Pure. (The main
 * process checks and repairs every shape it stores; this only has to be right for what is on screen.)
 */
import type { AnnotationGeometry, Position } from '../../../src-main/contract/contract.js';
import {
  containsPoint,
  geometryArea,
  geometryBounds,
  geometryLength,
  positionLists,
  type Bounds,
} from '../../../src-main/contract/annotation-shapes.js';

export type { Bounds };
// The measures the main process takes too (contract/annotation-shapes.ts), under the Viewer's names.
/** The rings, lines or point lists of a geometry (a Point is a list of one). */
export const partsOf = positionLists;
export const boundsOf = geometryBounds;
/** Area in square level-0 pixels (outer rings less holes). */
export const areaOf = geometryArea;
/** Perimeter of an area (holes included) or length of a line, in level-0 pixels. */
export const lengthOf = geometryLength;
/** Even-odd point-in-polygon over every ring (holes count as outside). */
export const areaContains = containsPoint;

export function isArea(g: AnnotationGeometry): boolean {
  return g.type === 'Polygon' || g.type === 'MultiPolygon';
}

export function rectangleGeometry(a: Position, b: Position): AnnotationGeometry {
  const x0 = Math.min(a[0]!, b[0]!);
  const y0 = Math.min(a[1]!, b[1]!);
  const x1 = Math.max(a[0]!, b[0]!);
  const y1 = Math.max(a[1]!, b[1]!);
  return {
    type: 'Polygon',
    coordinates: [
      [
        [x0, y0],
        [x1, y0],
        [x1, y1],
        [x0, y1],
        [x0, y0],
      ],
    ],
  };
}

/** Vertices of a drawn ellipse: within 0.1% of its radii (QuPath exports ellipses as polygons too). */
export const ELLIPSE_VERTICES = 72;

/** The ellipse inscribed in the box from a to b. */
export function ellipseGeometry(a: Position, b: Position): AnnotationGeometry {
  const cx = (a[0]! + b[0]!) / 2;
  const cy = (a[1]! + b[1]!) / 2;
  const rx = Math.abs(b[0]! - a[0]!) / 2;
  const ry = Math.abs(b[1]! - a[1]!) / 2;
  const ring: Position[] = [];
  for (let i = 0; i < ELLIPSE_VERTICES; i++) {
    const t = (i / ELLIPSE_VERTICES) * 2 * Math.PI;
    ring.push([cx + rx * Math.cos(t), cy + ry * Math.sin(t)]);
  }
  ring.push([...ring[0]!]);
  return { type: 'Polygon', coordinates: [ring] };
}

/** A closed polygon through `points` (at least three). */
export function polygonGeometry(points: Position[]): AnnotationGeometry {
  return {
    type: 'Polygon',
    coordinates: [[...points.map((p) => [p[0]!, p[1]!]), [points[0]![0]!, points[0]![1]!]]],
  };
}

function segmentDistance(px: number, py: number, a: Position, b: Position): number {
  const dx = b[0]! - a[0]!;
  const dy = b[1]! - a[1]!;
  const len2 = dx * dx + dy * dy;
  const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((px - a[0]!) * dx + (py - a[1]!) * dy) / len2));
  return Math.hypot(px - (a[0]! + t * dx), py - (a[1]! + t * dy));
}

/** Distance from a point to a shape's outline, line or nearest point (0 inside an area). */
export function distanceTo(g: AnnotationGeometry, x: number, y: number): number {
  if (isArea(g) && areaContains(g, x, y)) return 0;
  let best = Infinity;
  for (const part of partsOf(g)) {
    if (part.length === 1) best = Math.min(best, Math.hypot(x - part[0]![0]!, y - part[0]![1]!));
    for (let i = 1; i < part.length; i++)
      best = Math.min(best, segmentDistance(x, y, part[i - 1]!, part[i]!));
    if (g.type === 'MultiPoint')
      for (const p of part) best = Math.min(best, Math.hypot(x - p[0]!, y - p[1]!));
  }
  return best;
}

function mapPositions(
  g: AnnotationGeometry,
  f: (p: Position, part: number, index: number) => Position,
): AnnotationGeometry {
  let part = 0;
  const list = (ps: Position[]) => {
    const k = part++;
    return ps.map((p, i) => f(p, k, i));
  };
  switch (g.type) {
    case 'Point':
      return { type: 'Point', coordinates: f(g.coordinates, 0, 0) };
    case 'MultiPoint':
      return { type: 'MultiPoint', coordinates: list(g.coordinates) };
    case 'LineString':
      return { type: 'LineString', coordinates: list(g.coordinates) };
    case 'Polygon':
      return { type: 'Polygon', coordinates: g.coordinates.map(list) };
    case 'MultiPolygon':
      return { type: 'MultiPolygon', coordinates: g.coordinates.map((p) => p.map(list)) };
  }
}

export function translate(g: AnnotationGeometry, dx: number, dy: number): AnnotationGeometry {
  return mapPositions(g, (p) => [p[0]! + dx, p[1]! + dy, ...p.slice(2)]);
}

/** A vertex: which part (ring, line or point list, in partsOf order) and which position in it. */
export interface VertexRef {
  part: number;
  index: number;
}

/** The vertex of `g` nearest to (x, y) within `tolerance`, or null. A ring's closing copy is skipped. */
export function vertexNear(g: AnnotationGeometry, x: number, y: number, tolerance: number): VertexRef | null {
  let best: VertexRef | null = null;
  let bestD = tolerance;
  partsOf(g).forEach((part, k) => {
    const n = isArea(g) ? part.length - 1 : part.length;
    for (let i = 0; i < n; i++) {
      const d = Math.hypot(part[i]![0]! - x, part[i]![1]! - y);
      if (d <= bestD) {
        bestD = d;
        best = { part: k, index: i };
      }
    }
  });
  return best;
}

/** `g` with one vertex moved to (x, y) (a ring's first and closing positions move together). */
export function moveVertex(g: AnnotationGeometry, v: VertexRef, x: number, y: number): AnnotationGeometry {
  const area = isArea(g);
  return mapPositions(g, (p, part, index) => {
    if (part !== v.part) return p;
    const last = area && v.index === 0 ? index === partsOf(g)[part]!.length - 1 : false;
    return index === v.index || last ? [x, y, ...p.slice(2)] : p;
  });
}

export interface Measures {
  area: string | null;
  length: string | null;
}

function formatNumber(v: number): string {
  return v >= 100 ? Math.round(v).toLocaleString('en-US') : v >= 10 ? v.toFixed(1) : v.toPrecision(3);
}

/**
 * Area and perimeter (or length) as QuPath shows them: µm² up to 10⁶ µm², then mm²; µm up to 10⁴ µm,
 * then mm; pixels where the slide has no resolution. `mpp` is µm per level-0 pixel.
 */
export function measuresOf(g: AnnotationGeometry, mpp: number | null): Measures {
  const area = isArea(g) ? areaOf(g) : null;
  const length = g.type === 'Point' || g.type === 'MultiPoint' ? null : lengthOf(g);
  if (!mpp)
    return {
      area: area === null ? null : `${formatNumber(area)} px²`,
      length: length === null ? null : `${formatNumber(length)} px`,
    };
  const um2 = area === null ? null : area * mpp * mpp;
  const um = length === null ? null : length * mpp;
  return {
    area: um2 === null ? null : um2 >= 1e6 ? `${formatNumber(um2 / 1e6)} mm²` : `${formatNumber(um2)} µm²`,
    length: um === null ? null : um >= 1e4 ? `${formatNumber(um / 1e3)} mm` : `${formatNumber(um)} µm`,
  };
}
