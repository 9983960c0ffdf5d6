/**
 * GeoJSON import and export against a QuPath-style fixture (test/fixtures/annotations/README.md), through
 * the real project database: a round trip gives back the same features, unknown geometry types are listed
 * with their index, malformed files are refused naming the feature and the reason.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { importFeatures } from '../../../src-main/project/annotations.js';
import {
  selectAnnotationClasses,
  selectSlideAnnotations,
} from '../../../src-main/project/annotations-repo.js';
import { readGeoJsonFile, readGeoJsonText } from '../../../src-main/project/geojson-read.js';
import { featureCollectionText } from '../../../src-main/project/geojson-write.js';
import { fakeLibrary } from '../../helpers/library.js';
import { repoRoot, tempDir } from '../../helpers/temp.js';

const FIXTURE = path.join(repoRoot, 'test', 'fixtures', 'annotations', 'qupath-0.5.geojson');
const fixture = () => JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as { features: Record<string, unknown>[] };

async function roundTrip(text: string, fileName: string) {
  const { project, ids } = await fakeLibrary(tempDir(), ['a.svs', 'b.svs']);
  try {
    const read = readGeoJsonText(text, fileName);
    const outcome = importFeatures(project.db, ids[0]!, read, 'tester');
    const out = featureCollectionText(
      selectSlideAnnotations(project.db, ids[0]!),
      selectAnnotationClasses(project.db),
    );
    return {
      read,
      outcome,
      exported: JSON.parse(out.text) as { type: string; features: unknown[] },
      project,
      ids,
    };
  } finally {
    project.close();
  }
}

describe('GeoJSON (QuPath 0.4/0.5)', () => {
  it('imports the QuPath fixture and exports the same features, listing the two it cannot keep', async () => {
    const text = fs.readFileSync(FIXTURE, 'utf8');
    const { read, outcome, exported } = await roundTrip(text, 'qupath-0.5.geojson');
    expect(read.skipped).toEqual([
      { index: 10, reason: 'its geometry is a MultiLineString, which Tessera does not keep' },
      { index: 11, reason: 'its geometry is a GeometryCollection, which Tessera does not keep' },
    ]);
    expect(read.repaired).toBe(0);
    expect(outcome.imported).toBe(10);
    // The default classes are QuPath's; the file adds two.
    expect(outcome.classesCreated).toEqual(['Pen mark', 'Tumor: Positive']);
    expect(outcome.warnings).toEqual([]);
    expect(exported.type).toBe('FeatureCollection');
    expect(exported.features).toEqual(fixture().features.slice(0, 10));
  });

  it("reads QuPath's bare array of features the same way, and a single Feature", async () => {
    const features = fixture().features.slice(0, 10);
    const { exported } = await roundTrip(JSON.stringify(features), 'array.json');
    expect(exported.features).toEqual(features);
    const one = await roundTrip(JSON.stringify(features[2]), 'one.json');
    expect(one.exported.features).toEqual([features[2]]);
    expect(one.read.features[0]!.ellipse).toBe(true);
  });

  it('reads QuPath 0.3 properties (object_type, colorRGB) and classification given as a plain name', async () => {
    const legacy = [
      {
        type: 'Feature',
        id: 'PathAnnotationObject',
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [0, 0],
              [10, 0],
              [10, 10],
              [0, 0],
            ],
          ],
        },
        properties: { object_type: 'annotation', classification: { name: 'Lymph', colorRGB: -16744448 } },
      },
      {
        type: 'Feature',
        geometry: { type: 'Point', coordinates: [5, 5] },
        properties: { classification: 'Tumor' },
      },
    ];
    const { read, exported, outcome } = await roundTrip(JSON.stringify(legacy), 'legacy.geojson');
    expect(read.features.map((f) => f.classification)).toEqual([
      { name: 'Lymph', color: '#008000' },
      { name: 'Tumor', color: null },
    ]);
    expect(outcome.classesCreated).toEqual(['Lymph']);
    // object_type and the legacy id are kept as they came; classifications are written the 0.4 way.
    const [first, second] = exported.features as { id: string; properties: Record<string, unknown> }[];
    expect(first!.id).toBe('PathAnnotationObject');
    expect(first!.properties).toEqual({
      object_type: 'annotation',
      classification: { name: 'Lymph', color: [0, 128, 0] },
    });
    expect(second!.properties).toEqual({ classification: { name: 'Tumor', color: [200, 0, 0] } });
  });

  it('closes open rings and repairs polygons that cross themselves, and says so', async () => {
    const features = [
      {
        type: 'Feature',
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [0, 0],
              [10, 0],
              [10, 10],
              [0, 10],
            ],
          ],
        },
        properties: {},
      },
      {
        type: 'Feature',
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [0, 0],
              [10, 10],
              [10, 0],
              [0, 10],
              [0, 0],
            ],
          ],
        },
        properties: { objectType: 'annotation' },
      },
      {
        type: 'Feature',
        geometry: {
          type: 'Polygon',
          coordinates: [
            [
              [0, 0],
              [5, 0],
              [10, 0],
              [0, 0],
            ],
          ],
        },
        properties: {},
      },
    ];
    const { read, outcome } = await roundTrip(JSON.stringify(features), 'messy.geojson');
    expect(read.repaired).toBe(2);
    expect(read.features[0]!.geometry).toEqual({
      type: 'Polygon',
      coordinates: [
        [
          [0, 0],
          [10, 0],
          [10, 10],
          [0, 10],
          [0, 0],
        ],
      ],
    });
    expect(read.features[1]!.geometry.type).toBe('MultiPolygon');
    expect(read.skipped).toEqual([{ index: 2, reason: 'its polygon crosses itself and encloses no area' }]);
    expect(outcome.warnings).toEqual([
      '2 polygons of messy.geojson crossed themselves or were not closed and were repaired.',
    ]);
  });

  it('warns about features outside the slide', async () => {
    const features = [
      { type: 'Feature', geometry: { type: 'Point', coordinates: [90_000, 5] }, properties: {} },
    ];
    const { outcome } = await roundTrip(JSON.stringify(features), 'far.geojson');
    expect(outcome.warnings[0]).toMatch(
      /^1 feature of far\.geojson lies partly outside a\.svs \(40000 × 30000 px\)/,
    );
  });

  it('refuses a malformed file whole, naming the file, the feature and the reason', () => {
    const refuse = (text: string) => {
      try {
        readGeoJsonText(text, 'bad.geojson');
      } catch (err) {
        return (err as Error).message;
      }
      throw new Error('accepted');
    };
    expect(refuse('{"type": "FeatureCollection", "features": [')).toMatch(/^bad\.geojson is not JSON: /);
    expect(refuse('{"type": "Topology"}')).toBe(
      'bad.geojson holds no GeoJSON features: expected a FeatureCollection, an array of Features or a Feature.',
    );
    const poly = (coordinates: unknown, extra = {}) =>
      JSON.stringify([
        { type: 'Feature', geometry: { type: 'Point', coordinates: [1, 1] }, properties: {} },
        { type: 'Feature', geometry: { type: 'Polygon', coordinates }, properties: {}, ...extra },
      ]);
    expect(
      refuse(
        poly([
          [
            [0, 0],
            [1, '2'],
            [1, 1],
            [0, 0],
          ],
        ]),
      ),
    ).toBe(
      'bad.geojson was not imported: feature 1: geometry.coordinates[0][1][1]: a coordinate is not a number.',
    );
    expect(
      refuse(
        poly([
          [
            [0, 0],
            [1, 1],
          ],
        ]),
      ),
    ).toBe(
      'bad.geojson was not imported: feature 1: geometry.coordinates[0]: a ring has fewer than 3 positions.',
    );
    expect(
      refuse(
        poly(
          [
            [
              [0, 0],
              [1, 1],
              [0, 1],
            ],
          ],
          { properties: { classification: 42 } },
        ),
      ),
    ).toBe(
      'bad.geojson was not imported: feature 1: properties.classification is neither a class name nor {name, color}.',
    );
    expect(refuse('[1, {"type": "Feature", "geometry": {"coordinates": []}}]')).toBe(
      'bad.geojson was not imported: feature 0: it is not an object; feature 1: its geometry has no "type".',
    );
    const many = JSON.stringify(Array.from({ length: 6 }, () => ({ type: 'Feat' })));
    expect(refuse(many)).toBe(
      'bad.geojson was not imported: feature 0: type: it is not a Feature; feature 1: type: it is not a Feature; feature 2: type: it is not a Feature; and 3 more features like these.',
    );
  });

  it('lists features without a geometry or with an unknown type as skipped, never dropping them silently', () => {
    const read = readGeoJsonText(
      JSON.stringify({
        type: 'FeatureCollection',
        features: [
          { type: 'Feature', geometry: null, properties: { name: 'no shape' } },
          { type: 'Feature', geometry: { type: 'Circle', coordinates: [0, 0], radius: 5 }, properties: {} },
          { type: 'Feature', geometry: { type: 'Point', coordinates: [1, 2] }, properties: {} },
        ],
      }),
      'mixed.geojson',
    );
    expect(read.features).toHaveLength(1);
    expect(read.skipped).toEqual([
      { index: 0, reason: 'it has no geometry' },
      { index: 1, reason: 'its geometry type "Circle" is unknown' },
    ]);
  });

  it('says which file is missing', async () => {
    await expect(readGeoJsonFile('/nonexistent/x.geojson')).rejects.toThrow(
      'The file /nonexistent/x.geojson does not exist.',
    );
  });
});
