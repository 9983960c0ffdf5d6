/** Shape geometry: areas against hand-computed values, holes, validity, repair and boolean operations. */
import { describe, expect, it } from 'vitest';
import type { AnnotationGeometry } from '../../../src-main/contract/contract.js';
import {
  containsPoint,
  geometryArea,
  geometryBounds,
  geometryLength,
} from '../../../src-main/contract/annotation-shapes.js';
import {
  brushStroke,
  isValidPolygonal,
  normalizeGeometry,
  subtract,
  unite,
} from '../../../src-main/project/annotation-geometry.js';
import { decodeGeometry, encodeGeometry } from '../../../src-main/project/wkb.js';

const square = (x: number, y: number, s: number) => [
  [x, y],
  [x + s, y],
  [x + s, y + s],
  [x, y + s],
  [x, y],
];
const polygon = (...rings: number[][][]): AnnotationGeometry => ({ type: 'Polygon', coordinates: rings });

describe('annotation geometry', () => {
  it('measures areas and perimeters as computed by hand, holes taken out', () => {
    // A 600 × 600 square with a 200 × 200 hole: 360,000 − 40,000 px²; perimeter 4·600 + 4·200.
    const framed = polygon(square(100, 100, 600), square(300, 300, 200).reverse());
    expect(geometryArea(framed)).toBe(320_000);
    expect(geometryLength(framed)).toBe(3200);
    // A right triangle with legs 30 and 40: area 600, perimeter 30 + 40 + 50, either winding.
    const triangle = polygon([
      [0, 0],
      [30, 0],
      [0, 40],
      [0, 0],
    ]);
    expect(geometryArea(triangle)).toBe(600);
    expect(geometryLength(triangle)).toBe(120);
    expect(geometryArea(polygon([...square(0, 0, 10)].reverse()))).toBe(100);
    // Two parts add up; points and lines have no area.
    expect(
      geometryArea({ type: 'MultiPolygon', coordinates: [[square(0, 0, 10)], [square(20, 0, 5)]] }),
    ).toBe(125);
    expect(
      geometryArea({
        type: 'LineString',
        coordinates: [
          [0, 0],
          [3, 4],
        ],
      }),
    ).toBe(0);
    expect(
      geometryLength({
        type: 'LineString',
        coordinates: [
          [0, 0],
          [3, 4],
          [3, 10],
        ],
      }),
    ).toBe(11);
    expect(geometryBounds(framed)).toEqual([100, 100, 700, 700]);
  });

  it('knows inside from outside, a hole being outside', () => {
    const framed = polygon(square(100, 100, 600), square(300, 300, 200));
    expect(containsPoint(framed, 150, 150)).toBe(true);
    expect(containsPoint(framed, 400, 400)).toBe(false);
    expect(containsPoint(framed, 50, 400)).toBe(false);
  });

  it('finds rings that cross or touch themselves, and keeps valid ones as they are', () => {
    const bowtie = polygon([
      [0, 0],
      [10, 10],
      [10, 0],
      [0, 10],
      [0, 0],
    ]);
    expect(isValidPolygonal(bowtie)).toBe(false);
    expect(isValidPolygonal(polygon(square(0, 0, 10)))).toBe(true);
    // A spike (an edge folding back on the one before) and a ring touching itself at a vertex.
    expect(
      isValidPolygonal(
        polygon([
          [0, 0],
          [10, 0],
          [5, 0],
          [5, 5],
          [0, 0],
        ]),
      ),
    ).toBe(false);
    expect(
      isValidPolygonal(
        polygon([
          [0, 0],
          [10, 0],
          [10, 10],
          [5, 0],
          [0, 10],
          [0, 0],
        ]),
      ),
    ).toBe(false);
    // A hole crossing its shell is invalid; a hole touching it at one point is valid (OGC).
    expect(isValidPolygonal(polygon(square(0, 0, 10), square(5, 5, 10)))).toBe(false);
    expect(
      isValidPolygonal(
        polygon(square(0, 0, 10), [
          [0, 5],
          [5, 3],
          [5, 7],
          [0, 5],
        ]),
      ),
    ).toBe(true);
    // Repeated positions are harmless; an open ring is not valid as stored.
    expect(
      isValidPolygonal(
        polygon([
          [0, 0],
          [10, 0],
          [10, 0],
          [10, 10],
          [0, 10],
          [0, 0],
        ]),
      ),
    ).toBe(true);
    expect(
      isValidPolygonal(
        polygon([
          [0, 0],
          [10, 0],
          [10, 10],
          [0, 10],
        ]),
      ),
    ).toBe(false);
    // A 5,000-vertex circle is valid, and found so quickly (the sweep, not all pairs).
    const circle = Array.from({ length: 5000 }, (_, i) => [
      1000 * Math.cos((i / 5000) * 2 * Math.PI),
      1000 * Math.sin((i / 5000) * 2 * Math.PI),
    ]);
    expect(isValidPolygonal(polygon([...circle, circle[0]!]))).toBe(true);
  });

  it('repairs a figure-eight into the two areas it encloses, and refuses a shape with no area', () => {
    const { geometry, repaired } = normalizeGeometry(
      polygon([
        [0, 0],
        [10, 10],
        [10, 0],
        [0, 10],
        [0, 0],
      ]),
    );
    expect(repaired).toBe(true);
    expect(geometry!.type).toBe('MultiPolygon');
    expect(geometryArea(geometry!)).toBe(50); // two triangles of base 10 and height 5
    expect(isValidPolygonal(geometry!)).toBe(true);
    const valid = polygon(square(0, 0, 10));
    expect(normalizeGeometry(valid)).toEqual({ geometry: valid, repaired: false });
    // A ring that only goes back and forth encloses nothing.
    expect(
      normalizeGeometry(
        polygon([
          [0, 0],
          [10, 0],
          [20, 0],
          [10, 0],
          [0, 0],
        ]),
      ).geometry,
    ).toBeNull();
  });

  it('merges, subtracts and paints with polygon-clipping', () => {
    const merged = unite([polygon(square(0, 0, 10)), polygon(square(5, 0, 10))])!;
    expect(merged.type).toBe('Polygon');
    expect(geometryArea(merged)).toBe(150);
    const apart = unite([polygon(square(0, 0, 10)), polygon(square(50, 0, 10))])!;
    expect(apart.type).toBe('MultiPolygon');
    const cut = subtract(polygon(square(0, 0, 10)), [polygon(square(2, 2, 4))])!;
    expect(geometryArea(cut)).toBe(84);
    expect(containsPoint(cut, 4, 4)).toBe(false);
    expect(subtract(polygon(square(0, 0, 10)), [polygon(square(-5, -5, 30))])).toBeNull();
    // A stroke of length L with radius r covers about 2rL + πr² (24-gon discs: within 1.2%).
    const stroke = brushStroke(
      Array.from({ length: 101 }, (_, i) => [i, 0]),
      10,
    )!;
    const expected = 2 * 10 * 100 + Math.PI * 100;
    expect(Math.abs(geometryArea(stroke) - expected) / expected).toBeLessThan(0.012);
    expect(isValidPolygonal(stroke)).toBe(true);
  });

  it('stores shapes as WKB and reads back exactly the numbers it was given', () => {
    const shapes: AnnotationGeometry[] = [
      { type: 'Point', coordinates: [1.25, -3.5] },
      {
        type: 'MultiPoint',
        coordinates: [
          [1, 2],
          [3.3, 4.4],
        ],
      },
      {
        type: 'LineString',
        coordinates: [
          [0.1, 0.2],
          [1e6, 1234.56],
        ],
      },
      polygon(square(0, 0, 10), square(2, 2, 3)),
      { type: 'MultiPolygon', coordinates: [[square(0, 0, 1)], [square(5, 5, 2)]] },
      {
        type: 'Polygon',
        coordinates: [
          [
            [0, 0, 1],
            [1, 0, 2],
            [1, 1, 3],
            [0, 0, 1],
          ],
        ],
      },
    ];
    for (const g of shapes) {
      const stored = encodeGeometry(g);
      expect(Buffer.isBuffer(stored)).toBe(true);
      expect(decodeGeometry(stored)).toEqual(g);
    }
    // Mixed dimensions cannot be WKB: kept as GeoJSON text, read back the same.
    const mixed: AnnotationGeometry = {
      type: 'LineString',
      coordinates: [
        [0, 0],
        [1, 1, 5],
      ],
    };
    expect(typeof encodeGeometry(mixed)).toBe('string');
    expect(decodeGeometry(encodeGeometry(mixed))).toEqual(mixed);
  });
});
