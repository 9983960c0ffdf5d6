/** A patch worker thread: runs PatchTasks posted by PatchWorkers and answers each by its id. */
import { parentPort } from 'node:worker_threads';
import { processPatch, type PatchTask } from './patch-task.js';

parentPort?.on('message', (msg: { id: number; task: PatchTask }) => {
  try {
    processPatch(msg.task);
    parentPort!.postMessage({ id: msg.id, ok: true });
  } catch (err) {
    parentPort!.postMessage({
      id: msg.id,
      ok: false,
      message: err instanceof Error ? err.message : String(err),
    });
  }
});
