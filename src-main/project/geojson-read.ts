/**
 * Reading annotation GeoJSON as QuPath 0.4/0.5 writes it (and as other tools write it for QuPath):
 *
 * - a FeatureCollection, QuPath's bare array of Features, one Feature, or bare geometries (QuPath's ROI
 *   export); coordinates in level-0 pixels;
 * - geometries Polygon, MultiPolygon, LineString, Point and MultiPoint (QuPath writes points as MultiPoint,
 *   ellipses as polygons flagged `isEllipse`); other types (MultiLineString, GeometryCollection …) and
 *   features without a geometry are listed as skipped, with their index;
 * - `properties.objectType` (or 0.3's `object_type`), `properties.name`, `properties.classification` as a
 *   name, {name, color: [r, g, b]}, {names: [...]} for derived classes, or 0.3's {name, colorRGB};
 * - everything else (the Feature's `id`, `nucleusGeometry`, the geometry's `plane`, `measurements`,
 *   `metadata`, `color`, `isLocked` …) kept verbatim so that export writes it back.
 *
 * A structurally wrong file (not JSON, a feature that is not a Feature, a coordinate that is not a number,
 * a ring of fewer than three positions) is refused whole, naming the feature and the reason. Polygons
 * whose rings are open are closed; polygons that cross themselves are repaired (annotation-geometry.ts).
 * Validation is zod's.
 */
import fs from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { ApiError } from '../contract/errors.js';
import { MAX_COORDINATE } from '../contract/annotations.js';
import type { AnnotationGeometry, Position } from '../contract/contract.js';
import { hasOpenRing, isValidPolygonal, repairPolygonal } from './annotation-geometry.js';

export interface ImportedFeature {
  /** Index of the feature in the file (0-based, as QuPath and most tools count). */
  index: number;
  geometry: AnnotationGeometry;
  ellipse: boolean;
  objectType: string | null;
  name: string | null;
  classification: { name: string; color: string | null } | null;
  geometryExtra: Record<string, unknown> | null;
  featureExtra: Record<string, unknown> | null;
  properties: Record<string, unknown> | null;
}

export interface GeoJsonRead {
  fileName: string;
  features: ImportedFeature[];
  skipped: { index: number; reason: string }[];
  repaired: number;
}

/** Most features one file may hold (a whole-slide cell detection is about a million). */
export const MAX_FEATURES = 2_000_000;
/** Problems named in the sentence that refuses a file. */
const PROBLEMS_SHOWN = 3;

const SUPPORTED = new Set(['Point', 'MultiPoint', 'LineString', 'Polygon', 'MultiPolygon']);
const KNOWN_UNSUPPORTED = new Set(['MultiLineString', 'GeometryCollection']);

const coordinate = z
  .number({ error: 'a coordinate is not a number' })
  .min(-MAX_COORDINATE, `a coordinate is beyond ±${MAX_COORDINATE.toExponential()} pixels`)
  .max(MAX_COORDINATE, `a coordinate is beyond ±${MAX_COORDINATE.toExponential()} pixels`);
const position = z
  .array(coordinate, { error: 'a position is not an array of numbers' })
  .min(2, 'a position has fewer than 2 numbers');
const line = (min: number, what: string) =>
  z
    .array(position, { error: `${what} is not an array of positions` })
    .min(min, `${what} has fewer than ${min} positions`);
// Rings of three positions are accepted here and closed below; GeoJSON asks for four, the first repeated.
const rings = z
  .array(line(3, 'a ring'), { error: 'a polygon is not an array of rings' })
  .min(1, 'a polygon has no ring');

const coordinateSchemas: Record<string, z.ZodType> = {
  Point: position,
  MultiPoint: line(1, 'a multipoint'),
  LineString: line(2, 'a line'),
  Polygon: rings,
  MultiPolygon: z
    .array(rings, { error: 'a multipolygon is not an array of polygons' })
    .min(1, 'a multipolygon has no polygon'),
};

/**
 * The same checks as coordinateSchemas, by hand: zod takes about a microsecond per position, too slow for
 * a file of millions, so it is asked only for the sentence once this finds something wrong.
 */
function isPosition(p: unknown): boolean {
  if (!Array.isArray(p) || p.length < 2) return false;
  for (let i = 0; i < p.length; i++) {
    const v: unknown = p[i];
    // Also refuses Infinity (JSON's 1e999), which the spatial index cannot hold.
    if (typeof v !== 'number' || !(v >= -MAX_COORDINATE && v <= MAX_COORDINATE)) return false;
  }
  return true;
}
function isLine(l: unknown, min: number): boolean {
  if (!Array.isArray(l) || l.length < min) return false;
  for (let i = 0; i < l.length; i++) if (!isPosition(l[i])) return false;
  return true;
}
function isRings(r: unknown): boolean {
  if (!Array.isArray(r) || r.length < 1) return false;
  for (let i = 0; i < r.length; i++) if (!isLine(r[i], 3)) return false;
  return true;
}
const coordinateChecks: Record<string, (c: unknown) => boolean> = {
  Point: isPosition,
  MultiPoint: (c) => isLine(c, 1),
  LineString: (c) => isLine(c, 2),
  Polygon: isRings,
  MultiPolygon: (c) => Array.isArray(c) && c.length >= 1 && c.every(isRings),
};

const rgb = z.array(z.number().int().min(0).max(255)).length(3);
const classification = z.union([
  z.null(),
  z.string(),
  z.looseObject({
    name: z.string().optional(),
    names: z.array(z.string()).optional(),
    color: rgb.optional(),
    colorRGB: z.number().int().optional(),
  }),
]);

const featureEnvelope = z.looseObject({
  type: z.literal('Feature', { error: 'it is not a Feature' }),
  properties: z.record(z.string(), z.unknown(), { error: 'it is not an object' }).nullish(),
});

export function rgbToHex(rgb: readonly number[]): string {
  return `#${rgb
    .map((c) =>
      Math.max(0, Math.min(255, Math.round(c)))
        .toString(16)
        .padStart(2, '0'),
    )
    .join('')}`;
}

/** QuPath 0.3 packed colours as a signed ARGB int. */
function packedToHex(packed: number): string {
  return rgbToHex([(packed >> 16) & 255, (packed >> 8) & 255, packed & 255]);
}

function describePath(base: string, path: readonly PropertyKey[]): string {
  return base + path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
}

function firstIssue(error: z.ZodError, base: string): string {
  const issue = error.issues[0]!;
  const where = describePath(base, issue.path).replace(/^\./, '');
  return where ? `${where}: ${issue.message}` : issue.message;
}

class FeatureProblem extends Error {}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function without(o: Record<string, unknown>, keys: string[]): Record<string, unknown> | null {
  const out: Record<string, unknown> = {};
  let any = false;
  for (const [k, v] of Object.entries(o))
    if (!keys.includes(k)) {
      out[k] = v;
      any = true;
    }
  return any ? out : null;
}

/** The features of a parsed document, or null when it is none of the shapes QuPath reads. */
function featureList(doc: unknown): unknown[] | null {
  if (Array.isArray(doc))
    return doc.map((item) =>
      isObject(item) && item.type !== 'Feature' && 'coordinates' in item
        ? { type: 'Feature', geometry: item }
        : item,
    );
  if (!isObject(doc)) return null;
  if (doc.type === 'FeatureCollection') return Array.isArray(doc.features) ? doc.features : null;
  if (doc.type === 'Feature') return [doc];
  if (typeof doc.type === 'string' && 'coordinates' in doc) return [{ type: 'Feature', geometry: doc }];
  return null;
}

function closeRings(polygons: Position[][][]): boolean {
  let closed = false;
  for (const polygon of polygons)
    for (const ring of polygon) {
      const first = ring[0]!;
      const last = ring[ring.length - 1]!;
      if (first[0] !== last[0] || first[1] !== last[1]) {
        ring.push([...first]);
        closed = true;
      }
    }
  return closed;
}

type Outcome =
  { kind: 'feature'; feature: ImportedFeature; repaired: boolean } | { kind: 'skipped'; reason: string };

function readFeature(raw: unknown, index: number): Outcome {
  if (!isObject(raw)) throw new FeatureProblem('it is not an object');
  const envelope = featureEnvelope.safeParse(raw);
  if (!envelope.success) throw new FeatureProblem(firstIssue(envelope.error, ''));
  const feature = envelope.data;
  const props = feature.properties ?? null;
  const geometry = feature.geometry;
  if (geometry === null || geometry === undefined) return { kind: 'skipped', reason: 'it has no geometry' };
  if (!isObject(geometry)) throw new FeatureProblem('its geometry is not an object');
  const type = geometry.type;
  if (typeof type !== 'string') throw new FeatureProblem('its geometry has no "type"');
  if (!SUPPORTED.has(type))
    return {
      kind: 'skipped',
      reason: KNOWN_UNSUPPORTED.has(type)
        ? `its geometry is a ${type}, which Tessera does not keep`
        : `its geometry type "${type.slice(0, 40)}" is unknown`,
    };
  if (!coordinateChecks[type]!(geometry.coordinates)) {
    const coords = coordinateSchemas[type]!.safeParse(geometry.coordinates);
    throw new FeatureProblem(
      coords.success
        ? 'geometry.coordinates are malformed'
        : firstIssue(coords.error, 'geometry.coordinates'),
    );
  }
  let shape = { type, coordinates: geometry.coordinates } as AnnotationGeometry;
  let repaired = false;
  if (shape.type === 'Polygon' || shape.type === 'MultiPolygon') {
    const polygons = shape.type === 'Polygon' ? [shape.coordinates] : shape.coordinates;
    repaired = closeRings(polygons);
    if (hasOpenRing(shape)) throw new FeatureProblem('a ring could not be closed');
    if (!isValidPolygonal(shape)) {
      const fixed = repairPolygonal(shape);
      if (!fixed) return { kind: 'skipped', reason: 'its polygon crosses itself and encloses no area' };
      shape = fixed;
      repaired = true;
    }
  }

  let objectType: string | null = null;
  let name: string | null = null;
  let cls: ImportedFeature['classification'] = null;
  const taken: string[] = [];
  if (props) {
    if (typeof props.objectType === 'string') {
      objectType = props.objectType;
      taken.push('objectType');
    }
    if (typeof props.name === 'string') {
      name = props.name;
      taken.push('name');
    }
    if ('classification' in props) {
      const parsed = classification.safeParse(props.classification);
      if (!parsed.success)
        throw new FeatureProblem('properties.classification is neither a class name nor {name, color}');
      const c = parsed.data;
      taken.push('classification');
      if (typeof c === 'string') cls = c.trim() ? { name: c.trim(), color: null } : null;
      else if (c) {
        const className = c.names?.length ? c.names.join(': ') : c.name;
        if (className?.trim())
          cls = {
            name: className.trim(),
            color: c.color ? rgbToHex(c.color) : c.colorRGB !== undefined ? packedToHex(c.colorRGB) : null,
          };
      }
    }
  }
  return {
    kind: 'feature',
    repaired,
    feature: {
      index,
      geometry: shape,
      ellipse: geometry.isEllipse === true,
      objectType,
      name,
      classification: cls,
      geometryExtra: without(geometry, ['type', 'coordinates', 'isEllipse']),
      featureExtra: without(feature, ['type', 'geometry', 'properties']),
      properties: props ? without(props, taken) : null,
    },
  };
}

/** Reads GeoJSON text; `fileName` names it in every sentence. Throws ApiError('bad-input') when malformed. */
export function readGeoJsonText(text: string, fileName: string): GeoJsonRead {
  let doc: unknown;
  try {
    doc = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (err) {
    throw new ApiError('bad-input', `${fileName} is not JSON: ${(err as Error).message}.`);
  }
  const list = featureList(doc);
  if (!list)
    throw new ApiError(
      'bad-input',
      `${fileName} holds no GeoJSON features: expected a FeatureCollection, an array of Features or a Feature.`,
    );
  if (list.length > MAX_FEATURES)
    throw new ApiError(
      'too-large',
      `${fileName} has ${list.length} features; at most ${MAX_FEATURES} can be read at once.`,
    );
  const out: GeoJsonRead = { fileName, features: [], skipped: [], repaired: 0 };
  const problems: string[] = [];
  let problemCount = 0;
  list.forEach((raw, index) => {
    try {
      const outcome = readFeature(raw, index);
      if (outcome.kind === 'skipped') out.skipped.push({ index, reason: outcome.reason });
      else {
        out.features.push(outcome.feature);
        if (outcome.repaired) out.repaired++;
      }
    } catch (err) {
      if (!(err instanceof FeatureProblem) && !(err instanceof Error && err.name === 'GeometryError'))
        throw err;
      problemCount++;
      if (problems.length < PROBLEMS_SHOWN) problems.push(`feature ${index}: ${err.message}`);
    }
  });
  if (problemCount > 0) {
    const more = problemCount - problems.length;
    throw new ApiError(
      'bad-input',
      `${fileName} was not imported: ${problems.join('; ')}${more > 0 ? `; and ${more} more ${more === 1 ? 'feature' : 'features'} like these` : ''}.`,
    );
  }
  return out;
}

/** Reads a GeoJSON file from disk (see readGeoJsonText); a missing or unreadable file is one sentence. */
export async function readGeoJsonFile(file: string): Promise<GeoJsonRead> {
  let text: string;
  try {
    text = await fs.promises.readFile(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ApiError(
      code === 'ENOENT' ? 'not-found' : 'unreadable',
      code === 'ENOENT'
        ? `The file ${file} does not exist.`
        : `Cannot read ${file}: ${(err as Error).message}.`,
    );
  }
  return readGeoJsonText(text, path.basename(file));
}
