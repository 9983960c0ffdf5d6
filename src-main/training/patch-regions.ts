/**
 * Patch sampling limited by annotations: a run may keep only patches inside areas of chosen classes
 * (tumour, for a tumour-level task) and leave out patches inside others (pen marks, folds, "Ignore*").
 * A patch counts as inside when its centre lies inside a polygon of the class (holes are outside), the
 * rule CLAM's contour check uses; points and lines mark nothing. Classes are named as in the project.
 */
import type { AnnotationGeometry } from '../contract/contract.js';
import { ApiError } from '../contract/errors.js';
import type { Db } from '../db/connection.js';
import { containsPoint, geometryBounds } from '../contract/annotation-shapes.js';
import { selectAnnotationClasses, selectSlideAnnotations } from '../project/annotations-repo.js';
import { decodeGeometry } from '../project/wkb.js';

export interface PatchRegions {
  include: readonly string[];
  exclude: readonly string[];
}

/** Decides patch by patch (level-0 top-left corner and side) whether the regions keep it. */
export interface RegionFilter {
  keep(x: number, y: number, extent: number): boolean;
  /** What the filter does, for the grid's summary: "inside Tumor; outside Ignore*". */
  note: string;
}

interface Area {
  geometry: AnnotationGeometry;
  minX: number;
  minY: number;
  maxX: number;
  maxY: number;
}

/** Refuses class names the project does not have, in one sentence naming them. */
export function checkRegionClasses(db: Db, regions: PatchRegions): void {
  const known = new Set(selectAnnotationClasses(db).map((c) => c.name));
  const unknown = [...regions.include, ...regions.exclude].filter((name) => !known.has(name));
  if (unknown.length)
    throw new ApiError(
      'bad-input',
      `The run's regions name ${unknown.length === 1 ? 'the class' : 'the classes'} ${unknown.map((n) => `"${n}"`).join(', ')}, which this project does not have (it has ${[...known].map((n) => `"${n}"`).join(', ') || 'none'}).`,
    );
}

/** The filter for one slide, or null when the regions limit nothing. */
export function regionFilter(db: Db, slideId: number, regions: PatchRegions): RegionFilter | null {
  if (!regions.include.length && !regions.exclude.length) return null;
  const classIds = new Map(selectAnnotationClasses(db).map((c) => [c.name, c.id]));
  const idsOf = (names: readonly string[]) =>
    new Set(names.map((n) => classIds.get(n)).filter((id): id is number => id !== undefined));
  const includeIds = idsOf(regions.include);
  const excludeIds = idsOf(regions.exclude);
  const include: Area[] = [];
  const exclude: Area[] = [];
  for (const r of selectSlideAnnotations(db, slideId)) {
    if (r.classId === null) continue;
    const into = includeIds.has(r.classId) ? include : excludeIds.has(r.classId) ? exclude : null;
    if (!into) continue;
    const geometry = decodeGeometry(r.geometry);
    if (geometry.type !== 'Polygon' && geometry.type !== 'MultiPolygon') continue;
    const [minX, minY, maxX, maxY] = geometryBounds(geometry);
    into.push({ geometry, minX, minY, maxX, maxY });
  }
  const inside = (areas: Area[], x: number, y: number) =>
    areas.some(
      (a) => x >= a.minX && x <= a.maxX && y >= a.minY && y <= a.maxY && containsPoint(a.geometry, x, y),
    );
  const limitInside = regions.include.length > 0;
  const notes = [
    ...(limitInside ? [`inside ${regions.include.join(', ')}`] : []),
    ...(regions.exclude.length ? [`outside ${regions.exclude.join(', ')}`] : []),
  ];
  return {
    keep(x, y, extent) {
      const cx = x + extent / 2;
      const cy = y + extent / 2;
      if (limitInside && !inside(include, cx, cy)) return false;
      return !inside(exclude, cx, cy);
    },
    note: notes.join('; '),
  };
}
