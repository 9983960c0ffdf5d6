/**
 * The built-in reader on real scanner files (the sample slides, found by test/helpers/prerequisites.ts) against OpenSlide: metadata,
 * regions crossing tile and image borders, partial edge tiles, associated images.
 */
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSlide, type SlideReader } from '../../../src-main/slides/index.js';
import { sharedWsiDir } from '../../helpers/slides.js';
import {
  expectAligned,
  hasOpenSlideTools,
  maxChannelMad,
  openSlideProperties,
  openSlideRegion,
} from './compare.js';
import { loadOpenSlide } from '../../../src-main/slides/openslide/openslide-library.js';

const wsi = sharedWsiDir();
const haveOpenSlide = hasOpenSlideTools();

describe.skipIf(!wsi || !haveOpenSlide)(
  'real Aperio slides vs OpenSlide (needs the sample scanner slides and openslide-tools)',
  () => {
    const cmu = path.join(wsi ?? '', 'CMU-1-Small-Region.svs');
    const small = path.join(wsi ?? '', 'openslide-python-small.svs');
    const open: SlideReader[] = [];
    const reader = async (file: string, backend?: 'tiff' | 'openslide') => {
      const r = await openSlide(file, backend);
      open.push(r);
      return r;
    };
    afterAll(async () => {
      for (const r of open) await r.close();
    });

    it('CMU-1-Small-Region: built-in backend, metadata as OpenSlide reports it', async () => {
      const r = await reader(cmu);
      const props = openSlideProperties(cmu);
      expect(r.metadata).toMatchObject({
        backend: 'tiff',
        vendor: 'aperio',
        mppX: 0.499,
        mppY: 0.499,
        objectivePower: 20,
      });
      expect(r.metadata.levels).toEqual([
        { width: 2220, height: 2967, downsample: 1, tileWidth: 240, tileHeight: 240, jpegTiles: true },
      ]);
      for (const key of Object.keys(props).filter((k) => k.startsWith('aperio.'))) {
        expect(r.metadata.properties[key], key).toBe(props[key]);
      }
      expect([...r.metadata.associatedImages].sort()).toEqual(['label', 'macro', 'thumbnail']);
    });

    it('CMU-1-Small-Region: regions across tile borders, the image border and partial edge tiles', async () => {
      const r = await reader(cmu);
      // Textured regions (tissue) are checked for alignment too; the slide's edges are background.
      const textured: [number, number, number, number][] = [
        [910, 2110, 100, 100], // four tiles meet at 960,2160
        [1390, 1630, 100, 100],
        [700, 1400, 481, 481],
      ];
      for (const [x, y, w, h] of textured) {
        const ours = await r.readRegion(0, x, y, w, h);
        const ref = openSlideRegion(cmu, 0, x, y, w, h);
        expect(() => expectAligned(ours, ref, w, h, 2), `${x},${y} ${w}x${h}`).not.toThrow();
      }
      const edges: [number, number, number, number][] = [
        [2150, 2870, 120, 130], // partial edge tiles (2220 = 9*240+60, 2967 = 12*240+87) and beyond
        [-17, 1500, 64, 64],
        [1111, 1777, 1, 1],
      ];
      for (const [x, y, w, h] of edges) {
        const ours = await r.readRegion(0, x, y, w, h);
        const ref = openSlideRegion(cmu, 0, x, y, w, h);
        expect(maxChannelMad(ours, ref), `${x},${y} ${w}x${h}`).toBeLessThanOrEqual(2);
        // Transparent exactly where OpenSlide is (outside the image).
        for (let i = 3; i < ours.length; i += 4) expect(ours[i]).toBe(ref[i]);
      }
    });

    it('associated images equal OpenSlide’s (LZW label, JPEG thumbnail and macro)', async () => {
      const ours = await reader(cmu);
      const os = await reader(cmu, 'openslide');
      for (const name of ['thumbnail', 'label', 'macro']) {
        const a = await ours.readAssociatedImage(name);
        const b = await os.readAssociatedImage(name);
        expect([a.width, a.height]).toEqual([b.width, b.height]);
        expect(maxChannelMad(a.rgba, b.rgba), name).toBeLessThanOrEqual(2);
      }
    });

    it('openslide-python-small.svs: a 16x16 image in one padded 64x64 tile', async () => {
      const r = await reader(small);
      expect(r.metadata.levels[0]).toMatchObject({ width: 16, height: 16, tileWidth: 64 });
      const ours = await r.readRegion(0, -4, -4, 24, 24);
      const ref = openSlideRegion(small, 0, -4, -4, 24, 24);
      expect(maxChannelMad(ours, ref)).toBeLessThanOrEqual(2);
    });

    describe.skipIf(!loadOpenSlide(() => {}))('OpenSlide backend through koffi', () => {
      it('opens the same file, says so, and reads what openslide-write-png writes', async () => {
        const r = await reader(cmu, 'openslide');
        expect(r.metadata).toMatchObject({
          backend: 'openslide',
          vendor: 'aperio',
          mppX: 0.499,
          objectivePower: 20,
        });
        const ours = await r.readRegion(0, 230, 470, 300, 200);
        expect(maxChannelMad(ours, openSlideRegion(cmu, 0, 230, 470, 300, 200))).toBe(0);
      });
    });
  },
);
