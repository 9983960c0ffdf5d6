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

/** Decodes a raw codestream no larger than maxWidth x maxHeight (checked before decoding). */
export async function decodeJ2k(
  codestream: Uint8Array,
  maxWidth: number,
  maxHeight: number,
): Promise<DecodedJ2k> {
  const siz = j2kSize(codestream);
  if (!siz) throw new Error('not a JPEG 2000 codestream');
  if (
    siz.width > maxWidth ||
    siz.height > maxHeight ||
    siz.width <= 0 ||
    siz.height <= 0 ||
    siz.components > 4
  ) {
    throw new Error(`JPEG 2000 tile is ${siz.width}x${siz.height}x${siz.components}, not a plausible tile`);
  }
  const mod = await openJpeg();
  decoder ??= new mod.J2KDecoder();
  let info: ReturnType<OpenJpegDecoder['getFrameInfo']>;
  try {
    decoder.getEncodedBuffer(codestream.length).set(codestream);
    decoder.decode();
    info = decoder.getFrameInfo();
  } catch (err) {
    // A WebAssembly abort leaves the module unusable: start a fresh one next time.
    modulePromise = undefined;
    decoder = undefined;
    throw new Error(`corrupt JPEG 2000 data (${err instanceof Error ? err.message : String(err)})`);
  }
  if (info.width !== siz.width || info.height !== siz.height)
    throw new Error('JPEG 2000 tile decoded to an unexpected size');
  if (info.bitsPerSample > 8) throw new Error(`unsupported JPEG 2000 bit depth ${info.bitsPerSample}`);
  const samples = new Uint8Array(decoder.getDecodedBuffer()); // copy out of WASM memory
  if (samples.length < info.width * info.height * info.componentCount)
    throw new Error('JPEG 2000 tile decoded short');
  return { width: info.width, height: info.height, components: info.componentCount, samples };
}

/** Image size from the SIZ segment that must follow SOC (FF4F FF51). */
function j2kSize(cs: Uint8Array): { width: number; height: number; components: number } | undefined {
  if (cs.length < 42 || cs[0] !== 0xff || cs[1] !== 0x4f || cs[2] !== 0xff || cs[3] !== 0x51)
    return undefined;
  const dv = new DataView(cs.buffer, cs.byteOffset, cs.byteLength);
  const xsiz = dv.getUint32(8);
  const ysiz = dv.getUint32(12);
  const xo = dv.getUint32(16);
  const yo = dv.getUint32(20);
  return { width: xsiz - xo, height: ysiz - yo, components: dv.getUint16(40) };
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
