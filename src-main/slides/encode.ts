/**
 * Encoding RGBA in the decode workers (flatten onto white, resize, JPEG or PNG): the one place the
 * encode task is built, for Deep Zoom tiles, thumbnails and PNG output.
 */
import { checkRegionSize, type RegionEncoding, type RgbaImage, type SlideReader } from './types.js';
import { sharedDecodePool, type DecodePool } from './worker/decode-pool.js';
import type { WorkerTask } from './worker/messages.js';

function encodeTask(image: RgbaImage, encoding: RegionEncoding, returnPixels: boolean): WorkerTask {
  return { kind: 'encode', ...image, ...encoding, returnPixels };
}

/** A buffer that can move to the worker without a copy: plain memory that the view covers whole. */
function movable(view: Uint8Array): ArrayBuffer[] {
  const b = view.buffer;
  return b instanceof ArrayBuffer && view.byteOffset === 0 && view.byteLength === b.byteLength ? [b] : [];
}

/** Encodes `image`; its pixel buffer moves to the worker where it can (the caller gives the pixels up). */
export function encodeInPool(
  pool: DecodePool,
  image: RgbaImage,
  encoding: RegionEncoding,
): Promise<Uint8Array> {
  return pool.run(encodeTask(image, encoding, false), movable(image.rgba));
}

/** Like encodeInPool, and the (flattened) pixel buffer comes back for reuse: [encoded, pixels]. */
export async function encodeInPoolKeepingPixels(
  pool: DecodePool,
  image: RgbaImage,
  encoding: RegionEncoding,
): Promise<[encoded: Uint8Array, pixels: Uint8Array | undefined]> {
  const [encoded, pixels] = await pool.runForBuffers(encodeTask(image, encoding, true), movable(image.rgba));
  return [encoded!, pixels];
}

/**
 * Encodes `image` as PNG (CLI region output, associated images). The caller keeps its pixels (a copy is
 * encoded) unless `givePixels` hands them to the encoder as they are.
 */
export function encodePng(
  image: RgbaImage,
  options: { pool?: DecodePool; givePixels?: boolean } = {},
): Promise<Uint8Array> {
  const { width, height } = image;
  const rgba = options.givePixels ? image.rgba : image.rgba.slice();
  return encodeInPool(
    options.pool ?? sharedDecodePool(),
    { rgba, width, height },
    { outWidth: width, outHeight: height, flatten: false, type: 'png', quality: 0 },
  );
}

/**
 * readRegion into a reused buffer, then flatten, resize and encode in the pool: encodeRegion for readers
 * (or regions) that cannot be rendered in one worker task.
 */
export async function readAndEncodeRegion(
  reader: Pick<SlideReader, 'readRegion'>,
  pool: DecodePool,
  level: number,
  x: number,
  y: number,
  w: number,
  h: number,
  encoding: RegionEncoding,
): Promise<Uint8Array> {
  checkRegionSize(w, h);
  const rgba = await reader.readRegion(level, x, y, w, h, regionBuffers.take(w * h * 4));
  const [encoded, pixels] = await encodeInPoolKeepingPixels(pool, { rgba, width: w, height: h }, encoding);
  if (pixels) regionBuffers.give(pixels);
  return encoded;
}

/** A few region buffers per size, reused from tile to tile (keeps the main thread's GC quiet). */
const regionBuffers = {
  free: new Map<number, Uint8Array[]>(),
  take(bytes: number): Uint8Array {
    return this.free.get(bytes)?.pop() ?? new Uint8Array(bytes);
  },
  give(buffer: Uint8Array): void {
    if (buffer.byteOffset !== 0 || buffer.byteLength !== buffer.buffer.byteLength) return;
    const list = this.free.get(buffer.byteLength) ?? [];
    if (list.length >= 8) return;
    list.push(buffer);
    this.free.set(buffer.byteLength, list);
    // Odd sizes (edge tiles) would accumulate; keep a bounded number of sizes.
    if (this.free.size > 16) this.free.delete(this.free.keys().next().value!);
  },
};
