/** A patch worker thread: runs StripTasks posted by PatchWorkers and answers each by its id. */
import { parentPort } from 'node:worker_threads';
import { processStrip, type StripTask } from './patch-task.js';

parentPort?.on('message', (msg: { id: number; task: StripTask }) => {
  try {
    processStrip(msg.task);
    parentPort!.postMessage({ id: msg.id, ok: true });
  } catch (err) {
    parentPort!.postMessage({
      id: msg.id,
      ok: false,
      message: err instanceof Error ? err.message : String(err),
    });
  }
});
