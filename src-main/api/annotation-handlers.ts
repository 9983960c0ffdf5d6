/** Handlers for annotation classes, shapes, and GeoJSON import and export. */
import type { AnnotationCommandResults, AnnotationEditResult } from '../contract/contract.js';
import type { AppSession } from '../app-state/session.js';
import {
  brushAnnotation,
  createClass,
  deleteClass,
  editAnnotations,
  importFeatures,
  listClasses,
  mergeAnnotations,
  pasteAnnotations,
  subtractAnnotations,
  toAnnotation,
  updateClass,
  type AnnotationEdit,
} from '../project/annotations.js';
import {
  selectAnnotationRecords,
  selectAnnotationsInBounds,
  selectAnnotationClasses,
  selectSlideAnnotations,
} from '../project/annotations-repo.js';
import { featureCollectionText } from '../project/geojson-write.js';
import { readGeoJsonFile, readGeoJsonText } from '../project/geojson-read.js';
import { writeTextFile } from '../project/label-csv-export.js';
import { getSlide } from '../project/slides-repo.js';
import { ApiError } from '../contract/errors.js';
import type { Handlers } from './dispatch.js';
import { notifyLibrary } from './library-events.js';

export function annotationHandlers(session: AppSession): Pick<Handlers, keyof AnnotationCommandResults> {
  const db = () => session.requireProject().db;
  const classesChanged = () => notifyLibrary(session, ['annotation-classes'], []);
  /** Pushes the edit, tells open views, and answers with the shapes as stored. */
  const done = (slideId: number, result: AnnotationEdit): AnnotationEditResult => {
    session.edits.push(result.edit);
    if (result.edit)
      notifyLibrary(
        session,
        ['annotations'],
        [slideId],
        [...result.records.map((r) => r.id), ...result.removed],
      );
    return {
      annotations: result.records.map(toAnnotation),
      removed: result.removed,
      undo: session.edits.state(),
    };
  };
  const slideOf = (ids: number[]) => selectAnnotationRecords(db(), ids.slice(0, 1))[0]?.slideId ?? 0;
  return {
    'annotationClasses.list': () => ({ classes: listClasses(db()) }),
    'annotationClasses.create': ({ name, color }) => {
      const cls = createClass(db(), name, color);
      classesChanged();
      return cls;
    },
    'annotationClasses.update': ({ classId, ...change }) => {
      const cls = updateClass(db(), classId, change);
      classesChanged();
      return cls;
    },
    'annotationClasses.delete': ({ classId }) => {
      const unclassified = deleteClass(db(), classId);
      notifyLibrary(session, ['annotation-classes', 'annotations'], null);
      return { unclassified };
    },
    'annotations.list': ({ slideId, bounds }) => {
      const d = db();
      if (!getSlide(d, slideId)) throw new ApiError('not-found', `There is no slide with id ${slideId}.`);
      const records = bounds
        ? selectAnnotationsInBounds(d, slideId, [bounds.minX, bounds.minY, bounds.maxX, bounds.maxY])
        : selectSlideAnnotations(d, slideId);
      return { annotations: records.map(toAnnotation) };
    },
    'annotations.get': ({ ids }) => ({ annotations: selectAnnotationRecords(db(), ids).map(toAnnotation) }),
    'annotations.edit': ({ slideId, ...ops }) =>
      done(slideId, editAnnotations(db(), slideId, ops, session.author)),
    'annotations.paste': ({ slideId, ids }) =>
      done(slideId, pasteAnnotations(db(), slideId, ids, session.author)),
    'annotations.merge': ({ ids }) => {
      const slideId = slideOf(ids);
      return done(slideId, mergeAnnotations(db(), ids, session.author));
    },
    'annotations.subtract': ({ id, cutterIds }) => {
      const slideId = slideOf([id]);
      return done(slideId, subtractAnnotations(db(), id, cutterIds));
    },
    'annotations.brush': (input) => done(input.slideId, brushAnnotation(db(), input, session.author)),
    'annotations.importGeoJson': async ({ slideId, source }) => {
      const read =
        'path' in source ? await readGeoJsonFile(source.path) : readGeoJsonText(source.text, source.fileName);
      const outcome = importFeatures(db(), slideId, read, session.author);
      session.edits.push(outcome.edit);
      if (outcome.imported || outcome.classesCreated.length)
        notifyLibrary(
          session,
          outcome.classesCreated.length ? ['annotations', 'annotation-classes'] : ['annotations'],
          [slideId],
        );
      return {
        fileName: read.fileName,
        imported: outcome.imported,
        skipped: read.skipped,
        repaired: read.repaired,
        classesCreated: outcome.classesCreated,
        warnings: outcome.warnings,
        undoable: outcome.undoable,
        undo: session.edits.state(),
      };
    },
    'annotations.exportGeoJson': ({ slideId, path }) => {
      const d = db();
      if (!getSlide(d, slideId)) throw new ApiError('not-found', `There is no slide with id ${slideId}.`);
      const { text, features } = featureCollectionText(
        selectSlideAnnotations(d, slideId),
        selectAnnotationClasses(d),
      );
      if (path) return { path: writeTextFile(path, text), geojson: null, features };
      return { path: null, geojson: text, features };
    },
  };
}
