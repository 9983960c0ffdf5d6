/**
 * Writing a slide's shapes as QuPath 0.4/0.5 writes them: a FeatureCollection of Features with `id`,
 * `geometry` (ellipses flagged `isEllipse`, as QuPath reads them back as ellipses), and `properties` with
 * `objectType`, `name`, `classification` {name, color: [r, g, b]} ({names: [...]} for a derived class such
 * as "Tumor: Positive", as QuPath writes those) and whatever else the shape came with, so a file read and
 * written again gives back the same features. One feature per line, so a large export stays readable.
 */
import type { AnnotationClass } from '../contract/contract.js';
import type { AnnotationRecord } from './annotations-repo.js';
import { decodeGeometry } from './wkb.js';

function hexToRgb(hex: string): [number, number, number] {
  const n = parseInt(hex.slice(1), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

export function classificationOf(cls: Pick<AnnotationClass, 'name' | 'color'>): Record<string, unknown> {
  const names = cls.name.split(': ');
  return names.length > 1
    ? { names, color: hexToRgb(cls.color) }
    : { name: cls.name, color: hexToRgb(cls.color) };
}

const parse = (text: string | null): Record<string, unknown> => (text ? JSON.parse(text) : {});

/** One stored shape as a GeoJSON Feature object. */
export function featureOf(
  r: AnnotationRecord,
  classes: ReadonlyMap<number, AnnotationClass>,
): Record<string, unknown> {
  const { id, ...featureExtra } = parse(r.featureExtra);
  const geometry: Record<string, unknown> = { ...decodeGeometry(r.geometry), ...parse(r.geometryExtra) };
  if (r.shape === 'ellipse') geometry.isEllipse = true;
  const properties: Record<string, unknown> = {};
  if (r.objectType !== null) properties.objectType = r.objectType;
  if (r.name !== null) properties.name = r.name;
  const cls = r.classId !== null ? classes.get(r.classId) : undefined;
  if (cls) properties.classification = classificationOf(cls);
  Object.assign(properties, parse(r.properties));
  return {
    type: 'Feature',
    ...(id !== undefined ? { id } : {}),
    geometry,
    ...featureExtra,
    properties,
  };
}

/** The text of a FeatureCollection of `records`. */
export function featureCollectionText(
  records: Iterable<AnnotationRecord>,
  classes: readonly AnnotationClass[],
): { text: string; features: number } {
  const byId = new Map(classes.map((c) => [c.id, c]));
  const lines: string[] = [];
  for (const r of records) lines.push(JSON.stringify(featureOf(r, byId)));
  return {
    text: `{"type":"FeatureCollection","features":[${lines.length ? '\n' + lines.join(',\n') + '\n' : ''}]}\n`,
    features: lines.length,
  };
}
