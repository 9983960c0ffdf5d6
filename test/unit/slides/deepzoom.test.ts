/**
 * Deep Zoom against openslide-python's DeepZoomGenerator (geometry and pixels), stored-tile
 * pass-through, the descriptor and refusals.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Transformer } from '@napi-rs/image';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DeepZoom,
  deepZoomDescriptor,
  deepZoomFor,
  openSlide,
  type SlideReader,
} from '../../../src-main/slides/index.js';
import { lanczosResampler } from '../../../src-main/slides/codecs/native-pixels.js';
import { pythonModule } from '../../helpers/prerequisites.js';
import { sharedWsiDir } from '../../helpers/slides.js';
import { expectAligned, maxChannelMad } from './compare.js';
import { buildFixtures, hasTool, loadJp2kEncoder, makeFixtureDir } from './fixtures.js';

const PYTHON = '/usr/bin/python3';
const hasPythonOpenSlide = pythonModule('openslide.deepzoom', 'python3-openslide');
const wsi = sharedWsiDir();

/** Whether tiles are scaled with Pillow's Lanczos arithmetic (the tessera_pixels addon). */
const pillowLanczos = lanczosResampler() !== undefined;

interface Reference {
  level_count: number;
  level_dimensions: [number, number][];
  level_tiles: [number, number][];
  tiles: Map<string, Uint8Array>;
}

function reference(slide: string, tileSize: number, overlap: number, tiles: string[]): Reference {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-dzref-'));
  try {
    const script = path.join(import.meta.dirname, 'deepzoom-reference.py');
    const json = execFileSync(PYTHON, [script, slide, out, String(tileSize), String(overlap), ...tiles], {
      encoding: 'utf8',
    });
    const ref = JSON.parse(json) as Omit<Reference, 'tiles'>;
    const decoded = new Map<string, Uint8Array>();
    for (const t of tiles)
      decoded.set(t, rgba(fs.readFileSync(path.join(out, `${t.replaceAll(':', '_')}.png`))));
    return { ...ref, tiles: decoded };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}

/** Decoded pixels as RGBA whatever the channel count of the encoded image. */
function rgba(encoded: Uint8Array): Uint8Array {
  const t = new Transformer(encoded);
  const px = t.rawPixelsSync();
  const { width, height } = t.metadataSync() as { width: number; height: number };
  const ch = px.length / (width * height);
  if (ch === 4) return new Uint8Array(px);
  const out = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    out.set([px[i * ch]!, px[i * ch + 1]!, px[i * ch + 2]!, 255], i * 4);
  }
  return out;
}

function size(encoded: Uint8Array): [number, number] {
  const m = new Transformer(encoded).metadataSync() as { width: number; height: number };
  return [m.width, m.height];
}

/** Our tile "level:col:row" and the reference's pixels for it, checked to be the same size. */
async function ourTileAndReference(dz: DeepZoom, ref: Reference, t: string) {
  const [l, c, r] = t.split(':').map(Number) as [number, number, number];
  const ours = await dz.tile(l, c, r);
  const want = ref.tiles.get(t)!;
  const [w, h] = size(ours);
  expect(w * h * 4, t).toBe(want.length);
  return { l, c, r, ours, want, w, h };
}

describe.skipIf(!hasPythonOpenSlide || !hasTool('vips'))(
  'Deep Zoom vs openslide-python DeepZoomGenerator',
  () => {
    let dir: string;
    let file: string;
    let reader: SlideReader;
    beforeAll(async () => {
      dir = makeFixtureDir();
      await loadJp2kEncoder();
      file = buildFixtures(dir).get('jpeg')!.file;
      reader = await openSlide(file);
    }, 120_000);
    afterAll(async () => {
      await reader.close();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('has the same levels, tile grid and tile pixels (254 px, overlap 1)', async () => {
      // PNG tiles, so the comparison sees our pixels before JPEG's loss (large on this noisy image).
      const dz = new DeepZoom(reader, { tileSize: 254, overlap: 1, format: 'png' });
      const dzJpeg = new DeepZoom(reader, { tileSize: 254, overlap: 1 });
      // Top level (slide level 0), an edge tile, a level read from slide level 1, one scaled down
      // from a slide level (Lanczos), and the 1x1 level.
      const tiles = ['11:0:0', '11:2:1', '11:5:4', '10:1:1', '9:0:0', '8:0:0', '0:0:0'];
      const ref = reference(file, 254, 1, tiles);
      expect(dz.levelCount).toBe(ref.level_count);
      expect(dz.levelDimensions).toEqual(ref.level_dimensions);
      expect(dz.levelTiles).toEqual(ref.level_tiles);
      for (const t of tiles) {
        const { l, c, r, ours, want, w, h } = await ourTileAndReference(dz, ref, t);
        const got = rgba(ours);
        // Levels read 1:1 from a slide level must match; scaled ones are computed with Pillow's Lanczos
        // arithmetic (native/pixels) and match too, or differ by Lanczos implementation (the fallback).
        if (l >= 10) expect(() => expectAligned(got, want, w, h, 2), t).not.toThrow();
        // A 1x1 tile is one filter tap of a 187x137 image, reduced in different steps here and in PIL.
        else if (w * h === 1) expect(maxChannelMad(got, want), t).toBeLessThanOrEqual(24);
        else expect(maxChannelMad(got, want), t).toBeLessThanOrEqual(pillowLanczos ? 0.05 : 4);
        const jpeg = await dzJpeg.tile(l, c, r);
        expect(size(jpeg)).toEqual([w, h]);
        expect(maxChannelMad(rgba(jpeg), got), `${t} as JPEG q75`).toBeLessThanOrEqual(24);
      }
    });
  },
);

describe.skipIf(!wsi)('Deep Zoom on a real slide (needs the sample scanner slides)', () => {
  let reader: SlideReader;
  beforeAll(async () => {
    reader = await openSlide(path.join(wsi!, 'CMU-1-Small-Region.svs'));
  });
  afterAll(() => reader.close());

  it('chooses the stored 240 px grid without overlap and says so in the descriptor', () => {
    const d = deepZoomFor(reader).descriptor();
    expect(d).toMatchObject({ tileSize: 240, overlap: 0, format: 'jpeg', width: 2220, height: 2967 });
    expect(d.xml).toContain('TileSize="240"');
    expect(d.xml).toContain('Overlap="0"');
    expect(d.xml).toContain('<Size Width="2220" Height="2967"/>');
    expect(d.json.Image.Size).toEqual({ Width: '2220', Height: '2967' });
    expect(deepZoomDescriptor(reader)).toEqual(d);
  });

  it('serves interior stored tiles as they are, and renders edge tiles and lower levels', async () => {
    const dz = deepZoomFor(reader);
    const top = dz.levelCount - 1;
    const stored = await dz.tile(top, 4, 7);
    expect(dz.stats).toEqual({ passthrough: 1, rendered: 0 });
    expect(size(stored)).toEqual([240, 240]);
    // Same pixels as a region read of that tile (same bytes; the test decodes with @napi-rs/image,
    // the reader possibly with TurboJPEG).
    expect(maxChannelMad(rgba(stored), await reader.readRegion(0, 4 * 240, 7 * 240, 240, 240))).toBeLessThan(
      0.5,
    );
    const edge = await dz.tile(top, 9, 12); // 2220 - 9*240 = 60, 2967 - 12*240 = 87
    expect(size(edge)).toEqual([60, 87]);
    await dz.tile(top - 1, 0, 0);
    expect(dz.stats).toEqual({ passthrough: 1, rendered: 2 });
  });

  it('refuses tiles outside the pyramid', async () => {
    const dz = deepZoomFor(reader);
    await expect(dz.tile(dz.levelCount, 0, 0)).rejects.toThrow(RangeError);
    await expect(dz.tile(dz.levelCount - 1, 10, 0)).rejects.toThrow(/does not exist/);
    await expect(dz.tile(0, -1, 0)).rejects.toThrow(RangeError);
  });

  it('explicit options give OpenSlide’s 254/1 grid with no pass-through', async () => {
    const dz = deepZoomFor(reader, { tileSize: 254, overlap: 1 });
    expect(dz.descriptor()).toMatchObject({ tileSize: 254, overlap: 1 });
    const t = await dz.tile(dz.levelCount - 1, 1, 1);
    expect(size(t)).toEqual([256, 256]);
    expect(dz.stats.passthrough).toBe(0);
  });
});

describe.skipIf(!wsi || !hasPythonOpenSlide)(
  'Deep Zoom far below a slide level (needs the sample scanner slides)',
  () => {
    it('tiles made from the box-reduced level match DeepZoomGenerator on a single-level slide', async () => {
      // CMU-1-Small-Region has one level: every Deep Zoom level below full size is cut from level 0, the
      // coarse ones through the once-per-slide reduced copies (by 2, 4, 16, 64) instead of whole-level reads.
      const file = path.join(wsi!, 'CMU-1-Small-Region.svs');
      const reader = await openSlide(file);
      try {
        const dz = new DeepZoom(reader, { tileSize: 240, overlap: 0, format: 'png' });
        // (Levels of 2-3 px are left out: Pillow's thumbnail keeps the aspect ratio there and returns 1x2.)
        const tiles = ['4:0:0', '6:0:0', '8:0:0', '9:1:1', '10:2:3', '11:4:6'];
        const ref = reference(file, 240, 0, tiles);
        for (const t of tiles) {
          const { l, ours, want, w, h } = await ourTileAndReference(dz, ref, t);
          // Tiles scaled straight from the level (9-11) match PIL's to rounding; the coarser ones come
          // from box reductions composed in other steps than PIL's, and tiny tiles are a few filter taps.
          const tolerance = w * h <= 16 ? 24 : l >= 9 && pillowLanczos ? 0.2 : 4;
          expect(maxChannelMad(rgba(ours), want), t).toBeLessThanOrEqual(tolerance);
        }
      } finally {
        await reader.close();
      }
    });
  },
);
