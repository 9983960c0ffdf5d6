/**
 * A small pool of worker threads that turn strips read from slides into encoder-ready patches (resample,
 * RGB, augmentation), writing into a shared batch buffer, so that the thread feeding the engine only routes.
 * Each task goes to the worker with the fewest in flight; a worker that dies fails its own tasks and is
 * replaced on the next task. Idle workers do not keep the process alive.
 */
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { startModuleWorker } from '../worker-threads.js';
import type { StripTask } from './patch-task.js';

interface Slot {
  worker: Worker;
  pending: Map<number, { resolve: () => void; reject: (err: Error) => void }>;
}

export class PatchWorkers {
  private slots: Slot[] = [];
  private nextId = 1;
  private closed = false;

  constructor(readonly size = Math.max(1, Math.min(4, os.availableParallelism()))) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`invalid worker count ${size}`);
  }

  /** Runs one task; `strip` and `batch` must be views of SharedArrayBuffers (nothing is copied). */
  run(task: StripTask): Promise<void> {
    if (this.closed) return Promise.reject(new Error('the patch workers are closed'));
    if (
      !(task.strip.buffer instanceof SharedArrayBuffer) ||
      !(task.batch.buffer instanceof SharedArrayBuffer)
    ) {
      return Promise.reject(new TypeError('patch tasks need shared memory for the strip and the batch'));
    }
    const slot = this.pick();
    const id = this.nextId++;
    return new Promise<void>((resolve, reject) => {
      if (slot.pending.size === 0) slot.worker.ref();
      slot.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ id, task });
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    const slots = this.slots;
    this.slots = [];
    await Promise.all(slots.map((s) => s.worker.terminate()));
  }

  private pick(): Slot {
    if (this.slots.length < this.size) {
      const idle = this.slots.find((s) => s.pending.size === 0);
      return idle ?? this.spawn();
    }
    let best = this.slots[0]!;
    for (const s of this.slots) if (s.pending.size < best.pending.size) best = s;
    return best;
  }

  private spawn(): Slot {
    const worker = startModuleWorker(new URL('./patch-worker.ts', import.meta.url));
    const slot: Slot = { worker, pending: new Map() };
    worker.on('message', (res: { id: number; ok: boolean; message?: string }) => {
      const p = slot.pending.get(res.id);
      if (!p) return;
      slot.pending.delete(res.id);
      if (slot.pending.size === 0) worker.unref();
      if (res.ok) p.resolve();
      else p.reject(new Error(res.message));
    });
    const fail = (err: Error) => {
      this.slots = this.slots.filter((s) => s !== slot);
      for (const p of slot.pending.values()) p.reject(err);
      slot.pending.clear();
    };
    worker.on('error', (err) => fail(new Error(`patch worker failed: ${err.message}`)));
    worker.on('exit', (code) => fail(new Error(`patch worker exited with code ${code}`)));
    worker.unref();
    this.slots.push(slot);
    return slot;
  }
}
