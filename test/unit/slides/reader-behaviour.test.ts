/**
 * Behaviour of the tiled base and the services around it on a generated slide: shared decode of
 * concurrent tile requests, the tile cache, backend choice, thumbnails, fingerprints, SlideService.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Transformer } from '@napi-rs/image';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DecodePool,
  DeepZoom,
  SlideRegistry,
  SlideService,
  TileCache,
  fingerprint,
  makeThumbnail,
  openSlide,
} from '../../../src-main/slides/index.js';
import { TiffSlideReader } from '../../../src-main/slides/tiff/tiff-reader.js';
import { tiffBackend } from '../../../src-main/slides/tiff/tiff-backend.js';
import { openSlideBackend } from '../../../src-main/slides/openslide/openslide-reader.js';
import { hasTool, jp2kEncoderSync, loadJp2kEncoder, makeFixtureDir } from './fixtures.js';
import { writeTiff, type WriterImage } from './tiff-writer.js';
import type { WorkerTask } from '../../../src-main/slides/worker/messages.js';
import { makePyramidalTiff } from '../../helpers/slides.js';
import { boxReduce, flattenOnWhite } from '../../../src-main/slides/codecs/box-reduce.js';
import {
  observeNativeRegionReads,
  partialJpegDecoder,
  regionPartsReader,
  setNativeRegionReads,
} from '../../../src-main/slides/codecs/native-pixels.js';
import { jpegCodec } from '../../../src-main/slides/codecs/jpeg-codec.js';
import { readAndEncodeRegion } from '../../../src-main/slides/encode.js';
import { packedTileRanges } from '../../../src-main/slides/worker/render-task.js';

/** Byte equality of large pixel buffers, plain or shared (toEqual compares them element by element, slowly). */
function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}

/** Whether the tessera_pixels addon is built here with libjpeg (readers then decode small parts of JPEG tiles). */
const partial = partialJpegDecoder() !== undefined;

describe.skipIf(!hasTool('vips'))('tiled reader behaviour', () => {
  let dir: string;
  let file: string;
  let pool: DecodePool;
  let decodeCount = 0;
  let workerTasks = 0;
  beforeAll(() => {
    dir = makeFixtureDir();
    file = makePyramidalTiff(path.join(dir, 'gradient.tif'), 1200, 900);
    // A real pool whose decode count the tests read.
    pool = new DecodePool(2);
    const count = (task: WorkerTask) => {
      workerTasks++;
      if (task.kind === 'decode') decodeCount++;
      if (task.kind === 'decodeRanges') decodeCount += task.ranges.length;
      if (task.kind === 'render') decodeCount += packedTileRanges(task.numbers).filter((r) => r).length;
    };
    const run = pool.run.bind(pool);
    const runForBuffers = pool.runForBuffers.bind(pool);
    pool.run = (task, transfer, shared) => (count(task), run(task, transfer, shared));
    pool.runForBuffers = (task, transfer) => (count(task), runForBuffers(task, transfer));
    // Regions read on libuv's pool decode there: records of kind 0 (a part) and 2 (a whole tile).
    observeNativeRegionReads((records) => {
      for (let i = 0; i < records.length; i += 8) if (records[i] === 0 || records[i] === 2) decodeCount++;
    });
  }, 60_000);
  afterAll(async () => {
    observeNativeRegionReads(undefined);
    await pool.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A cache under 4x the level's 5 MiB of decoded tiles (20 of 256 px), so that reads decode small parts of
   * tiles in part; a level that fits a quarter of the cache is decoded whole (tested below).
   */
  const PARTS_CACHE = 16 * 1024 * 1024;

  function countingPool(): { pool: DecodePool; decodes: () => number } {
    const start = decodeCount;
    return { pool, decodes: () => decodeCount - start };
  }

  it('decodes a tile once for concurrent requests and serves repeats from the cache', async () => {
    const { pool, decodes } = countingPool();
    const cache = new TileCache(PARTS_CACHE);
    const reader = await TiffSlideReader.open(file, { pool, cache });
    try {
      // A 100 px region needs 15% of its tile. With partial decoding the first read decodes only that
      // part and caches nothing; the second touch decodes the whole tile, which the other six share.
      const touches = partial ? 2 : 1;
      const reads = await Promise.all(
        Array.from({ length: 8 }, () => reader.readRegion(0, 10, 10, 100, 100)),
      );
      expect(decodes()).toBe(touches);
      for (const r of reads) expect(r).toEqual(reads[0]);
      await reader.readRegion(0, 200, 200, 50, 50); // same 256 px tile
      expect(decodes()).toBe(touches);
      expect(cache.count).toBe(1);
      // Crosses into 3 more tiles (a few pixels of each): parts first, whole tiles when read again.
      const corner = await reader.readRegion(0, 250, 250, 20, 20);
      expect(decodes()).toBe(touches + 3);
      expect(cache.count).toBe(partial ? 1 : 4);
      expect(await reader.readRegion(0, 250, 250, 20, 20)).toEqual(corner);
      expect(decodes()).toBe(touches + (partial ? 6 : 3));
      expect(cache.count).toBe(4);
      expect(cache.sizeBytes).toBe(4 * 256 * 256 * 4);
      expect(await reader.readRegion(0, 250, 250, 20, 20)).toEqual(corner);
      expect(decodes()).toBe(touches + (partial ? 6 : 3));
    } finally {
      await reader.close();
    }
    expect(cache.count).toBe(0); // close drops the reader's tiles
  });

  it('answers tile reads that return after close with their pixels, but caches none and keeps no slot', async () => {
    const cache = new TileCache(PARTS_CACHE);
    const reader = await TiffSlideReader.open(file, { pool, cache });
    const reference = await TiffSlideReader.open(file, { pool, cache: new TileCache(PARTS_CACHE) });
    try {
      // One tile alone (readTile) and six in a batch (readTiles: the workers decode into slab slots), all
      // still being read when close drops the reader's tiles.
      const addresses: [number, number][] = [
        [0, 0],
        [1, 0],
        [2, 0],
        [0, 2],
        [1, 2],
        [2, 2],
      ];
      const single = reader.getTile(0, 1, 1);
      const batch = reader.getTiles(0, addresses);
      const closing = reader.close();
      expect(same((await single)!, (await reference.getTile(0, 1, 1))!)).toBe(true);
      const tiles = await Promise.all(batch);
      for (const [i, [col, row]] of addresses.entries()) {
        const tile = tiles[i]!;
        expect(same(tile, (await reference.getTile(0, col, row))!), `tile ${col},${row}`).toBe(true);
        // A copy of its own: the slot it was decoded into went back to the cache for other slides.
        expect(cache.isSlabSlot(tile), `tile ${col},${row}`).toBe(false);
      }
      await closing;
      expect(cache.count).toBe(0);
      expect(cache.sizeBytes).toBe(0);
    } finally {
      await reader.close();
      await reference.close();
    }
  });

  it('decodes every tile whole at once where the whole level fits a quarter of the cache', async () => {
    // Under any access all of such a level's tiles are soon cached, so a part decoded now would only be
    // followed by a whole decode of the same tile.
    const { pool, decodes } = countingPool();
    const cache = new TileCache(4 * 20 * 256 * 256 * 4); // 4x the level's 20 tiles, decoded
    const reader = await TiffSlideReader.open(file, { pool, cache });
    const reference = await TiffSlideReader.open(file, { pool, cache: new TileCache(PARTS_CACHE) });
    try {
      // A few pixels of each of four tiles: four whole decodes, all cached, and nothing decoded again.
      const corner = await reader.readRegion(0, 250, 250, 20, 20);
      expect(decodes()).toBe(4);
      expect(cache.count).toBe(4);
      expect(same(corner, await reference.readRegion(0, 250, 250, 20, 20))).toBe(true);
      const before = decodes();
      expect(
        same(await reader.readRegion(0, 240, 240, 30, 30), await reference.readRegion(0, 240, 240, 30, 30)),
      ).toBe(true);
      // The reference decodes its four again, whole now (asked for again soon after parts); this reader nothing.
      expect(decodes() - before).toBe(partial ? 4 : 0);
      // One byte less of cache and the level no longer fits a quarter of it: parts again.
      const tightCache = new TileCache(4 * 20 * 256 * 256 * 4 - 1);
      const tight = await TiffSlideReader.open(file, { pool, cache: tightCache });
      try {
        await tight.readRegion(0, 250, 250, 20, 20);
        expect(tightCache.count).toBe(partial ? 0 : 4);
      } finally {
        await tight.close();
      }
    } finally {
      await reader.close();
      await reference.close();
    }
  });

  it.skipIf(!partial)('decodes a tile asked for again only much later in part again, not whole', async () => {
    // Random reads over a large slide: whole decodes for tiles read again long after (their cached
    // copy seldom used again) cost more than the parts they replace.
    const big = makePyramidalTiff(path.join(dir, 'wide.tif'), 18 * 256, 17 * 256, true); // 306 tiles
    const { pool, decodes } = countingPool();
    const cache = new TileCache(256 * 1024 * 1024);
    const reader = await TiffSlideReader.open(big, { pool, cache });
    try {
      const first = await reader.readRegion(0, 10, 10, 40, 40);
      for (let t = 1; t < 18 * 17; t++)
        await reader.readRegion(0, (t % 18) * 256 + 10, Math.floor(t / 18) * 256 + 10, 40, 40);
      expect(decodes()).toBe(18 * 17);
      expect(cache.count).toBe(0);
      expect(await reader.readRegion(0, 10, 10, 40, 40)).toEqual(first);
      expect(cache.count).toBe(0); // in part again
      // Asked for again at once (coherent access): whole, and cached.
      expect(await reader.readRegion(0, 10, 10, 40, 40)).toEqual(first);
      expect(cache.count).toBe(1);
    } finally {
      await reader.close();
    }
  });

  it('with tilesReused, decodes the tiles of neighbouring grid rows whole once, to the same pixels', async () => {
    // Three rows of 224 px patches (a strip of three each) across 256 px tiles, as a patch batch reads
    // them. Without the hint, a tile a row needs less than three quarters of is decoded in part for that
    // row and whole again for the next (here the tiles of column 2, of which the rows need 160 x 224 and
    // 160 x 192 px); with the hint every tile is decoded once, whole, cached, and each region composed in
    // a worker.
    const rows = [0, 224, 448];
    const plain = await TiffSlideReader.open(file, { pool, cache: new TileCache(PARTS_CACHE) });
    const hinted = await TiffSlideReader.open(file, { pool, cache: new TileCache(PARTS_CACHE) });
    try {
      const count = countingPool();
      const want: Uint8Array[] = [];
      for (const y of rows) want.push(await plain.readRegion(0, 0, y, 672, 224));
      const plainDecodes = count.decodes();
      const hintedCount = countingPool();
      const into = new Uint8Array(new SharedArrayBuffer(672 * 224 * 4));
      for (const [i, y] of rows.entries()) {
        await Promise.all([
          hinted.readRegion(0, 0, y, 672, 224, into, { tilesReused: true }),
          hinted
            .readRegion(0, 0, y, 672, 224, undefined, { tilesReused: true })
            .then((r) => expect(same(r, want[i]!)).toBe(true)),
        ]);
        expect(same(into, want[i]!)).toBe(true);
      }
      // 3 tile columns x 3 tile rows (0-767 px), each decoded once.
      expect(hintedCount.decodes()).toBe(9);
      expect(plainDecodes).toBe(partial ? 11 : 9);
      // Prefetching reads tiles whole into the cache, and the read after it decodes nothing more: the four
      // tiles of columns 0-1, tile rows 2-3 (row 2 was only decoded in part above).
      const ahead = countingPool();
      await plain.prefetchRegion(0, 0, 700, 300, 100);
      expect(ahead.decodes()).toBe(partial ? 4 : 2);
      await plain.readRegion(0, 0, 700, 300, 100);
      expect(ahead.decodes()).toBe(partial ? 4 : 2);
      await expect(plain.prefetchRegion(0, -5, 0, -1, 10)).resolves.toBeUndefined(); // bad: left to the read
    } finally {
      await plain.close();
      await hinted.close();
    }
  });

  it('a small cache still gives correct pixels (evicted tiles are decoded again)', async () => {
    const { pool, decodes } = countingPool();
    const cache = new TileCache(256 * 256 * 4); // one tile
    const reader = await TiffSlideReader.open(file, { pool, cache });
    try {
      const a = await reader.readRegion(0, 0, 0, 600, 300);
      const b = await reader.readRegion(0, 0, 0, 600, 300);
      expect(b).toEqual(a);
      expect(decodes()).toBeGreaterThan(6);
      expect(cache.sizeBytes).toBeLessThanOrEqual(256 * 256 * 4);
    } finally {
      await reader.close();
    }
  });

  it('reads regions into a caller’s buffer, plain or shared, as it reads them into a new one, and keeps every tile slot accounted for', async () => {
    let seed = 5;
    const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
    const regions = Array.from({ length: 60 }, () => {
      const w = 20 + Math.floor(rand() * 300);
      const h = 20 + Math.floor(rand() * 300);
      return [Math.floor(rand() * 1300) - 50, Math.floor(rand() * 1000) - 50, w, h] as const;
    });
    // One reader per way of reading, each with its own cache, so that all take the same decode path.
    const modes = ['new', 'plain', 'shared'] as const;
    const caches = modes.map(() => new TileCache(8 * 256 * 256 * 4));
    const readers = await Promise.all(caches.map((cache) => TiffSlideReader.open(file, { pool, cache })));
    try {
      for (const [x, y, w, h] of regions) {
        const [fresh, plain, shared] = await Promise.all([
          readers[0]!.readRegion(0, x, y, w, h),
          readers[1]!.readRegion(0, x, y, w, h, new Uint8Array(w * h * 4).fill(9)),
          readers[2]!.readRegion(0, x, y, w, h, new Uint8Array(new SharedArrayBuffer(w * h * 4)).fill(9)),
        ]);
        // Buffer#equals: toEqual walks typed arrays element by element (seconds for these sizes).
        const same = (a: Uint8Array) => Buffer.from(a.buffer, a.byteOffset, a.length).equals(fresh);
        expect(same(plain), `plain buffer, region ${x},${y} ${w}x${h}`).toBe(true);
        expect(same(shared), `shared buffer, region ${x},${y} ${w}x${h}`).toBe(true);
      }
      await new Promise((resolve) => setImmediate(resolve));
      for (const cache of caches) {
        // Every slab slot is either holding a cached tile or free: none was lost on the way.
        expect(cache.count).toBeGreaterThan(0);
        expect(cache.slabSizeBytes - cache.freeSlabBytes).toBe(cache.sizeBytes);
      }
    } finally {
      await Promise.all(readers.map((r) => r.close()));
    }
  });

  it('tells a replacement worker the tile sources and slabs again, and a reopened slide gets a source of its own', async () => {
    // Render tasks name the file, its format and the cache's slabs by number, told to each worker once;
    // a worker that dies takes that with it.
    // Regions go through the workers here, not libuv's pool (tested below).
    setNativeRegionReads(false);
    const own = new DecodePool(1);
    const cache = new TileCache(16 * 256 * 256 * 4);
    const reference = await TiffSlideReader.open(file, { pool, cache: new TileCache(16 * 256 * 256 * 4) });
    let reader = await TiffSlideReader.open(file, { pool: own, cache });
    const workers = () => (own as unknown as { slots: { worker: { terminate(): Promise<number> } }[] }).slots;
    try {
      // Small regions need a part of each tile (decoded in part by a render task), then the same tiles
      // again (decoded whole into slab slots, then read from them).
      const regions = [
        [300, 200, 60, 50],
        [310, 210, 60, 50],
        [320, 220, 60, 50],
        [700, 500, 90, 40],
        [705, 505, 90, 40],
      ] as const;
      const check = async (x: number, y: number, w: number, h: number) => {
        const [got, want] = await Promise.all([
          reader.readRegion(0, x, y, w, h, new Uint8Array(w * h * 4)),
          reference.readRegion(0, x, y, w, h),
        ]);
        expect(same(got, want), `region ${x},${y} ${w}x${h}`).toBe(true);
      };
      for (const [x, y, w, h] of regions.slice(0, 3)) await check(x, y, w, h);
      expect(workers()).toHaveLength(1);
      await workers()[0]!.worker.terminate();
      await new Promise((resolve) => setImmediate(resolve));
      expect(workers()).toHaveLength(0);
      // The replacement worker is told again: cached tiles (slab slots) and new parts both render.
      for (const [x, y, w, h] of regions) await check(x, y, w, h);
      await reader.close();
      reader = await TiffSlideReader.open(file, { pool: own, cache });
      for (const [x, y, w, h] of regions) await check(x, y, w, h);
    } finally {
      setNativeRegionReads(true);
      await reader.close();
      await reference.close();
      await own.close();
    }
  });

  it.skipIf(!regionPartsReader())(
    "reads regions on libuv's pool, without a worker task, to the worker path's pixels, and close waits for it",
    async () => {
      const cache = new TileCache(PARTS_CACHE);
      const reader = await TiffSlideReader.open(file, { pool, cache });
      const viaWorkers = await TiffSlideReader.open(file, { pool, cache: new TileCache(PARTS_CACHE) });
      const workerRead = async (x: number, y: number, w: number, h: number) => {
        setNativeRegionReads(false);
        try {
          return await viaWorkers.readRegion(0, x, y, w, h);
        } finally {
          setNativeRegionReads(true);
        }
      };
      try {
        // A part of a tile; the tile again (decoded whole into the cache) beside a new part; cached tiles
        // beside new parts; regions hanging over the level's edges (transparent there, whatever the buffer
        // held). A region whose missing tiles are all decoded whole goes to the workers instead, which
        // decode them side by side (one thread would decode them in turn).
        const regions = [
          [300, 200, 60, 50, 'pool'],
          [310, 210, 60, 50, 'pool'],
          [320, 220, 60, 50, 'workers'],
          [400, 240, 200, 40, 'pool'],
          [1150, 850, 100, 100, 'pool'],
          [-20, 800, 80, 60, 'pool'],
          [250, 250, 300, 300, 'pool'],
        ] as const;
        const into = new Uint8Array(new SharedArrayBuffer(300 * 300 * 4));
        for (const [x, y, w, h, where] of regions) {
          const tasks = workerTasks;
          const buffer = into.subarray(0, w * h * 4).fill(0x5a);
          const got = await reader.readRegion(0, x, y, w, h, buffer);
          expect(got).toBe(buffer);
          expect(workerTasks > tasks ? 'workers' : 'pool', `region ${x},${y} ${w}x${h}`).toBe(where);
          expect(same(got, await workerRead(x, y, w, h)), `region ${x},${y} ${w}x${h}`).toBe(true);
        }
        expect(cache.count).toBeGreaterThan(0); // tiles asked for again were decoded whole and cached
        // A read in flight when the slide closes still completes, on the descriptor it started with.
        // No more reads run on libuv's pool at once than the decode pool has workers (2 here): the others go
        // through the workers, so a large pool still decodes that many regions side by side.
        const fresh = await TiffSlideReader.open(file, { pool, cache: new TileCache(PARTS_CACHE) });
        try {
          const apart: [number, number][] = [
            [10, 10],
            [266, 10],
            [522, 10],
            [778, 10],
            [1034, 10],
            [10, 266],
          ];
          const tasks = workerTasks;
          const reads = await Promise.all(apart.map(([x, y]) => fresh.readRegion(0, x, y, 50, 50)));
          expect(workerTasks - tasks).toBe(apart.length - 2);
          for (const [i, [x, y]] of apart.entries())
            expect(same(reads[i]!, await workerRead(x, y, 50, 50)), `region ${x},${y}`).toBe(true);
        } finally {
          await fresh.close();
        }
        // A tile it decodes whole does not enter the cache after close dropped the reader's tiles (this
        // region: two parts, a cached tile and one asked for again).
        const reading = reader.readRegion(0, 700, 400, 120, 120);
        const closing = reader.close();
        expect(same(await reading, await workerRead(700, 400, 120, 120))).toBe(true);
        await closing;
        expect(cache.count).toBe(0);
      } finally {
        await reader.close();
        await viaWorkers.close();
      }
    },
  );

  it.skipIf(!regionPartsReader())(
    "names the file and the reason when a tile read on libuv's pool is corrupt, and caches nothing of it",
    async () => {
      const good = (() => {
        const rgba = new Uint8Array(256 * 256 * 4).fill(200);
        return jpegCodec().encode(rgba, 256, 256, 90);
      })();
      const notJpeg = new Uint8Array(good.length).fill(7);
      const tooLarge = jpegCodec().encode(new Uint8Array(512 * 512 * 4).fill(90), 512, 512, 90);
      const bad = path.join(dir, 'bad-tiles.tif');
      fs.writeFileSync(
        bad,
        writeTiff([
          {
            width: 768,
            height: 256,
            tileWidth: 256,
            tileHeight: 256,
            tiles: [good, notJpeg, tooLarge],
            compression: 7,
            photometric: 6,
            samplesPerPixel: 3,
          },
        ]),
      );
      const cache = new TileCache(PARTS_CACHE);
      const reader = await TiffSlideReader.open(bad, { pool, cache });
      try {
        const read = (x: number) => reader.readRegion(0, x, 10, 60, 60);
        await expect(read(300)).rejects.toThrow(/bad-tiles\.tif.*does not start with SOI/);
        await expect(read(300)).rejects.toThrow(/does not start with SOI/); // asked again: whole, still refused
        await expect(read(600)).rejects.toThrow(/bad-tiles\.tif.*512x512, larger than the 256x256 tile/);
        expect(cache.count).toBe(0);
        const fine = await read(10);
        expect([...fine.subarray(0, 4)]).toEqual([...(await read(10)).subarray(0, 4)]);
        expect(Math.abs(fine[0]! - 200)).toBeLessThan(4);
      } finally {
        await reader.close();
      }
    },
  );

  it('a worker answers one task at a time, even while its first JPEG 2000 tile loads the decoder', async () => {
    // Four 64 px JPEG 2000 tiles of four colours; a fresh one-worker pool gets all four reads at once. The
    // first decode waits for the decoder's module to load; tasks behind it must not start meanwhile (they
    // share the worker's buffer for stored bytes).
    await loadJp2kEncoder();
    const colours = [
      [200, 30, 40],
      [20, 180, 60],
      [30, 40, 220],
      [240, 240, 20],
    ];
    const tiles = colours.map(([r, g, b]) => {
      const samples = new Uint8Array(64 * 64 * 3);
      for (let i = 0; i < samples.length; i += 3) samples.set([r!, g!, b!], i);
      return jp2kEncoderSync()(samples, 64, 64);
    });
    const j2k = path.join(dir, 'four-colours.svs');
    fs.writeFileSync(
      j2k,
      writeTiff([
        {
          width: 128,
          height: 128,
          tileWidth: 64,
          tileHeight: 64,
          tiles,
          compression: 33005,
          photometric: 2,
          description: 'Aperio Image Library Tessera test\r\n128x128 (64x64) J2K/KDU Q=70|MPP = 0.25',
        },
      ]),
    );
    const fresh = new DecodePool(1);
    const reader = await TiffSlideReader.open(j2k, { pool: fresh, cache: new TileCache(1 << 20) });
    try {
      const reads = await Promise.all(
        colours.map((_, i) => reader.readRegion(0, (i % 2) * 64 + 16, Math.floor(i / 2) * 64 + 16, 8, 8)),
      );
      reads.forEach((rgba, i) => {
        const [r, g, b] = colours[i]!;
        for (let p = 0; p < rgba.length; p += 4) {
          const got = [...rgba.subarray(p, p + 3)];
          if (got.some((v, k) => Math.abs(v - [r!, g!, b!][k]!) > 2))
            throw new Error(`tile ${i}: pixel ${p / 4} is ${got}, not ${colours[i]}`);
        }
      });
    } finally {
      await reader.close();
      await fresh.close();
    }
  });

  it('leaves what a short JPEG frame does not cover transparent, whatever the reused buffer held', async () => {
    // Two 256 px tiles: a red one, and a green one whose JPEG frame is only 128 px wide.
    const solid = (w: number, h: number, rgb: number[]) => {
      const rgba = new Uint8Array(w * h * 4);
      for (let i = 0; i < rgba.length; i += 4) rgba.set([...rgb, 255], i);
      return jpegCodec().encode(rgba, w, h, 95);
    };
    const file = path.join(dir, 'short-frame.tif');
    fs.writeFileSync(
      file,
      writeTiff([
        {
          width: 512,
          height: 256,
          tileWidth: 256,
          tileHeight: 256,
          tiles: [solid(256, 256, [220, 0, 0]), solid(128, 256, [0, 200, 0])],
          compression: 7,
          photometric: 6,
          samplesPerPixel: 3,
        },
      ]),
    );
    const reader = await TiffSlideReader.open(file, { pool, cache: new TileCache(4 << 20) });
    try {
      const expectRow = (rgba: Uint8Array, what: string) => {
        for (let x = 0; x < 100; x++) {
          const got = [...rgba.subarray(x * 4, x * 4 + 4)];
          const want = x < 68 ? [0, 200, 0, 255] : [0, 0, 0, 0];
          if (got.some((v, k) => Math.abs(v - want[k]!) > 3))
            throw new Error(`${what}: pixel ${x} is ${got}, not ${want}`);
        }
      };
      expect([...(await reader.readRegion(0, 10, 10, 100, 100)).subarray(0, 4)]).toEqual([220, 0, 0, 255]);
      await new Promise((resolve) => setImmediate(resolve)); // its region buffer is free again
      // Tile pixels 60..159 of the green tile: 68 inside the frame, 32 beyond it.
      expectRow(await reader.readRegion(0, 316, 10, 100, 100), 'first read (part decoded)');
      expectRow(await reader.readRegion(0, 316, 10, 100, 100), 'second read (whole tile)');
    } finally {
      await reader.close();
    }
  });

  it('renders Deep Zoom tiles in the worker from cache slots, as readRegion + encode does', async () => {
    const { pool, decodes } = countingPool();
    // Reference: the same reader type without the one-task path (main thread composes).
    const plain = await TiffSlideReader.open(file, { pool, cache: new TileCache(64 * 1024 * 1024) });
    Object.defineProperty(plain, 'encodeRegion', {
      value: (...args: Parameters<TiffSlideReader['encodeRegion']>) =>
        readAndEncodeRegion(plain, pool, ...args),
    });
    const big = await TiffSlideReader.open(file, { pool, cache: new TileCache(PARTS_CACHE) });
    // Two tiles' worth: slots are evicted and reused while other renders still read them.
    const small = await TiffSlideReader.open(file, { pool, cache: new TileCache(2 * 256 * 256 * 4) });
    try {
      const dz = (r: TiffSlideReader) => new DeepZoom(r, { tileSize: 254, overlap: 1, pool });
      const level = dz(plain).levelCount - 1;
      const [cols, rows] = dz(plain).levelTiles[level]!;
      const all: [number, number][] = [];
      for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) all.push([c, r]);
      const expected = await Promise.all(all.map(([c, r]) => dz(plain).tile(level, c, r)));
      // Concurrent requests for the same tile share its four stored-tile decodes. With partial decoding
      // the first request decodes the three it needs a few pixels of in part, the second whole.
      const before = decodes();
      const same = await Promise.all(Array.from({ length: 4 }, () => dz(big).tile(level, 1, 1)));
      expect(decodes() - before).toBe(partial ? 7 : 4);
      for (const t of same) expect(t).toEqual(expected[cols + 1]);
      for (const reader of [big, small]) {
        const d = dz(reader);
        const got = await Promise.all([...all, ...all].map(([c, r]) => d.tile(level, c, r)));
        got.forEach((t, i) => expect(t).toEqual(expected[i % all.length]));
        expect(d.stats.rendered).toBe(2 * all.length);
      }
    } finally {
      await Promise.all([plain.close(), big.close(), small.close()]);
    }
  });

  it('reduces a whole level tile by tile in the workers to the pixels of reading and reducing it', async () => {
    const reader = await TiffSlideReader.open(file, { pool, cache: new TileCache(64 * 1024 * 1024) });
    try {
      const { width, height } = reader.metadata.levels[0]!; // 1200 x 900: edge tiles hang over
      const whole = await reader.readRegion(0, 0, 0, width, height);
      for (const [factor, flatten] of [
        [2, true],
        [4, false],
        [8, true],
      ] as const) {
        const tiled = (await reader.readLevelReduced(0, factor, flatten))!;
        const expected = whole.slice();
        if (flatten) flattenOnWhite(expected);
        const reference = boxReduce({ rgba: expected, width, height }, factor, factor);
        expect([tiled.width, tiled.height]).toEqual([reference.width, reference.height]);
        expect(Buffer.compare(Buffer.from(tiled.rgba), Buffer.from(reference.rgba)), `by ${factor}`).toBe(0);
      }
      // A factor that does not divide the 256 px tiles is left to the caller.
      expect(await reader.readLevelReduced(0, 3, true)).toBeUndefined();
    } finally {
      await reader.close();
    }
  });

  it('rejects bad region arguments', async () => {
    const reader = await openSlide(file);
    try {
      await expect(reader.readRegion(9, 0, 0, 10, 10)).rejects.toThrow(/level 9 does not exist/);
      await expect(reader.readRegion(0, 0, 0, -1, 10)).rejects.toThrow(RangeError);
      expect(await reader.readRegion(0, 5000, 5000, 4, 4)).toEqual(new Uint8Array(64)); // outside: transparent
      // A caller-supplied buffer is cleared, filled and returned.
      const into = new Uint8Array(40 * 30 * 4).fill(7);
      const filled = await reader.readRegion(0, 1190, 100, 40, 30, into);
      expect(filled).toBe(into);
      expect(filled).toEqual(await reader.readRegion(0, 1190, 100, 40, 30));
      expect(filled[(0 * 40 + 39) * 4 + 3]).toBe(0); // x = 1229 is outside the 1200 px image
      await expect(reader.readRegion(0, 0, 0, 10, 10, new Uint8Array(4))).rejects.toThrow(/does not fit/);
    } finally {
      await reader.close();
    }
  });

  it('picks the built-in backend for TIFF and OpenSlide when asked', async () => {
    const os = openSlideBackend(() => {});
    const registry = new SlideRegistry(os ? [tiffBackend(), os] : [tiffBackend()]);
    const r = await registry.open(file);
    expect(r.metadata.backend).toBe('tiff');
    expect(r.metadata.vendor).toBe('generic-tiff');
    await r.close();
    if (os) {
      const o = await registry.open(file, 'openslide');
      expect(o.metadata.backend).toBe('openslide');
      expect(o.metadata.levels.map((l) => l.width)).toEqual(r.metadata.levels.map((l) => l.width));
      await o.close();
    }
    await expect(new SlideRegistry([tiffBackend()]).open(file, 'openslide')).rejects.toThrow(
      /openslide backend is not available/,
    );
  });

  it('makes a thumbnail of the requested size', async () => {
    const reader = await openSlide(file);
    try {
      const jpeg = await makeThumbnail(reader, 200);
      const meta = new Transformer(jpeg).metadataSync() as { width: number; height: number; format: unknown };
      expect([meta.width, meta.height]).toEqual([200, 150]);
      const png = await makeThumbnail(reader, 64, { type: 'png' });
      expect(Buffer.from(png.subarray(1, 4)).toString()).toBe('PNG');
    } finally {
      await reader.close();
    }
  });

  it('fingerprints are stable for a copy and change with the content', async () => {
    const reader = await openSlide(file);
    const copy = path.join(dir, 'moved.tif');
    fs.copyFileSync(file, copy);
    const a = await fingerprint(file, reader);
    const b = await fingerprint(copy, reader);
    expect(b).toEqual(a);
    expect(a).toMatchObject({ size: fs.statSync(file).size, width: 1200, height: 900 });
    const bytes = fs.readFileSync(copy);
    bytes[Math.floor(bytes.length / 2)]! ^= 0xff;
    bytes[Math.floor(bytes.length / 2) + 1]! ^= 0xff;
    fs.writeFileSync(copy, bytes);
    // A change in the sampled middle of the file shows unless it falls between samples; flip a
    // sampled byte to be sure.
    const sampled = 64 * 1024 + Math.floor(((bytes.length - 64 * 1024) * 8) / 16);
    bytes[sampled]! ^= 0xff;
    fs.writeFileSync(copy, bytes);
    expect((await fingerprint(copy, reader)).id).not.toBe(a.id);
    await reader.close();
  });

  it('SlideService keeps readers open by path, shares concurrent opens, and bounds open files', async () => {
    const service = new SlideService({ maxOpen: 2 });
    const files = [0, 1, 2].map((i) => {
      const f = path.join(dir, `s${i}.tif`);
      fs.copyFileSync(file, f);
      return f;
    });
    const [r1, r1again] = await Promise.all([service.reader(files[0]!), service.reader(files[0]!)]);
    expect(r1again).toBe(r1);
    const dz = await service.deepZoom(files[0]!);
    expect(dz).toBe(await service.deepZoom(files[0]!));
    expect(dz.descriptor().tileSize).toBe(256); // stored 256 px JPEG tiles pass through
    await service.reader(files[1]!);
    await service.reader(files[2]!);
    expect(service.openCount).toBe(2);
    const reopened = await service.reader(files[0]!);
    expect(reopened).not.toBe(r1);
    await expect(service.reader(path.join(dir, 'nope.svs'))).rejects.toThrow(
      /nope\.svs: the file does not exist/,
    );
    expect(service.openCount).toBe(2);
    await service.closeAll();
    expect(service.openCount).toBe(0);
  });

  it('SlideService never closes a slide under a running request', async () => {
    const service = new SlideService({ maxOpen: 1 });
    const [a, b] = ['lease-a.tif', 'lease-b.tif'].map((name) => {
      const f = path.join(dir, name);
      fs.copyFileSync(file, f);
      return f;
    });
    const closed = new Set<string>();
    const gate = () => {
      let open!: () => void;
      const opened = new Promise<void>((resolve) => (open = resolve));
      return { open, opened };
    };
    /** A request on `f` that has started (its reader's close is watched) and waits for `release`. */
    const hold = async (f: string, release: Promise<void>) => {
      const started = gate();
      const done = service.withReader(f, async (reader) => {
        const close = reader.close.bind(reader);
        reader.close = async () => (closed.add(f), close());
        started.open();
        await release;
        return reader.readRegion(0, 100, 100, 64, 64);
      });
      await started.opened;
      return { done }; // not the promise itself: awaiting hold() must not wait for the request
    };
    const releaseA = gate();
    const requestA = (await hold(a!, releaseA.opened)).done;
    // Opening b goes beyond maxOpen: a is the least recently used but busy, so it stays open.
    await service.reader(b!);
    expect(service.openCount).toBe(2);
    expect(closed.has(a!)).toBe(false);
    releaseA.open();
    const pixels = await requestA;
    expect(pixels[3]).toBe(255); // the read ran to the end on an open slide
    // With its last request done, a is evicted.
    await expect.poll(() => closed.has(a!)).toBe(true);
    expect(service.openCount).toBe(1);
    // An explicit close waits for the running request too.
    const releaseB = gate();
    const requestB = (await hold(b!, releaseB.opened)).done;
    const closing = service.closeSlide(b!);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(closed.has(b!)).toBe(false);
    releaseB.open();
    expect((await requestB)[3]).toBe(255);
    await closing;
    expect(closed.has(b!)).toBe(true);
  });
});

describe('OpenSlide backend availability', () => {
  it('steps aside with one log line when libopenslide cannot be loaded', () => {
    const lines: string[] = [];
    expect(openSlideBackend((m) => lines.push(m), ['libopenslide-not-installed.so.9'])).toBeUndefined();
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^OpenSlide backend disabled: libopenslide is not installed/);
  });
});

describe('TIFF-based formats the built-in reader leaves to OpenSlide', () => {
  const tiffOnly = new SlideRegistry([tiffBackend()]);
  const base = {
    width: 8,
    height: 8,
    tileWidth: 16,
    tileHeight: 16,
    tiles: [new Uint8Array(16 * 16 * 3)],
    compression: 1,
    photometric: 2,
  };

  it('refuses NDPI, Ventana BIF and Leica SCN layouts with a reason', async () => {
    const dir = makeFixtureDir();
    try {
      const cases: [string, WriterImage, RegExp][] = [
        [
          'scan.ndpi.tif',
          { ...base, extraTags: [{ tag: 65420, type: 4, values: [1] }] },
          /Hamamatsu NDPI files need the OpenSlide backend/,
        ],
        [
          'scan.bif.tif',
          {
            ...base,
            extraTags: [
              { tag: 700, type: 1, values: new TextEncoder().encode('<iScan Magnification="40"/>') },
            ],
          },
          /Ventana BIF/,
        ],
        [
          'scan.scn.tif',
          {
            ...base,
            description:
              '<?xml version="1.0"?><scn xmlns="http://www.leica-microsystems.com/scn/2010/10/01">',
          },
          /Leica SCN/,
        ],
      ];
      for (const [name, image, reason] of cases) {
        const f = path.join(dir, name);
        fs.writeFileSync(f, writeTiff([image]));
        await expect(tiffOnly.open(f)).rejects.toThrow(reason);
      }
      // JPEG 2000 tiles with subsampled chroma (component 1 XRsiz = 2 in the SIZ segment).
      await loadJp2kEncoder();
      const j2k = jp2kEncoderSync()(new Uint8Array(64 * 64 * 3), 64, 64);
      j2k[42 + 3 + 1] = 2;
      const sub = path.join(dir, 'subsampled.svs');
      fs.writeFileSync(
        sub,
        writeTiff([
          { ...base, width: 64, height: 64, tileWidth: 64, tileHeight: 64, tiles: [j2k], compression: 33003 },
        ]),
      );
      await expect(tiffOnly.open(sub)).rejects.toThrow(/subsampled colour components/);
      // The same tiles without the vendor markers read fine.
      const plain = path.join(dir, 'plain.tif');
      fs.writeFileSync(plain, writeTiff([base]));
      await (await tiffOnly.open(plain)).close();
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
