/**
 * Region annotations on slides: classes (a name and a colour, QuPath's PathClass), shapes in level-0 pixel
 * coordinates as GeoJSON geometries, their edits (each one transaction and one step of the session's undo
 * stack), and QuPath-compatible GeoJSON import and export. The renderer imports this file for types only.
 */
import { z } from 'zod';
import { id, shortText } from './schemas.js';
import type { UndoState } from './library.js';

/** A position in level-0 pixels: [x, y], or [x, y, z] as GeoJSON allows (z is kept, never used). */
export type Position = number[];

/** The geometries Tessera draws and keeps; QuPath writes points as MultiPoint and ellipses as polygons. */
export type AnnotationGeometry =
  | { type: 'Point'; coordinates: Position }
  | { type: 'MultiPoint'; coordinates: Position[] }
  | { type: 'LineString'; coordinates: Position[] }
  | { type: 'Polygon'; coordinates: Position[][] }
  | { type: 'MultiPolygon'; coordinates: Position[][][] };

export type AnnotationGeometryType = AnnotationGeometry['type'];

/** How a shape was drawn; null for an imported one. An ellipse is exported with QuPath's `isEllipse`. */
export const ANNOTATION_SHAPES = [
  'rectangle',
  'ellipse',
  'polygon',
  'freehand',
  'brush',
  'points',
  'line',
] as const;
export type AnnotationShape = (typeof ANNOTATION_SHAPES)[number];

export interface AnnotationClass {
  id: number;
  /** As QuPath names it (case matters: "Tumor" and "tumor" are two classes, as in QuPath). */
  name: string;
  /** '#rrggbb'. */
  color: string;
  /** Order in the palette: the first nine take the keys 1–9 in the Viewer's annotate mode. */
  position: number;
  /** Shapes of this class in the whole project. */
  annotationCount: number;
}

export interface Annotation {
  id: number;
  slideId: number;
  classId: number | null;
  /** QuPath's properties.objectType as the shape came ("annotation", "detection", "cell" …); null if none. */
  objectType: string | null;
  name: string | null;
  shape: AnnotationShape | null;
  geometry: AnnotationGeometry;
  updatedAt: string;
}

/** Most positions one geometry may have through the API (a brushed region of a whole slide stays below). */
export const MAX_GEOMETRY_POSITIONS = 1_000_000;
/** Largest GeoJSON accepted as text through the API (a browser file pick). */
export const MAX_GEOJSON_BYTES = 256 * 1024 * 1024;

/**
 * Largest level-0 coordinate, either sign: far beyond any slide (the largest are about 200,000 pixels), and
 * inside the 32-bit integers the spatial index keeps.
 */
export const MAX_COORDINATE = 1e9;

const coordinate = z
  .number({ error: 'a coordinate must be a number' })
  .finite('a coordinate must be finite')
  .min(-MAX_COORDINATE, `a coordinate must be within ±${MAX_COORDINATE.toExponential()} pixels`)
  .max(MAX_COORDINATE, `a coordinate must be within ±${MAX_COORDINATE.toExponential()} pixels`);
const position = z
  .array(coordinate)
  .min(2, 'a position needs x and y')
  .max(3, 'a position has at most x, y, z');
const positions = (min: number, what: string) =>
  z.array(position).min(min, `${what} needs at least ${min} positions`).max(MAX_GEOMETRY_POSITIONS);
const ring = positions(4, 'a polygon ring');
const polygonRings = z.array(ring).min(1, 'a polygon needs an outer ring').max(100_000);

export const annotationGeometry = z.discriminatedUnion('type', [
  z.object({ type: z.literal('Point'), coordinates: position }).strict(),
  z.object({ type: z.literal('MultiPoint'), coordinates: positions(1, 'a multipoint') }).strict(),
  z.object({ type: z.literal('LineString'), coordinates: positions(2, 'a line') }).strict(),
  z.object({ type: z.literal('Polygon'), coordinates: polygonRings }).strict(),
  z
    .object({
      type: z.literal('MultiPolygon'),
      coordinates: z.array(polygonRings).min(1, 'a multipolygon needs a polygon').max(100_000),
    })
    .strict(),
]);

const colorHex = z
  .string()
  .trim()
  .regex(/^#[0-9a-fA-F]{6}$/, 'a colour is written #rrggbb')
  .transform((c) => c.toLowerCase());
const className = shortText('the class name', 200);
const shape = z.enum(ANNOTATION_SHAPES);
const optionalName = z.string().trim().max(1000).nullable();

const newAnnotation = z
  .object({
    geometry: annotationGeometry,
    classId: id.nullable(),
    shape: shape.nullable().default(null),
    name: optionalName.default(null),
  })
  .strict();
const annotationPatch = z
  .object({
    id,
    geometry: annotationGeometry.optional(),
    classId: id.nullable().optional(),
    name: optionalName.optional(),
    /** Set with a changed geometry: a moved ellipse stays one, an edited vertex makes it a polygon. */
    shape: shape.nullable().optional(),
  })
  .strict();

/** The GeoJSON to read: a path on the machine running Tessera, or the text itself (a browser file pick). */
const geoJsonSource = z.union([
  z.object({ path: z.string().trim().min(1).max(4096) }).strict(),
  z
    .object({
      text: z.string().max(MAX_GEOJSON_BYTES, 'the GeoJSON is larger than 256 MB'),
      fileName: shortText('the file name', 500),
    })
    .strict(),
]);

export const annotationCommandInputs = {
  'annotationClasses.list': z.object({}).strict(),
  'annotationClasses.create': z.object({ name: className, color: colorHex }).strict(),
  'annotationClasses.update': z
    .object({ classId: id, name: className.optional(), color: colorHex.optional() })
    .strict(),
  /** Removes a class; its shapes stay, unclassified. Not undoable. */
  'annotationClasses.delete': z.object({ classId: id }).strict(),
  /** The shapes of a slide, or only those whose bounds meet `bounds` (the spatial index answers). */
  'annotations.list': z
    .object({
      slideId: id,
      bounds: z
        .object({ minX: coordinate, minY: coordinate, maxX: coordinate, maxY: coordinate })
        .strict()
        .optional(),
    })
    .strict(),
  /** Shapes by id (those that no longer exist are left out). */
  'annotations.get': z.object({ ids: z.array(id).max(5000) }).strict(),
  /** Draws, changes and deletes shapes of one slide: one transaction, one undo step. */
  'annotations.edit': z
    .object({
      slideId: id,
      create: z.array(newAnnotation).max(100_000).default([]),
      update: z.array(annotationPatch).max(100_000).default([]),
      remove: z.array(id).max(1_000_000).default([]),
    })
    .strict(),
  /** Copies shapes (of any slide) onto a slide at the same coordinates, with new ids. Undoable. */
  'annotations.paste': z.object({ slideId: id, ids: z.array(id).min(1).max(100_000) }).strict(),
  /** Unites polygons of one class into the first: the others are removed. Undoable. */
  'annotations.merge': z.object({ ids: z.array(id).min(2).max(10_000) }).strict(),
  /** Cuts the other polygons of the same class out of `id`; the cutters are removed. Undoable. */
  'annotations.subtract': z.object({ id, cutterIds: z.array(id).min(1).max(10_000) }).strict(),
  /**
   * A brush stroke: the area a disc of `radius` covers along `path`, added to `targetId` (or to a new
   * shape of `classId`), or cut out of `targetId` when `erase`. Undoable.
   */
  'annotations.brush': z
    .object({
      slideId: id,
      classId: id.nullable(),
      path: z.array(position).min(1).max(100_000),
      radius: z.number().positive().max(1_000_000),
      targetId: id.nullable().default(null),
      erase: z.boolean().default(false),
    })
    .strict(),
  /** Reads QuPath-style GeoJSON onto a slide in one transaction (one undo step where it is small enough). */
  'annotations.importGeoJson': z.object({ slideId: id, source: geoJsonSource }).strict(),
  /** A slide's shapes as a QuPath-style FeatureCollection: to `path` when given, else returned as text. */
  'annotations.exportGeoJson': z
    .object({ slideId: id, path: z.string().trim().min(1).max(4096).optional() })
    .strict(),
} as const;

export interface AnnotationEditResult {
  /** The shapes created or changed, as stored. */
  annotations: Annotation[];
  removed: number[];
  undo: UndoState;
}

export interface GeoJsonImportResult {
  fileName: string;
  imported: number;
  /** Features not imported, each with its index in the file and the reason (unknown geometry types …). */
  skipped: { index: number; reason: string }[];
  /** Polygons that crossed themselves (or had unclosed rings) and were repaired. */
  repaired: number;
  /** Classes the file named that the project did not have, created with the file's colours. */
  classesCreated: string[];
  warnings: string[];
  /** False where the import was too large to keep for undo (its shapes are removed one by one). */
  undoable: boolean;
  undo: UndoState;
}

export interface AnnotationCommandResults {
  'annotationClasses.list': { classes: AnnotationClass[] };
  'annotationClasses.create': AnnotationClass;
  'annotationClasses.update': AnnotationClass;
  'annotationClasses.delete': { unclassified: number };
  'annotations.list': { annotations: Annotation[] };
  'annotations.get': { annotations: Annotation[] };
  'annotations.edit': AnnotationEditResult;
  'annotations.paste': AnnotationEditResult;
  'annotations.merge': AnnotationEditResult;
  'annotations.subtract': AnnotationEditResult;
  'annotations.brush': AnnotationEditResult;
  'annotations.importGeoJson': GeoJsonImportResult;
  'annotations.exportGeoJson': { path: string | null; geojson: string | null; features: number };
}
