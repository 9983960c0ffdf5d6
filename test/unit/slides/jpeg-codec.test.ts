/** The two JPEG codecs (TurboJPEG through koffi, @napi-rs/image) agree on real tiles. */
import { open } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { napiJpegCodec, turboJpegCodec } from '../../../src-main/slides/codecs/jpeg-codec.js';
import { completeJpeg, jpegSize } from '../../../src-main/slides/codecs/jpeg-stream.js';
import { TiffFile } from '../../../src-main/slides/tiff/tiff-file.js';
import { describeImage, type TiffImage } from '../../../src-main/slides/tiff/tiff-image.js';
import { sharedWsiDir } from '../../helpers/slides.js';
import { maxChannelMad } from './compare.js';

const wsi = sharedWsiDir();
const turbo = turboJpegCodec();

describe.skipIf(!wsi)('JPEG codecs on CMU-1-Small-Region tiles (needs ../shared/data/wsi)', () => {
  async function tiles(count: number): Promise<Uint8Array[]> {
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
        out.push(completeJpeg(buf, image.format.jpegTables, true)); // CMU tiles are Photometric RGB
      }
      return out;
    } finally {
      await handle.close();
    }
  }

  it('@napi-rs/image decodes RGB-coded tiles to RGBA and encodes a JPEG it can read back', async () => {
    for (const jpeg of await tiles(3)) {
      const { width, height } = jpegSize(jpeg);
      const d = napiJpegCodec().decode(jpeg, width, height);
      expect(d.rgba.length).toBe(width * height * 4);
      const again = napiJpegCodec().decode(napiJpegCodec().encode(d.rgba, width, height, 90), width, height);
      expect(maxChannelMad(again.rgba, d.rgba)).toBeLessThan(4);
    }
  });

  it.skipIf(!turbo)(
    'TurboJPEG (libturbojpeg) decodes the same pixels as @napi-rs/image, and round-trips',
    async () => {
      for (const jpeg of await tiles(12)) {
        const { width, height } = jpegSize(jpeg);
        const a = turbo!.decode(jpeg, width, height);
        const b = napiJpegCodec().decode(jpeg, width, height);
        expect(maxChannelMad(a.rgba, b.rgba)).toBeLessThanOrEqual(1);
        // 4:2:0 chroma subsampling, as PIL (OpenSlide's Deep Zoom) encodes: tissue edges lose chroma.
        const again = turbo!.decode(turbo!.encode(a.rgba, width, height, 90), width, height);
        expect(maxChannelMad(again.rgba, a.rgba)).toBeLessThan(10);
      }
      expect(() => turbo!.decode(Uint8Array.from([0xff, 0xd8, 0xff, 0xd9]), 16, 16)).toThrow(
        /corrupt JPEG data/,
      );
    },
  );
});
