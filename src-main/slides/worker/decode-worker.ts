/** Entry point of a decode worker thread: answers WorkerRequests from the pool, one at a time. */
import { parentPort } from 'node:worker_threads';
import { Transformer, ResizeFilterType, ResizeFit } from '@napi-rs/image';
import { decodeTile } from '../codecs/decode-tile.js';
import type { WorkerRequest, WorkerResponse, WorkerTask } from './messages.js';

async function run(task: WorkerTask): Promise<Uint8Array> {
  if (task.kind === 'decode') return decodeTile(task.format, task.stored);
  let t = Transformer.fromRgbaPixels(task.rgba, task.width, task.height);
  if (task.outWidth !== task.width || task.outHeight !== task.height) {
    t = t.resize(task.outWidth, task.outHeight, ResizeFilterType.Lanczos3, ResizeFit.Fill);
  }
  return task.type === 'jpeg' ? t.jpegSync(task.quality) : t.pngSync();
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
