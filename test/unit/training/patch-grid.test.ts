/**
 * The patch grid: level choice and sizes from the resolution, exact level-0 coordinates and tissue
 * fractions on a hand-made mask, and the pixels of the patch pipeline against OpenSlide read_region +
 * Pillow's LANCZOS resize (what CLAM and Trident do) on generated slides and CMU-1-Small-Region.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSlide, type SlideLevel, type SlideReader } from '../../../src-main/slides/index.js';
import { buildPatchGrid, type PatchGrid } from '../../../src-main/training/patch-grid.js';
import { PatchReader } from '../../../src-main/training/patches/patch-reader.js';
import { PatchWorkers } from '../../../src-main/training/patches/patch-workers.js';
import { detectTissue } from '../../../src-main/training/tissue/detect.js';
import type { TissueMask } from '../../../src-main/training/tissue/mask.js';
import { sharedWsiDir } from '../../helpers/slides.js';
import { tempDir } from '../../helpers/temp.js';
import {
  hasOpenSlidePython,
  maxAbsDiff,
  meanAbsDiff,
  referencePatches,
  writePaintedSlide,
} from './helpers.js';
import { jpegCodec } from '../../../src-main/training/pixel-helpers.js';

function level(width: number, height: number, downsample: number): SlideLevel {
  return { width, height, downsample, tileWidth: 256, tileHeight: 256 };
}

describe('patch grid geometry', () => {
  // A 1000 x 700 slide at 0.25 µm/px with levels at 4x and 16x; a mask of 100 x 70 px (10 level-0 px each).
  const metadata = {
    levels: [level(1000, 700, 1), level(250, 175, 4), level(64, 45, 15.7)],
    mppX: 0.25,
    mppY: 0.25,
  };
  const classes = new Uint8Array(100 * 70);
  // Tissue: level-0 x in [0, 450), y in [0, 400).
  for (let j = 0; j < 40; j++) for (let i = 0; i < 45; i++) classes[j * 100 + i] = 1;
  const mask: TissueMask = {
    width: 100,
    height: 70,
    downsampleX: 10,
    downsampleY: 10,
    classes,
    slideWidth: 1000,
    slideHeight: 700,
  };

  it('reads 0.5 µm/px patches of 112 px at 0.25 µm/px from level 0 as 224 px squares', () => {
    const g = buildPatchGrid(metadata, 'a.svs', mask, { targetMpp: 0.5, patchSize: 112 });
    expect(g).toMatchObject({ level: 0, extent: 224, readSize: 224, columns: 4, rows: 3 });
    // Cells (0,0) and (1,0) are all tissue, (0,1) and (1,1) 176 of 224 rows; (2, *) hold x 448-450 only.
    expect([...g.x]).toEqual([0, 224, 0, 224]);
    expect([...g.y]).toEqual([0, 0, 224, 224]);
    expect(g.tissue[0]).toBe(1);
    expect(g.tissue[2]).toBeCloseTo((400 - 224) / 224, 6); // stored as float32
    expect(g.summary).toBe(
      'a.svs: 4 of 12 patches of 112 px at 0.5 µm/px kept (tissue ≥ 0.5), read as 224 px squares from level 0 (0.25 µm/px) and resampled to 112 px.',
    );
  });

  it('takes the coarsest level at or finer than the target, and rounds the level-0 step', () => {
    // 1 µm/px = downsample 4 exactly: level 1, a 224 level-0 px step read as 56 px there.
    const at1 = buildPatchGrid(metadata, 'a', null, { targetMpp: 1, patchSize: 56 });
    expect(at1).toMatchObject({ level: 1, extent: 224, readSize: 56, columns: 4, rows: 3 });
    // 3.9 µm/px wants downsample 15.6: level 2 (15.7) is within the 1% tolerance.
    const at2 = buildPatchGrid(metadata, 'a', null, { targetMpp: 3.9, patchSize: 10 });
    expect(at2).toMatchObject({ level: 2, extent: 157, readSize: 10 });
    // 3.5 µm/px: level 2 is too coarse, so level 1, resampled.
    const at35 = buildPatchGrid(metadata, 'a', null, { targetMpp: 3.5, patchSize: 10 });
    expect(at35).toMatchObject({ level: 1, extent: 140, readSize: 35 });
    // Finer than the scan: level 0, upsampled.
    const fine = buildPatchGrid(metadata, 'a', null, { targetMpp: 0.125, patchSize: 100 });
    expect(fine).toMatchObject({ level: 0, extent: 50, readSize: 50 });
    // Without a mask every whole cell is kept, row by row.
    expect(at1.x.length).toBe(12);
    expect([...at1.x.slice(0, 5)]).toEqual([0, 224, 448, 672, 0]);
    expect([...at1.y.slice(0, 5)]).toEqual([0, 0, 0, 0, 224]);
  });

  it('keeps a patch exactly at the threshold and drops one just under', () => {
    // Step 100 at 0.25 µm/px for 50 px at 0.5: column 4 covers x [400, 500): tissue [400, 450) = 0.5.
    const g = buildPatchGrid(metadata, 'a', mask, { targetMpp: 0.5, patchSize: 50, tissueThreshold: 0.5 });
    expect(g.extent).toBe(100);
    const row0 = [...g.x].filter((_, i) => g.y[i] === 0);
    expect(row0).toEqual([0, 100, 200, 300, 400]);
    const stricter = buildPatchGrid(metadata, 'a', mask, {
      targetMpp: 0.5,
      patchSize: 50,
      tissueThreshold: 0.51,
    });
    expect([...stricter.x].filter((_, i) => stricter.y[i] === 0)).toEqual([0, 100, 200, 300]);
  });

  it('refuses nonsense options with a sentence', () => {
    expect(() => buildPatchGrid(metadata, 'a', null, { targetMpp: 0 })).toThrow(
      /target resolution must be positive/,
    );
    expect(() => buildPatchGrid(metadata, 'a', null, { patchSize: 1.5 })).toThrow(/invalid patch size/);
    expect(() => buildPatchGrid(metadata, 'a', null, { tissueThreshold: 2 })).toThrow(/between 0 and 1/);
  });

  it('says where the resolution came from when the slide does not give it', () => {
    const g = buildPatchGrid({ levels: metadata.levels, objectivePower: 40 }, 'b.tif', null);
    expect(g.resolution).toMatchObject({ mpp: 0.25, source: 'objective' });
    expect(g.summary).toMatch(/b\.tif gives no resolution: assuming 0\.25 µm\/px from its 40x objective\.$/);
    const d = buildPatchGrid({ levels: metadata.levels }, 'c.tif', null, { defaultMpp: 0.5 });
    expect(d.resolution.source).toBe('default');
    expect(d.extent).toBe(224);
  });
});

describe.skipIf(!hasOpenSlidePython())('patch pixels against OpenSlide read_region + Pillow LANCZOS', () => {
  let workers: PatchWorkers;
  const readers: SlideReader[] = [];
  beforeAll(() => {
    workers = new PatchWorkers(2);
  });
  afterAll(async () => {
    await workers.close();
    for (const r of readers) await r.close();
  });

  /**
   * A run of the grid's first patches (neighbours in a row are read as one strip), then a spread of the
   * rest (read alone).
   */
  function some(grid: PatchGrid, n: number): number[] {
    const count = grid.x.length;
    const run = Array.from({ length: Math.min(count, 6) }, (_, i) => i);
    const spread = Array.from({ length: n }, (_, i) => Math.round((i * (count - 1)) / (n - 1)));
    return [...new Set([...run, ...spread])];
  }

  async function check(file: string, grid: PatchGrid, dir: string) {
    const reader = await openSlide(file);
    readers.push(reader);
    const indices = some(grid, 8);
    const ours = await new PatchReader(workers).read(reader, grid, indices);
    // Strips were read: at least two of the run are neighbours in one row.
    expect(
      indices.some(
        (i) =>
          indices.includes(i + 1) &&
          grid.y[i] === grid.y[i + 1] &&
          grid.x[i + 1]! - grid.x[i]! === Math.round(grid.extent),
      ),
    ).toBe(true);
    const coords = indices.map((i): [number, number] => [grid.x[i]!, grid.y[i]!]);
    const ref = referencePatches(dir, file, grid.level, grid.readSize, grid.patchSize, coords);
    expect(ours.length).toBe(indices.length * grid.patchSize ** 2 * 3);
    return { max: maxAbsDiff(ours, ref), mean: meanAbsDiff(ours, ref) };
  }

  /**
   * Equal where both decode JPEG with libjpeg-turbo (TurboJPEG installed); the fallback decoder
   * (@napi-rs/image) rounds its IDCT and upsampling slightly differently.
   */
  function expectReference(diff: { max: number; mean: number }) {
    if (jpegCodec().name === 'turbojpeg') expect(diff.max).toBe(0);
    else {
      expect(diff.mean).toBeLessThan(0.5);
      expect(diff.max).toBeLessThan(40);
    }
  }

  it.each([
    // [claimed mpp, target mpp, expected level, read size]
    [0.5, 0.5, 0, 224], // level 0 as it is
    [0.3, 0.5, 0, 373], // level 0, resampled down
    [0.5, 2, 1, 224], // level 1 as it is
    [0.5, 1.5, 0, 672], // level 0, resampled by 3
    [0.5, 2.2, 1, 246], // level 1, resampled
  ])('generated slide at %s µm/px, patches at %s µm/px', async (mpp, targetMpp, lvl, readSize) => {
    const dir = tempDir();
    const { file } = writePaintedSlide(dir, 'g.svs', { seed: 5, width: 2600, height: 2300 }, mpp);
    const reader = await openSlide(file);
    readers.push(reader);
    const { mask } = await detectTissue(reader);
    const grid = buildPatchGrid(reader.metadata, 'g.svs', mask, { targetMpp, tissueThreshold: 0.25 });
    expect(grid).toMatchObject({ level: lvl, readSize, patchSize: 224 });
    expect(grid.x.length).toBeGreaterThanOrEqual(2);
    expectReference(await check(file, grid, dir));
  });

  describe.skipIf(!sharedWsiDir())('CMU-1-Small-Region (needs ../shared/data/wsi)', () => {
    it.each([
      [0.5, 224],
      [0.6, 269],
    ])('patches at %s µm/px are read as %s px and equal the reference', async (targetMpp, readSize) => {
      const file = path.join(sharedWsiDir()!, 'CMU-1-Small-Region.svs');
      const reader = await openSlide(file);
      readers.push(reader);
      const { mask } = await detectTissue(reader);
      const grid = buildPatchGrid(reader.metadata, 'CMU-1-Small-Region.svs', mask, { targetMpp });
      expect(grid).toMatchObject({ level: 0, readSize, extent: readSize });
      expect(grid.x.length).toBeGreaterThan(20);
      expectReference(await check(file, grid, tempDir()));
    });
  });
});
