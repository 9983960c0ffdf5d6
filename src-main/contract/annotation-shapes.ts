/**
 * Measures of annotation shapes in level-0 pixels that both sides need: the main process for storage,
 * QuPath import and patch sampling (project/annotation-geometry.ts), the Viewer for its hover card, hit
 * testing and moves (src-renderer/lib/annotations/shape-geometry.ts). Pure, types only from the contract:
 * the renderer bundles this file.
 */
import type { AnnotationGeometry, Position } from './annotations.js';

export type Bounds = [minX: number, minY: number, maxX: number, maxY: number];

/** The positions of a geometry, one flat list per ring or line (a point is a list of one). */
export function positionLists(g: AnnotationGeometry): Position[][] {
  switch (g.type) {
    case 'Point':
      return [[g.coordinates]];
    case 'MultiPoint':
    case 'LineString':
      return [g.coordinates];
    case 'Polygon':
      return g.coordinates;
    case 'MultiPolygon':
      return g.coordinates.flat();
  }
}

export function geometryBounds(g: AnnotationGeometry): Bounds {
  let minX = Infinity;
  let minY = Infinity;
  let maxX = -Infinity;
  let maxY = -Infinity;
  for (const list of positionLists(g))
    for (const p of list) {
      const x = p[0]!;
      const y = p[1]!;
      if (x < minX) minX = x;
      if (x > maxX) maxX = x;
      if (y < minY) minY = y;
      if (y > maxY) maxY = y;
    }
  return [minX, minY, maxX, maxY];
}

/** The polygons of a polygonal geometry, each as its rings (none for points and lines). */
export function polygonsOf(g: AnnotationGeometry): Position[][][] {
  if (g.type === 'Polygon') return [g.coordinates];
  if (g.type === 'MultiPolygon') return g.coordinates;
  return [];
}

/** Twice the signed area of a ring by the shoelace formula (positive: counter-clockwise with y up). */
function ringArea2(ring: Position[]): number {
  let sum = 0;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++)
    sum += (ring[j]![0]! - ring[i]![0]!) * (ring[j]![1]! + ring[i]![1]!);
  return sum;
}

/** Area in square level-0 pixels: outer rings less their holes (0 for points and lines). */
export function geometryArea(g: AnnotationGeometry): number {
  let area = 0;
  for (const polygon of polygonsOf(g))
    polygon.forEach((ring, i) => {
      const a = Math.abs(ringArea2(ring)) / 2;
      area += i === 0 ? a : -a;
    });
  return area;
}

/** Perimeter of polygons (holes included) or length of a line, in level-0 pixels; 0 for points. */
export function geometryLength(g: AnnotationGeometry): number {
  if (g.type === 'Point' || g.type === 'MultiPoint') return 0;
  let length = 0;
  for (const list of positionLists(g))
    for (let i = 1; i < list.length; i++)
      length += Math.hypot(list[i]![0]! - list[i - 1]![0]!, list[i]![1]! - list[i - 1]![1]!);
  return length;
}

/** Even-odd point-in-polygon over every ring of a polygonal geometry (holes count as outside). */
export function containsPoint(g: AnnotationGeometry, x: number, y: number): boolean {
  let inside = false;
  for (const polygon of polygonsOf(g))
    for (const ring of polygon)
      for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
        const xi = ring[i]![0]!;
        const yi = ring[i]![1]!;
        const xj = ring[j]![0]!;
        const yj = ring[j]![1]!;
        if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
      }
  return inside;
}
