/**
 * Shapes as stored: OGC Well-Known Binary (little-endian; ISO "Z" types, +1000, where positions carry a
 * z), as GeoPackage and SpatiaLite keep geometry. Doubles keep every coordinate exactly, so a GeoJSON
 * export writes back the numbers it read; writing a million positions is a copy instead of a
 * JSON.stringify, and reading one back a copy instead of a JSON.parse. A geometry WKB cannot hold as
 * given (positions of mixed dimensions, or more than three numbers) is kept as GeoJSON text instead;
 * `decodeGeometry` takes either.
 */
import type { AnnotationGeometry, Position } from '../contract/contract.js';

const TYPE_CODES = { Point: 1, LineString: 2, Polygon: 3, MultiPoint: 4, MultiPolygon: 6 } as const;

/** The stored form of a geometry: WKB bytes, or GeoJSON text where WKB would not keep it exactly. */
export type StoredGeometry = Buffer | string;

function dimensionOf(g: AnnotationGeometry): 2 | 3 | null {
  let dim: number | null = null;
  const visit = (p: Position) => {
    if (dim === null) dim = p.length;
    else if (dim !== p.length) dim = -1;
  };
  switch (g.type) {
    case 'Point':
      visit(g.coordinates);
      break;
    case 'MultiPoint':
    case 'LineString':
      g.coordinates.forEach(visit);
      break;
    case 'Polygon':
      for (const r of g.coordinates) r.forEach(visit);
      break;
    case 'MultiPolygon':
      for (const p of g.coordinates) for (const r of p) r.forEach(visit);
      break;
  }
  return dim === 2 || dim === 3 ? dim : null;
}

function byteLength(g: AnnotationGeometry, dim: number): number {
  const point = 8 * dim;
  const ring = (r: Position[]) => 4 + r.length * point;
  const polygon = (p: Position[][]) => 9 + p.reduce((n, r) => n + ring(r), 0);
  switch (g.type) {
    case 'Point':
      return 5 + point;
    case 'LineString':
      return 5 + ring(g.coordinates);
    case 'Polygon':
      return polygon(g.coordinates);
    case 'MultiPoint':
      return 9 + g.coordinates.length * (5 + point);
    case 'MultiPolygon':
      return 9 + g.coordinates.reduce((n, p) => n + polygon(p), 0);
  }
}

export function encodeGeometry(g: AnnotationGeometry): StoredGeometry {
  const dim = dimensionOf(g);
  if (dim === null) return JSON.stringify(g);
  const buf = Buffer.allocUnsafe(byteLength(g, dim));
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let o = 0;
  const header = (code: number) => {
    view.setUint8(o, 1);
    view.setUint32(o + 1, dim === 3 ? code + 1000 : code, true);
    o += 5;
  };
  const count = (n: number) => {
    view.setUint32(o, n, true);
    o += 4;
  };
  const position = (p: Position) => {
    for (let i = 0; i < dim; i++) {
      view.setFloat64(o, p[i]!, true);
      o += 8;
    }
  };
  const ring = (r: Position[]) => {
    count(r.length);
    r.forEach(position);
  };
  const polygon = (p: Position[][]) => {
    header(TYPE_CODES.Polygon);
    count(p.length);
    p.forEach(ring);
  };
  switch (g.type) {
    case 'Point':
      header(TYPE_CODES.Point);
      position(g.coordinates);
      break;
    case 'LineString':
      header(TYPE_CODES.LineString);
      ring(g.coordinates);
      break;
    case 'Polygon':
      polygon(g.coordinates);
      break;
    case 'MultiPoint':
      header(TYPE_CODES.MultiPoint);
      count(g.coordinates.length);
      for (const p of g.coordinates) {
        header(TYPE_CODES.Point);
        position(p);
      }
      break;
    case 'MultiPolygon':
      header(TYPE_CODES.MultiPolygon);
      count(g.coordinates.length);
      g.coordinates.forEach(polygon);
      break;
  }
  return buf;
}

export function decodeGeometry(stored: StoredGeometry | Uint8Array): AnnotationGeometry {
  if (typeof stored === 'string') return JSON.parse(stored) as AnnotationGeometry;
  const view = new DataView(stored.buffer, stored.byteOffset, stored.byteLength);
  let o = 0;
  let dim = 2;
  const header = (): number => {
    if (view.getUint8(o) !== 1) throw new Error('the stored geometry is not little-endian WKB');
    const code = view.getUint32(o + 1, true);
    o += 5;
    dim = code > 1000 ? 3 : 2;
    return code % 1000;
  };
  const count = () => {
    const n = view.getUint32(o, true);
    o += 4;
    return n;
  };
  const position = (): Position => {
    const p: Position = new Array(dim);
    for (let i = 0; i < dim; i++) {
      p[i] = view.getFloat64(o, true);
      o += 8;
    }
    return p;
  };
  const ring = (): Position[] => {
    const n = count();
    const r: Position[] = new Array(n);
    for (let i = 0; i < n; i++) r[i] = position();
    return r;
  };
  const polygonBody = (): Position[][] => {
    const n = count();
    const p: Position[][] = new Array(n);
    for (let i = 0; i < n; i++) p[i] = ring();
    return p;
  };
  const type = header();
  switch (type) {
    case TYPE_CODES.Point:
      return { type: 'Point', coordinates: position() };
    case TYPE_CODES.LineString:
      return { type: 'LineString', coordinates: ring() };
    case TYPE_CODES.Polygon:
      return { type: 'Polygon', coordinates: polygonBody() };
    case TYPE_CODES.MultiPoint: {
      const n = count();
      const points: Position[] = new Array(n);
      for (let i = 0; i < n; i++) {
        header();
        points[i] = position();
      }
      return { type: 'MultiPoint', coordinates: points };
    }
    case TYPE_CODES.MultiPolygon: {
      const n = count();
      const polygons: Position[][][] = new Array(n);
      for (let i = 0; i < n; i++) {
        header();
        polygons[i] = polygonBody();
      }
      return { type: 'MultiPolygon', coordinates: polygons };
    }
    default:
      throw new Error(`the stored geometry has WKB type ${type}, which Tessera does not write`);
  }
}
