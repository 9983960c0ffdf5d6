/** Entry point of a decode worker thread: answers WorkerRequests from the pool, one at a time. */
import fs from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { Transformer, ResizeFilterType, ResizeFit } from '@napi-rs/image';
import { boxReduce, reductionFactors } from '../codecs/box-reduce.js';
import { decodeTile } from '../codecs/decode-tile.js';
import { jpegCodec } from '../codecs/jpeg-codec.js';
import { expandToRgba } from '../codecs/rgba.js';
import type { WorkerRequest, WorkerResponse, WorkerTask } from './messages.js';

async function run(task: WorkerTask): Promise<Uint8Array | Uint8Array[]> {
  if (task.kind === 'decode') return decodeTile(task.format, task.stored);
  if (task.kind === 'reduce') {
    if (task.flatten) flattenOnWhite(task.rgba);
    return boxReduce(task, task.factor, task.factor).rgba;
  }
  if (task.kind === 'forget') {
    forget(task.key);
    return new Uint8Array(0);
  }
  if (task.kind === 'decodeRanges') {
    const fd = descriptor(task.file.key, task.file.path);
    for (let i = 0; i < task.ranges.length; i++) {
      const [offset, length] = task.ranges[i]!;
      const stored = new Uint8Array(length);
      if (fs.readSync(fd, stored, 0, length, offset) !== length) throw new Error('the file is truncated');
      await decodeTile(task.format, stored, task.into[i]!);
    }
    return task.into;
  }
  if (task.kind === 'decodeMany') {
    // Tiles decode to the same size, so one buffer carries them all (one transfer, no copies back).
    const tileBytes = task.format.tileWidth * task.format.tileHeight * 4;
    const out = new Uint8Array(tileBytes * task.stored.length);
    for (let i = 0; i < task.stored.length; i++)
      out.set(await decodeTile(task.format, task.stored[i]!), i * tileBytes);
    return out;
  }
  if (task.flatten) flattenOnWhite(task.rgba);
  if (task.returnPixels) return [await encode(task), task.rgba];
  return encode(task);
}

async function encode(task: Extract<WorkerTask, { kind: 'encode' }>): Promise<Uint8Array> {
  const resize = task.outWidth !== task.width || task.outHeight !== task.height;
  if (!resize && task.type === 'jpeg')
    return jpegCodec().encode(task.rgba, task.width, task.height, task.quality);
  let source = { rgba: task.rgba, width: task.width, height: task.height };
  const [fx, fy] = reductionFactors(task.width, task.height, task.outWidth, task.outHeight);
  if (resize && (fx > 1 || fy > 1)) source = boxReduce(source, fx, fy);
  let t = Transformer.fromRgbaPixels(source.rgba, source.width, source.height);
  if (resize) t = t.resize(task.outWidth, task.outHeight, ResizeFilterType.Lanczos3, ResizeFit.Fill);
  if (task.type === 'png') return t.pngSync();
  const pixels = t.rawPixelsSync();
  const n = task.outWidth * task.outHeight;
  const rgba = pixels.length === n * 4 ? new Uint8Array(pixels) : expandToRgba(pixels, n, pixels.length / n);
  return jpegCodec().encode(rgba, task.outWidth, task.outHeight, task.quality);
}

/** Open descriptors by reader key, least recently used first. */
const descriptors = new Map<string, number>();
const MAX_DESCRIPTORS = 32;

function descriptor(key: string, path: string): number {
  let fd = descriptors.get(key);
  if (fd !== undefined) {
    descriptors.delete(key);
    descriptors.set(key, fd);
    return fd;
  }
  fd = fs.openSync(path, 'r');
  descriptors.set(key, fd);
  while (descriptors.size > MAX_DESCRIPTORS) forget(descriptors.keys().next().value!);
  return fd;
}

function forget(key: string): void {
  const fd = descriptors.get(key);
  if (fd === undefined) return;
  descriptors.delete(key);
  fs.closeSync(fd);
}

function flattenOnWhite(rgba: Uint8Array): void {
  for (let i = 0; i < rgba.length; i += 4) {
    const a = rgba[i + 3]!;
    if (a === 255) continue;
    const k = 255 - a;
    rgba[i] = Math.round((rgba[i]! * a + 255 * k) / 255);
    rgba[i + 1] = Math.round((rgba[i + 1]! * a + 255 * k) / 255);
    rgba[i + 2] = Math.round((rgba[i + 2]! * a + 255 * k) / 255);
    rgba[i + 3] = 255;
  }
}

/** Buffers that can move back without a copy: each whole, and each only once. */
function transferable(views: Uint8Array[]): ArrayBuffer[] {
  const out = new Set<ArrayBuffer>();
  for (const v of views) {
    if (v.byteOffset === 0 && v.byteLength === v.buffer.byteLength && v.buffer instanceof ArrayBuffer)
      out.add(v.buffer);
  }
  return [...out];
}

parentPort?.on('message', (req: WorkerRequest) => {
  run(req.task).then(
    (bytes) => {
      const res: WorkerResponse = { id: req.id, ok: true, bytes };
      parentPort!.postMessage(res, transferable(Array.isArray(bytes) ? bytes : [bytes]));
    },
    (err: unknown) => {
      const res: WorkerResponse = {
        id: req.id,
        ok: false,
        message: err instanceof Error ? err.message : String(err),
      };
      parentPort!.postMessage(res);
    },
  );
});
