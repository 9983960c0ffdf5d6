/**
 * Geometry of annotation shapes that only the main process needs, in level-0 pixels: validity of polygons
 * (rings closed, edges that do not cross) and their repair, and the boolean operations behind merge,
 * subtract and the brush (bounds, area, length and point-in-shape, which the Viewer needs too, are in
 * contract/annotation-shapes.ts). Boolean operations are polygon-clipping's (Martinez-
 * Rueda-Feito sweep with robust predicates); the validity check is a sweep over edges sorted by x with
 * robust-predicates' orient2d, so that it costs O(n log n) for ordinary shapes and a 100,000-feature
 * import can check every polygon. Pure.
 */
import polygonClipping, { type MultiPolygon as PcMultiPolygon, type Pair } from 'polygon-clipping';
import { orient2d } from 'robust-predicates';
import type { AnnotationGeometry, Position } from '../contract/contract.js';
import { polygonsOf } from '../contract/annotation-shapes.js';

type Ring = Position[];

/** Every position of a geometry (ring closures counted, as stored). */
export function positionCount(g: AnnotationGeometry): number {
  switch (g.type) {
    case 'Point':
      return 1;
    case 'MultiPoint':
    case 'LineString':
      return g.coordinates.length;
    case 'Polygon':
      return g.coordinates.reduce((n, r) => n + r.length, 0);
    case 'MultiPolygon':
      return g.coordinates.reduce((n, p) => n + p.reduce((m, r) => m + r.length, 0), 0);
  }
}

const samePosition = (a: Position, b: Position) => a[0] === b[0] && a[1] === b[1];

/** Whether any ring of a polygonal geometry is not closed (its last position is not its first). */
export function hasOpenRing(g: AnnotationGeometry): boolean {
  return polygonsOf(g).some((p) => p.some((r) => !samePosition(r[0]!, r[r.length - 1]!)));
}

/**
 * The edges of rings, packed for the sweep: per edge ax, ay, bx, by, minX, maxX, minY, maxY in `pos`, and
 * ring, index in ring and the ring's edge count in `ring`. A ring's repeated positions make no edge.
 */
interface Edges {
  n: number;
  pos: Float64Array;
  ring: Int32Array;
}

/** Scratch space reused by every check (a 100,000-feature import checks 100,000 polygons). */
let scratch = {
  pos: new Float64Array(8 * 256),
  ring: new Int32Array(3 * 256),
  order: new Uint32Array(256),
  active: new Uint32Array(256),
};

function edgesOf(rings: Ring[]): Edges {
  let total = 0;
  for (const r of rings) total += Math.max(0, r.length - 1);
  if (scratch.order.length < total) {
    const size = Math.max(total, scratch.order.length * 2);
    scratch = {
      pos: new Float64Array(8 * size),
      ring: new Int32Array(3 * size),
      order: new Uint32Array(size),
      active: new Uint32Array(size),
    };
  }
  const { pos, ring } = scratch;
  let n = 0;
  rings.forEach((positions, r) => {
    const first = n;
    for (let i = 0; i + 1 < positions.length; i++) {
      const a = positions[i]!;
      const b = positions[i + 1]!;
      const ax = a[0]!;
      const ay = a[1]!;
      const bx = b[0]!;
      const by = b[1]!;
      if (ax === bx && ay === by) continue; // a repeated position is harmless
      const o = n * 8;
      pos[o] = ax;
      pos[o + 1] = ay;
      pos[o + 2] = bx;
      pos[o + 3] = by;
      pos[o + 4] = ax < bx ? ax : bx;
      pos[o + 5] = ax < bx ? bx : ax;
      pos[o + 6] = ay < by ? ay : by;
      pos[o + 7] = ay < by ? by : ay;
      ring[n * 3] = r;
      ring[n * 3 + 1] = n - first;
      n++;
    }
    for (let e = first; e < n; e++) ring[e * 3 + 2] = n - first;
  });
  return { n, pos, ring };
}

const sign = (v: number) => (v > 0 ? 1 : v < 0 ? -1 : 0);

/**
 * Whether two edges meet in a way a valid polygon forbids: within one ring, any contact of edges that
 * are not neighbours, and neighbours that fold back on each other; between rings, a proper crossing or a
 * shared stretch (a hole may touch its shell at a point, as OGC allows).
 */
function badContact(E: Edges, e: number, f: number): boolean {
  const p = E.pos;
  const i = e * 8;
  const j = f * 8;
  const eax = p[i]!,
    eay = p[i + 1]!,
    ebx = p[i + 2]!,
    eby = p[i + 3]!;
  const fax = p[j]!,
    fay = p[j + 1]!,
    fbx = p[j + 2]!,
    fby = p[j + 3]!;
  const o1 = sign(orient2d(eax, eay, ebx, eby, fax, fay));
  const o2 = sign(orient2d(eax, eay, ebx, eby, fbx, fby));
  const sameRing = E.ring[e * 3] === E.ring[f * 3];
  const gap = Math.abs(E.ring[e * 3 + 1]! - E.ring[f * 3 + 1]!);
  const neighbours = sameRing && (gap === 1 || gap === E.ring[e * 3 + 2]! - 1);
  if (o1 === 0 && o2 === 0) {
    // Collinear: bad if they share more than a point (or, in one ring, any point but a neighbour's end).
    const overlap =
      p[i + 5]! - p[i + 4]! >= p[i + 7]! - p[i + 6]!
        ? Math.min(p[i + 5]!, p[j + 5]!) - Math.max(p[i + 4]!, p[j + 4]!)
        : Math.min(p[i + 7]!, p[j + 7]!) - Math.max(p[i + 6]!, p[j + 6]!);
    if (overlap > 0) return true;
    return sameRing && !neighbours && overlap === 0;
  }
  if (neighbours) return false;
  const o3 = sign(orient2d(fax, fay, fbx, fby, eax, eay));
  const o4 = sign(orient2d(fax, fay, fbx, fby, ebx, eby));
  if (o1 * o2 < 0 && o3 * o4 < 0) return true; // a proper crossing
  if (!sameRing) return false;
  // Touching: an end of one lies on the other (collinear with it and inside its box).
  const inBox = (k: number, x: number, y: number) =>
    x >= p[k + 4]! && x <= p[k + 5]! && y >= p[k + 6]! && y <= p[k + 7]!;
  return (
    (o1 === 0 && inBox(i, fax, fay)) ||
    (o2 === 0 && inBox(i, fbx, fby)) ||
    (o3 === 0 && inBox(j, eax, eay)) ||
    (o4 === 0 && inBox(j, ebx, eby))
  );
}

/**
 * Whether the rings (closed) of a polygon or multipolygon cross or touch themselves or each other:
 * a sweep over edges sorted by their left end, testing only edges whose x ranges overlap.
 */
export function selfIntersects(rings: Ring[]): boolean {
  const E = edgesOf(rings);
  const p = E.pos;
  const { order, active } = scratch;
  for (let k = 0; k < E.n; k++) order[k] = k;
  if (E.n <= 64) {
    // Insertion sort: for the few edges of most shapes it beats a sort that calls a comparator.
    for (let k = 1; k < E.n; k++) {
      const e = order[k]!;
      const x = p[e * 8 + 4]!;
      let m = k - 1;
      while (m >= 0 && p[order[m]! * 8 + 4]! > x) {
        order[m + 1] = order[m]!;
        m--;
      }
      order[m + 1] = e;
    }
  } else order.subarray(0, E.n).sort((a, b) => p[a * 8 + 4]! - p[b * 8 + 4]!);
  let count = 0;
  for (let k = 0; k < E.n; k++) {
    const e = order[k]!;
    const minX = p[e * 8 + 4]!;
    const minY = p[e * 8 + 6]!;
    const maxY = p[e * 8 + 7]!;
    let kept = 0;
    for (let m = 0; m < count; m++) {
      const a = active[m]!;
      if (p[a * 8 + 5]! < minX) continue; // ends left of this edge: no later edge can meet it
      active[kept++] = a;
      if (p[a * 8 + 7]! < minY || p[a * 8 + 6]! > maxY) continue;
      if (badContact(E, a, e)) return true;
    }
    active[kept] = e;
    count = kept + 1;
  }
  return false;
}

/** Whether a polygonal geometry is valid as stored: closed rings that neither cross nor touch. */
export function isValidPolygonal(g: AnnotationGeometry): boolean {
  if (g.type !== 'Polygon' && g.type !== 'MultiPolygon') return true;
  if (hasOpenRing(g)) return false;
  return !selfIntersects(polygonsOf(g).flat());
}

function toPc(g: AnnotationGeometry): PcMultiPolygon {
  return polygonsOf(g).map((polygon) =>
    polygon.map((ring) => {
      const pairs = ring.map((p) => [p[0]!, p[1]!] as Pair);
      if (!samePosition(ring[0]!, ring[ring.length - 1]!)) pairs.push([ring[0]![0]!, ring[0]![1]!]);
      return pairs;
    }),
  );
}

/** A polygon-clipping result as a geometry: null when empty, a Polygon when one, else a MultiPolygon. */
function fromPc(mp: PcMultiPolygon): AnnotationGeometry | null {
  const polygons = mp.filter((p) => p.length > 0 && p[0]!.length >= 4);
  if (polygons.length === 0) return null;
  if (polygons.length === 1) return { type: 'Polygon', coordinates: polygons[0]! };
  return { type: 'MultiPolygon', coordinates: polygons };
}

export class GeometryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'GeometryError';
  }
}

/** Runs a polygon-clipping operation, turning its rare internal failures into one sentence. */
function clip(what: string, run: () => PcMultiPolygon): AnnotationGeometry | null {
  try {
    return fromPc(run());
  } catch (err) {
    throw new GeometryError(
      `The shapes could not be ${what} (${err instanceof Error ? err.message : String(err)}).`,
    );
  }
}

/**
 * A polygonal geometry as a valid one: crossing rings are untangled by polygon-clipping's union (a
 * figure-eight becomes two polygons; overlapping parts of a multipolygon are merged), open rings closed.
 * Null when nothing with area is left. Points and lines come back as they are.
 */
export function repairPolygonal(g: AnnotationGeometry): AnnotationGeometry | null {
  if (g.type !== 'Polygon' && g.type !== 'MultiPolygon') return g;
  const pc = toPc(g);
  return clip('repaired', () => polygonClipping.union(pc));
}

/** A geometry ready to store: valid polygons kept exactly as given, others repaired. */
export function normalizeGeometry(g: AnnotationGeometry): {
  geometry: AnnotationGeometry | null;
  repaired: boolean;
} {
  if (isValidPolygonal(g)) return { geometry: g, repaired: false };
  return { geometry: repairPolygonal(g), repaired: true };
}

/** The union of polygonal geometries. */
export function unite(geometries: AnnotationGeometry[]): AnnotationGeometry | null {
  const [first, ...rest] = geometries.map(toPc);
  if (!first) return null;
  return clip('merged', () => polygonClipping.union(first, ...rest));
}

/** `subject` less every cutter. */
export function subtract(
  subject: AnnotationGeometry,
  cutters: AnnotationGeometry[],
): AnnotationGeometry | null {
  const pcSubject = toPc(subject);
  const pcCutters = cutters.map(toPc);
  return clip('subtracted', () => polygonClipping.difference(pcSubject, ...pcCutters));
}

/** Sides of the polygon that stands for a disc: the outline is within 0.9% of the radius. */
const DISC_SIDES = 24;

function disc(x: number, y: number, r: number): Pair[][] {
  const ring: Pair[] = [];
  for (let i = 0; i < DISC_SIDES; i++) {
    const t = (i / DISC_SIDES) * 2 * Math.PI;
    ring.push([x + r * Math.cos(t), y + r * Math.sin(t)]);
  }
  ring.push(ring[0]!);
  return [ring];
}

/** The rectangle a disc sweeps from a to b (its ends are the discs at a and b). */
function band(ax: number, ay: number, bx: number, by: number, r: number): Pair[][] {
  const len = Math.hypot(bx - ax, by - ay);
  const nx = (-(by - ay) / len) * r;
  const ny = ((bx - ax) / len) * r;
  return [
    [
      [ax + nx, ay + ny],
      [bx + nx, by + ny],
      [bx - nx, by - ny],
      [ax - nx, ay - ny],
      [ax + nx, ay + ny],
    ],
  ];
}

/**
 * The area a brush of `radius` covers along `path`: discs at the stroke's points joined by bands. Points
 * closer than a quarter of the radius to the last kept one add nothing visible and are dropped.
 */
export function brushStroke(path: Position[], radius: number): AnnotationGeometry | null {
  const kept: [number, number][] = [];
  for (const p of path) {
    const last = kept.at(-1);
    if (!last || Math.hypot(p[0]! - last[0], p[1]! - last[1]) >= radius / 4) kept.push([p[0]!, p[1]!]);
  }
  const pieces: Pair[][][] = kept.map(([x, y]) => disc(x, y, radius));
  for (let i = 1; i < kept.length; i++)
    pieces.push(band(kept[i - 1]![0], kept[i - 1]![1], kept[i]![0], kept[i]![1], radius));
  const [first, ...rest] = pieces;
  return clip('painted', () => polygonClipping.union(first!, ...rest));
}

/** Every position moved by (dx, dy). */
export function translate(g: AnnotationGeometry, dx: number, dy: number): AnnotationGeometry {
  const move = (p: Position): Position => [p[0]! + dx, p[1]! + dy, ...p.slice(2)];
  switch (g.type) {
    case 'Point':
      return { type: 'Point', coordinates: move(g.coordinates) };
    case 'MultiPoint':
      return { type: 'MultiPoint', coordinates: g.coordinates.map(move) };
    case 'LineString':
      return { type: 'LineString', coordinates: g.coordinates.map(move) };
    case 'Polygon':
      return { type: 'Polygon', coordinates: g.coordinates.map((r) => r.map(move)) };
    case 'MultiPolygon':
      return { type: 'MultiPolygon', coordinates: g.coordinates.map((p) => p.map((r) => r.map(move))) };
  }
}
