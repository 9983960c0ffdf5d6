/**
 * Seeded fuzzing of the GeoJSON files users hand us (QuPath exports, hand-edited files, other tools'):
 * the QuPath fixture with bytes flipped, cut short or spliced, and generated feature collections whose
 * geometries hold nasty values (strings, nulls, empty and deep arrays, huge numbers, rings that cross
 * themselves or have too few points). Whatever the input, reading either succeeds or throws one ApiError
 * sentence naming the file; what is read imports into a real project database and exports back with
 * finite coordinates only.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../src-main/contract/errors.js';
import { importFeatures } from '../../../src-main/project/annotations.js';
import {
  selectAnnotationClasses,
  selectSlideAnnotations,
} from '../../../src-main/project/annotations-repo.js';
import { readGeoJsonText } from '../../../src-main/project/geojson-read.js';
import { featureCollectionText } from '../../../src-main/project/geojson-write.js';
import { seededRandom } from '../../../src-main/project/split-plan.js';
import { fakeLibrary } from '../../helpers/library.js';
import { repoRoot, tempDir } from '../../helpers/temp.js';

const FIXTURE_TEXT = fs.readFileSync(
  path.join(repoRoot, 'test', 'fixtures', 'annotations', 'qupath-0.5.geojson'),
  'utf8',
);
const FILE = 'fuzzed.geojson';

const NASTY: unknown[] = [
  null,
  'x',
  '',
  0,
  -1,
  1e308,
  -1e308,
  1.5,
  true,
  {},
  [],
  [[]],
  [[[]]],
  [1],
  [1, 2, 3, 4],
  [[1, 2]],
  [
    [0, 0],
    [10, 10],
    [10, 0],
    [0, 10],
    [0, 0],
  ],
  [
    [
      [0, 0],
      [10, 10],
      [10, 0],
      [0, 10],
      [0, 0],
    ],
  ],
  [
    [
      [0, 0],
      [5, 0],
      [0, 0],
    ],
  ],
  [
    [
      [0, 0],
      ['a', 0],
      [5, 5],
      [0, 0],
    ],
  ],
];
const TYPES = [
  'Polygon',
  'MultiPolygon',
  'LineString',
  'Point',
  'MultiPoint',
  'GeometryCollection',
  'Circle',
  7,
  null,
];

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

function deep(random: () => number, depth: number): unknown {
  if (depth === 0 || random() < 0.3)
    return random() < 0.8 ? Math.round(random() * 4000 - 500) : pick(random, NASTY);
  return Array.from({ length: Math.floor(random() * 6) }, () => deep(random, depth - 1));
}

/** A polygon, sometimes crossing itself (then repaired), sometimes with a hole, or a point set. */
function plausible(random: () => number): unknown {
  const x = Math.round(random() * 3000);
  const y = Math.round(random() * 3000);
  const s = 10 + Math.round(random() * 200);
  const r = random();
  if (r < 0.2)
    return {
      type: 'MultiPoint',
      coordinates: [
        [x, y],
        [x + s, y],
      ],
    };
  if (r < 0.4)
    return {
      type: 'Polygon',
      coordinates: [
        [
          [x, y],
          [x + s, y + s],
          [x + s, y],
          [x, y + s],
          [x, y],
        ],
      ],
    };
  const outer = [
    [x, y],
    [x + s, y],
    [x + s, y + s],
    [x, y + s],
    [x, y],
  ];
  const hole = [
    [x + 2, y + 2],
    [x + 4, y + 2],
    [x + 4, y + 4],
    [x + 2, y + 2],
  ];
  return { type: 'Polygon', coordinates: r < 0.6 ? [outer, hole] : [outer] };
}

function generated(random: () => number): string {
  const wild = random() < 0.5;
  const features = Array.from({ length: 1 + Math.floor(random() * 8) }, () => {
    const geometry = !wild
      ? random() < 0.9
        ? plausible(random)
        : { type: pick(random, ['GeometryCollection', 'Circle']), coordinates: [] }
      : random() < 0.1
        ? pick(random, NASTY)
        : { type: pick(random, TYPES), coordinates: random() < 0.5 ? pick(random, NASTY) : deep(random, 4) };
    const properties = !wild
      ? {
          objectType: pick(random, ['annotation', 'detection']),
          classification: pick(random, [
            { name: 'Tumor', color: [200, 0, 0] },
            'Necrosis',
            { name: 'Région ①' },
          ]),
          measurements: { area: random() },
        }
      : random() < 0.2
        ? pick(random, NASTY)
        : {
            objectType: pick(random, ['annotation', 'detection', 'cell', 3, null]),
            classification: pick(random, [
              { name: 'Tumor', color: [200, 0, 0] },
              { name: 'Stroma', color: [300, -5, 'x'] },
              { name: '' },
              'Necrosis',
              42,
              null,
              { color: [1, 2, 3] },
            ]),
            name: pick(random, ['a', '', null, 5, 'é'.repeat(300)]),
            measurements: pick(random, [{ area: 1 }, null, [1, 2]]),
          };
    return {
      type: wild ? pick(random, ['Feature', 'Feature', 'Feature', 'Nope', null]) : 'Feature',
      geometry,
      properties,
    };
  });
  const wrapper = random();
  return JSON.stringify(
    wrapper < 0.6 ? { type: 'FeatureCollection', features } : wrapper < 0.9 ? features : features[0],
  );
}

function mutated(random: () => number): string {
  let text = FIXTURE_TEXT;
  const r = random();
  if (r < 0.25) return text.slice(0, Math.floor(random() * text.length));
  const edits = 1 + Math.floor(random() * 6);
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(random() * text.length);
    const kind = random();
    const piece = pick(random, ['[', ']', '{', '}', ',', '"', '-', '0', 'e', 'null', '1e999', '\u0000', ' ']);
    if (kind < 0.4) text = text.slice(0, at) + piece + text.slice(at + 1);
    else if (kind < 0.7) text = text.slice(0, at) + piece + text.slice(at);
    else text = text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 20));
  }
  return text;
}

function finiteCoordinates(value: unknown): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (Array.isArray(value)) return value.every(finiteCoordinates);
  return false;
}

describe('GeoJSON fuzz', () => {
  it('reads or refuses 600 seeded damaged and generated files with one sentence, never crashing', async () => {
    const { project, ids } = await fakeLibrary(tempDir(), ['a.svs']);
    const random = seededRandom(20261206);
    let accepted = 0;
    let refused = 0;
    try {
      for (let i = 0; i < 600; i++) {
        const text = i % 2 === 0 ? mutated(random) : generated(random);
        let read;
        try {
          read = readGeoJsonText(text, FILE);
        } catch (err) {
          expect(err, `case ${i}: ${text.slice(0, 200)}`).toBeInstanceOf(ApiError);
          expect((err as Error).message, `case ${i}`).toContain(FILE);
          expect((err as Error).message.length, `case ${i}`).toBeLessThan(2000);
          refused++;
          continue;
        }
        accepted++;
        for (const s of read.skipped) expect(s.reason, `case ${i}`).toMatch(/\S/);
        importFeatures(project.db, ids[0]!, read, 'fuzz');
      }
      const exported = JSON.parse(
        featureCollectionText(
          selectSlideAnnotations(project.db, ids[0]!),
          selectAnnotationClasses(project.db),
        ).text,
      ) as { features: { geometry: { coordinates: unknown } }[] };
      for (const f of exported.features) expect(finiteCoordinates(f.geometry.coordinates)).toBe(true);
      expect(project.db.pragma('integrity_check', { simple: true })).toBe('ok');
    } finally {
      project.close();
    }
    // Both paths were exercised.
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(50);
  });

  it('refuses a coordinate too large for a slide (JSON 1e999 is Infinity) naming the feature', () => {
    for (const v of ['1e999', '-1e999', '5e9']) {
      const text = `{"type":"FeatureCollection","features":[{"type":"Feature","geometry":{"type":"Point","coordinates":[0,0]}},
        {"type":"Feature","geometry":{"type":"Polygon","coordinates":[[[0,0],[10,0],[10,${v}],[0,0]]]}}]}`;
      expect(() => readGeoJsonText(text, FILE)).toThrow(
        /fuzzed\.geojson was not imported: feature 1: .*coordinate/,
      );
    }
  });
});
