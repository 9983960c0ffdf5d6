/**
 * Tissue detection on generated slides whose truth is known (glass, tissue, a pen stroke over both) and
 * on the real CMU-1-Small-Region slide; the mask's geometry; the project cache.
 */
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createProject } from '../../../src-main/project/project.js';
import { openSlide, type SlideReader } from '../../../src-main/slides/index.js';
import { detectTissue, otsu } from '../../../src-main/training/tissue/detect.js';
import {
  loadTissueMask,
  projectTissueMask,
  saveTissueMask,
  tissueMaskPath,
} from '../../../src-main/training/tissue/cache.js';
import {
  BACKGROUND,
  INK,
  TISSUE,
  TissueCoverage,
  type TissueMask,
} from '../../../src-main/training/tissue/mask.js';
import type { PaintedSlide } from '../../../src-main/training/demo/paint-slide.js';
import { Random } from '../../../src-main/training/random.js';
import { sharedWsiDir } from '../../helpers/slides.js';
import { tempDir } from '../../helpers/temp.js';
import { writePaintedSlide } from './helpers.js';

const readers: SlideReader[] = [];
async function open(file: string): Promise<SlideReader> {
  const r = await openSlide(file);
  readers.push(r);
  return r;
}
afterAll(async () => {
  for (const r of readers) await r.close();
});

/**
 * The painted truth under each mask pixel that lies wholly inside the slide: ink where it covers most of
 * it, tissue or glass where one covers 90% of it (fat, nearly unstained, and mixed pixels are not judged).
 * Tissue next to ink may be taken as ink (strokes are grown by one mask pixel).
 */
function compare(mask: TissueMask, painted: PaintedSlide) {
  const counts = { tissueAsTissue: 0, tissue: 0, glassAsTissue: 0, glass: 0, inkAsTissue: 0, ink: 0 };
  for (let j = 0; j < mask.height; j++) {
    for (let i = 0; i < mask.width; i++) {
      const x0 = Math.round(i * mask.downsampleX);
      const y0 = Math.round(j * mask.downsampleY);
      const x1 = Math.round((i + 1) * mask.downsampleX);
      const y1 = Math.round((j + 1) * mask.downsampleY);
      if (x1 > painted.width || y1 > painted.height) continue;
      const n = [0, 0, 0];
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) n[painted.truth[y * painted.width + x]!]!++;
      const total = (x1 - x0) * (y1 - y0);
      const asTissue = mask.classes[j * mask.width + i] === TISSUE ? 1 : 0;
      if (n[2]! > total / 2) {
        counts.ink++;
        counts.inkAsTissue += asTissue;
      } else if (n[1]! > 0.9 * total) {
        counts.tissue++;
        counts.tissueAsTissue += asTissue;
      } else if (n[0]! > 0.9 * total) {
        counts.glass++;
        counts.glassAsTissue += asTissue;
      }
    }
  }
  return counts;
}

describe('tissue detection', () => {
  it.each([
    ['a blue pen stroke', 5],
    ['a black pen stroke', 6],
    ['a green pen stroke and a fold', 21],
  ])('finds the tissue of a generated slide with %s and leaves out glass and ink', async (_what, seed) => {
    const dir = tempDir();
    const { file, painted } = writePaintedSlide(dir, `t${seed}.svs`, { seed, pen: true, fold: seed === 21 });
    const reader = await open(file);
    const d = await detectTissue(reader);
    // 8 µm per mask pixel at 0.5 µm/px: level 1 (downsample 4) reduced by 4.
    expect(d).toMatchObject({ level: 1, factor: 4, resolution: { mpp: 0.5, source: 'file' } });
    expect(d.mask).toMatchObject({ width: Math.ceil(450 / 4), height: Math.ceil(375 / 4), downsampleX: 16 });
    const c = compare(d.mask, painted);
    expect(c.tissue).toBeGreaterThan(500);
    expect(c.ink).toBeGreaterThan(50);
    expect(c.tissueAsTissue / c.tissue).toBeGreaterThan(0.93);
    expect(c.glassAsTissue / c.glass).toBeLessThan(0.01);
    expect(c.inkAsTissue / c.ink).toBeLessThan(0.02);
    // Ink is its own class in the mask (the viewer shows it).
    expect(d.mask.classes.filter((v) => v === INK).length).toBeGreaterThan(c.ink * 0.8);
  });

  it('a slide without tissue yields an empty mask, not half the glass', async () => {
    const dir = tempDir();
    // Tissue pushed off the slide: a seed whose pieces sit far outside a tiny canvas is hard to find, so
    // paint a normal slide and check that its glass-only corner, read alone, has no tissue.
    const { file } = writePaintedSlide(dir, 'glass.svs', { seed: 8 });
    const d = await detectTissue(await open(file));
    const corner = new TissueCoverage(d.mask).fraction(0, 0, 64, 64);
    expect(corner).toBe(0);
    expect(otsu(new Uint8Array(100).fill(7))).toBe(0);
  });

  it('uses the objective power, then the default, where the slide has no mpp, and says so', async () => {
    const dir = tempDir();
    const { file } = writePaintedSlide(dir, 'nompp.svs', { seed: 5 });
    const reader = await open(file);
    const noMpp = Object.assign(
      Object.create(Object.getPrototypeOf(reader) as object) as SlideReader,
      reader,
      {
        metadata: { ...reader.metadata, mppX: undefined, mppY: undefined },
      },
    );
    const byPower = await detectTissue(noMpp);
    expect(byPower.resolution).toMatchObject({ mpp: 0.5, source: 'objective' });
    expect(byPower.resolution.note).toBe(
      'nompp.svs gives no resolution: assuming 0.5 µm/px from its 20x objective.',
    );
    const bare = Object.assign(noMpp, { metadata: { ...noMpp.metadata, objectivePower: undefined } });
    const byDefault = await detectTissue(bare, { defaultMpp: 0.25 });
    expect(byDefault.resolution.source).toBe('default');
    expect(byDefault.resolution.note).toMatch(/project default of 0\.25 µm\/px/);
    // 8 µm at 0.25 µm/px: downsample 32 = level 1 (4) reduced by 8.
    expect(byDefault).toMatchObject({ level: 1, factor: 8 });
  });

  describe.skipIf(!sharedWsiDir())('on CMU-1-Small-Region (needs ../shared/data/wsi)', () => {
    it('finds the tissue strip and its geometry covers the slide', async () => {
      const reader = await open(path.join(sharedWsiDir()!, 'CMU-1-Small-Region.svs'));
      const d = await detectTissue(reader);
      const { mask } = d;
      // One level, 0.499 µm/px: reduced by floor(8 / 0.499) = 16.
      expect(d).toMatchObject({ level: 0, factor: 16 });
      expect(mask.width).toBe(Math.ceil(2220 / 16));
      expect(mask.height).toBe(Math.ceil(2967 / 16));
      expect(mask.width * mask.downsampleX).toBeGreaterThanOrEqual(2220);
      const share = mask.classes.filter((c) => c === TISSUE).length / mask.classes.length;
      expect(share).toBeGreaterThan(0.25);
      expect(share).toBeLessThan(0.45);
      expect(mask.classes.filter((c) => c === INK).length).toBe(0);
      const cover = new TissueCoverage(mask);
      // The glass on the left and the thick tissue at the bottom centre-right.
      expect(cover.fraction(0, 2000, 400, 2900)).toBeLessThan(0.05);
      expect(cover.fraction(1000, 2300, 1600, 2900)).toBeGreaterThan(0.95);
    });
  });
});

describe('tissue coverage', () => {
  // 4 x 3 mask, each pixel 10 x 20 level-0 pixels; tissue in columns 1-2 of rows 0-1.
  const mask: TissueMask = {
    width: 4,
    height: 3,
    downsampleX: 10,
    downsampleY: 20,
    classes: Uint8Array.from([0, 1, 1, 0, 0, 1, 1, 2, 0, 0, 0, 0]),
    slideWidth: 40,
    slideHeight: 60,
  };
  const cover = new TissueCoverage(mask);

  it('counts mask pixels by the area they share with the rectangle', () => {
    expect(cover.fraction(10, 0, 30, 40)).toBe(1);
    expect(cover.fraction(0, 0, 40, 60)).toBeCloseTo(4 / 12, 12);
    // Half of pixel (0,0) and half of pixel (1,0): a quarter of... 5 of 10 columns are tissue.
    expect(cover.fraction(5, 0, 15, 20)).toBeCloseTo(0.5, 12);
    // Ink is not tissue.
    expect(cover.fraction(30, 20, 40, 40)).toBe(0);
    // Quarter overlaps in both directions: rectangle [5, 25) x [30, 50): tissue is [10, 25) x [30, 40).
    expect(cover.fraction(5, 30, 25, 50)).toBeCloseTo((15 * 10) / (20 * 20), 12);
    // Beyond the mask counts as no tissue.
    expect(cover.fraction(30, 50, 50, 70)).toBe(0);
    expect(cover.fraction(10, 10, 10, 30)).toBe(0);
  });
  void BACKGROUND;
});

describe('tissue cache', () => {
  it('keeps a mask per slide version and settings, and ignores other or damaged files', async () => {
    const dir = tempDir();
    const project = await createProject(path.join(dir, 'p'));
    try {
      const { file } = writePaintedSlide(dir, 'c.svs', { seed: 5, pen: true });
      let opened = 0;
      const opener = async () => {
        opened++;
        return open(file);
      };
      const first = await projectTissueMask(project, 'fp-1', opener);
      expect(first.cached).toBe(false);
      expect(fs.existsSync(tissueMaskPath(project, 'fp-1'))).toBe(true);
      expect(path.relative(project.dir, tissueMaskPath(project, 'fp-1'))).toMatch(
        /^cache[/\\]tissue[/\\]fp-1-/,
      );
      const second = await projectTissueMask(project, 'fp-1', opener);
      expect(second.cached).toBe(true);
      expect(opened).toBe(1);
      expect(second.mask).toEqual(first.mask);
      expect(second.resolution).toEqual(first.resolution);
      // Other settings, another file; another fingerprint, nothing.
      expect(tissueMaskPath(project, 'fp-1', { maskMpp: 16 })).not.toBe(tissueMaskPath(project, 'fp-1'));
      expect(await loadTissueMask(project, 'fp-1', { maskMpp: 16 })).toBeUndefined();
      expect(await loadTissueMask(project, 'fp-2')).toBeUndefined();
      // A file renamed to another slide's name is refused by its header.
      fs.copyFileSync(tissueMaskPath(project, 'fp-1'), tissueMaskPath(project, 'fp-3'));
      expect(await loadTissueMask(project, 'fp-3')).toBeUndefined();
      // Damaged: truncated, then garbage: ignored, and made again.
      const bytes = fs.readFileSync(tissueMaskPath(project, 'fp-1'));
      fs.writeFileSync(tissueMaskPath(project, 'fp-1'), bytes.subarray(0, bytes.length - 20));
      expect(await loadTissueMask(project, 'fp-1')).toBeUndefined();
      fs.writeFileSync(tissueMaskPath(project, 'fp-1'), 'TSTM1\n{not json');
      expect(await loadTissueMask(project, 'fp-1')).toBeUndefined();
      const again = await projectTissueMask(project, 'fp-1', opener);
      expect(again.cached).toBe(false);
      expect(again.mask.classes).toEqual(first.mask.classes);
      await saveTissueMask(project, 'fp-1', again);
      expect((await loadTissueMask(project, 'fp-1'))?.mask.classes).toEqual(first.mask.classes);
      // Fuzz (seeded, bounded): flipped bytes and cuts anywhere never throw; a mask comes back only intact
      // (a flip in the compressed stream that inflates to the same bytes is harmless).
      const good = fs.readFileSync(tissueMaskPath(project, 'fp-1'));
      const rng = new Random(42);
      for (let k = 0; k < 200; k++) {
        const bad = Buffer.from(good.subarray(0, k % 3 === 0 ? rng.int(good.length) : good.length));
        for (let f = 1 + rng.int(4); f > 0 && bad.length > 0; f--) bad[rng.int(bad.length)] = rng.int(256);
        fs.writeFileSync(tissueMaskPath(project, 'fp-1'), bad);
        const loaded = await loadTissueMask(project, 'fp-1');
        if (loaded) expect(loaded.mask).toEqual(first.mask);
      }
    } finally {
      project.close();
    }
  });
});
