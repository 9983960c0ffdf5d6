/**
 * The JPEG codec the decode workers use, chosen by measurement (256 px tiles, this machine, see
 * test/bench/RESULTS.md): libjpeg-turbo's TurboJPEG API through koffi decodes straight to RGBA in
 * about 0.9 ms and encodes quality 75 in about 0.6 ms; @napi-rs/image needs about 1.6 ms to
 * decode (to RGB, plus a copy to RGBA) and about 6 ms to encode (mozjpeg). TurboJPEG is used where
 * libturbojpeg is installed (Debian: libturbojpeg0); @napi-rs/image is the always-present fallback.
 * Set TESSERA_JPEG=napi to force the fallback.
 *
 * Colour: TIFF tiles marked RGB carry an Adobe transform-0 marker (see jpeg-stream.ts), which both
 * libraries honour; everything else decodes as YCbCr like libjpeg does by default.
 */
import { createRequire } from 'node:module';
import { Transformer } from '@napi-rs/image';
import { expandToRgba } from './rgba.js';

export interface DecodedJpeg {
  width: number;
  height: number;
  rgba: Uint8Array;
}

export interface JpegCodec {
  name: 'turbojpeg' | 'napi-rs-image';
  /** Decodes to RGBA, into `into` (width x height x 4 bytes) when given. */
  decode(jpeg: Uint8Array, width: number, height: number, into?: Uint8Array): DecodedJpeg;
  encode(rgba: Uint8Array, width: number, height: number, quality: number): Uint8Array;
}

const TJPF_RGBA = 7;
const TJSAMP_420 = 2;

function loadTurboJpeg(): JpegCodec | undefined {
  let koffi: typeof import('koffi');
  let lib: ReturnType<typeof koffi.load>;
  try {
    koffi = createRequire(import.meta.url)('koffi') as typeof import('koffi');
    lib = koffi.load(
      process.platform === 'win32'
        ? 'turbojpeg.dll'
        : process.platform === 'darwin'
          ? 'libturbojpeg.dylib'
          : 'libturbojpeg.so.0',
    );
  } catch {
    return undefined;
  }
  const initDecompress = lib.func('void *tjInitDecompress()');
  const initCompress = lib.func('void *tjInitCompress()');
  const decompress2 = lib.func(
    'int tjDecompress2(void *h, const uint8_t *buf, unsigned long size, uint8_t *dst, int w, int pitch, int hh, int pf, int flags)',
  );
  const compress2 = lib.func(
    'int tjCompress2(void *h, const uint8_t *src, int w, int pitch, int hh, int pf, _Inout_ void **jpegBuf, _Inout_ unsigned long *jpegSize, int ss, int q, int flags)',
  );
  const errorStr = lib.func('const char *tjGetErrorStr2(void *h)');
  const errorCode = lib.func('int tjGetErrorCode(void *h)');
  const decoder = initDecompress();
  const encoder = initCompress();
  if (!decoder || !encoder) return undefined;
  // TurboJPEG keeps reusing (and growing) this output buffer across calls.
  const outBuf: unknown[] = [null];
  const outSize: number[] = [0];
  return {
    name: 'turbojpeg',
    decode(jpeg, width, height, into) {
      const rgba = into ?? new Uint8Array(width * height * 4);
      const rc = decompress2(decoder, jpeg, jpeg.length, rgba, width, 0, height, TJPF_RGBA, 0) as number;
      // TJERR_WARNING (0) = recoverable problems such as a truncated scan: libjpeg fills the rest.
      if (rc !== 0 && (errorCode(decoder) as number) !== 0)
        throw new Error(`corrupt JPEG data (${errorStr(decoder) as string})`);
      return { width, height, rgba };
    },
    encode(rgba, width, height, quality) {
      const rc = compress2(
        encoder,
        rgba,
        width,
        0,
        height,
        TJPF_RGBA,
        outBuf,
        outSize,
        TJSAMP_420,
        quality,
        0,
      ) as number;
      if (rc !== 0) throw new Error(`JPEG encoding failed (${errorStr(encoder) as string})`);
      return new Uint8Array(koffi.view(outBuf[0], outSize[0]!).slice(0));
    },
  };
}

const napiCodec: JpegCodec = {
  name: 'napi-rs-image',
  decode(jpeg, width, height, into) {
    const pixels = new Transformer(jpeg).rawPixelsSync();
    const channels = pixels.length / (width * height);
    if (!Number.isInteger(channels) || channels < 1 || channels > 4)
      throw new Error('JPEG tile decoded to an unexpected size');
    const rgba = channels === 4 ? new Uint8Array(pixels) : expandToRgba(pixels, width * height, channels);
    if (into) into.set(rgba);
    return { width, height, rgba: into ?? rgba };
  },
  encode(rgba, width, height, quality) {
    return Transformer.fromRgbaPixels(rgba, width, height).jpegSync(quality);
  },
};

let chosen: JpegCodec | undefined;

export function jpegCodec(): JpegCodec {
  chosen ??= (process.env.TESSERA_JPEG !== 'napi' ? loadTurboJpeg() : undefined) ?? napiCodec;
  return chosen;
}

export function napiJpegCodec(): JpegCodec {
  return napiCodec;
}

export function turboJpegCodec(): JpegCodec | undefined {
  return loadTurboJpeg();
}
