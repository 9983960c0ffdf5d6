/**
 * Annotation shapes and classes: what a user does to them (draw, change, delete, paste, merge, subtract,
 * brush, import, export), each in one transaction that returns the edit the session's undo stack keeps.
 * Geometry is checked here on every write: polygons that cross themselves are repaired (a lasso drawn
 * over itself becomes the area it encloses), and nothing with no area is stored.
 */
import { randomUUID } from 'node:crypto';
import type {
  Annotation,
  AnnotationClass,
  AnnotationGeometry,
  AnnotationShape,
  Position,
} from '../contract/contract.js';
import { ApiError } from '../contract/errors.js';
import type { Db } from '../db/connection.js';
import { geometryBounds, polygonsOf, type Bounds } from '../contract/annotation-shapes.js';
import {
  brushStroke,
  GeometryError,
  normalizeGeometry,
  positionCount,
  subtract,
  unite,
} from './annotation-geometry.js';
import {
  deleteAnnotation,
  deleteAnnotationClass,
  insertAnnotation,
  insertAnnotationClass,
  selectAnnotationClass,
  selectAnnotationClassByName,
  selectAnnotationClasses,
  selectAnnotationRecords,
  updateAnnotationClass,
  writeAnnotation,
  type AnnotationRecord,
} from './annotations-repo.js';
import { plural, type CellChange, type Edit } from './edits.js';
import type { GeoJsonRead } from './geojson-read.js';
import { getSlide } from './slides-repo.js';
import { decodeGeometry, encodeGeometry, type StoredGeometry } from './wkb.js';

export interface AnnotationEdit {
  /** Shapes created or changed, as stored now. */
  records: AnnotationRecord[];
  removed: number[];
  /** Null when nothing changed. */
  edit: Edit | null;
}

export function toAnnotation(r: AnnotationRecord): Annotation {
  return {
    id: r.id,
    slideId: r.slideId,
    classId: r.classId,
    objectType: r.objectType,
    name: r.name,
    shape: r.shape,
    geometry: decodeGeometry(r.geometry),
    updatedAt: r.updatedAt,
  };
}

const now = () => new Date().toISOString();

// ---- classes ----

export function listClasses(db: Db): AnnotationClass[] {
  return selectAnnotationClasses(db);
}

function requireClass(db: Db, id: number): AnnotationClass {
  const cls = selectAnnotationClass(db, id);
  if (!cls) throw new ApiError('not-found', `There is no annotation class with id ${id}.`);
  return cls;
}

export function createClass(db: Db, name: string, color: string): AnnotationClass {
  if (selectAnnotationClassByName(db, name))
    throw new ApiError('conflict', `There is already an annotation class named "${name}".`);
  return requireClass(db, insertAnnotationClass(db, name, color));
}

export function updateClass(db: Db, id: number, change: { name?: string; color?: string }): AnnotationClass {
  requireClass(db, id);
  if (change.name !== undefined) {
    const other = selectAnnotationClassByName(db, change.name);
    if (other && other.id !== id)
      throw new ApiError('conflict', `There is already an annotation class named "${change.name}".`);
  }
  db.transaction(() => updateAnnotationClass(db, id, change))();
  return requireClass(db, id);
}

export function deleteClass(db: Db, id: number): number {
  requireClass(db, id);
  return db.transaction(() => deleteAnnotationClass(db, id))();
}

/** A colour for a class a file names without one (QuPath picks one at random; this is stable). */
const PALETTE = ['#c80000', '#96c896', '#a05aa0', '#ffc800', '#0000b4', '#00a0a0', '#e07000', '#7090ff'];
function colorForName(name: string): string {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)!) >>> 0;
  return PALETTE[h % PALETTE.length]!;
}

// ---- shapes ----

/** Coordinates of drawn shapes are kept to 1/100 pixel, as QuPath writes them. */
function roundGeometry(g: AnnotationGeometry): AnnotationGeometry {
  const r = (p: Position): Position => p.map((v) => Math.round(v * 100) / 100);
  switch (g.type) {
    case 'Point':
      return { type: 'Point', coordinates: r(g.coordinates) };
    case 'MultiPoint':
      return { type: 'MultiPoint', coordinates: g.coordinates.map(r) };
    case 'LineString':
      return { type: 'LineString', coordinates: g.coordinates.map(r) };
    case 'Polygon':
      return { type: 'Polygon', coordinates: g.coordinates.map((ring) => ring.map(r)) };
    case 'MultiPolygon':
      return { type: 'MultiPolygon', coordinates: g.coordinates.map((p) => p.map((ring) => ring.map(r))) };
  }
}

interface Prepared {
  stored: StoredGeometry;
  vertexCount: number;
  bounds: Bounds;
}

/** A geometry as it will be stored (rounded, repaired), or a refusal naming why. */
function prepareGeometry(g: AnnotationGeometry, round = true): Prepared {
  let geometry: AnnotationGeometry | null = round ? roundGeometry(g) : g;
  try {
    geometry = normalizeGeometry(geometry).geometry;
  } catch (err) {
    if (err instanceof GeometryError) throw new ApiError('bad-input', err.message);
    throw err;
  }
  if (!geometry) throw new ApiError('bad-input', 'The shape encloses no area.');
  return {
    stored: encodeGeometry(geometry),
    vertexCount: positionCount(geometry),
    bounds: geometryBounds(geometry),
  };
}

function requireSlide(db: Db, slideId: number): void {
  if (!getSlide(db, slideId)) throw new ApiError('not-found', `There is no slide with id ${slideId}.`);
}

function checkClassIds(db: Db, ids: Iterable<number | null | undefined>): void {
  for (const id of new Set(ids)) if (id !== null && id !== undefined) requireClass(db, id);
}

function requireRecords(db: Db, ids: readonly number[]): AnnotationRecord[] {
  const records = selectAnnotationRecords(db, ids);
  if (records.length !== new Set(ids).size) {
    const found = new Set(records.map((r) => r.id));
    const missing = ids.find((id) => !found.has(id));
    throw new ApiError('not-found', `There is no annotation with id ${missing}.`);
  }
  return records;
}

/** A new shape drawn in Tessera: a QuPath annotation with a fresh UUID, so its identity survives export. */
function newRecord(
  slideId: number,
  fields: { classId: number | null; shape: AnnotationShape | null; name: string | null },
  g: Prepared,
  author: string | null,
  extra: Partial<Pick<AnnotationRecord, 'objectType' | 'geometryExtra' | 'featureExtra' | 'properties'>> = {},
): Omit<AnnotationRecord, 'id'> {
  const t = now();
  return {
    slideId,
    classId: fields.classId,
    objectType: 'annotation',
    name: fields.name,
    shape: fields.shape,
    geometry: g.stored,
    geometryExtra: null,
    featureExtra: JSON.stringify({ id: randomUUID() }),
    properties: null,
    vertexCount: g.vertexCount,
    author,
    createdAt: t,
    updatedAt: t,
    ...extra,
  };
}

/** Collects the cells of one edit as the transaction writes them. */
class EditBuilder {
  readonly changes: CellChange[] = [];
  readonly records: AnnotationRecord[] = [];
  readonly removed: number[] = [];

  constructor(private readonly db: Db) {}

  create(r: Omit<AnnotationRecord, 'id'>, bounds: Bounds): AnnotationRecord {
    const id = insertAnnotation(this.db, r, bounds);
    const after = { ...r, id };
    this.changes.push({ kind: 'annotation', slideId: r.slideId, annotationId: id, before: null, after });
    this.records.push(after);
    return after;
  }

  change(before: AnnotationRecord, after: AnnotationRecord, bounds: Bounds): void {
    writeAnnotation(this.db, after, bounds);
    this.changes.push({ kind: 'annotation', slideId: after.slideId, annotationId: after.id, before, after });
    this.records.push(after);
  }

  remove(before: AnnotationRecord): void {
    if (!deleteAnnotation(this.db, before.id)) return;
    this.changes.push({
      kind: 'annotation',
      slideId: before.slideId,
      annotationId: before.id,
      before,
      after: null,
    });
    this.removed.push(before.id);
  }

  result(description: string): AnnotationEdit {
    return {
      records: this.records,
      removed: this.removed,
      edit: this.changes.length ? { description, changes: this.changes } : null,
    };
  }
}

const SHAPE_NAMES: Record<AnnotationShape, string> = {
  rectangle: 'a rectangle',
  ellipse: 'an ellipse',
  polygon: 'a polygon',
  freehand: 'a freehand shape',
  brush: 'a brushed area',
  points: 'points',
  line: 'a line',
};

function className(db: Db, id: number | null): string {
  return id === null ? 'no class' : (selectAnnotationClass(db, id)?.name ?? 'no class');
}

export interface ShapeInput {
  geometry: AnnotationGeometry;
  classId: number | null;
  shape: AnnotationShape | null;
  name: string | null;
}
export interface ShapePatch {
  id: number;
  geometry?: AnnotationGeometry;
  classId?: number | null;
  name?: string | null;
  shape?: AnnotationShape | null;
}

/** Draws, changes and deletes shapes of one slide in one transaction: one undo step. */
export function editAnnotations(
  db: Db,
  slideId: number,
  ops: { create: ShapeInput[]; update: ShapePatch[]; remove: number[] },
  author: string | null,
): AnnotationEdit {
  requireSlide(db, slideId);
  checkClassIds(db, [...ops.create.map((c) => c.classId), ...ops.update.map((u) => u.classId)]);
  const creates = ops.create.map((c) => ({ c, g: prepareGeometry(c.geometry) }));
  const patches = ops.update.map((u) => ({ u, g: u.geometry ? prepareGeometry(u.geometry) : null }));
  const updating = requireRecords(
    db,
    patches.map((p) => p.u.id),
  );
  const removing = selectAnnotationRecords(db, ops.remove);
  for (const r of [...updating, ...removing])
    if (r.slideId !== slideId)
      throw new ApiError(
        'bad-input',
        `Annotation ${r.id} belongs to slide ${r.slideId}, not to slide ${slideId}.`,
      );
  const byId = new Map(updating.map((r) => [r.id, r]));
  return db.transaction(() => {
    const b = new EditBuilder(db);
    for (const { c, g } of creates) b.create(newRecord(slideId, c, g, author), g.bounds);
    for (const { u, g } of patches) {
      const before = byId.get(u.id)!;
      const after: AnnotationRecord = {
        ...before,
        classId: u.classId !== undefined ? u.classId : before.classId,
        name: u.name !== undefined ? u.name : before.name,
        shape: u.shape !== undefined ? u.shape : before.shape,
        ...(g ? { geometry: g.stored, vertexCount: g.vertexCount } : {}),
        updatedAt: now(),
      };
      b.change(before, after, g?.bounds ?? geometryBounds(decodeGeometry(before.geometry)));
    }
    for (const r of removing) b.remove(r);
    return b.result(describeEdit(db, ops));
  })();
}

function describeEdit(db: Db, ops: { create: ShapeInput[]; update: ShapePatch[]; remove: number[] }): string {
  const { create, update, remove } = ops;
  if (create.length && !update.length && !remove.length) {
    const first = create[0]!;
    const cls = className(db, first.classId);
    return create.length === 1
      ? `draw ${first.shape ? SHAPE_NAMES[first.shape] : 'a shape'} (${cls})`
      : `draw ${plural(create.length, 'shape')}`;
  }
  if (remove.length && !create.length && !update.length) return `delete ${plural(remove.length, 'shape')}`;
  if (update.length && !create.length && !remove.length) {
    const classOnly = update.every((u) => u.classId !== undefined && !u.geometry && u.name === undefined);
    if (classOnly) {
      const ids = new Set(update.map((u) => u.classId));
      return ids.size === 1
        ? `set ${plural(update.length, 'shape')} to ${className(db, update[0]!.classId!)}`
        : `change the class of ${plural(update.length, 'shape')}`;
    }
    const geometryOnly = update.every((u) => u.geometry && u.classId === undefined && u.name === undefined);
    if (geometryOnly) return `edit ${plural(update.length, 'shape')}`;
  }
  return `edit ${plural(create.length + update.length + remove.length, 'shape')}`;
}

/** Copies shapes onto a slide at the same coordinates: new ids and UUIDs, everything else kept. */
export function pasteAnnotations(
  db: Db,
  slideId: number,
  ids: number[],
  author: string | null,
): AnnotationEdit {
  requireSlide(db, slideId);
  const sources = requireRecords(db, ids);
  return db.transaction(() => {
    const b = new EditBuilder(db);
    const t = now();
    for (const s of sources) {
      const { id: _id, ...extra } = s.featureExtra
        ? (JSON.parse(s.featureExtra) as Record<string, unknown>)
        : {};
      b.create(
        {
          ...s,
          slideId,
          featureExtra: JSON.stringify({ id: randomUUID(), ...extra }),
          author,
          createdAt: t,
          updatedAt: t,
        },
        geometryBounds(decodeGeometry(s.geometry)),
      );
    }
    return b.result(`paste ${plural(sources.length, 'shape')}`);
  })();
}

function requirePolygonal(records: AnnotationRecord[], what: string): AnnotationGeometry[] {
  return records.map((r) => {
    const g = decodeGeometry(r.geometry);
    if (!polygonsOf(g).length)
      throw new ApiError('bad-input', `Only areas can be ${what}; annotation ${r.id} is a ${g.type}.`);
    return g;
  });
}

function sameSlide(records: AnnotationRecord[]): number {
  const slides = new Set(records.map((r) => r.slideId));
  if (slides.size > 1) throw new ApiError('bad-input', 'Shapes of different slides cannot be combined.');
  return records[0]!.slideId;
}

function booleanResult(run: () => AnnotationGeometry | null): AnnotationGeometry | null {
  try {
    return run();
  } catch (err) {
    if (err instanceof GeometryError) throw new ApiError('bad-input', err.message);
    throw err;
  }
}

/** Unites shapes of one class into the first of `ids`; the others are removed. */
export function mergeAnnotations(db: Db, ids: number[], author: string | null): AnnotationEdit {
  const records = requireRecords(db, ids);
  const ordered = ids.map((id) => records.find((r) => r.id === id)!);
  sameSlide(ordered);
  if (new Set(ordered.map((r) => r.classId)).size > 1)
    throw new ApiError('bad-input', 'Only shapes of one class can be merged.');
  const union = booleanResult(() => unite(requirePolygonal(ordered, 'merged')));
  if (!union) throw new ApiError('bad-input', 'The merged shapes enclose no area.');
  const g = prepareGeometry(union);
  const [primary, ...others] = ordered;
  return db.transaction(() => {
    const b = new EditBuilder(db);
    b.change(
      primary!,
      {
        ...primary!,
        geometry: g.stored,
        vertexCount: g.vertexCount,
        shape: 'polygon',
        author: author ?? primary!.author,
        updatedAt: now(),
      },
      g.bounds,
    );
    for (const r of others) b.remove(r);
    return b.result(`merge ${plural(ordered.length, 'shape')}`);
  })();
}

/**
 * Cuts the cutters out of shape `id`. Cutters of its own class are removed (they were the parts to cut
 * away); cutters of other classes (a pen mark cut out of a tumour region) stay.
 */
export function subtractAnnotations(db: Db, id: number, cutterIds: number[]): AnnotationEdit {
  if (cutterIds.includes(id)) throw new ApiError('bad-input', 'A shape cannot be subtracted from itself.');
  const [subject] = requireRecords(db, [id]);
  const cutters = requireRecords(db, cutterIds);
  sameSlide([subject!, ...cutters]);
  const [subjectGeometry] = requirePolygonal([subject!], 'subtracted from');
  const difference = booleanResult(() => subtract(subjectGeometry!, requirePolygonal(cutters, 'subtracted')));
  return db.transaction(() => {
    const b = new EditBuilder(db);
    if (difference) {
      const g = prepareGeometry(difference);
      b.change(
        subject!,
        { ...subject!, geometry: g.stored, vertexCount: g.vertexCount, shape: 'polygon', updatedAt: now() },
        g.bounds,
      );
    } else b.remove(subject!);
    for (const c of cutters) if (c.classId === subject!.classId) b.remove(c);
    return b.result(`subtract ${plural(cutters.length, 'shape')} from a shape`);
  })();
}

export interface BrushInput {
  slideId: number;
  classId: number | null;
  path: Position[];
  radius: number;
  targetId: number | null;
  erase: boolean;
}

/** A brush stroke added to (or with `erase` cut out of) a shape, or a new brushed shape. */
export function brushAnnotation(db: Db, input: BrushInput, author: string | null): AnnotationEdit {
  requireSlide(db, input.slideId);
  checkClassIds(db, [input.classId]);
  const stroke = booleanResult(() => brushStroke(input.path, input.radius));
  const target = input.targetId !== null ? requireRecords(db, [input.targetId])[0]! : null;
  if (target && target.slideId !== input.slideId)
    throw new ApiError('bad-input', `Annotation ${target.id} belongs to another slide.`);
  const targetGeometry = target ? requirePolygonal([target], 'painted')[0]! : null;
  return db.transaction(() => {
    const b = new EditBuilder(db);
    if (!stroke) return b.result('paint');
    if (!target || !targetGeometry) {
      if (input.erase) return b.result('erase');
      const g = prepareGeometry(stroke);
      b.create(
        newRecord(input.slideId, { classId: input.classId, shape: 'brush', name: null }, g, author),
        g.bounds,
      );
      return b.result(`paint (${className(db, input.classId)})`);
    }
    const result = booleanResult(() =>
      input.erase ? subtract(targetGeometry, [stroke]) : unite([targetGeometry, stroke]),
    );
    if (!result) b.remove(target);
    else {
      const g = prepareGeometry(result);
      b.change(
        target,
        {
          ...target,
          geometry: g.stored,
          vertexCount: g.vertexCount,
          shape: target.shape === 'brush' ? 'brush' : 'polygon',
          updatedAt: now(),
        },
        g.bounds,
      );
    }
    return b.result(
      input.erase
        ? `erase from a shape (${className(db, target.classId)})`
        : `paint (${className(db, target.classId)})`,
    );
  })();
}

// ---- GeoJSON ----

/** An import is kept for undo up to this many positions (its shapes are held in memory by the stack). */
export const MAX_UNDOABLE_IMPORT_POSITIONS = 1_000_000;
export const MAX_UNDOABLE_IMPORT_FEATURES = 50_000;

export interface ImportOutcome {
  imported: number;
  classesCreated: string[];
  warnings: string[];
  undoable: boolean;
  edit: Edit | null;
  annotationIds: number[];
}

/** Writes the features of a read file onto a slide, creating the classes it names, in one transaction. */
export function importFeatures(
  db: Db,
  slideId: number,
  read: GeoJsonRead,
  author: string | null,
): ImportOutcome {
  const slide = getSlide(db, slideId);
  if (!slide) throw new ApiError('not-found', `There is no slide with id ${slideId}.`);
  const positions = read.features.reduce((n, f) => n + positionCount(f.geometry), 0);
  const undoable =
    read.features.length <= MAX_UNDOABLE_IMPORT_FEATURES && positions <= MAX_UNDOABLE_IMPORT_POSITIONS;
  const classesCreated: string[] = [];
  const changes: CellChange[] = [];
  const ids: number[] = [];
  let outside = 0;
  const width = slide.width ?? Infinity;
  const height = slide.height ?? Infinity;
  db.transaction(() => {
    const classIds = new Map<string, number>();
    const classFor = (c: { name: string; color: string | null }): number => {
      let id = classIds.get(c.name);
      if (id === undefined) {
        const existing = selectAnnotationClassByName(db, c.name);
        if (existing) id = existing.id;
        else {
          id = insertAnnotationClass(db, c.name, c.color ?? colorForName(c.name));
          classesCreated.push(c.name);
        }
        classIds.set(c.name, id);
      }
      return id;
    };
    const t = now();
    const json = (o: Record<string, unknown> | null) => (o ? JSON.stringify(o) : null);
    for (const f of read.features) {
      const bounds = geometryBounds(f.geometry);
      if (bounds[0] < 0 || bounds[1] < 0 || bounds[2] > width || bounds[3] > height) outside++;
      const record: Omit<AnnotationRecord, 'id'> = {
        slideId,
        classId: f.classification ? classFor(f.classification) : null,
        objectType: f.objectType,
        name: f.name,
        shape: f.ellipse ? 'ellipse' : null,
        geometry: encodeGeometry(f.geometry),
        geometryExtra: json(f.geometryExtra),
        featureExtra: json(f.featureExtra),
        properties: json(f.properties),
        vertexCount: positionCount(f.geometry),
        author,
        createdAt: t,
        updatedAt: t,
      };
      const id = insertAnnotation(db, record, bounds);
      ids.push(id);
      if (undoable)
        changes.push({
          kind: 'annotation',
          slideId,
          annotationId: id,
          before: null,
          after: { ...record, id },
        });
    }
  })();
  const warnings: string[] = [];
  if (outside > 0)
    warnings.push(
      `${plural(outside, 'feature')} of ${read.fileName} ${outside === 1 ? 'lies' : 'lie'} partly outside ${slide.name} (${slide.width} × ${slide.height} px): ${outside === 1 ? 'is it' : 'are they'} from another slide?`,
    );
  if (read.repaired > 0)
    warnings.push(
      `${plural(read.repaired, 'polygon')} of ${read.fileName} crossed ${read.repaired === 1 ? 'itself or was' : 'themselves or were'} not closed and ${read.repaired === 1 ? 'was' : 'were'} repaired.`,
    );
  if (!undoable && ids.length)
    warnings.push(
      `The import is too large to undo (${plural(ids.length, 'shape')}); remove its shapes by selecting them, or import again into a fresh slide.`,
    );
  return {
    imported: ids.length,
    classesCreated,
    warnings,
    undoable,
    edit: changes.length
      ? { description: `import ${plural(ids.length, 'shape')} from ${read.fileName}`, changes }
      : null,
    annotationIds: ids,
  };
}
