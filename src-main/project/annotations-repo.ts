/**
 * SQL over annotation_classes, annotations and their R*Tree (annotation_bounds). A shape's row keeps its
 * geometry as WKB (wkb.ts); its bounding box goes into the R*Tree in the same transaction (callers wrap
 * multi-row changes in one). The tree is searched with the slide as its first dimension, so a slide's
 * shapes in a rectangle are one index search whatever the other slides hold.
 */
import type { AnnotationClass, AnnotationShape } from '../contract/contract.js';
import type { Db } from '../db/connection.js';
import { prepared } from '../db/statements.js';
import type { Bounds } from '../contract/annotation-shapes.js';
import type { StoredGeometry } from './wkb.js';

/** A shape as stored: the unit of an edit and of undo (its JSON columns are kept as text). */
export interface AnnotationRecord {
  id: number;
  slideId: number;
  classId: number | null;
  objectType: string | null;
  name: string | null;
  shape: AnnotationShape | null;
  /** The shape in level-0 pixels: WKB, or GeoJSON text where WKB would not keep it exactly (wkb.ts). */
  geometry: StoredGeometry;
  /** JSON objects, or null: the geometry's other members, the Feature's other members, other properties. */
  geometryExtra: string | null;
  featureExtra: string | null;
  properties: string | null;
  vertexCount: number;
  author: string | null;
  createdAt: string;
  updatedAt: string;
}

export type NewAnnotationRecord = Omit<AnnotationRecord, 'id'>;

/** The record's columns, read from the table or its alias `t.` */
const columnsOf = (t = '') =>
  `${t}id AS id, ${t}slide_id AS slideId, ${t}class_id AS classId, ${t}object_type AS objectType,
   ${t}name AS name, ${t}shape AS shape, ${t}geometry AS geometry, ${t}geometry_extra AS geometryExtra,
   ${t}feature_extra AS featureExtra, ${t}properties AS properties, ${t}vertex_count AS vertexCount,
   ${t}author AS author, ${t}created_at AS createdAt, ${t}updated_at AS updatedAt`;
const recordColumns = columnsOf();

function writeBounds(db: Db, id: number, slideId: number, b: Bounds): void {
  prepared(
    db,
    `INSERT OR REPLACE INTO annotation_bounds (id, min_slide, max_slide, min_x, max_x, min_y, max_y)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
  ).run(id, slideId, slideId, Math.floor(b[0]), Math.ceil(b[2]), Math.floor(b[1]), Math.ceil(b[3]));
}

/** The columns a write sets besides the id, with the record's field for each. */
const WRITTEN: [column: string, field: keyof NewAnnotationRecord][] = [
  ['slide_id', 'slideId'],
  ['class_id', 'classId'],
  ['object_type', 'objectType'],
  ['name', 'name'],
  ['shape', 'shape'],
  ['geometry', 'geometry'],
  ['geometry_extra', 'geometryExtra'],
  ['feature_extra', 'featureExtra'],
  ['properties', 'properties'],
  ['vertex_count', 'vertexCount'],
  ['author', 'author'],
  ['created_at', 'createdAt'],
  ['updated_at', 'updatedAt'],
];
const WRITTEN_COLUMNS = WRITTEN.map(([column]) => column).join(', ');
const WRITTEN_PLACES = WRITTEN.map(() => '?').join(', ');
const writtenValues = (r: NewAnnotationRecord) => WRITTEN.map(([, field]) => r[field]);

export function insertAnnotation(db: Db, r: NewAnnotationRecord, bounds: Bounds): number {
  const id = Number(
    prepared(db, `INSERT INTO annotations (${WRITTEN_COLUMNS}) VALUES (${WRITTEN_PLACES})`).run(
      ...writtenValues(r),
    ).lastInsertRowid,
  );
  writeBounds(db, id, r.slideId, bounds);
  return id;
}

/**
 * Writes a shape exactly as recorded, over the row with its id or in its place when gone (an edit, the
 * undo of a removal, the redo of a creation). False when its slide is gone. A class removed since is left
 * off.
 */
export function writeAnnotation(db: Db, r: AnnotationRecord, bounds: Bounds): boolean {
  const classId =
    r.classId !== null && prepared(db, 'SELECT 1 FROM annotation_classes WHERE id = ?').get(r.classId)
      ? r.classId
      : null;
  try {
    prepared(
      db,
      `INSERT OR REPLACE INTO annotations (id, ${WRITTEN_COLUMNS}) VALUES (?, ${WRITTEN_PLACES})`,
    ).run(r.id, ...writtenValues({ ...r, classId }));
  } catch (err) {
    if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY') return false;
    throw err;
  }
  writeBounds(db, r.id, r.slideId, bounds);
  return true;
}

export function deleteAnnotation(db: Db, id: number): boolean {
  return prepared(db, 'DELETE FROM annotations WHERE id = ?').run(id).changes > 0;
}

export function selectAnnotationRecord(db: Db, id: number): AnnotationRecord | undefined {
  return prepared(db, `SELECT ${recordColumns} FROM annotations WHERE id = ?`).get(id) as
    AnnotationRecord | undefined;
}

export function selectAnnotationRecords(db: Db, ids: readonly number[]): AnnotationRecord[] {
  const out: AnnotationRecord[] = [];
  for (const id of ids) {
    const r = selectAnnotationRecord(db, id);
    if (r) out.push(r);
  }
  return out;
}

/** Every shape of a slide, oldest first. */
export function selectSlideAnnotations(db: Db, slideId: number): AnnotationRecord[] {
  return prepared(db, `SELECT ${recordColumns} FROM annotations WHERE slide_id = ? ORDER BY id`).all(
    slideId,
  ) as AnnotationRecord[];
}

/** The shapes of a slide whose bounding boxes meet a rectangle (level-0 pixels), found by the R*Tree. */
export function selectAnnotationsInBounds(db: Db, slideId: number, b: Bounds): AnnotationRecord[] {
  return prepared(
    db,
    `SELECT ${columnsOf('a.')}
     FROM annotation_bounds t JOIN annotations a ON a.id = t.id
     WHERE t.min_slide <= ? AND t.max_slide >= ? AND t.max_x >= ? AND t.min_x <= ? AND t.max_y >= ? AND t.min_y <= ?
     ORDER BY a.id`,
  ).all(
    slideId,
    slideId,
    Math.floor(b[0]),
    Math.ceil(b[2]),
    Math.floor(b[1]),
    Math.ceil(b[3]),
  ) as AnnotationRecord[];
}

/** The ids of a slide's shapes whose bounding boxes meet a rectangle (the index alone). */
export function selectAnnotationIdsInBounds(db: Db, slideId: number, b: Bounds): number[] {
  return (
    prepared(
      db,
      `SELECT id FROM annotation_bounds
       WHERE min_slide <= ? AND max_slide >= ? AND max_x >= ? AND min_x <= ? AND max_y >= ? AND min_y <= ?`,
    ).all(slideId, slideId, Math.floor(b[0]), Math.ceil(b[2]), Math.floor(b[1]), Math.ceil(b[3])) as {
      id: number;
    }[]
  ).map((r) => r.id);
}

export function countSlideAnnotations(db: Db, slideId: number): number {
  return (
    prepared(db, 'SELECT count(*) AS n FROM annotations WHERE slide_id = ?').get(slideId) as { n: number }
  ).n;
}

const classColumns = `c.id, c.name, c.color, c.position,
  (SELECT count(*) FROM annotations a WHERE a.class_id = c.id) AS annotationCount`;

export function selectAnnotationClasses(db: Db): AnnotationClass[] {
  return prepared(
    db,
    `SELECT ${classColumns} FROM annotation_classes c ORDER BY c.position, c.id`,
  ).all() as AnnotationClass[];
}

export function selectAnnotationClass(db: Db, id: number): AnnotationClass | undefined {
  return prepared(db, `SELECT ${classColumns} FROM annotation_classes c WHERE c.id = ?`).get(id) as
    AnnotationClass | undefined;
}

export function selectAnnotationClassByName(db: Db, name: string): AnnotationClass | undefined {
  return prepared(db, `SELECT ${classColumns} FROM annotation_classes c WHERE c.name = ?`).get(name) as
    AnnotationClass | undefined;
}

export function insertAnnotationClass(db: Db, name: string, color: string): number {
  const next = (
    prepared(db, 'SELECT coalesce(max(position) + 1, 0) AS p FROM annotation_classes').get() as { p: number }
  ).p;
  return Number(
    prepared(db, 'INSERT INTO annotation_classes (name, color, position) VALUES (?, ?, ?)').run(
      name,
      color,
      next,
    ).lastInsertRowid,
  );
}

export function updateAnnotationClass(db: Db, id: number, change: { name?: string; color?: string }): void {
  if (change.name !== undefined)
    prepared(db, 'UPDATE annotation_classes SET name = ? WHERE id = ?').run(change.name, id);
  if (change.color !== undefined)
    prepared(db, 'UPDATE annotation_classes SET color = ? WHERE id = ?').run(change.color, id);
}

/** Removes a class; its shapes become unclassified (the foreign key sets NULL). Returns how many. */
export function deleteAnnotationClass(db: Db, id: number): number {
  const n = (
    prepared(db, 'SELECT count(*) AS n FROM annotations WHERE class_id = ?').get(id) as { n: number }
  ).n;
  prepared(db, 'DELETE FROM annotation_classes WHERE id = ?').run(id);
  return n;
}
