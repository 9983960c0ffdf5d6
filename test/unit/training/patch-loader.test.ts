/**
 * The patch pipeline: batches in plan order, read ahead but never more than `prefetch` batches, the same
 * bytes as one slide read alone, seeded augmentation, and a slide that becomes unreadable mid-run skipped
 * with one warning while the other slides go on.
 */
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SlideService, type SlideReader } from '../../../src-main/slides/index.js';
import { NO_AUGMENT } from '../../../src-main/training/augment.js';
import { buildPatchGrid, type PatchGrid } from '../../../src-main/training/patch-grid.js';
import {
  PatchLoader,
  type BatchRequest,
  type LoaderSlide,
  type SlideWarning,
} from '../../../src-main/training/patches/patch-loader.js';
import { PatchReader } from '../../../src-main/training/patches/patch-reader.js';
import { PatchWorkers } from '../../../src-main/training/patches/patch-workers.js';
import { samplePatchIndices } from '../../../src-main/training/patches/sampling.js';
import { detectTissue } from '../../../src-main/training/tissue/detect.js';
import { tempDir } from '../../helpers/temp.js';
import { meanAbsDiff, sameish, writePaintedSlide } from './helpers.js';

describe('patch loader', () => {
  let workers: PatchWorkers;
  let service: SlideService;
  beforeAll(() => {
    workers = new PatchWorkers(2);
    service = new SlideService({ maxOpen: 4 });
  });
  afterAll(async () => {
    await service.closeAll();
    await workers.close();
  });

  async function slideAt(
    dir: string,
    name: string,
    seed: number,
  ): Promise<LoaderSlide & { reader: SlideReader }> {
    const { file } = writePaintedSlide(dir, name, { seed, width: 2000, height: 1800 });
    const reader = await service.reader(file);
    const { mask } = await detectTissue(reader);
    const grid: PatchGrid = buildPatchGrid(reader.metadata, name, mask, { patchSize: 64, targetMpp: 1 });
    return { id: seed, path: file, grid, reader };
  }

  it('yields the planned batches in order, equal to reading each slide alone, and reads ahead boundedly', async () => {
    const dir = tempDir();
    const slides = [await slideAt(dir, 'a.svs', 31), await slideAt(dir, 'b.svs', 32)];
    for (const s of slides) expect(s.grid.x.length).toBeGreaterThan(20);
    const plan: BatchRequest[] = [];
    for (let step = 0; step < 6; step++) {
      const s = slides[step % 2]!;
      plan.push({ slide: s, indices: samplePatchIndices(s.grid.x.length, 8, 5, step, s.id) });
    }
    // Count how far the loader has pulled from the plan while the consumer is slow.
    let pulled = 0;
    function* counted() {
      for (const r of plan) {
        pulled++;
        yield r;
      }
    }
    const loader = new PatchLoader({ slides: service, workers, prefetch: 2 });
    const seen: number[] = [];
    let i = 0;
    for await (const batch of loader.batches(counted())) {
      expect(batch.kind).toBe('patches');
      if (batch.kind !== 'patches') continue;
      // The consumer holds batch i; at most `prefetch` more are being read.
      expect(pulled).toBeLessThanOrEqual(i + 1 + 2);
      expect(batch.request).toBe(plan[i]);
      expect(batch.numPatches).toBe(8);
      expect(batch.pixels.length).toBe(8 * 64 * 64 * 3);
      const alone = await new PatchReader(workers).read(
        slides[i % 2]!.reader,
        batch.request.slide.grid,
        batch.request.indices,
      );
      expect(sameish(batch.pixels, alone)).toBe(true);
      seen.push(i++);
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(seen).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it('augments by the key: the same key gives the same batch, another key another', async () => {
    const dir = tempDir();
    const s = await slideAt(dir, 'c.svs', 33);
    const indices = samplePatchIndices(s.grid.x.length, 6, 1, 2, 3);
    const loader = new PatchLoader({ slides: service, workers, augment: {} });
    const read = async (augmentKey?: number[], from = loader) => {
      for await (const b of from.batches([{ slide: s, indices, augmentKey }])) {
        if (b.kind === 'patches') return b.pixels.slice();
      }
      throw new Error('no batch');
    };
    const plain = await read();
    const a1 = await read([7, 0]);
    const a2 = await read([7, 0]);
    const b = await read([7, 1]);
    expect(sameish(a1, a2)).toBe(true);
    expect(meanAbsDiff(a1, plain)).toBeGreaterThan(5);
    expect(meanAbsDiff(a1, b)).toBeGreaterThan(5);
    const none = new PatchLoader({ slides: service, workers, augment: NO_AUGMENT });
    expect(sameish(await read([7, 0], none), plain)).toBe(true);
  });

  it('skips a slide that becomes unreadable mid-run, warns once, and goes on with the others', async () => {
    const dir = tempDir();
    const good = await slideAt(dir, 'good.svs', 34);
    const bad = await slideAt(dir, 'bad.svs', 35);
    const n = bad.grid.x.length;
    const warnings: SlideWarning[] = [];
    const loader = new PatchLoader({
      slides: service,
      workers,
      prefetch: 0,
      onWarning: (w) => warnings.push(w),
    });
    const plan: BatchRequest[] = [
      { slide: bad, indices: Int32Array.from([0, 1]) },
      { slide: good, indices: Int32Array.from([0, 1]) },
      // Patches of the bad slide not read before (their tiles are not cached).
      { slide: bad, indices: Int32Array.from([n - 2, n - 1]) },
      { slide: good, indices: Int32Array.from([2, 3]) },
      { slide: bad, indices: Int32Array.from([n - 4, n - 3]) },
    ];
    const kinds: string[] = [];
    for await (const batch of loader.batches(plan)) {
      kinds.push(`${batch.request.slide === bad ? 'bad' : 'good'}:${batch.kind}`);
      // After the first batch, the bad slide's file is cut short under the open reader.
      if (kinds.length === 1) fs.truncateSync(bad.path, 20_000);
    }
    expect(kinds).toEqual(['bad:patches', 'good:patches', 'bad:skipped', 'good:patches', 'bad:skipped']);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]!.slide).toBe(bad);
    expect(warnings[0]!.message).toMatch(/^Skipping slide bad\.svs for the rest of the run: .+/);
  });

  it('skips a slide that cannot be opened at all', async () => {
    const dir = tempDir();
    const good = await slideAt(dir, 'ok.svs', 36);
    const missing: LoaderSlide = { id: 99, path: `${dir}/gone.svs`, grid: good.grid };
    const warnings: SlideWarning[] = [];
    const loader = new PatchLoader({ slides: service, workers, onWarning: (w) => warnings.push(w) });
    const kinds: string[] = [];
    for await (const b of loader.batches([
      { slide: missing, indices: Int32Array.from([0]) },
      { slide: good, indices: Int32Array.from([0]) },
    ])) {
      kinds.push(b.kind);
    }
    expect(kinds).toEqual(['skipped', 'patches']);
    expect(warnings[0]!.message).toMatch(/gone\.svs/);
  });

  it('stops reading ahead when the consumer stops', async () => {
    const dir = tempDir();
    const s = await slideAt(dir, 'd.svs', 37);
    let pulled = 0;
    function* endless(): Generator<BatchRequest> {
      for (let k = 0; ; k++) {
        pulled++;
        yield { slide: s, indices: samplePatchIndices(s.grid.x.length, 4, k) };
      }
    }
    const loader = new PatchLoader({ slides: service, workers, prefetch: 3 });
    let got = 0;
    for await (const _ of loader.batches(endless())) {
      if (++got === 2) break;
    }
    expect(pulled).toBeLessThanOrEqual(2 + 3 + 1);
  });
});
