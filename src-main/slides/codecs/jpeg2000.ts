/**
 * JPEG 2000 codestream decoding with OpenJPEG (WebAssembly build from @cornerstonejs/codec-openjpeg),
 * and the YCbCr conversion Aperio 33003 tiles need: Aperio stores Y, Cb, Cr without the JPEG 2000
 * multi-component transform, so the decoder returns YCbCr and we convert with the JFIF matrix, as
 * OpenSlide does.
 */
import { createRequire } from 'node:module';

interface OpenJpegDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): { width: number; height: number; bitsPerSample: number; componentCount: number };
}
interface OpenJpegModule {
  J2KDecoder: new () => OpenJpegDecoder;
}

let modulePromise: Promise<OpenJpegModule> | undefined;

function openJpeg(): Promise<OpenJpegModule> {
  if (!modulePromise) {
    const require = createRequire(import.meta.url);
    const factory = require('@cornerstonejs/codec-openjpeg/decodewasmjs') as (
      opts?: object,
    ) => Promise<OpenJpegModule>;
    modulePromise = factory({ print: () => {}, printErr: () => {} });
  }
  return modulePromise;
}

let decoder: OpenJpegDecoder | undefined;

export interface DecodedJ2k {
  width: number;
  height: number;
  components: number;
  /** Interleaved 8-bit samples. */
  samples: Uint8Array;
}

export async function decodeJ2k(codestream: Uint8Array): Promise<DecodedJ2k> {
  const mod = await openJpeg();
  decoder ??= new mod.J2KDecoder();
  decoder.getEncodedBuffer(codestream.length).set(codestream);
  decoder.decode();
  const info = decoder.getFrameInfo();
  if (info.bitsPerSample > 8) throw new Error(`unsupported JPEG 2000 bit depth ${info.bitsPerSample}`);
  const samples = new Uint8Array(decoder.getDecodedBuffer()); // copy out of WASM memory
  return { width: info.width, height: info.height, components: info.componentCount, samples };
}

/** JFIF YCbCr → RGB, in place on interleaved 3- or 4-sample pixels. */
export function ycbcrToRgbInPlace(samples: Uint8Array, pixels: number, stride: number): void {
  for (let i = 0, p = 0; i < pixels; i++, p += stride) {
    const y = samples[p]!;
    const cb = samples[p + 1]! - 128;
    const cr = samples[p + 2]! - 128;
    samples[p] = clamp(y + Math.round(1.402 * cr));
    samples[p + 1] = clamp(y + Math.round(-0.34414 * cb - 0.71414 * cr));
    samples[p + 2] = clamp(y + Math.round(1.772 * cb));
  }
}

function clamp(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : v;
}
