/**
 * Partial JPEG decoding (native/pixels, tessera_pixels) gives exactly the pixels of a whole decode, for
 * every chroma subsampling, odd frame sizes, every crop offset across iMCU boundaries and the real
 * Aperio tiles; bad data and bad parts are errors, never crashes.
 */
import fs from 'node:fs';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jpegCodec } from '../../../src-main/slides/codecs/jpeg-codec.js';
import {
  partialJpegDecoder,
  regionPartsReader,
  type JpegPart,
} from '../../../src-main/slides/codecs/native-pixels.js';
import { completeJpeg, jpegSize } from '../../../src-main/slides/codecs/jpeg-stream.js';
import { TiffFile } from '../../../src-main/slides/tiff/tiff-file.js';
import { describeImage, type TiffImage } from '../../../src-main/slides/tiff/tiff-image.js';
import { sharedWsiDir } from '../../helpers/slides.js';
import { hasTool, makeFixtureDir, makeJpegSamples } from './fixtures.js';

const decoder = partialJpegDecoder();

/** A small fixed-seed generator (the cases must be the same on every run). */
function lcg(seed: number): () => number {
  return () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed / 2 ** 32;
  };
}

function wholeDecode(jpeg: Uint8Array): { rgba: Uint8Array; width: number; height: number } {
  const { width, height } = jpegSize(jpeg);
  return { ...jpegCodec().decode(jpeg, width, height), width, height };
}

/**
 * First differing pixel of `part` between a partial decode and the whole decode, or null. The part is
 * decoded into the middle of a larger buffer with a stride, as the slide reader composes regions, with
 * `margin` pixels of other content on each side: a tight buffer (the decoder's cropped rows do not fit, so
 * they go through its scratch row) and a roomy one (rows are decoded in place and the pixels around the
 * part are saved and put back). Either way no byte outside the part may change.
 */
function firstDifference(
  jpeg: Uint8Array,
  whole: ReturnType<typeof wholeDecode>,
  p: JpegPart,
  margin: number,
): string | null {
  const stride = (p.w + 2 * margin + 1) * 4;
  const out = new Uint8Array(stride * (p.h + 2));
  for (let i = 0; i < out.length; i++) out[i] = (i * 7 + 3) & 0xff;
  const before = out.slice();
  const offset = stride + margin * 4;
  decoder!.decodePart(jpeg, p, out, offset, stride);
  for (let y = 0; y < p.h; y++) {
    for (let x = 0; x < p.w * 4; x++) {
      const got = out[offset + y * stride + x];
      const want = whole.rgba[((p.y + y) * whole.width + p.x) * 4 + x];
      if (got !== want)
        return `part ${JSON.stringify(p)}, margin ${margin}: pixel (${x >> 2}, ${y}) is ${got}, whole decode ${want}`;
    }
  }
  for (let i = 0; i < out.length; i++) {
    const r = Math.floor(i / stride) - 1;
    const inside =
      r >= 0 && r < p.h && i - stride * (r + 1) >= margin * 4 && i - stride * (r + 1) < (margin + p.w) * 4;
    if (!inside && out[i] !== before[i])
      return `part ${JSON.stringify(p)}, margin ${margin}: byte ${i} outside the part was written`;
  }
  return null;
}

/** Parts across every column offset and many row offsets, small and reaching the far edge. */
function parts(width: number, height: number, seed: number): JpegPart[] {
  const rand = lcg(seed);
  const out: JpegPart[] = [];
  for (let x = 0; x < width; x++) {
    const y = Math.floor(rand() * height);
    for (const w of [1, 3, 17, width - x]) {
      const ww = Math.min(w, width - x);
      out.push({ x, y, w: ww, h: Math.max(1, Math.min(height - y, 1 + Math.floor(rand() * 40))) });
    }
  }
  for (let y = 0; y < height; y++) {
    const x = Math.floor(rand() * width);
    out.push({ x, y, w: Math.min(width - x, 1 + Math.floor(rand() * 60)), h: height - y });
    out.push({ x, y, w: width - x, h: 1 });
  }
  return out;
}

describe.skipIf(!decoder || !hasTool('vips'))('partial JPEG decoding (tessera_pixels)', () => {
  let dir: string;
  const jpegs = new Map<string, Uint8Array>();

  beforeAll(() => {
    dir = makeFixtureDir();
    for (const [name, jpeg] of makeJpegSamples(dir)) jpegs.set(name, jpeg);
  }, 60_000);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('equals the whole decode for every crop offset and size', () => {
    let checked = 0;
    for (const [name, jpeg] of jpegs) {
      const whole = wholeDecode(jpeg);
      for (const p of parts(whole.width, whole.height, 99)) {
        for (const margin of [0, 2, 70]) expect(firstDifference(jpeg, whole, p, margin), name).toBeNull();
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(8000);
  });

  it('reports corrupt data, parts outside the image and short buffers as errors', () => {
    const jpeg = jpegs.get('4:2:0 q75')!;
    const out = new Uint8Array(256 * 256 * 4);
    expect(() => decoder!.decodePart(jpeg, { x: 200, y: 0, w: 57, h: 10 }, out, 0, 1024)).toThrow(
      /outside the 256x256 image/,
    );
    expect(() => decoder!.decodePart(jpeg, { x: 0, y: 0, w: 10, h: 10 }, out, 0, 8)).toThrow(RangeError);
    expect(() => decoder!.decodePart(jpeg, { x: 0, y: 0, w: 256, h: 256 }, out, 4, 1024)).toThrow(RangeError);
    expect(() => decoder!.decodePart(jpeg.subarray(0, 100), { x: 0, y: 0, w: 8, h: 8 }, out, 0, 32)).toThrow(
      /corrupt JPEG data/,
    );
    expect(() => decoder!.decodePart(new Uint8Array(64), { x: 0, y: 0, w: 8, h: 8 }, out, 0, 32)).toThrow(
      /corrupt JPEG data \(Not a JPEG file/,
    );
    // A truncated scan is a warning, as for the whole-tile decoder: the rest is filled, no error.
    const truncated = jpeg.subarray(0, Math.floor(jpeg.length * 0.6));
    expect(() => decoder!.decodePart(truncated, { x: 10, y: 200, w: 30, h: 30 }, out, 0, 120)).not.toThrow();
  });

  it.skipIf(!regionPartsReader())(
    "reads parts from a file on libuv's pool to the whole decode's pixels, and checks every rectangle first",
    async () => {
      const read = regionPartsReader()!;
      const jpeg = jpegs.get('4:2:0 q75')!;
      const whole = wholeDecode(jpeg);
      const file = path.join(dir, 'tile.jpg');
      fs.writeFileSync(file, Buffer.concat([Buffer.alloc(100, 7), jpeg])); // the tile 100 bytes in
      const handle = await open(file, 'r');
      try {
        const fd = handle.fd;
        const out = new Uint8Array(116 * 90 * 4);
        const tile = new Uint8Array(256 * 256 * 4);
        // A part straight into the output, then the whole tile into a tile buffer and a part of it copied.
        const records = Float64Array.from([
          ...[0, 100, jpeg.length, 37, 101, 60, 90, 0],
          ...[2, 100, jpeg.length, 0, 0, 0, 0, 0],
          ...[1, 0, (5 * 256 + 200) * 4, 256 * 4, 0, 56, 90, 60 * 4],
        ]);
        await read(fd, records, undefined, false, 256, 256, out, 116 * 4, [tile]);
        expect(Buffer.compare(Buffer.from(tile), Buffer.from(whole.rgba))).toBe(0);
        for (let y = 0; y < 90; y++)
          for (let x = 0; x < 116; x++) {
            const [tx, ty] = x < 60 ? [37 + x, 101 + y] : [200 + x - 60, 5 + y];
            const got = out.subarray((y * 116 + x) * 4, (y * 116 + x) * 4 + 4);
            const want = whole.rgba.subarray((ty * 256 + tx) * 4, (ty * 256 + tx) * 4 + 4);
            if (Buffer.compare(Buffer.from(got), Buffer.from(want)) !== 0)
              throw new Error(`pixel ${x},${y} is ${[...got]}, not ${[...want]}`);
          }
        const bad = (numbers: number[]) =>
          read(fd, Float64Array.from(numbers), undefined, false, 256, 256, out, 116 * 4, [tile]);
        expect(() => bad([0, 100, jpeg.length, 200, 0, 60, 10, 0])).toThrow(/outside its tile/);
        expect(() => bad([0, 100, jpeg.length, 0, 0, 60, 91, 0])).toThrow(/does not fit the output/);
        expect(() => bad([0, 100, jpeg.length, 0, 0, 117, 1, 0])).toThrow(/wider than the output/);
        expect(() => bad([1, 1, 0, 1024, 0, 10, 10, 0])).toThrow(/no such tile buffer/);
        expect(() => bad([1, 0, 256 * 255 * 4, 1024, 0, 10, 10, 0])).toThrow(/does not fit its buffer/);
        await expect(bad([2, 100, jpeg.length, 0, 0, 0, 0, 0])).resolves.toBeUndefined();
        expect(() => bad([3, 0, 0, 0, 0, 1, 1, 0])).toThrow(RangeError);
        expect(() => bad([0, 100, jpeg.length, -1, 0, 1, 1, 0])).toThrow(/non-negative integers/);
        expect(() => bad([0, 100, jpeg.length, 0.5, 0, 1, 1, 0])).toThrow(/non-negative integers/);
        expect(() => bad([0, 100, jpeg.length, 0, 0, 1, 1])).toThrow(/eights/);
        // Bytes that are no JPEG, and a range past the end of the file: errors, not crashes.
        await expect(bad([0, 0, 200, 0, 0, 8, 8, 0])).rejects.toThrow(/does not start with SOI/);
        await expect(bad([0, 100 + jpeg.length - 10, 400, 0, 0, 8, 8, 0])).rejects.toThrow(/truncated/);
      } finally {
        await handle.close();
      }
    },
  );

  it('decodes correctly after errors and after a part outside the image (the decompressor is reused)', () => {
    const jpeg = jpegs.get('4:2:0 q75')!;
    const other = jpegs.get([...jpegs.keys()].find((k) => k !== '4:2:0 q75')!)!;
    const out = new Uint8Array(256 * 256 * 4);
    const check = (j: Uint8Array, p: JpegPart) =>
      expect(firstDifference(j, wholeDecode(j), p, 70)).toBeNull();
    // A corrupt stream fails mid-header, a mutated one mid-scan; a part outside the image fails after the header.
    expect(() =>
      decoder!.decodePart(jpeg.subarray(0, 100), { x: 0, y: 0, w: 8, h: 8 }, out, 0, 32),
    ).toThrow();
    check(jpeg, { x: 37, y: 51, w: 100, h: 90 });
    expect(() => decoder!.decodePart(jpeg, { x: 200, y: 0, w: 57, h: 10 }, out, 0, 1024)).toThrow();
    check(other, { x: 5, y: 130, w: 60, h: 20 });
    check(jpeg, { x: 0, y: 0, w: 256, h: 256 });
  });

  it('never crashes on mutated files (2,000 cases, fixed seed)', () => {
    const rand = lcg(7);
    const source = jpegs.get('4:2:0 odd 250x131')!;
    const out = new Uint8Array(250 * 131 * 4);
    let errors = 0;
    for (let i = 0; i < 2000; i++) {
      const bytes = source.slice();
      const flips = 1 + Math.floor(rand() * 8);
      for (let k = 0; k < flips; k++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      const x = Math.floor(rand() * 240);
      const y = Math.floor(rand() * 120);
      try {
        decoder!.decodePart(bytes, { x, y, w: 10, h: 11 }, out, 0, 40);
      } catch (err) {
        expect((err as Error).message).toMatch(/corrupt JPEG data|outside the/);
        errors++;
      }
    }
    expect(errors).toBeGreaterThan(0);
  });
});

const wsi = sharedWsiDir();

describe.skipIf(!decoder || !wsi)(
  'partial decoding of real Aperio tiles (needs the sample scanner slides)',
  () => {
    it('equals the whole decode on CMU-1-Small-Region tiles (JPEG tables, RGB components)', async () => {
      const handle = await open(path.join(wsi!, 'CMU-1-Small-Region.svs'));
      try {
        const size = (await handle.stat()).size;
        const image = describeImage((await TiffFile.parse(handle, size)).ifds[0]!, size) as TiffImage;
        for (let i = 0; i < 4; i++) {
          const k = (i * 37) % image.offsets.length;
          const stored = new Uint8Array(image.byteCounts[k]!);
          await handle.read(stored, 0, stored.length, image.offsets[k]!);
          const jpeg = completeJpeg(stored, image.format.jpegTables, true);
          const whole = wholeDecode(jpeg);
          for (const p of parts(whole.width, whole.height, i).filter((_, j) => j % 3 === 0)) {
            for (const margin of [0, 70])
              expect(firstDifference(jpeg, whole, p, margin), `tile ${k}`).toBeNull();
          }
        }
      } finally {
        await handle.close();
      }
    });
  },
);
