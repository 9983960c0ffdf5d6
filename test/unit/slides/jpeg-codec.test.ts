/**
 * One JPEG decoder's pixels on every machine: native TurboJPEG (libturbojpeg0) and libjpeg-turbo in
 * WebAssembly (the fallback where it is missing) decode every kind of tile byte for byte alike (in a
 * truncated tile, all but the block where the data breaks off); and the built-in reader's pixels equal OpenSlide's (libjpeg-turbo through libtiff)
 * exactly, whichever decoders this run has. CI runs the slide tests a second time with
 * TESSERA_WITHOUT=libturbojpeg,libjpeg, where the last test checks the fallback against OpenSlide.
 */
import { open } from 'node:fs/promises';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { portableJpegCodec, turboJpegCodec } from '../../../src-main/slides/codecs/jpeg-codec.js';
import { completeJpeg, jpegSize } from '../../../src-main/slides/codecs/jpeg-stream.js';
import { TiffFile } from '../../../src-main/slides/tiff/tiff-file.js';
import { describeImage, type TiffImage } from '../../../src-main/slides/tiff/tiff-image.js';
import { TiffSlideReader } from '../../../src-main/slides/tiff/tiff-reader.js';
import { TileCache } from '../../../src-main/slides/tile-cache.js';
import { sharedWsiDir } from '../../helpers/slides.js';
import { hasOpenSlideTools, maxChannelMad, openSlideRegion } from './compare.js';
import { hasTool, makeFixtureDir, makeJpegSamples } from './fixtures.js';

const wsi = sharedWsiDir();
const turbo = turboJpegCodec();
const portable = portableJpegCodec();

/** Complete JPEG streams of CMU-1-Small-Region's level-0 tiles (Aperio RGB-coded, shared tables). */
async function cmuTiles(count: number): Promise<Uint8Array[]> {
  const file = path.join(wsi!, 'CMU-1-Small-Region.svs');
  const handle = await open(file);
  try {
    const size = (await handle.stat()).size;
    const image = describeImage((await TiffFile.parse(handle, size)).ifds[0]!, size) as TiffImage;
    const out: Uint8Array[] = [];
    for (let i = 0; i < count; i++) {
      const k = (i * 17) % image.offsets.length;
      const buf = new Uint8Array(image.byteCounts[k]!);
      await handle.read(buf, 0, buf.length, image.offsets[k]!);
      out.push(completeJpeg(buf, image.format.jpegTables, true));
    }
    return out;
  } finally {
    await handle.close();
  }
}

/** The first byte where two decodes differ, or null. */
function firstDifference(a: Uint8Array, b: Uint8Array): string | null {
  if (a.length !== b.length) return `lengths ${a.length} and ${b.length}`;
  for (let i = 0; i < a.length; i++) {
    if (a[i] !== b[i]) return `pixel ${i >> 2} channel ${i & 3}: ${a[i]} vs ${b[i]}`;
  }
  return null;
}

describe.skipIf(!hasTool('vips'))('JPEG decoding: the same pixels whichever decoder', () => {
  let dir: string;
  const samples = new Map<string, Uint8Array>();
  beforeAll(async () => {
    dir = makeFixtureDir();
    for (const [name, jpeg] of makeJpegSamples(dir)) samples.set(name, jpeg);
    if (wsi) (await cmuTiles(12)).forEach((jpeg, i) => samples.set(`CMU-1-Small-Region tile ${i}`, jpeg));
    // Truncated scans: libjpeg warns, fills the rest with grey, and both paths keep those pixels.
    for (const [name, jpeg] of [...samples]) {
      if (name.startsWith('4:2:0 q75') || name.endsWith('tile 0'))
        for (const cut of [0.4, 0.9]) samples.set(`${name} cut at ${cut}`, jpeg.slice(0, jpeg.length * cut));
    }
  }, 60_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it.skipIf(!turbo)('libjpeg-turbo in WebAssembly decodes byte for byte as native TurboJPEG', () => {
    expect(samples.size).toBeGreaterThanOrEqual(wsi ? 20 : 8);
    for (const [name, jpeg] of samples) {
      const { width, height } = jpegSize(jpeg);
      const native = turbo!.decode(jpeg, width, height).rgba;
      const wasm = portable.decode(jpeg, width, height).rgba;
      if (!name.includes(' cut at ')) {
        expect(firstDifference(wasm, native), name).toBeNull();
        continue;
      }
      // Where a truncated scan breaks off, the last block's coefficients are garbage: libjpeg-turbo's SIMD
      // IDCT saturates them and its C IDCT (the WebAssembly build's) wraps them around, so a few values of
      // that one block may differ. Everything else is equal.
      const differing: number[] = [];
      for (let i = 0; i < native.length; i++) if (native[i] !== wasm[i]) differing.push(i >> 2);
      const xs = differing.map((p) => p % width);
      const ys = differing.map((p) => Math.floor(p / width));
      if (differing.length === 0) continue;
      expect(differing.length, name).toBeLessThanOrEqual(16 * 16);
      expect(Math.max(...xs) - Math.min(...xs), name).toBeLessThan(16);
      expect(Math.max(...ys) - Math.min(...ys), name).toBeLessThan(16);
    }
  });

  it('both decoders refuse what is not JPEG data, and decode again afterwards', () => {
    const good = samples.get('4:2:0 q75')!;
    const reference = portable.decode(good, 256, 256).rgba.slice();
    for (const codec of turbo ? [portable, turbo] : [portable]) {
      for (const bad of [
        Uint8Array.from([0xff, 0xd8, 0xff, 0xd9]),
        new Uint8Array(64),
        good.subarray(0, 20),
      ]) {
        expect(() => codec.decode(bad, 16, 16), codec.name).toThrow(/corrupt JPEG data/);
      }
      expect(firstDifference(codec.decode(good, 256, 256).rgba, reference), codec.name).toBeNull();
    }
  });

  it('each encoder writes a JPEG the decoders read back closely', () => {
    const rgba = portable.decode(samples.get('4:2:0 q75')!, 256, 256).rgba;
    for (const codec of turbo ? [portable, turbo] : [portable]) {
      const again = portable.decode(codec.encode(rgba, 256, 256, 90), 256, 256).rgba;
      // 4:2:0 chroma subsampling, as PIL (OpenSlide's Deep Zoom) encodes: edges lose some chroma.
      expect(maxChannelMad(again, rgba), codec.name).toBeLessThan(10);
    }
  });
});

describe.skipIf(!wsi || !hasOpenSlideTools())(
  'the built-in reader against OpenSlide, pixel for pixel',
  () => {
    it('CMU-1-Small-Region regions equal openslide-write-png exactly', async () => {
      const file = path.join(wsi!, 'CMU-1-Small-Region.svs');
      const reader = await TiffSlideReader.open(file, { cache: new TileCache(64 << 20) });
      try {
        // Across tile borders, a few pixels of a tile (partial decoding where built) and the image edge.
        for (const [x, y, w, h] of [
          [0, 0, 512, 512],
          [230, 470, 300, 200],
          [1000, 1000, 7, 300],
          [2100, 2000, 120, 120],
        ] as const) {
          const ours = await reader.readRegion(0, x, y, w, h);
          expect(
            firstDifference(ours, openSlideRegion(file, 0, x, y, w, h)),
            `${x},${y} ${w}x${h}`,
          ).toBeNull();
        }
      } finally {
        await reader.close();
      }
    });
  },
);
