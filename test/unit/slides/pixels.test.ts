/**
 * Pixel comparison of the built-in reader against OpenSlide (openslide-write-png) on generated
 * fixtures in every layout and compression the reader claims, and against the source pixels for
 * layouts OpenSlide 3.4 cannot open (stripped TIFF, libvips JPEG 2000).
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TiffSlideReader } from '../../../src-main/slides/tiff/tiff-reader.js';
import {
  buildFixtures,
  hasTool,
  vipsPage,
  loadJp2kEncoder,
  makeFixtureDir,
  sourcePixels,
  SOURCE_HEIGHT,
  SOURCE_WIDTH,
  type Fixture,
} from './fixtures.js';
import {
  expectAligned,
  hasOpenSlideTools,
  openSlideProperties,
  openSlideRegion,
  sourceRegion,
} from './compare.js';

const haveVips = hasTool('vips');
/** tiffcp (libtiff-tools) makes the big-endian and YCbCr copies; without it only those are skipped. */
const haveTiffcp = hasTool('tiffcp');
const MADE_BY_TIFFCP = new Set(['jpeg-ycbcr', 'jpeg-bigendian', 'lzw-bigendian']);
const haveOpenSlide = hasOpenSlideTools();

type Region = [level: number, x: number, y: number, w: number, h: number];

/** Regions that cross tile borders, the image border, start outside the image, and levels above 0. */
const PYRAMID_REGIONS: Region[] = [
  [0, 0, 0, 300, 300],
  [0, 1380, 990, 200, 150],
  [0, -40, -30, 120, 100],
  [0, 250, 120, 20, 20],
  [1, 600, 400, 220, 200],
  [2, 0, 0, 400, 300],
  [3, 0, 0, 190, 140],
];
const APERIO_REGIONS: Region[] = [
  [0, 200, 200, 100, 100],
  [0, 500, 400, 150, 150],
  [0, 0, 0, 600, 500],
];

const OPENSLIDE_FIXTURES = [
  'jpeg',
  'jpeg-bigtiff',
  'jpeg-nonsquare',
  'lzw',
  'lzw-nopredictor',
  'deflate',
  'deflate-nopredictor',
  'none',
  'jpeg-ycbcr',
  'aperio-jp2k-33003',
  'aperio-jp2k-33005',
];
/** OpenSlide 3.4.1 refuses big-endian TIFFs and stripped TIFFs, and has no libvips JPEG 2000. */
const SOURCE_FIXTURES = [
  'stripped-lzw',
  'stripped-deflate',
  'stripped-none',
  'stripped-jpeg',
  'jp2k-vips',
  'lzw-bigendian',
];
/** Every pyramid level against libvips' decode of the same directory. */
const VIPS_FIXTURES = [
  'jpeg',
  'jpeg-nonsquare',
  'lzw',
  'deflate',
  'none',
  'jpeg-bigendian',
  'lzw-bigendian',
  'jpeg-ycbcr',
];

describe.skipIf(!haveVips)('built-in TIFF reader vs references (needs vips)', () => {
  let dir: string;
  let fixtures: Map<string, Fixture>;
  const source = sourcePixels();

  beforeAll(async () => {
    dir = makeFixtureDir();
    await loadJp2kEncoder();
    fixtures = buildFixtures(dir);
  }, 120_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  async function withReader<T>(
    name: string,
    use: (r: TiffSlideReader, f: Fixture) => Promise<T>,
  ): Promise<T> {
    const f = fixtures.get(name);
    // A fixture that should exist and does not is a failure, never a quietly passing test.
    if (!f) throw new Error(`the fixture ${name} was not built (see fixtures.ts buildFixtures)`);
    const reader = await TiffSlideReader.open(f.file);
    try {
      return await use(reader, f);
    } finally {
      await reader.close();
    }
  }

  describe.skipIf(!haveOpenSlide)('against OpenSlide (needs openslide-tools)', () => {
    for (const name of OPENSLIDE_FIXTURES) {
      it(`${name}: levels and regions match openslide-write-png`, async (ctx) => {
        if (!haveTiffcp && MADE_BY_TIFFCP.has(name)) ctx.skip();
        await withReader(name, async (reader, f) => {
          const props = openSlideProperties(f.file);
          expect(reader.metadata.levels.length).toBe(Number(props['openslide.level-count']));
          reader.metadata.levels.forEach((l, i) => {
            expect(l.width).toBe(Number(props[`openslide.level[${i}].width`]));
            expect(l.height).toBe(Number(props[`openslide.level[${i}].height`]));
            expect(l.downsample).toBeCloseTo(Number(props[`openslide.level[${i}].downsample`]), 6);
          });
          expect(reader.metadata.vendor).toBe(props['openslide.vendor']);
          const regions = name.startsWith('aperio') ? APERIO_REGIONS : PYRAMID_REGIONS;
          for (const [level, x, y, w, h] of regions) {
            const lv = reader.metadata.levels[level]!;
            // OpenSlide 3.4.1 + libtiff 4.5 garble non-JPEG tiles wider than their level (see the
            // "Raster width ... adapted" warning); those levels are checked against libvips below.
            if (!name.includes('jpeg') && !name.startsWith('aperio') && lv.tileWidth > lv.width) continue;
            const ours = await reader.readRegion(level, x, y, w, h);
            const ref = openSlideRegion(f.file, level, x, y, w, h);
            expect(
              () => expectAligned(ours, ref, w, h, 2),
              `${name} level ${level} at ${x},${y} ${w}x${h}`,
            ).not.toThrow();
          }
        });
      });
    }

    it('jpeg-subifd: levels from SubIFDs match the same pyramid stored as a directory chain', async () => {
      await withReader('jpeg-subifd', async (reader) => {
        const chain = fixtures.get('jpeg')!.file;
        const props = openSlideProperties(chain);
        expect(reader.metadata.levels.map((l) => [l.width, l.height])).toEqual(
          reader.metadata.levels.map((_, i) => [
            Number(props[`openslide.level[${i}].width`]),
            Number(props[`openslide.level[${i}].height`]),
          ]),
        );
        expect(reader.metadata.levels.length).toBe(Number(props['openslide.level-count']));
        for (const [level, x, y, w, h] of PYRAMID_REGIONS) {
          const ours = await reader.readRegion(level, x, y, w, h);
          const ref = openSlideRegion(chain, level, x, y, w, h);
          expect(() => expectAligned(ours, ref, w, h, 2)).not.toThrow();
        }
      });
    });

    it('aperio JPEG 2000 metadata is read from the ImageDescription', async () => {
      await withReader('aperio-jp2k-33005', async (reader) => {
        expect(reader.metadata).toMatchObject({
          vendor: 'aperio',
          backend: 'tiff',
          mppX: 0.25,
          mppY: 0.25,
          objectivePower: 20,
        });
        expect(reader.metadata.properties['aperio.ScanScope ID']).toBe('TEST');
      });
    });
  });

  for (const name of VIPS_FIXTURES) {
    it(`${name}: every level matches libvips' decode`, async (ctx) => {
      if (!haveTiffcp && MADE_BY_TIFFCP.has(name)) ctx.skip();
      await withReader(name, async (reader, f) => {
        const lossless = !name.includes('jpeg');
        for (let level = 0; level < reader.metadata.levels.length; level++) {
          const ref = vipsPage(f.file, level);
          const lv = reader.metadata.levels[level]!;
          expect([lv.width, lv.height]).toEqual([ref.width, ref.height]);
          const ours = await reader.readRegion(level, 0, 0, lv.width, lv.height);
          const { mad } = expectAligned(
            ours,
            sourceRegion(ref.rgb, ref.width, ref.height, 0, 0, lv.width, lv.height),
            lv.width,
            lv.height,
            2,
          );
          if (lossless) expect(mad).toEqual([0, 0, 0, 0]);
        }
      });
    });
  }

  for (const name of SOURCE_FIXTURES) {
    it(`${name}: level 0 matches the source pixels`, async (ctx) => {
      if (!haveTiffcp && MADE_BY_TIFFCP.has(name)) ctx.skip();
      await withReader(name, async (reader, f) => {
        expect(reader.metadata.levels[0]).toMatchObject({ width: SOURCE_WIDTH, height: SOURCE_HEIGHT });
        for (const [x, y, w, h] of [
          [0, 0, 300, 300],
          [1390, 1000, 150, 150],
          [700, 37, 64, 300],
        ] as const) {
          const ours = await reader.readRegion(0, x, y, w, h);
          const ref = sourceRegion(source, SOURCE_WIDTH, SOURCE_HEIGHT, x, y, w, h);
          const { mad } = expectAligned(ours, ref, w, h, f.sourceTolerance ?? 0);
          if (f.sourceTolerance === 0) expect(mad).toEqual([0, 0, 0, 0]);
        }
      });
    });
  }
});
