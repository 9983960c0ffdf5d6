/** Entry point of a decode worker thread: answers WorkerRequests from the pool, one at a time. */
import { parentPort } from 'node:worker_threads';
import { Transformer, ResizeFilterType, ResizeFit } from '@napi-rs/image';
import { decodeTile } from '../codecs/decode-tile.js';
import { jpegCodec } from '../codecs/jpeg-codec.js';
import { expandToRgba } from '../codecs/rgba.js';
import type { WorkerRequest, WorkerResponse, WorkerTask } from './messages.js';

async function run(task: WorkerTask): Promise<Uint8Array> {
  if (task.kind === 'decode') return decodeTile(task.format, task.stored);
  if (task.kind === 'decodeMany') {
    // Tiles decode to the same size, so one buffer carries them all (one transfer, no copies back).
    const tileBytes = task.format.tileWidth * task.format.tileHeight * 4;
    const out = new Uint8Array(tileBytes * task.stored.length);
    for (let i = 0; i < task.stored.length; i++)
      out.set(await decodeTile(task.format, task.stored[i]!), i * tileBytes);
    return out;
  }
  if (task.flatten) flattenOnWhite(task.rgba);
  const resize = task.outWidth !== task.width || task.outHeight !== task.height;
  if (!resize && task.type === 'jpeg')
    return jpegCodec().encode(task.rgba, task.width, task.height, task.quality);
  let t = Transformer.fromRgbaPixels(task.rgba, task.width, task.height);
  if (resize) t = t.resize(task.outWidth, task.outHeight, ResizeFilterType.Lanczos3, ResizeFit.Fill);
  if (task.type === 'png') return t.pngSync();
  const pixels = t.rawPixelsSync();
  const n = task.outWidth * task.outHeight;
  const rgba = pixels.length === n * 4 ? new Uint8Array(pixels) : expandToRgba(pixels, n, pixels.length / n);
  return jpegCodec().encode(rgba, task.outWidth, task.outHeight, task.quality);
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

parentPort?.on('message', (req: WorkerRequest) => {
  run(req.task).then(
    (bytes) => {
      const res: WorkerResponse = { id: req.id, ok: true, bytes };
      parentPort!.postMessage(
        res,
        bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
          ? [bytes.buffer as ArrayBuffer]
          : [],
      );
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
