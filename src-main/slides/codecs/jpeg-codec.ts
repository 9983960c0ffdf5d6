/**
 * The JPEG codec the decode workers use. Decoding is libjpeg-turbo everywhere, so a slide gives the same
 * pixels on every machine (a model trained on one lab machine must see the same pixels on the next):
 * its TurboJPEG API through koffi where libturbojpeg is installed (Debian: libturbojpeg0; straight to
 * RGBA in about 0.9 ms per 256 px tile here, test/bench/RESULTS.md), else the same library compiled to
 * WebAssembly (jpeg-wasm.ts: the same pixels, a few times slower). Encoding (Deep Zoom tiles, thumbnails)
 * is TurboJPEG where installed (quality 75 in about 0.6 ms), else mozjpeg in @napi-rs/image (about 6 ms;
 * other bytes, which only the viewer sees). TESSERA_WITHOUT=libturbojpeg hides the native library.
 *
 * Colour: TIFF tiles marked RGB carry an Adobe transform-0 marker (see jpeg-stream.ts), which libjpeg
 * honours; everything else decodes as YCbCr like libjpeg does by default.
 */
import { createRequire } from 'node:module';
import { Transformer } from '@napi-rs/image';
import { decodeJpegWasm } from './jpeg-wasm.js';
import { isHidden } from '../optional-libraries.js';

export interface DecodedJpeg {
  width: number;
  height: number;
  rgba: Uint8Array;
}

export interface JpegCodec {
  /** 'turbojpeg': the native library; 'portable': libjpeg-turbo in WebAssembly, encoding by mozjpeg. */
  name: 'turbojpeg' | 'portable';
  /** Decodes to RGBA, into `into` (width x height x 4 bytes) when given. */
  decode(jpeg: Uint8Array, width: number, height: number, into?: Uint8Array): DecodedJpeg;
  encode(rgba: Uint8Array, width: number, height: number, quality: number): Uint8Array;
}

const TJPF_RGBA = 7;
const TJERR_WARNING = 0;
/** libjpeg's warning messages (jerror.h JWRN_*); everything else it says is fatal. */
const LIBJPEG_WARNING =
  /^(Corrupt JPEG data|Premature end of JPEG file|Warning: |Invalid SOS parameters|Inconsistent progression|Unknown Adobe color transform|Application transferred too)/;
const TJSAMP_420 = 2;

function loadTurboJpeg(): JpegCodec | undefined {
  let koffi: typeof import('koffi');
  let lib: ReturnType<typeof koffi.load>;
  if (isHidden('libturbojpeg')) return undefined;
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
      if (rc !== 0) {
        // A warning (a truncated or damaged scan, which libjpeg fills with grey) keeps the pixels. TurboJPEG
        // reports TJERR_WARNING even when a fatal error followed a warning, so the last message decides.
        const message = errorStr(decoder) as string;
        if ((errorCode(decoder) as number) !== TJERR_WARNING || !LIBJPEG_WARNING.test(message))
          throw new Error(`corrupt JPEG data (${message})`);
      }
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

const portableCodec: JpegCodec = {
  name: 'portable',
  decode(jpeg, width, height, into) {
    return { width, height, rgba: decodeJpegWasm(jpeg, width, height, into) };
  },
  encode(rgba, width, height, quality) {
    return Transformer.fromRgbaPixels(rgba, width, height).jpegSync(quality);
  },
};

let chosen: JpegCodec | undefined;

export function jpegCodec(): JpegCodec {
  chosen ??= loadTurboJpeg() ?? portableCodec;
  return chosen;
}

/** The codec used where libturbojpeg is missing (or hidden). */
export function portableJpegCodec(): JpegCodec {
  return portableCodec;
}

/** Native TurboJPEG, or undefined where libturbojpeg is not installed (or hidden). */
export function turboJpegCodec(): JpegCodec | undefined {
  return loadTurboJpeg();
}
